"""Plain words for leadership: the few findings that matter, each with its uncertainty.

:func:`key_findings` ranks candidate findings from the metrics, the model suite and the
budget reallocation and keeps the first ``limit``, in this order of priority:

1. **tactics**: the cheapest and the dearest tactic per new customer (program CAC with its
   bootstrap interval), and how far apart they are;
2. **leadership style**: the decision-style effect with the smallest p-value in the drivers
   model, only when it also beats styles permuted across leaders (said as "no difference
   by style that the data can show" otherwise);
3. **tactic x style**: interactions that beat the permuted labels, adjusted for the number
   of combinations tested (max-T within the family);
4. **budget**: what moving budget between tactics, within spend levels already observed,
   would add in customers a month and do to blended CAC (with the bootstrap interval);
5. **leader traits**: involvement, industry experience, admin time, where clear and beating
   the permuted labels;
6. **people**: rep attrition hazard ratios by style and recognition, where clear and beating
   leader attributes permuted across leaders (max-T over the hazard ratios; Holm when the
   table has no permutation check), with the turnover cost per new customer.

Every sentence carries its interval; a result whose interval includes "no difference" is
never stated as a difference (see :func:`salesnb.report.words.describe_effect`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salesnb.models.attrition import ATTRITION_REFERENCES
from salesnb.models.drivers import CLAIM_LEVEL
from salesnb.models.multiplicity import adjust_pvalues
from salesnb.report.labels import value_label
from salesnb.report.words import describe_effect, money, with_findings

__all__ = ["Finding", "as_markdown", "bullets", "claimed", "describe_effect", "extremes",
           "formatted", "key_findings", "leadership_terms", "money", "with_findings"]

COLUMNS = ["topic", "finding", "strength"]
UNINFORMATIVE = 10.0
"""A style interval wider than this ratio (high / low) says nothing a leader can use."""


@dataclass
class Finding:
    """One candidate finding: its topic, sentence and how clear it is (a p-value or 0)."""

    topic: str
    finding: str
    strength: float


def key_findings(suite, tactic_cac: pd.DataFrame | None = None, allocation=None,
                 currency: str = "", limit: int = 5) -> pd.DataFrame:
    """The three to five findings that matter, as a tidy table (topic, finding, strength).

    Parameters
    ----------
    suite : :class:`salesnb.models.ModelSuite` of the data.
    tactic_cac : :func:`salesnb.metrics.cac_intervals` by tactic (optional).
    allocation : :class:`salesnb.budget.Allocation` (optional).
    currency : label for money.
    limit : at most this many findings.
    """
    effects = (with_findings(suite.effects, suite.references) if suite.effects is not None
               else pd.DataFrame(columns=["term", "estimate", "ci_low", "ci_high", "p",
                                          "finding"]))
    candidates = [
        *_tactic_findings(tactic_cac, currency),
        *_style_findings(effects, suite),
        *_interaction_findings(effects),
        *_budget_findings(allocation, currency),
        *_trait_findings(effects),
        *_people_findings(suite, currency),
    ]
    frame = pd.DataFrame([vars(c) for c in candidates], columns=COLUMNS)
    return frame.head(limit).reset_index(drop=True)


def _tactic_findings(table: pd.DataFrame | None, currency: str) -> list[Finding]:
    if table is None or table["program_cac"].notna().sum() < 2:
        return []
    ranked = table.dropna(subset=["program_cac"]).sort_values("program_cac")
    cheap, dear = ranked.iloc[0], ranked.iloc[-1]
    ratio = dear["program_cac"] / cheap["program_cac"]
    sentence = (f"{_words(cheap['tactic']).capitalize()} win new customers at the lowest "
                f"cost: {money(cheap['program_cac'], currency)} each (likely between "
                f"{money(cheap['program_cac_low'])} and {money(cheap['program_cac_high'])}); "
                f"{_words(dear['tactic'])} cost the most, "
                f"{money(dear['program_cac'], currency)} (likely between "
                f"{money(dear['program_cac_low'])} and {money(dear['program_cac_high'])}), "
                f"{ratio:.1f} times as much.")
    return [Finding("tactics", sentence, 0.0)]


def claimed(effects: pd.DataFrame) -> pd.Series:
    """Which leadership effects may be stated: the interval excludes "no difference" and the
    effect beats styles permuted across leaders (``p_permutation`` below 0.05; a table
    without the check states none).
    """
    excludes = (effects["ci_high"] < 1) | (effects["ci_low"] > 1)
    if "p_permutation" not in effects:
        return excludes & False
    return excludes & (effects["p_permutation"] < CLAIM_LEVEL)


def _stated(effects: pd.DataFrame) -> pd.DataFrame:
    """The :func:`claimed` rows, clearest first (none when the table has no check)."""
    return effects[claimed(effects)].sort_values("p_permutation") \
        if "p_permutation" in effects else effects.iloc[0:0]


def _style_findings(effects: pd.DataFrame, suite) -> list[Finding]:
    styles = effects[effects["term"].str.fullmatch(r"decision_style=\w+")]
    if styles.empty and getattr(suite, "leaders_too_few", False):
        return [Finding("leadership style", "Which leadership style costs least per customer "
                        f"cannot be told from this data: only {suite.clusters} leaders hold "
                        "the styles, too few to tell style, involvement and experience "
                        "apart; the tactics are compared without them.", 1.0)]
    if styles.empty:
        return [Finding("leadership style", "Which leadership style costs least per customer "
                        "cannot be told from this data: it needs spend and leaders of more "
                        "than one decision style (see the notes for what is missing).", 1.0)]
    clear = styles[claimed(styles)]
    if clear.empty and (styles["ci_high"] / styles["ci_low"]).max() > UNINFORMATIVE:
        leaders = (f"only {suite.clusters} leaders" if suite.cluster_kind == "leader"
                   else "too few leaders")
        return [Finding("leadership style", "Which leadership style costs least per customer "
                        f"cannot be told from this data: {leaders} hold the styles, too few "
                        "to tell a style apart from the people who have it.", 1.0)]
    if clear.empty:
        low, high = styles["ci_low"].min(), styles["ci_high"].max()
        return [Finding("leadership style", "No difference in cost per customer by "
                        "leadership style that the data can show (anything from "
                        f"{_percent_change(low)} to {_percent_change(high)} is consistent "
                        "with it, and no gap beats styles shuffled at random between "
                        "leaders).", 1.0)]
    best = _stated(clear).iloc[0]
    return [Finding("leadership style", best["finding"], float(best["p_permutation"]))]


def _interaction_findings(effects: pd.DataFrame) -> list[Finding]:
    pairs = effects[effects["term"].str.contains(":")]
    clear = _stated(pairs)
    return [Finding("tactic x leadership style",
                    f"{row.finding[:-1]}; it beats styles shuffled at random between "
                    f"leaders, allowing for the {len(pairs)} combinations tested.",
                    float(row.p_permutation))
            for row in clear.head(2).itertuples()]


def _budget_findings(allocation, currency: str) -> list[Finding]:
    if allocation is None:
        return []
    summary = allocation.summary.set_index("measure")
    customers, cac = summary.loc["expected_customers"], summary.loc["program_cac"]
    if customers["change_low"] <= 0:
        return [Finding("budget", "Moving budget between tactics would not clearly win more "
                        "customers at the same spend (the change is likely between "
                        f"{customers['change_low']:+.0f} and {customers['change_high']:+.0f} "
                        "customers a month).", 1.0)]
    moved = allocation.table.assign(label=allocation.labels).sort_values("change")
    current = float(allocation.table["current_spend"].sum())
    total = ("at the same total of" if abs(allocation.budget - current) <= 1e-6 * current
             else f"with {money(current, currency)} a month becoming")
    sentence = (f"Moving budget from {_words(moved.iloc[0]['label'])} towards "
                f"{_words(moved.iloc[-1]['label'])}, {total} "
                f"{money(allocation.budget, currency)} a month, would win about "
                f"{customers['change']:.0f} more new customers a month (likely between "
                f"{customers['change_low']:.0f} and {customers['change_high']:.0f}) and bring "
                f"the tactic spend per new customer from {money(cac['before'], currency)} to "
                f"{money(cac['after'], currency)} (likely between {money(cac['after_low'])} "
                f"and {money(cac['after_high'])}).")
    if allocation.table["extrapolated"].any():
        sentence += " Some tactics would leave the spend range seen so far: test in steps."
    return [Finding("budget", sentence, 0.0)]


def _trait_findings(effects: pd.DataFrame) -> list[Finding]:
    traits = effects[effects["term"].str.match(r"(involvement=|years10|admin10|training10|"
                                               r"recognition)")]
    clear = _stated(traits)
    return [Finding("leader traits", row.finding, float(row.p_permutation))
            for row in clear.head(2).itertuples()]


def _people_findings(suite, currency: str) -> list[Finding]:
    if "attrition" not in suite.tables:
        return []
    hazards = suite["attrition"]
    if "p_permutation" in hazards:  # leader attributes permuted across leaders, max-T
        clear = _stated(hazards)
    else:
        holm = adjust_pvalues(hazards["p"], "holm")
        clear = hazards[holm < CLAIM_LEVEL].sort_values("p")
    if clear.empty:
        return []
    row = clear.iloc[0]
    sentence = describe_effect(row["term"], row["estimate"], row["ci_low"], row["ci_high"],
                               ATTRITION_REFERENCES, subject="rep attrition",
                               permutation_p=row.get("p_permutation"))
    if "attrition_cost" in suite.tables:
        cost = suite["attrition_cost"].dropna(subset=["turnover_cost_per_customer"])
        if "decision_style" in cost and len(cost):
            parts = ", ".join(f"{_words(r.decision_style)} {money(r.turnover_cost_per_customer)}"
                              for r in cost.itertuples())
            sentence += (f" Replacing leavers costs per new customer: {parts} {currency}"
                         .rstrip() + ".")
    return [Finding("people", sentence, float(row["p"]))]


def _percent_change(multiplier: float) -> str:
    """``0.83`` -> ``"17% lower"``, ``1.2`` -> ``"20% higher"``."""
    change = (multiplier - 1) * 100
    return f"{abs(change):.0f}% {'lower' if change < 0 else 'higher'}"


def _words(text: str) -> str:
    return value_label(text)


def as_markdown(findings: pd.DataFrame) -> str:
    """The findings as a numbered Markdown list with the topic in bold."""
    return "\n".join(f"{i}. **{row.topic.capitalize()}.** {row.finding}"
                     for i, row in enumerate(findings.itertuples(), start=1))


def bullets(lines: list[str]) -> str:
    """Notes as a Markdown bullet list (``_No notes._`` when empty)."""
    return "\n".join(f"- {line}" for line in lines) if lines else "_No notes._"


def formatted(frame: pd.DataFrame, money_columns: tuple[str, ...] = (),
              percent_columns: tuple[str, ...] = (), decimals: int = 2):
    """A table formatted for reports: :func:`salesnb.report.tables.styled` (kept for
    notebooks written against this name: money and counts without decimals, shares as
    percentages, never scientific notation, human headers, no index).
    """
    from salesnb.report.tables import styled

    return styled(frame, money=money_columns, percent=percent_columns, decimals=decimals)


def leadership_terms(effects: pd.DataFrame) -> list[str]:
    """The effects leadership acts on: decision style, involvement, leader traits, and the
    tactic x style combinations that beat the permuted labels (see :func:`claimed`).
    """
    own = effects["term"].str.match(r"(decision_style=|involvement=|years10|admin10|"
                                    r"training10|recognition)")
    pairs = effects["term"].str.contains(":")
    return [*effects.loc[own & ~pairs, "term"], *effects.loc[pairs & claimed(effects), "term"]]


def extremes(frame: pd.DataFrame, column: str, n: int = 5) -> pd.DataFrame:
    """The ``n`` rows with the lowest and the ``n`` with the highest ``column`` (all rows,
    sorted, when there are no more than ``2 n``): cheapest and dearest teams, say.
    """
    ordered = frame.sort_values(column)
    return ordered if len(ordered) <= 2 * n else pd.concat([ordered.head(n), ordered.tail(n)])
