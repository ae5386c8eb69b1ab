"""New-hire ramp and retention: how fast reps hired in the data win, and whether they stay.

For every rep hired inside the data window (hire date on or after the first month with
activity), with the leader, style and leader traits of their hire month:

- **days to first win** = days from hire to the close date of the rep's first won deal.
  A rep with no win yet is *censored*: known not to have won by the end of the deals data,
  or by their exit date if they left. Groups get a Kaplan-Meier median (statsmodels
  ``SurvfuncRight``) with its interval (cloglog), so reps who never won pull the median up
  instead of dropping out of it.
- **early win rate** = won / (won + lost) over the rep's deals closed in the first
  ``window_days`` (90) after hire; only reps whose whole window lies inside the deals data.
  Wilson intervals (:func:`salesnb.metrics.funnels.wilson`).
- **retention** = share of reps still employed ``retention_days`` (365) after hire (no
  exit date before then), among reps hired at least that long before the end of the data;
  Wilson intervals.

Reps are small tables: the per-rep facts are aggregated in the query engine (deals per rep,
the rep-month grid of :mod:`salesnb.metrics.people`) and the groups are built in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesnb.engine.connection import as_count, as_engine, fetch
from salesnb.errors import SalesnbError
from salesnb.metrics.funnels import wilson
from salesnb.metrics.panel_query import activity_months
from salesnb.metrics.people import PEOPLE_DIMENSIONS, people_dimensions, rep_months

if TYPE_CHECKING:
    from salesnb.engine.connection import Engine
    from salesnb.io.dataset import Dataset

WINDOW_DAYS = 90
"""The early window for the early win rate (days after hire)."""
RETENTION_DAYS = 365
"""Retention is measured this many days after hire."""
TRAINING_BANDS = (20.0, 40.0, 60.0)
"""Edges of the training-hours bands (``training_band``): under 20 h, 20-40 h, 40-60 h, 60+ h."""

RAMP_COLUMNS = ["hires", "first_wins", "median_days_to_first_win",
                "median_days_to_first_win_low", "median_days_to_first_win_high",
                "early_won", "early_decided", "early_win_rate", "early_win_rate_low",
                "early_win_rate_high", "retention_eligible", "retained", "retention_rate",
                "retention_rate_low", "retention_rate_high"]
"""The measure columns of :func:`ramp`, after the ``by`` columns."""


def ramp_dimensions(data: Engine | Dataset) -> list[str]:
    """What :func:`ramp` can group by here: the people dimensions (leader, team, region,
    segment, style, recognition, the reps' role and attributes) plus ``training_band``
    where leaders have training hours.
    """
    extra = ["training_band"] if _has_training(as_engine(data)) else []
    return [*people_dimensions(data), *extra]


def rep_ramp(data: Engine | Dataset, window_days: int = WINDOW_DAYS,
             retention_days: int = RETENTION_DAYS,
             training_bands: Sequence[float] = TRAINING_BANDS) -> pd.DataFrame:
    """One row per rep hired inside the data window: ramp-up and retention facts.

    Parameters
    ----------
    data
        A dataset (or engine) with ``reps`` (with ``hire_date``) and ``deals.rep_id``.
    window_days
        Length of the early window after hire, for the early win rate.
    retention_days
        Retention is "still employed this many days after hire".
    training_bands
        Edges of the ``training_band`` groups of the leaders' training hours.

    Returns
    -------
    DataFrame
        The rep's columns of the hire month (``rep_id``, ``team_id``, ``leader_id``,
        style, ``recognition``, ``training_hours``, ``training_band``... what the data has),
        ``hire_date``, ``exit_date``, ``days_to_first_win`` (to the first win, or to the
        censoring date), ``first_win`` (True: a win was seen; False: censored),
        ``early_won``, ``early_decided`` (missing when the early window is not complete in
        the data) and ``retained`` (missing when the rep was hired too recently).
    """
    import ibis

    engine = _checked(data)
    grid = rep_months(engine)
    if "leader_id" in grid.columns and _has_training(engine):
        leaders = engine["leaders"]
        grid = grid.left_join(leaders.select("leader_id", "training_hours"),
                              grid.leader_id == leaders.leader_id).drop("leader_id_right")
    first = ibis.window(group_by=grid.rep_id, order_by=grid.period)
    hire_month = grid.mutate(rank=ibis.row_number().over(first)).filter(
        lambda t: t["rank"] == 0).drop("rank", "exited")
    reps = fetch(hire_month)
    window = fetch(grid.aggregate(start=grid.period.min(),
                                  end=grid.period.max() + ibis.interval(months=1))).iloc[0]
    months = activity_months(engine)
    deals_end = pd.Timestamp(fetch(months.aggregate(last=months.period.max()))["last"].iloc[0]
                             ) + pd.offsets.MonthBegin(1)
    data_start, people_end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    reps = reps[reps["hire_date"].notna() & (reps["hire_date"] >= data_start)].drop(
        columns="period")
    if reps.empty:
        raise SalesnbError(f"no rep was hired inside the data window (from {data_start:%Y-%m}):"
                           " ramp-up needs reps.hire_date of new hires")
    reps = reps.merge(_deals_per_rep(engine, window_days), on="rep_id", how="left")
    hired = reps["hire_date"]
    won = reps["first_win_date"].notna()
    censored_at = reps["exit_date"].where(reps["exit_date"] < deals_end, deals_end)
    reps["days_to_first_win"] = ((reps["first_win_date"].where(won, censored_at) - hired)
                                 .dt.days.clip(lower=0).astype(float))
    reps["first_win"] = won
    complete = hired + pd.Timedelta(days=window_days) <= deals_end
    for column in ("early_won", "early_decided"):
        reps[column] = reps[column].fillna(0).where(complete)
    eligible = hired + pd.Timedelta(days=retention_days) <= people_end
    stayed = reps["exit_date"].isna() | (reps["exit_date"] >= hired + pd.Timedelta(
        days=retention_days))
    reps["retained"] = stayed.astype(float).where(eligible)
    if "training_hours" in reps:
        reps["training_band"] = training_band(reps["training_hours"], training_bands)
    return reps.drop(columns="first_win_date").sort_values("rep_id").reset_index(drop=True)


def ramp(data: Engine | Dataset, by: Sequence[str] = ("leader_id",),
         window_days: int = WINDOW_DAYS, retention_days: int = RETENTION_DAYS,
         training_bands: Sequence[float] = TRAINING_BANDS, level: float = 0.95) -> pd.DataFrame:
    """New-hire ramp-up and retention per group, with intervals.

    Parameters
    ----------
    data
        A dataset (or engine) with ``reps`` (with ``hire_date``) and ``deals.rep_id``.
    by
        Any of :func:`ramp_dimensions` (``leader_id``, ``decision_style``,
        ``recognition``, ``training_band``, ``team_id``, ...); empty for one overall row.
        Each rep counts in the group of their hire month.
    window_days, retention_days, training_bands
        As in :func:`rep_ramp`.
    level
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        ``by`` columns and :data:`RAMP_COLUMNS`: ``hires``; ``first_wins`` (reps seen to
        win) and the Kaplan-Meier median days to first win with its interval (missing
        where fewer than half the group is seen to win: the median is not reached; a
        missing upper bound is beyond the data); the early window's ``early_won``,
        ``early_decided`` and win rate; ``retention_eligible``, ``retained`` and the
        retention rate. Rates are missing where there is nothing to divide by.

    Raises
    ------
    SalesnbError
        Without reps, hire dates or ``deals.rep_id`` (saying what to map), with an
        unknown grouping, or when no rep was hired inside the data window.
    """
    keys = list(by)
    reps = rep_ramp(data, window_days, retention_days, training_bands)
    valid = _dimensions(reps)
    unknown = [k for k in keys if k not in valid]
    if unknown:
        raise SalesnbError(f"cannot group ramp-up by {unknown} in this data; use {valid}")
    groups = reps.groupby(keys, dropna=False, observed=True) if keys else [((), reps)]
    rows = []
    for key, group in groups:
        values = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, values, strict=True)), **_measures(group, level)})
    frame = pd.DataFrame(rows, columns=[*keys, *RAMP_COLUMNS])
    for name, wins, trials in (("early_win_rate", "early_won", "early_decided"),
                               ("retention_rate", "retained", "retention_eligible")):
        trials_ = frame[trials].astype(float)
        frame[name] = frame[wins] / trials_.where(trials_ > 0)
        frame[f"{name}_low"], frame[f"{name}_high"] = wilson(frame[wins], trials_, level)
    frame = frame[[*keys, *RAMP_COLUMNS]]
    return frame.sort_values(keys).reset_index(drop=True) if keys else frame


def training_band(hours: pd.Series, edges: Sequence[float] = TRAINING_BANDS) -> pd.Series:
    """Training hours as bands: ``"under 20 h"``, ``"20-40 h"``, ..., ``"60+ h"``."""
    edges = sorted(float(e) for e in edges)
    if not edges:
        raise SalesnbError("training_bands needs at least one edge (hours)")
    labels = [f"under {edges[0]:g} h",
              *[f"{low:g}-{high:g} h" for low, high in zip(edges[:-1], edges[1:], strict=True)],
              f"{edges[-1]:g}+ h"]
    bands = pd.cut(hours.astype(float), [-np.inf, *edges, np.inf], right=False, labels=labels)
    return bands.astype(object).where(hours.notna())


def _dimensions(reps: pd.DataFrame) -> list[str]:
    """The groupings of a :func:`rep_ramp` frame (as :func:`ramp_dimensions`)."""
    facts = {"rep_id", "team_id", "hire_date", "exit_date", "annual_cost", "training_hours",
             "early_won", "early_decided", "days_to_first_win", "first_win", "retained"}
    own = [c for c in reps.columns if c not in facts and c not in PEOPLE_DIMENSIONS]
    return [*[d for d in PEOPLE_DIMENSIONS if d in reps], *own]


def _measures(group: pd.DataFrame, level: float) -> dict[str, float]:
    median, low, high = km_median(group["days_to_first_win"], group["first_win"], level)
    decided = group["early_decided"].dropna()
    retained = group["retained"].dropna()
    return {"hires": len(group), "first_wins": int(group["first_win"].sum()),
            "median_days_to_first_win": median, "median_days_to_first_win_low": low,
            "median_days_to_first_win_high": high,
            "early_won": int(group["early_won"].dropna().sum()),
            "early_decided": int(decided.sum()),
            "retention_eligible": len(retained), "retained": int(retained.sum())}


def km_median(days: pd.Series, observed: pd.Series, level: float = 0.95
              ) -> tuple[float, float, float]:
    """Kaplan-Meier median of right-censored durations and its interval (cloglog).

    Returns (median, low, high); the median is missing when the survival curve never falls
    below one half (fewer than half seen to have the event), a bound when the data does not
    reach it.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    events = np.asarray(observed, dtype=float)
    if len(events) == 0 or events.sum() == 0:
        return np.nan, np.nan, np.nan
    curve = SurvfuncRight(np.asarray(days, dtype=float), events)
    median = float(curve.quantile(0.5))
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = curve.quantile_ci(0.5, alpha=1 - level)
    bounds = [float(b) if np.isfinite(b) else np.nan for b in (low, high)]
    return median, bounds[0], bounds[1]


