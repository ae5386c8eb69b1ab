"""Funnels that do not need spend: lead conversion, win rates, sales cycles, the pipeline.

Definitions (the contract; see docs/design.md, "Metric contract"):

- **Conversion** (needs the ``leads`` table): a lead *converted* when its ``deal_id`` names a
  deal of the data, or a deal's ``lead_id`` names the lead; ``conversion_rate`` = converted /
  leads; ``win_rate`` = won / (won + lost) over the converted leads' deals (open deals count
  in neither); ``lead_to_won`` = won / leads.
  A lead's team is its own ``team_id``, else its owner rep's team, else its deal's team.
- **Win rates** by any deal, team or rep grouping (``rep_id``, the reps' ``role`` and mapped
  attributes included): won / (won + lost) per group, with deals, won, lost, open counts.
- **Pipeline**: open deals (with or without a close date), their amount, and how many have no
  close date yet. Open deals are never counted as lost.
- Intervals: Wilson 95% intervals for every rate (``*_low``, ``*_high``). Deals (leads) of
  one rep are not independent: when the rows have a ``rep_id`` and the grouping is coarser
  than the rep, the interval is widened by the design effect between reps
  (:func:`salesnb.metrics.rates.rate_intervals`); ``*_design_effect`` says by how much.
- Tests (:func:`win_rate_test`, :func:`sales_cycle_test`): do the groups differ, clustered by
  rep, with effect sizes. Sales cycles (:func:`sales_cycles`): median days from created to
  close of decided deals, with a bootstrap interval. See docs/rates.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from salesnb.engine.connection import as_count, as_engine, fetch
from salesnb.errors import SalesnbError
from salesnb.metrics.rates import (
    compare_cycle_times,
    compare_rates,
    cycle_times,
    rate_intervals,
    wilson,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.engine.connection import Engine
    from salesnb.io.dataset import Dataset

CONVERSION_DIMENSIONS = ("tactic", "rep_id", "team_id", "leader_id", "region", "segment",
                         "industry", "stage")
PIPELINE_DIMENSIONS = ("tactic", "rep_id", "team_id", "leader_id", "region", "segment",
                       "industry")


__all__ = ["CONVERSION_DIMENSIONS", "PIPELINE_DIMENSIONS", "conversion", "pipeline",
           "sales_cycle_test", "sales_cycles", "win_rate_test", "win_rates", "wilson"]

_HINTS = {"leader_id": "map teams.leader_id",
          "decision_style": "map leaders.decision_style (and teams.leader_id)",
          "involvement": "map leaders.involvement (and teams.leader_id)",
          "title": "map leaders.title (and teams.leader_id)",
          "recognition": "map leaders.recognition (and teams.leader_id)",
          "region": "map teams.region", "segment": "map teams.segment",
          "industry": "map teams.industry", "rep_id": "map deals.rep_id",
          "role": "map a reps table", "created_date": "map deals.created_date"}


def conversion(data: Engine | Dataset, by: Sequence[str] = ("tactic",),
               level: float = 0.95) -> pd.DataFrame:
    """Leads, converted leads, won deals and the rates between them, per group.

    Parameters
    ----------
    data
        A dataset (or engine) with a ``leads`` table.
    by
        Any of :data:`CONVERSION_DIMENSIONS` (``tactic`` is the lead source, ``rep_id`` the
        lead's owner).
    level
        Confidence level of the intervals (clustered by owner when leads have one).

    Returns
    -------
    DataFrame
        ``by`` columns, ``leads``, ``converted``, ``won``, ``lost``, ``conversion_rate``
        (with ``_low``/``_high``/``_design_effect``), ``win_rate`` (likewise),
        ``lead_to_won``.
    """
    engine = as_engine(data)
    if "leads" not in engine:
        raise SalesnbError("conversion needs a leads table (lead id, created date, source); "
                           "map it in the mapping file")
    keys = _check(by, CONVERSION_DIMENSIONS, "conversion")
    leads = _leads_with_groups(engine)
    _absent(leads, keys, "conversion")
    owner = "rep_id" in leads.columns and "rep_id" not in keys
    counts = {"leads": leads.count(), "converted": as_count(leads.converted).sum(),
              "won": as_count(leads.deal_outcome == "won").sum(),
              "lost": as_count(leads.deal_outcome == "lost").sum()}
    cells = _counts(leads, keys + ["rep_id"] * owner, counts)
    frame = _rated(cells, keys, list(counts), "rep_id" if owner else None, level, {
        "conversion_rate": ("converted", "leads"), "win_rate": ("won", "decided")})
    frame["lead_to_won"] = frame["won"] / frame["leads"]
    return frame.drop(columns="decided")


def _leads_with_groups(engine: Engine) -> ir.Table:
    import ibis

    leads, deals = engine["leads"], engine["deals"]
    links = _lead_deal_links(engine)
    deal_cols = deals.select(deal_key=deals.deal_id, deal_outcome=deals.outcome,
                             deal_team=deals.team_id)
    if links is None:
        joined = leads.mutate(deal_key=ibis.null("string"), deal_outcome=ibis.null("string"),
                              deal_team=ibis.null("string"))
    else:
        linked = links.inner_join(deal_cols, links.link_deal == deal_cols.deal_key)
        joined = leads.left_join(linked, leads.lead_id == linked.link_lead).drop(
            "link_lead", "link_deal")
    team = joined.team_id if "team_id" in joined.columns else ibis.null("string")
    if "reps" in engine and "rep_id" in joined.columns:
        reps = engine["reps"].select(rep_key="rep_id", rep_team="team_id")
        joined = joined.left_join(reps, joined.rep_id == reps.rep_key)
        team = ibis.coalesce(team, joined.rep_team)
    joined = joined.mutate(team_id=ibis.coalesce(team, joined.deal_team),
                           converted=joined.deal_key.notnull())
    teams = engine["teams"]
    extra = [c for c in ("leader_id", "region", "segment", "industry") if c in teams.columns]
    return joined.left_join(teams.select("team_id", *extra),
                            joined.team_id == teams.team_id).drop("team_id_right")


def _lead_deal_links(engine: Engine) -> ir.Table | None:
    """One deal per converted lead (``link_lead``, ``link_deal``): from ``leads.deal_id`` and
    from ``deals.lead_id``, whichever the export has (both: their union); a lead linked to
    several deals keeps the first deal id.
    """
    leads, deals = engine["leads"], engine["deals"]
    parts = []
    if "deal_id" in leads.columns:
        named = leads.filter(leads.deal_id.notnull())
        parts.append(named.select(link_lead=named.lead_id, link_deal=named.deal_id))
    if "lead_id" in deals.columns:
        named = deals.filter(deals.lead_id.notnull())
        parts.append(named.select(link_lead=named.lead_id, link_deal=named.deal_id))
    if not parts:
        return None
    links = parts[0] if len(parts) == 1 else parts[0].union(parts[1])
    return links.group_by("link_lead").aggregate(link_deal=links.link_deal.min())


def win_rates(data: Engine | Dataset, by: Sequence[str] = ("rep_id",),
              level: float = 0.95) -> pd.DataFrame:
    """Won / (won + lost) per group of deals, with Wilson intervals; open deals count apart.

    Parameters
    ----------
    data
        A dataset or engine.
    by
        Deal columns (``tactic``, ``rep_id``, ``team_id``), team columns (``leader_id``,
        ``region``, ``segment``, ``industry``), the leader's ``decision_style``,
        ``involvement`` (in force in the close month), ``title``, ``recognition`` or, with a
        reps table, the reps' own columns (``role`` and every mapped attribute). A deal
        without a rep is grouped as missing.
    level
        Confidence level. Unless ``by`` holds ``rep_id``, the interval is clustered by rep
        (deals without a rep count as independent).

    Returns
    -------
    DataFrame
        ``by`` columns, ``deals``, ``won``, ``lost``, ``open``, ``win_rate`` (with ``_low``,
        ``_high``), ``reps`` and ``win_rate_design_effect`` (1: no widening).
    """
    keys, deals, cluster = _decided_deals(data, by, "win rates")
    counts = {"deals": deals.count(), "won": as_count(deals.outcome == "won").sum(),
              "lost": as_count(deals.outcome == "lost").sum(),
              "open": as_count(deals.outcome == "open").sum()}
    cells = _counts(deals, keys + ([cluster] if cluster else []), counts)
    frame = _rated(cells, keys, list(counts), cluster, level, {"win_rate": ("won", "decided")})
    return frame.drop(columns="decided")


def win_rate_test(data: Engine | Dataset, by: Sequence[str] = ("leader_id",),
                  level: float = 0.95) -> pd.DataFrame:
    """Do win rates differ between groups? One row: test, statistic, df, p and effect sizes.

    Deals of one rep are clustered unless ``by`` holds ``rep_id``: with reps nested in the
    groups (reps under leaders) a design-effect corrected chi-square on F, with reps in
    several groups (tactics) the Rao-Scott test; otherwise Pearson's chi-square.
    :func:`salesnb.metrics.rates.compare_rates` has the columns and methods.

    Parameters
    ----------
    data
        A dataset or engine.
    by
        Any grouping :func:`win_rates` takes (``leader_id``, ``decision_style``, ...).
    level
        Confidence level of the highest-minus-lowest difference.

    Returns
    -------
    DataFrame
        One row (see :data:`salesnb.metrics.rates.TEST_COLUMNS`).
    """
    keys, deals, cluster = _decided_deals(data, by, "win rates", decided=True)
    cells = _counts(deals, keys + ([cluster] if cluster else []),
                    {"won": as_count(deals.outcome == "won").sum(), "decided": deals.count()})
    if cells["decided"].sum() == 0:
        raise SalesnbError("no decided deals (won or lost) to compare win rates on")
    return compare_rates(cells, keys, "won", trials="decided", cluster=cluster, level=level)


def sales_cycles(data: Engine | Dataset, by: Sequence[str] = ("leader_id",),
                 level: float = 0.95, n_boot: int = 999, seed: int = 0) -> pd.DataFrame:
    """Median days from created to close of decided deals per group, with a bootstrap interval.

    Reps are resampled (seeded) unless ``by`` holds ``rep_id``; deals without a created date
    are left out. :func:`salesnb.metrics.rates.cycle_times` has the method.

    Returns
    -------
    DataFrame
        ``by`` columns, ``deals``, ``median_days``, ``median_low``, ``median_high``,
        ``mean_days``, ``clusters``, ``method``.
    """
    keys, cells, cluster = _cycle_cells(data, by)
    return cycle_times(cells, keys, "days", cluster=cluster, weight="deals", level=level,
                       n_boot=n_boot, seed=seed)


def sales_cycle_test(data: Engine | Dataset, by: Sequence[str] = ("leader_id",),
                     n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """Do sales cycles differ between groups? Kruskal-Wallis, in one row like
    :func:`win_rate_test` (p by permuting whole reps when reps are nested in the groups).
    """
    keys, cells, cluster = _cycle_cells(data, by)
    return compare_cycle_times(cells, keys, "days", cluster=cluster, weight="deals",
                               n_perm=n_perm, seed=seed)


def _cycle_cells(data: Engine | Dataset, by: Sequence[str]
                 ) -> tuple[list[str], pd.DataFrame, str | None]:
    keys, deals, cluster = _decided_deals(data, by, "sales cycles", decided=True)
    if "created_date" not in deals.columns:
        raise SalesnbError("sales cycles need the deals' created dates: map deals.created_date")
    deals = deals.filter(deals.created_date.notnull() & deals.close_date.notnull())
    deals = deals.mutate(days=deals.close_date.date().delta(deals.created_date.date(),
                                                            unit="day"))
    cells = _counts(deals, [*keys, *([cluster] if cluster else []), "days"],
                    {"deals": deals.count()})
    if cells.empty:
        raise SalesnbError("no decided deal has both a created and a close date")
    return keys, cells, cluster


def _decided_deals(data: Engine | Dataset, by: Sequence[str], what: str,
                   decided: bool = False) -> tuple[list[str], ir.Table, str | None]:
    keys = list(by)
    deals = _deals_with_groups(as_engine(data), keys)
    _absent(deals, keys, what)
    if decided:
        deals = deals.filter(deals.outcome.isin(["won", "lost"]))
    return keys, deals, "rep_id" if "rep_id" in deals.columns and "rep_id" not in keys \
        else None


def _counts(table: ir.Table, keys: list[str], measures: dict) -> pd.DataFrame:
    grouped = table.group_by(keys).aggregate(**measures) if keys else table.aggregate(**measures)
    frame = fetch(grouped)
    for column in measures:
        frame[column] = frame[column].fillna(0).astype(int)
    return frame


def _rated(cells: pd.DataFrame, keys: list[str], sums: list[str], cluster: str | None,
           level: float, rates: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Per group: the summed counts and, per rate, its value, interval and design effect."""
    cells = cells.assign(decided=cells["won"] + cells["lost"])
    sums = [*sums, "decided"]
    frame = cells.groupby(keys, dropna=False, sort=True)[sums].sum().reset_index() if keys \
        else cells[sums].sum().to_frame().T.astype(int)
    for name, (successes, trials) in rates.items():
        table = rate_intervals(cells[successes], cells[trials], cells[keys] if keys else None,
                               cells[cluster] if cluster else None, level)
        table = table.rename(columns={"rate": name, "low": f"{name}_low",
                                      "high": f"{name}_high", "clusters": "reps",
                                      "design_effect": f"{name}_design_effect"})
        wanted = [name, f"{name}_low", f"{name}_high", f"{name}_design_effect"]
        if cluster and "reps" not in frame.columns:
            wanted.insert(3, "reps")
        frame = frame.merge(table[keys + wanted], on=keys, how="left") if keys else \
            pd.concat([frame, table[wanted]], axis=1)
    return frame


def _deals_with_groups(engine: Engine, keys: Sequence[str] = ()) -> ir.Table:
    """Deals with their team's columns, the leader's columns ``keys`` asks for (the style in
    force in the close month) and, when reps are mapped, their rep's own columns.
    """
    import ibis

    deals, teams = engine["deals"], engine["teams"]
    extra = [c for c in ("leader_id", "region", "segment", "industry") if c in teams.columns]
    deals = deals.left_join(teams.select("team_id", *extra),
                            deals.team_id == teams.team_id).drop("team_id_right")
    static = [c for c in ("title", "recognition") if c in keys]
    if static and "leaders" in engine and "leader_id" in deals.columns:
        leaders = engine["leaders"]
        deals = deals.left_join(leaders.select("leader_id", *[c for c in static if c in
                                                             leaders.columns]),
                                deals.leader_id == leaders.leader_id).drop("leader_id_right")
    styles = [c for c in ("decision_style", "involvement") if c in keys]
    if styles and "style_periods" in engine and "leader_id" in deals.columns:
        periods = engine["style_periods"]
        periods = periods.select("leader_id", "valid_from", "valid_to",
                                 *[c for c in styles if c in periods.columns])
        dated = [deals.close_date] + ([deals.created_date] if "created_date" in deals.columns
                                      else [])
        month = ibis.coalesce(*dated, ibis.literal(pd.Timestamp("2199-12-01"))).truncate("M")
        deals = deals.left_join(periods, [deals.leader_id == periods.leader_id,
                                          month >= periods.valid_from, month < periods.valid_to]
                                ).drop("leader_id_right", "valid_from", "valid_to")
    if "reps" in engine and "rep_id" in deals.columns:
        reps = engine["reps"]
        own = [c for c in reps.columns if c not in ("rep_id", "team_id", "hire_date",
                                                    "exit_date", "annual_cost")]
        if own:
            deals = deals.left_join(reps.select("rep_id", *own),
                                    deals.rep_id == reps.rep_id).drop("rep_id_right")
    return deals


def pipeline(data: Engine | Dataset, by: Sequence[str] = ("tactic",)) -> pd.DataFrame:
    """Open deals per group: how many, their amount, and how many have no close date.

    Returns
    -------
    DataFrame
        ``by`` columns, ``open_deals``, ``open_amount`` (missing without amounts),
        ``without_close_date``.
    """
    engine = as_engine(data)
    keys = _check(by, PIPELINE_DIMENSIONS, "pipeline")
    deals = engine["deals"]
    open_deals = deals.filter(deals.outcome == "open")
    teams = engine["teams"]
    extra = [c for c in ("leader_id", "region", "segment", "industry") if c in teams.columns]
    open_deals = open_deals.left_join(teams.select("team_id", *extra),
                                      open_deals.team_id == teams.team_id).drop("team_id_right")
    _absent(open_deals, keys, "pipeline")
    measures = {"open_deals": open_deals.count(),
                "without_close_date": as_count(open_deals.close_date.isnull()).sum()}
    if "amount" in open_deals.columns:
        measures["open_amount"] = open_deals.amount.sum()
    grouped = open_deals.group_by(keys).aggregate(**measures) if keys else \
        open_deals.aggregate(**measures)
    frame = fetch(grouped)
    if "open_amount" not in frame:  # an export without amounts: missing, not 0
        frame["open_amount"] = float("nan")
    frame = frame[[*keys, "open_deals", "open_amount", "without_close_date"]]
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame


def _check(by: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    unknown = [d for d in by if d not in allowed]
    if unknown:
        raise SalesnbError(f"cannot group {what} by {unknown}; use {list(allowed)}")
    return list(by)


def _absent(table: ir.Table, keys: list[str], what: str = "this") -> None:
    missing = [k for k in keys if k not in table.columns]
    if missing:
        hints = "; ".join(_HINTS.get(k, f"there is no column {k!r}") for k in missing)
        usable = [c for c in table.columns if c not in _NOT_GROUPS]
        raise SalesnbError(f"cannot group {what} by {', '.join(missing)}: this data has no "
                           f"{', '.join(missing)} ({hints}); it can group by {usable}")


_NOT_GROUPS = ("deal_id", "lead_id", "customer_id", "amount", "close_date", "created_date",
               "outcome", "converted", "deal_key", "deal_outcome", "deal_team", "rep_team",
               "rep_key", "stage_date")
