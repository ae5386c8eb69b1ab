"""Totals over time, loaded through a mapping, as the marketing-mix model's input.

:func:`totals_input` turns a dataset's ``totals`` (the outcome and controls per period and
market) and ``totals_spend`` (spend per tactic, period and market) into the wide table
:func:`salesnb.curves.fit_mix_model` reads, and works out what a user would otherwise pass by
hand: the grain (weeks or months, from the spacing of the periods), the outcome (new
customers, else revenue: then cost per unit of revenue), the markets, the controls and, where
markets have leaders (``totals.team_id`` -> teams -> leaders), the decision style in force in
each period. Every problem is one :class:`~salesnb.errors.SalesnbError` naming the file, the
rows and what to change; nothing is fitted on data that does not line up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from salesnb.engine.connection import style_periods
from salesnb.errors import SalesnbError
from salesnb.io.capabilities import lacks
from salesnb.io.dataset import Dataset, period_grain
from salesnb.io.schema import ONE_MARKET, TABLES, TOTALS_OUTCOMES

SPEND_PREFIX = "spend_"
FIXED_COLUMNS = TABLES["totals"].field_names
"""Columns of ``totals`` that are not control variables."""


@dataclass
class TotalsInput:
    """The mix model's input built from a dataset (see :func:`totals_input`).

    ``frame`` has one row per period and market: ``period``, ``market``, the outcome, a
    ``spend_<tactic>`` column per tactic, the controls and ``decision_style`` when markets
    have leaders of more than one style. The other fields are the arguments of
    :func:`salesnb.curves.fit_mix_model` for it; ``notes`` say what was read and assumed.
    """

    frame: pd.DataFrame
    outcome: str
    spend: list[str]
    controls: list[str]
    period: str
    market: str | None
    style: str | None
    kind: str
    notes: list[str] = field(default_factory=list)

    def fit(self, **options: Any):
        """Fit :func:`salesnb.curves.fit_mix_model` on this input.

        Parameters
        ----------
        **options
            Any other argument of :func:`~salesnb.curves.fit_mix_model` (``form``,
            ``n_boot``, ``seed``, ``intervals``, ...).

        Returns
        -------
        MixModel
            With this input's notes before the model's own.
        """
        from salesnb.curves.mix import fit_mix_model

        model = fit_mix_model(self.frame, outcome=self.outcome, spend=self.spend,
                              controls=self.controls, period=self.period, market=self.market,
                              style=self.style, kind=self.kind, **options)
        model.notes = [*self.notes, *model.notes]
        return model


def totals_input(data: Dataset, outcome: str | None = None,
                 controls: list[str] | None = None) -> TotalsInput:
    """The mix model's input from a dataset's totals tables.

    Parameters
    ----------
    data
        A loaded dataset with ``totals`` and ``totals_spend`` (see docs/mapping.md).
    outcome
        ``"new_customers"`` or ``"revenue"``; default new customers when mapped.
    controls
        Control variables to use; default every ``controls:`` column of the mapping.

    Returns
    -------
    TotalsInput

    Raises
    ------
    SalesnbError
        Without the totals tables; with periods that are neither weeks nor months, spend for
        periods or markets the totals do not have, or empty outcome or control cells (each
        named with its file and rows).
    """
    reason = lacks(data, "mix")
    if reason:
        raise SalesnbError(reason)
    totals, spend = data.tables["totals"], data.tables["totals_spend"]
    source = data.provenance["totals"].source if "totals" in data.provenance else "totals"
    outcome = _outcome(totals, outcome, source)
    controls = _controls(totals, controls, source)
    period = _grain(totals["period"], source)
    wide, notes = _wide_spend(totals, spend, data.provenance)
    frame = totals.merge(wide, on=["period", "market"], how="left")
    columns = [c for c in wide if c not in ("period", "market")]
    frame[columns] = frame[columns].fillna(0.0)
    markets = totals["market"].nunique()
    style, style_notes = _styles(frame, data) if markets > 1 else (None, [])
    kept = ["period", "market", outcome, *columns, *controls] + ([style] if style else [])
    what = "revenue (every CAC reads as cost per unit of revenue)" if outcome == "revenue" \
        else "new customers"
    notes = [f"totals over time: {totals['period'].nunique()} {period}s, "
             f"{markets} market(s), {len(columns)} tactics; outcome: {what}",
             *notes, *style_notes]
    return TotalsInput(frame[kept].sort_values(["period", "market"]).reset_index(drop=True),
                       outcome, columns, controls, period,
                       "market" if markets > 1 else None, style,
                       "revenue" if outcome == "revenue" else "customers", notes)


def _outcome(totals: pd.DataFrame, outcome: str | None, source: str) -> str:
    present = [c for c in TOTALS_OUTCOMES if c in totals and totals[c].notna().any()]
    if outcome is None:
        if not present:
            raise SalesnbError(f"totals in {source} have no outcome values; map new_customers "
                               "or revenue")
        outcome = present[0]
    if outcome not in present:
        raise SalesnbError(f"outcome {outcome!r} is not in the totals of {source}; it has "
                           f"{present or 'none'}")
    _refuse_empty(totals, outcome, source, f"without {outcome}",
                  "fill them in the export (0 when nothing was won), or restrict the periods")
    return outcome


def _controls(totals: pd.DataFrame, controls: list[str] | None, source: str) -> list[str]:
    available = [c for c in totals if c not in FIXED_COLUMNS]
    chosen = available if controls is None else list(controls)
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise SalesnbError(f"control(s) {unknown} are not in the totals of {source}; its "
                           f"controls are {available or 'none'} (map them under controls:)")
    for name in chosen:
        _refuse_empty(totals, name, source, f"where control {name!r} is empty",
                      "fill them, or leave the control out (controls=[...])")
    return chosen


def _refuse_empty(totals: pd.DataFrame, column: str, source: str, what: str,
                  hint: str) -> None:
    """Raise naming the periods (up to five) in which ``column`` is empty."""
    empty = totals[column].isna()
    if empty.any():
        dates = totals.loc[empty, "period"].dt.strftime("%Y-%m-%d").head(5).tolist()
        raise SalesnbError(f"totals in {source}: {int(empty.sum())} period(s) {what}, e.g. "
                           f"{dates}.\n    hint: {hint}.")


def _grain(periods: pd.Series, source: str) -> str:
    """``"week"`` or ``"month"`` (:func:`salesnb.io.dataset.period_grain`), or an error."""
    unique = pd.DatetimeIndex(periods.drop_duplicates().sort_values())
    if len(unique) < 2:
        raise SalesnbError(f"totals in {source} have {len(unique)} period; the mix model reads "
                           "how the outcome moves with spend over many periods")
    grain = period_grain(periods)
    if grain is None:
        gaps = pd.Series(unique[1:] - unique[:-1]).dt.days
        raise SalesnbError(f"the periods in {source} are neither weeks nor months (gaps of "
                           f"{sorted(set(gaps))[:5]} days between {unique[0].date()} and "
                           f"{unique[-1].date()}).\n    hint: give one row per week (its start "
                           "date) or per month (its first day); sum daily rows first.")
    return grain


def _wide_spend(totals: pd.DataFrame, spend: pd.DataFrame, provenance: dict
                ) -> tuple[pd.DataFrame, list[str]]:
    """Spend per period and market, a ``spend_<tactic>`` column per tactic."""
    keys = totals[["period", "market"]].drop_duplicates()
    matched = spend.merge(keys.assign(_known=True), on=["period", "market"], how="left")
    orphans = matched["_known"].isna()
    if orphans.any():
        label = provenance["totals_spend"].source if "totals_spend" in provenance else "spend"
        examples = matched.loc[orphans, ["period", "market"]].drop_duplicates().head(3)
        listed = [f"{r.period:%Y-%m-%d} {r.market}" for r in examples.itertuples()]
        raise SalesnbError(f"totals_spend in {label}: {int(orphans.sum())} spend row(s) for "
                           f"periods or markets the totals do not have, e.g. {listed}.\n    "
                           "hint: give the outcome of every period with spend (map the same "
                           "market column in both tables).")
    wide = spend.pivot_table(index=["period", "market"], columns="tactic", values="cost",
                             aggfunc="sum", observed=True)
    wide.columns = [f"{SPEND_PREFIX}{t}" for t in wide.columns]
    empty = int(len(keys) * wide.shape[1] - wide.notna().sum().sum())
    notes = [f"{empty} period x tactic cell(s) without spend read as no spend"] if empty \
        else []
    if ONE_MARKET in set(totals["market"]) and totals["market"].nunique() == 1:
        notes.append("one market: intervals from a block bootstrap of periods")
    return wide.reset_index(), notes


def _styles(frame: pd.DataFrame, data: Dataset) -> tuple[str | None, list[str]]:
    """Add ``decision_style`` (the market leader's style in force each period, from
    :func:`salesnb.engine.connection.style_periods`), when markets name teams whose leaders
    have more than one style.
    """
    tables = data.tables
    periods = style_periods(tables.get("leaders"), tables.get("style_changes"))
    if ("team_id" not in frame or "teams" not in tables or periods is None
            or "decision_style" not in periods or "leader_id" not in tables["teams"]):
        return None, []
    rows = frame[["period", "team_id"]].reset_index().merge(
        tables["teams"][["team_id", "leader_id"]], on="team_id").merge(
        periods[["leader_id", "valid_from", "valid_to", "decision_style"]], on="leader_id")
    in_force = rows[(rows["period"] >= rows["valid_from"]) & (rows["period"] < rows["valid_to"])]
    styles = in_force.set_index("index")["decision_style"].reindex(frame.index)
    if styles.isna().any() or styles.nunique() < 2:
        return None, ["leadership style is left out: markets need leaders of two or more "
                      "styles (totals.team_id -> teams.leader_id -> leaders.decision_style)"]
    frame["decision_style"] = styles.to_numpy()
    counts = {str(k): int(v) for k, v in styles.value_counts().items()}
    return "decision_style", [f"decision style of each market's leader: {counts} "
                              "market-periods"]
