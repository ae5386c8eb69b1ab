"""The brief's methods appendix: how the answers were reached and what that means for them.

:func:`trust_checks` lists each check the analysis makes (the model, how teams are grouped,
the shuffled-styles check, many comparisons, single teams that move a result, the smallest
difference the data could show, how far the budget advice reaches), with what it found and
what that means for trusting the result, in words. :func:`technical_notes` keeps every note
the analysis wrote, as written, for analysts; the leader's page shows neither.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesnb.report.labels import term_label

if TYPE_CHECKING:
    from salesnb.report.brief import BriefInputs

__all__ = ["CHECK_COLUMNS", "checks_table", "technical_notes", "trust_checks"]

CHECK_COLUMNS = ["Check", "What we found", "What it means for trusting the result"]
FITTING_WARNING = re.compile(r"converge|overflow|singular|Hessian|invalid value|divide by zero|"
                             r"mle_retvals|[A-Z]\w*Warning", re.IGNORECASE)
"""A note that passes on a warning of the fitting software (statsmodels, numpy)."""


def trust_checks(inputs: BriefInputs) -> pd.DataFrame:
    """One row per check: its name, what it found and what that means, in plain words."""
    suite = inputs.suite
    rows: list[tuple[str, str, str]] = []
    effects = suite.effects
    if effects is not None and len(effects):
        rows.append(_model_row(suite))
        rows.append(_grouping_row(suite))
        rows += _shuffle_rows(effects)
        rows += _smallest_rows(suite)
    influential = suite.tables.get("influential_teams")
    if influential is not None and len(influential):
        top = influential.iloc[0]
        rows.append((
            "Single teams", f"Team {top['team_id']} moves one result, "
            f"{term_label(top['term'], suite.references).lower()}, by "
            f"{top['largest_shift_se']:.1f} times its margin of error.",
            "Above 1 a result leans on that team: read it with care and look at the team."
            if top["largest_shift_se"] > 1 else "No team alone drives a result."))
    if inputs.allocation is not None:
        outside = inputs.allocation.table["extrapolated"].astype(bool)
        rows.append((
            "Budget advice range",
            f"{int(outside.sum())} of {len(outside)} tactics would move outside the spend "
            "seen so far." if outside.any() else "Every suggested spend lies inside the "
            "spend seen so far.",
            "Outside that range the curve is a guess: move in steps and measure."
            if outside.any() else "The advice rests on spend levels the teams have run."))
    rows += _warning_rows(inputs.notes)
    for reason in inputs.missing:
        rows.append(("Not shown", reason, "That part of the brief is left out, not guessed."))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _warning_rows(notes: list[str]) -> list[tuple[str, str, str]]:
    """The fitting software's warnings and the parts not estimated, counted and translated
    (the technical notes list them as written).
    """
    warned = [n for n in notes if FITTING_WARNING.search(n)]
    skipped = [n for n in notes if ": not estimated (" in n]
    rows = []
    if warned:
        rows.append(("Warnings from the fitting", f"{len(warned)} message(s) from the model "
                     "fitting, e.g. that a model did not settle on one answer or a number "
                     "overflowed (listed under technical notes).",
                     "The estimates they concern may be unstable: treat them as rough, and "
                     "do not act on them alone."))
    if skipped:
        rows.append(("Parts not estimated", f"{len(skipped)} cross-check(s) could not run on "
                     "this data (listed under technical notes).",
                     "The answers above do not rest on them; the data was too thin for them."))
    return rows


def _model_row(suite) -> tuple[str, str, str]:
    dispersion = suite.tables.get("dispersion")
    spread = (" Months vary more than chance alone would make them, so the model allows "
              "for it." if dispersion is not None and len(dispersion)
              and dispersion["p"].iloc[0] < 0.05 else "")
    model = str(suite.effects["model"].iloc[0])
    kind = "negative binomial" if model.startswith("negbin") else "Poisson"
    return ("How the answers are estimated",
            "New customers per team and month are compared across tactics, leadership and "
            f"region, with spend taken into account ({kind} count model).{spread}",
            "Each effect is a multiplier on cost per customer with the other factors held "
            "equal; it describes the teams as they were, not a controlled experiment.")


def _grouping_row(suite) -> tuple[str, str, str]:
    unit = "leaders" if suite.cluster_kind == "leader" else "teams"
    return ("Teams of one leader count together",
            f"The ranges treat the {suite.clusters} {unit} as the independent units.",
            "A style belongs to a leader, so a leader with many teams does not count many "
            "times; fewer than about 30 leaders make every range wider.")


def _shuffle_rows(effects: pd.DataFrame) -> list[tuple[str, str, str]]:
    if "p_permutation" not in effects:
        return []
    checked = effects.dropna(subset=["p_permutation"])
    if checked.empty:
        return [("Shuffled styles", "Too few leaders to shuffle styles between them.",
                 "No leadership difference is stated.")]
    beats = checked[checked["p_permutation"] < 0.05]
    families = checked["family"].nunique() if "family" in checked else 1
    return [
        ("Shuffled styles",
         f"{len(beats)} of {len(checked)} leadership results beat styles and traits shuffled "
         "at random between leaders.",
         "Only those are stated as differences; the others could be chance."),
        ("Many comparisons",
         f"{len(checked)} leadership comparisons in {families} groups were made.",
         "The shuffled check allows for all of them at once, so one lucky result among many "
         "is not reported.")]


def _smallest_rows(suite) -> list[tuple[str, str, str]]:
    mde = suite.tables.get("mde")
    if mde is None or mde.empty:
        return []
    styles = mde[mde["term"].str.startswith("decision_style=")]
    if styles.empty:
        return []
    size = float(np.nanmax(styles["mde_percent"]))
    return [("Smallest difference the data can show",
             f"A style difference smaller than about {size:.0f}% in cost per customer would "
             "likely go unnoticed.",
             "“No difference shown” means no difference this large, not none at all.")]


def checks_table(inputs: BriefInputs):
    """:func:`trust_checks` as a page shows it (:func:`salesnb.report.tables.styled`)."""
    from salesnb.report.tables import styled

    return styled(trust_checks(inputs))


def technical_notes(inputs: BriefInputs) -> list[str]:
    """Every note the analysis wrote (model suite, curves, budget), as written."""
    return list(inputs.notes)
