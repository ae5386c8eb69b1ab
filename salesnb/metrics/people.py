"""People metrics: rep headcount, attrition and tenure by leader, style and team.

A rep-month grid (reps x months of the data, in the query engine) carries the
leader's style as it was in each month, so a rep who left under an autocratic
leader counts there even if the leader changed style later.

- headcount = average number of reps employed per month in the group
- attrition rate = exits / rep-months x 12 (annualised)
- median tenure (days) = median over reps of (exit date, or the end of the data,
  minus hire date), each rep counted in the group of their last month
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from salesnb.engine.connection import as_count, as_engine, fetch
from salesnb.errors import SalesnbError
from salesnb.metrics.panel_query import activity_months

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.engine.connection import Engine
    from salesnb.io.dataset import Dataset

PEOPLE_DIMENSIONS = ("team_id", "leader_id", "region", "segment", "decision_style",
                     "involvement", "recognition")


def rep_months(data: Engine | Dataset) -> ir.Table:
    """One row per rep and month employed, with team, leader and style of that month."""
    import ibis

    engine = as_engine(data)
    if "reps" not in engine:
        raise SalesnbError("people metrics need the reps table; map it in the mapping file")
    reps = engine["reps"]
    months = activity_months(engine)
    exits = reps.filter(reps.exit_date.notnull())
    exits = exits.select(period=exits.exit_date.truncate("M").cast(months.period.type()))
    # the people window: from the first month with activity to the last activity or exit
    # (an HR snapshot dates its leavers at the snapshot, possibly after the last deal)
    window = months.union(exits)
    bounds = months.aggregate(first=months.period.min()).cross_join(
        window.aggregate(last=window.period.max()))
    grid = _month_grid(engine, bounds)
    pairs = reps.cross_join(grid)
    month_end = pairs.period + ibis.interval(months=1)
    hired = pairs.hire_date if "hire_date" in pairs.columns else ibis.null("timestamp")
    employed = (hired.isnull() | (hired < month_end)) & (
        pairs.exit_date.isnull() | (pairs.exit_date >= pairs.period))
    pairs = pairs.filter(employed).mutate(
        exited=as_count(pairs.exit_date.notnull() & (pairs.exit_date < month_end)))
    teams = engine["teams"]
    pairs = pairs.left_join(teams.select("team_id", *_present(
        teams, ("leader_id", "region", "segment"))), pairs.team_id == teams.team_id
    ).drop("team_id_right")
    if "leader_id" not in pairs.columns:
        return pairs
    if "leaders" in engine and "recognition" in engine["leaders"].columns:
        leaders = engine["leaders"]
        pairs = pairs.left_join(leaders.select("leader_id", "recognition"),
                                pairs.leader_id == leaders.leader_id).drop("leader_id_right")
    if "style_periods" in engine:
        styles = engine["style_periods"]
        pairs = pairs.left_join(styles, [pairs.leader_id == styles.leader_id,
                                         pairs.period >= styles.valid_from,
                                         pairs.period < styles.valid_to]
                                ).drop("leader_id_right", "valid_from", "valid_to")
    return pairs


def _month_grid(engine: Engine, bounds: ir.Table) -> ir.Table:
    import ibis

    row = fetch(bounds).iloc[0]
    months = pd.date_range(row["first"], row["last"], freq="MS")
    frame = pd.DataFrame({"period": months.astype("datetime64[ns]")})
    return ibis.memtable(frame) if engine.backend != "pyspark" else engine.con.create_table(
        "salesnb_months", frame, overwrite=True)


def _present(table: ir.Table, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in table.columns]


def people_dimensions(data: Engine | Dataset) -> list[str]:
    """What people metrics can group by here: the standard dimensions the data has, plus the
    reps' own columns (``role`` and every mapped attribute).
    """
    grid = rep_months(data)
    own = [c for c in grid.columns if c not in ("rep_id", "team_id", "hire_date", "exit_date",
                                                "annual_cost", "period", "exited")]
    return list(dict.fromkeys([*[d for d in PEOPLE_DIMENSIONS if d in grid.columns], *own]))


def _check_people_by(data: Engine | Dataset, by: Sequence[str]) -> None:
    valid = people_dimensions(data)
    unknown = [d for d in by if d not in valid]
    if unknown:
        raise SalesnbError(f"cannot group people by {unknown} in this data; use {valid}")


def attrition(data: Engine | Dataset, by: Sequence[str] = ("decision_style",)) -> pd.DataFrame:
    """Headcount, exits, annualised attrition rate and median tenure per group.

    ``by``: any of :func:`people_dimensions` (team, leader, region, segment, style,
    recognition, and the reps' ``role`` and mapped attributes).
    """
    _check_people_by(data, by)
    grid = rep_months(data)
    keys = list(by)
    measures = {"rep_months": grid.count(), "exits": grid.exited.sum(),
                "months": grid.period.nunique()}
    per_group = grid.group_by(keys).aggregate(**measures) if keys else grid.aggregate(**measures)
    frame = fetch(per_group)
    frame["headcount"] = frame["rep_months"] / frame["months"]
    frame["attrition_rate"] = frame["exits"] / frame["rep_months"] * 12
    tenure = _tenure(grid, keys)
    frame = frame.merge(tenure, on=keys, how="left") if keys else frame.assign(
        median_tenure_days=float(tenure["median_tenure_days"].iloc[0]))
    columns = [*keys, "headcount", "rep_months", "exits", "attrition_rate", "median_tenure_days"]
    return frame[columns].sort_values(keys).reset_index(drop=True) if keys else frame[columns]


def rep_last_months(data: Engine | Dataset) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """One row per rep with the team, leader and style of their last month; the data's window.

    Returns the frame, the first day of the data and the day after its last month.
    The input of the attrition hazard model (:func:`salesnb.models.attrition.attrition_hazards`).
    """
    return _last_months(rep_months(data))


def _last_months(grid: ir.Table) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    import ibis

    last = ibis.window(group_by=grid.rep_id, order_by=ibis.desc(grid.period))
    final = grid.mutate(rank=ibis.row_number().over(last)).filter(lambda t: t["rank"] == 0)
    window = fetch(grid.aggregate(start=grid.period.min(),
                                  end=grid.period.max() + ibis.interval(months=1))).iloc[0]
    rows = fetch(final.drop("rank", "period", "exited"))
    return rows, pd.Timestamp(window["start"]), pd.Timestamp(window["end"])


SPELL_KEYS = ("leader_id", "decision_style", "involvement", "recognition", "training_hours")
"""What stays constant within a spell of :func:`rep_spells` (those the data has)."""


def rep_spells(data: Engine | Dataset) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """One row per rep and spell of constant leader, style and leader traits; the window.

    A spell is a run of consecutive months of one rep in which the leader, the style in
    force (decision style and involvement, changing with ``style_changes``), recognition
    and training hours stay the same: the counting-process input of
    :func:`salesnb.models.attrition.rep_attrition`.

    Parameters
    ----------
    data
        A dataset (or engine) with a ``reps`` table.

    Returns
    -------
    spells : DataFrame
        ``rep_id``, ``team_id``, ``hire_date``, ``exit_date``, the :data:`SPELL_KEYS` the
        data has, ``start`` (first day at risk in the spell: the month start, or the hire
        date in the hire month), ``stop`` (the exit date in the spell the rep left, else the
        first day of the month after the spell) and ``exited`` (1 if the spell ends in an
        exit). Sorted by rep and start.
    start, end : Timestamp
        The first day of the data and the day after its last month.
    """
    import ibis

    grid = rep_months(data)
    engine = as_engine(data)
    if "leader_id" in grid.columns and "leaders" in engine and \
            "training_hours" in engine["leaders"].columns:
        leaders = engine["leaders"]
        grid = grid.left_join(leaders.select("leader_id", "training_hours"),
                              grid.leader_id == leaders.leader_id).drop("leader_id_right")
    keys = [k for k in SPELL_KEYS if k in grid.columns]
    rep_keys = [c for c in ("rep_id", "team_id", "hire_date", "exit_date") if c in grid.columns]
    in_order = ibis.window(group_by=grid.rep_id, order_by=grid.period)
    in_spell = ibis.window(group_by=[grid.rep_id, *[grid[k] for k in keys]],
                           order_by=grid.period)
    # gaps and islands: consecutive months with the same keys share this difference
    grid = grid.mutate(spell=ibis.row_number().over(in_order)
                       - ibis.row_number().over(in_spell))
    spells = fetch(grid.group_by([*rep_keys, *keys, "spell"]).aggregate(
        first=grid.period.min(), last=grid.period.max(), exited=grid.exited.max()))
    window = fetch(grid.aggregate(start=grid.period.min(),
                                  end=grid.period.max() + ibis.interval(months=1))).iloc[0]
    if "hire_date" not in spells:
        spells["hire_date"] = pd.NaT
    first = pd.to_datetime(spells["first"])
    spells["start"] = first.where(spells["hire_date"].isna() | (spells["hire_date"] < first),
                                  spells["hire_date"])
    after = pd.to_datetime(spells["last"]) + pd.offsets.MonthBegin(1)
    spells["exited"] = spells["exited"].astype(int)
    spells["stop"] = after.where(spells["exited"] == 0, spells["exit_date"])
    columns = ["rep_id", "team_id", "hire_date", "exit_date", *keys, "start", "stop", "exited"]
    spells = spells[columns].sort_values(["rep_id", "start"]).reset_index(drop=True)
    return spells, pd.Timestamp(window["start"]), pd.Timestamp(window["end"])


def _tenure(grid: ir.Table, keys: list[str]) -> pd.DataFrame:
    rows, _, end = _last_months(grid)
    hired = rows["hire_date"] if "hire_date" in rows else pd.Series(pd.NaT, index=rows.index)
    rows["tenure"] = (rows["exit_date"].fillna(end) - hired).dt.days  # unknown hire: missing
    if not keys:
        return pd.DataFrame({"median_tenure_days": [rows["tenure"].median()]})
    return rows.groupby(keys, dropna=False)["tenure"].median().rename(
        "median_tenure_days").reset_index()


def attrition_cost(data: Engine | Dataset, by: Sequence[str] = ("decision_style",),
                   replacement_share: float = 0.5) -> pd.DataFrame:
    """What rep attrition costs per new customer, per group.

    replacement cost = exits x the leaver's annual cost x ``replacement_share`` (hiring,
    ramp-up and lost selling time; 0.5, half a year's cost, is a common rule of thumb:
    set your own), counted in the group of the exit month; turnover cost per customer =
    replacement cost / new customers of the group (missing where the group won none).
    Leavers without an annual cost are valued at the mean annual cost of all reps.
    """
    from salesnb.metrics.measures import new_customers

    if not 0 <= replacement_share <= 5:
        raise SalesnbError(f"replacement_share is a multiple of annual cost (0.5 = half a "
                           f"year); {replacement_share!r} is not plausible")
    keys = list(by)
    if not keys or any(d not in PEOPLE_DIMENSIONS for d in keys):
        raise SalesnbError(f"group attrition cost by one or more of {list(PEOPLE_DIMENSIONS)}, "
                           f"not {keys}")
    engine = as_engine(data)
    if "reps" not in engine or "annual_cost" not in engine["reps"].columns:
        raise SalesnbError("attrition cost needs the reps table with annual_cost; map it")
    reps = engine["reps"]
    mean_cost = float(fetch(reps.aggregate(mean=reps.annual_cost.mean()))["mean"].iloc[0])
    grid = rep_months(data)
    absent = [k for k in keys if k not in grid.columns]
    if absent:
        raise SalesnbError(f"this data has no {', '.join(absent)} to group attrition cost by")
    leaver_cost = grid.exited * grid.annual_cost.fill_null(mean_cost)
    frame = fetch(grid.group_by(keys).aggregate(exits=grid.exited.sum(),
                                                leaver_cost=leaver_cost.sum()))
    frame["replacement_cost"] = frame["leaver_cost"].astype(float) * replacement_share
    customers = new_customers(data, by=keys)[[*keys, "new_customers"]]
    frame = frame.merge(customers, on=keys, how="outer")
    frame[["exits", "replacement_cost"]] = frame[["exits", "replacement_cost"]].fillna(0)
    frame["new_customers"] = frame["new_customers"].fillna(0).astype(int)
    won = frame["new_customers"] > 0
    frame["turnover_cost_per_customer"] = (frame["replacement_cost"]
                                           / frame["new_customers"].where(won))
    columns = [*keys, "exits", "replacement_cost", "new_customers", "turnover_cost_per_customer"]
    return frame[columns].sort_values(keys).reset_index(drop=True)