def _checked(data: Engine | Dataset) -> Engine:
    engine = as_engine(data)
    if "reps" not in engine:
        raise SalesnbError("new-hire ramp-up needs the reps table (map reps: rep_id, team_id, "
                           "hire_date)")
    reps = engine["reps"]
    if "hire_date" not in reps.columns or not _any(reps, "hire_date"):
        raise SalesnbError("new-hire ramp-up needs hire dates (map reps.hire_date, or years "
                           "at company with years_before:)")
    deals = engine["deals"]
    if "rep_id" not in deals.columns or not _any(deals, "rep_id"):
        raise SalesnbError("new-hire ramp-up needs the rep of each deal (map deals.rep_id, "
                           "e.g. the opportunity owner)")
    return engine


def _any(table, column: str) -> bool:
    return bool(fetch(table.aggregate(n=table[column].notnull().sum()))["n"].iloc[0])


def _has_training(engine: Engine) -> bool:
    return "leaders" in engine and "training_hours" in engine["leaders"].columns


def _deals_per_rep(engine: Engine, window_days: int) -> pd.DataFrame:
    """Each rep's first win after hire and the early window's won and decided deals."""
    import ibis

    deals, reps = engine["deals"], engine["reps"]
    closed = deals.filter(deals.rep_id.notnull() & deals.close_date.notnull()
                          & (deals.outcome != "open"))
    hires = reps.select(rep=reps.rep_id, hired=reps.hire_date)
    joined = closed.join(hires, closed.rep_id == hires.rep)
    joined = joined.filter(joined.hired.notnull() & (joined.close_date >= joined.hired))
    early = joined.close_date < joined.hired + ibis.interval(days=window_days)
    won = joined.outcome == "won"
    per_rep = joined.group_by(rep_id=joined.rep_id).aggregate(
        first_win_date=joined.close_date.min(where=won),
        early_won=as_count(early & won).sum(), early_decided=as_count(early).sum())
    frame = fetch(per_rep)
    frame["first_win_date"] = pd.to_datetime(frame["first_win_date"])
    return frame
