"""Everything the leadership brief shows, computed with what the data has.

:func:`brief_inputs` runs the model suite, the tactic CAC intervals, the response curves and
the budget reallocation for one dataset or segment. Each part the data cannot support is
left out (None) with one plain sentence in ``missing`` saying what to add, so the brief
always renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesnb.errors import SalesnbError

SITUATIONS = ("segment", "tactic")
"""Situations the brief checks the style effect across (the analyst page checks more)."""

if TYPE_CHECKING:
    from salesnb.curves.budget import Allocation
    from salesnb.curves.response import ResponseCurves
    from salesnb.io.dataset import Dataset
    from salesnb.models.situations import SituationalStyle
    from salesnb.models.suite import ModelSuite


@dataclass
class BriefInputs:
    """The brief's figures; a part the data cannot carry is None and said in ``missing``."""

    suite: ModelSuite
    facts: dict[str, Any]
    tactic_cac: pd.DataFrame | None = None
    response: ResponseCurves | None = None
    allocation: Allocation | None = None
    cac_trend: pd.DataFrame | None = None
    situations: SituationalStyle | None = None
    situations_reason: str | None = None
    style_cac: pd.DataFrame | None = None
    months: int | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """Every note of the parts that ran (the model suite, the curves, the budget)."""
        notes = list(self.suite.notes)
        if self.response is not None:
            notes += self.response.notes
        if self.allocation is not None:
            notes += self.allocation.notes
        return notes


def brief_inputs(data: Dataset, model: str = "auto", n_boot: int = 200, seed: int = 0,
                 max_extrapolation: float = 1.0) -> BriefInputs:
    """Compute the brief for ``data`` (a loaded dataset or segment).

    Parameters
    ----------
    data
        The validated data of one segment and period.
    model
        The drivers model: ``"auto"``, ``"negbin"`` or ``"poisson"``.
    n_boot, seed
        Bootstrap draws and seed of the CAC intervals and the curves.
    max_extrapolation
        How far past the highest spend seen the budget advice may go (1: inside).

    Returns
    -------
    BriefInputs
    """
    from salesnb.curves import budget
    from salesnb.metrics import headline, measures
    from salesnb.report import computed

    inputs = BriefInputs(computed.model_suite(data, model=model), headline(data))
    reason = data.lacks("cac")
    if reason is not None:
        inputs.missing.append(reason)
        return inputs
    inputs.tactic_cac = measures.cac_intervals(data, by=["tactic"], n_boot=n_boot, seed=seed)
    inputs.cac_trend = measures.cac(data, by=[], period="quarter")
    inputs.months = int(data.months().nunique())
    if data.lacks("style") is None:
        inputs.style_cac = measures.cac(data, by=["decision_style"])
    inputs.situations, inputs.situations_reason = situations_or_reason(
        data, inputs.suite, panel=computed.panel(data))
    reason = data.lacks("curves")
    if reason is not None:
        inputs.missing.append(reason)
        return inputs
    # the curves notebook's defaults: one fit shared through the cache
    inputs.response, failure = computed.curves_or_reason(data, n_boot=n_boot, seed=seed)
    if inputs.response is None:
        failure = str(failure).removeprefix(computed.CURVES_FAILED)
    else:
        try:
            inputs.allocation = budget.reallocate(inputs.response,
                                                  max_extrapolation=max_extrapolation)
        except SalesnbError as exc:
            failure = str(exc)
    if failure is not None:
        inputs.missing.append("The budget advice is not shown: "
                              + failure.splitlines()[0].rstrip(".") + ".")
    return inputs


def shared_brief_inputs(data: Dataset, model: str = "auto", n_boot: int = 200, seed: int = 0,
                        max_extrapolation: float = 1.0) -> BriefInputs:
    """:func:`brief_inputs`, computed once per segment and parameters and reused by later
    runs (:mod:`salesnb.report.computed`); what the brief notebook calls.
    """
    from salesnb.report import computed

    return computed.reused("brief_inputs", data,
                           lambda: brief_inputs(data, model=model, n_boot=n_boot, seed=seed,
                                                max_extrapolation=max_extrapolation),
                           model=model, n_boot=n_boot, seed=seed,
                           max_extrapolation=max_extrapolation)


def situations_or_reason(data: Dataset, suite: ModelSuite, by: tuple[str, ...] = SITUATIONS,
                         panel: pd.DataFrame | None = None
                         ) -> tuple[SituationalStyle | None, str | None]:
    """The decision-style effect by situation (segment and tactic by default), or None and
    the plain reason it was not checked (no style, too few leaders). ``panel``: the data's
    :func:`salesnb.metrics.panel`, when the caller has it already.
    """
    from salesnb.report import computed

    reason = data.lacks("style")
    if reason is None and getattr(suite, "leaders_too_few", False):
        reason = f"only {suite.clusters} leaders hold the styles."
    if reason is not None:
        return None, reason
    panel = computed.panel(data) if panel is None else panel
    columns = tuple(c for c in by if c in panel and panel[c].nunique() > 1)
    if not columns:
        return None, "the data has no segment or tactic to compare."
    try:
        return computed.style_by_situation(data, by=columns), None
    except SalesnbError as exc:
        return None, str(exc).splitlines()[0].rstrip(".") + "."


def headline_sentence(facts: dict[str, Any], currency: str = "") -> str:
    """The brief's headline in one sentence (cost per customer only where it is measurable)."""
    from salesnb.report.words import money

    customers = f"{facts['new_customers']:,} new customers"
    if not facts.get("cac_measurable", True):
        return (f"**Headline.** {customers}. What a customer costs is not measured: the data "
                "has no spend.")
    return (f"**Headline.** {customers} for {money(facts['total_cost'], currency)} of tactic "
            f"spend and sales people cost: a blended CAC of "
            f"{money(facts['blended_cac'], currency)} per new customer.")
