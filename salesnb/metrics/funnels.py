"""Funnels that do not need spend: lead conversion and the open pipeline.

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
- Intervals: Wilson 95% intervals for every rate (``*_low``, ``*_high``), from the counts.
  They treat leads or deals as independent; leads of one owner may not be (see the models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesnb.engine.connection import as_count, as_engine, fetch
from salesnb.errors import SalesnbError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.engine.connection import Engine
    from salesnb.io.dataset import Dataset

CONVERSION_DIMENSIONS = ("tactic", "rep_id", "team_id", "leader_id", "region", "segment",
                         "industry", "stage")
PIPELINE_DIMENSIONS = ("tactic", "rep_id", "team_id", "leader_id", "region", "segment",
                       "industry")


def wilson(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of successes / trials (nan where there are no trials)."""
    from statsmodels.stats.proportion import proportion_confint

    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    low, high = np.full(trials.shape, np.nan), np.full(trials.shape, np.nan)
    some = trials > 0
    if some.any():
        low[some], high[some] = proportion_confint(successes[some], trials[some],
                                                   alpha=1 - level, method="wilson")
    return low, high


def conversion(data: Engine | Dataset, by: Sequence[str] = ("tactic",)) -> pd.DataFrame:
    """Leads, converted leads, won deals and the rates between them, per group.

    Parameters
    ----------
    data
        A dataset (or engine) with a ``leads`` table.
    by
        Any of :data:`CONVERSION_DIMENSIONS` (``tactic`` is the lead source, ``rep_id`` the
        lead's owner).

    Returns
    -------
    DataFrame
        ``by`` columns, ``leads``, ``converted``, ``won``, ``lost``, ``conversion_rate``
        (with ``_low``/``_high``), ``win_rate`` (with ``_low``/``_high``), ``lead_to_won``.
    """
    engine = as_engine(data)
    if "leads" not in engine:
        raise SalesnbError("conversion needs a leads table (lead id, created date, source); "
                           "map it in the mapping file")
    keys = _check(by, CONVERSION_DIMENSIONS, "conversion")
    leads = _leads_with_groups(engine)
    _absent(leads, keys)
    counts = {"leads": leads.count(), "converted": as_count(leads.converted).sum(),
              "won": as_count(leads.deal_outcome == "won").sum(),
              "lost": as_count(leads.deal_outcome == "lost").sum()}
    grouped = leads.group_by(keys).aggregate(**counts) if keys else leads.aggregate(**counts)
    frame = fetch(grouped)
    for column in ("leads", "converted", "won", "lost"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["conversion_rate"] = frame["converted"] / frame["leads"]
    frame["conversion_rate_low"], frame["conversion_rate_high"] = wilson(
        frame["converted"], frame["leads"])
    decided = frame["won"] + frame["lost"]
    frame["win_rate"] = frame["won"] / decided.where(decided > 0)
    frame["win_rate_low"], frame["win_rate_high"] = wilson(frame["won"], decided)
    frame["lead_to_won"] = frame["won"] / frame["leads"]
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame


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


def win_rates(data: Engine | Dataset, by: Sequence[str] = ("rep_id",)) -> pd.DataFrame:
    """Won / (won + lost) per group of deals, with Wilson intervals; open deals count apart.

    Parameters
    ----------
    data
        A dataset or engine.
    by
        Deal columns (``tactic``, ``rep_id``, ``team_id``), team columns (``leader_id``,
        ``region``, ``segment``, ``industry``) or, with a reps table, the reps' own columns
        (``role`` and every mapped attribute). A deal without a rep is grouped as missing.

    Returns
    -------
    DataFrame
        ``by`` columns, ``deals``, ``won``, ``lost``, ``open``, ``win_rate`` (with ``_low`` and
        ``_high``).
    """
    engine = as_engine(data)
    deals = _deals_with_groups(engine)
    keys = list(by)
    _absent(deals, keys)
    counts = {"deals": deals.count(), "won": as_count(deals.outcome == "won").sum(),
              "lost": as_count(deals.outcome == "lost").sum(),
              "open": as_count(deals.outcome == "open").sum()}
    grouped = deals.group_by(keys).aggregate(**counts) if keys else deals.aggregate(**counts)
    frame = fetch(grouped)
    decided = frame["won"] + frame["lost"]
    frame["win_rate"] = frame["won"] / decided.where(decided > 0)
    frame["win_rate_low"], frame["win_rate_high"] = wilson(frame["won"], decided)
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame


def _deals_with_groups(engine: Engine) -> ir.Table:
    """Deals with their team's columns and, when reps are mapped, their rep's own columns."""
    deals, teams = engine["deals"], engine["teams"]
    extra = [c for c in ("leader_id", "region", "segment", "industry") if c in teams.columns]
    deals = deals.left_join(teams.select("team_id", *extra),
                            deals.team_id == teams.team_id).drop("team_id_right")
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
    import ibis

    engine = as_engine(data)
    keys = _check(by, PIPELINE_DIMENSIONS, "pipeline")
    deals = engine["deals"]
    open_deals = deals.filter(deals.outcome == "open")
    teams = engine["teams"]
    extra = [c for c in ("leader_id", "region", "segment", "industry") if c in teams.columns]
    open_deals = open_deals.left_join(teams.select("team_id", *extra),
                                      open_deals.team_id == teams.team_id).drop("team_id_right")
    _absent(open_deals, keys)
    amount = open_deals.amount if "amount" in open_deals.columns else ibis.null("float64")
    measures = {"open_deals": open_deals.count(), "open_amount": amount.sum(),
                "without_close_date": as_count(open_deals.close_date.isnull()).sum()}
    grouped = open_deals.group_by(keys).aggregate(**measures) if keys else \
        open_deals.aggregate(**measures)
    frame = fetch(grouped)
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame


def _check(by: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    unknown = [d for d in by if d not in allowed]
    if unknown:
        raise SalesnbError(f"cannot group {what} by {unknown}; use {list(allowed)}")
    return list(by)


def _absent(table: ir.Table, keys: list[str]) -> None:
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise SalesnbError(f"this data has no {', '.join(missing)} to group by; map it")
