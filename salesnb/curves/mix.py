"""Cost per customer from *totals over time*: a marketing-mix model for data whose customers
are not tagged with the tactic that won them.

Many organisations know spend per tactic per week (or month) and the total of new customers
(or revenue) per period, for the whole company or per market, but not which tactic won whom.
Splitting the total by spend share gives every tactic nearly the same CAC and ranks them by
timing luck; :func:`fit_mix_model` instead reads each tactic's share from how the outcome moves
with its spend over time, other things (trend, season, controls) held.

The input (one row per period, or per period x market; wide)
-----------------------------------------------------------
``period`` (a date: week start or month start; name it with ``date=``), the ``outcome`` (new
customers, or revenue: then every "CAC" below is cost per unit of outcome, e.g. cost per dollar
of revenue, and the result says so), one spend column per tactic (``spend=[...]``; default every
column named ``spend_<tactic>``), control columns (``controls=[...]``: a demand index, price,
events, a known confounder) and, with several markets, the ``market`` column and optionally the
``style`` column (the market leader's decision style in that period).
:func:`salesnb.synthetic.mix_demo.generate` writes a table of this shape.

The model (the contract)
------------------------
    E[outcome(t, m)] = exp(baseline(t, m)) + style(m, t) * sum_k f_k(A_k(t, m))

- **baseline**: intercept, market intercepts, a linear trend (per year), ``seasonality``
  harmonics of the yearly cycle and the controls (each standardised), on the log scale.
- **carry-over** ``A_k``: normalised geometric adstock per tactic, ``A[t] = lam_k A[t-1] +
  (1 - lam_k) x[t]``, starting at steady state at the mean spend of the first 8 periods (the
  first period alone misleads for a tactic run in flights), so a steady spend of ``x`` a period
  has ``A = x`` and every curve reads in spend per period.
- **saturation** ``f_k``: ``"hill"`` ``maximum * A**shape / (A**shape + half**shape)`` (shape
  fixed at ``shape``, default 1, or estimated with ``shape=None``) or ``"power"``
  ``level * (A / reference) ** exponent``. Curves are the same in every market (pooled);
  markets differ in baseline. ``style``: each decision style multiplies every tactic's response
  (reference: consultative, else the most common style).
- **likelihood**: negative binomial (NB2) for counts, with dispersion by the method of moments
  (Poisson when there is none), quasi-Poisson for amounts; everything fitted jointly (see
  :mod:`salesnb.curves.mix_fit`).
- **Average CAC** of a tactic: its total spend over the data / the customers its curve gives
  over the data (``f_k(A_k)`` summed over periods and markets). It counts every customer from
  zero spend up, so it leans on the curve's form below the lowest spend observed (a note names
  tactics that never spent low).
- **Marginal CAC** at current spend: ``1 / f_k'(x)`` at the tactic's mean spend per
  market-period ``x`` (steady state), times the average style multiplier: the cost of the next
  customer.
- **Contribution share**: customers a tactic's curve gives / all fitted customers (the
  baseline's share is the rest).
- **Observed range**: 5th to 95th percentile of the tactic's adstock per market-period; curve
  readings outside it are flagged as extrapolation.
- **Intervals**: ``"bootstrap"`` (default) refits the model ``n_boot`` times on a circular block
  bootstrap of periods (blocks of ``block`` consecutive periods, all markets together, seeded;
  default 8 weeks or 3 months), which keeps autocorrelation and carry-over inside blocks; every
  quantity is recomputed from each draw's parameters on the observed spend; percentile
  intervals. ``"fisher"`` draws parameters from the normal approximation at the estimate
  (faster, but blind to autocorrelation and to skew near the bounds). In the 50-seed study of
  ``benchmarks/mix_bench.py`` (three years weekly, six tactics) the bootstrap's 95% intervals
  covered each tactic's true average CAC in 94-100% of seeds, the Fisher draws' in 86-96%.

Why not PyMC-Marketing, Robyn or Meridian: PyMC-Marketing and Meridian are Bayesian MMM
frameworks with heavy stacks (PyMC + PyTensor, which compiles C; Meridian needs TensorFlow and
TensorFlow Probability) whose MCMC sampling takes minutes per fit, where this model, bootstrap
included, takes about two seconds on two cores (``benchmarks/mix_bench.py``). Robyn is an R
package (ridge regression plus an evolutionary search through nevergrad, called from R); its
Python port ``robynpy`` is young (0.3), and the PyPI name ``robyn`` is an unrelated web
framework. Their priors help when data are thin; here thin data get wide intervals and a note
instead. Statsmodels' GLMs cannot hold the adstock and Hill parameters inside the mean, so the
fit is scipy/numpy with the exact Jacobian; salesnb adds no dependency.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesnb.curves.mix_fit import (
    Layout,
    MixData,
    best_fit,
    bootstrap,
    fisher_draws,
    fit,
    moment_dispersion,
)
from salesnb.curves.mix_notes import notes_for
from salesnb.curves.mix_result import MixModel
from salesnb.errors import SalesnbError

PERIODS = {"week": (52.1775, 52.1775 / 12, 8), "month": (12.0, 1.0, 3)}  # per year, per month,
#                                                                           default block
FORMS = ("hill", "power")
FAMILIES = ("auto", "negative_binomial", "poisson")
INTERVALS = ("bootstrap", "fisher")
KINDS = ("auto", "customers", "revenue")
SPEND_PREFIX = "spend_"
REFERENCE_STYLE = "consultative"
CARRYOVER_STARTS = (0.1, 0.5)


def fit_mix_model(frame: pd.DataFrame, outcome: str = "new_customers",
                  spend: Sequence[str] | None = None, controls: Sequence[str] = (),
                  period: str = "week", market: str | None = None, style: str | None = None,
                  date: str = "period", form: str = "hill", shape: float | None = 1.0,
                  seasonality: int = 2, trend: bool = True, family: str = "auto",
                  intervals: str = "bootstrap", n_boot: int = 200, block: int | None = None,
                  max_carryover: float = 0.9, kind: str = "auto", seed: int = 0) -> MixModel:
    """Fit the marketing-mix model to totals over time (see the module docstring).

    Parameters
    ----------
    frame : one row per period (or period x market): the date, outcome, spend, controls.
    outcome : the outcome column (new customers; or revenue, read as cost per unit).
    spend : spend columns, one per tactic; default every ``spend_<tactic>`` column. The tactic
        is the column name without the ``spend_`` prefix.
    controls : baseline control columns (numeric): seasonality drivers, price, events, and
        above all any confounder that moves both spend and outcome.
    period : ``"week"`` or ``"month"``: the dates must be consecutive weeks (7 days apart) or
        consecutive months.
    market : the market column when there are several (curves pooled, baselines per market);
        None: one row per period.
    style : a column with the leader's decision style per row; each style scales every
        tactic's response.
    date : the date column.
    form : ``"hill"`` (default) or ``"power"``.
    shape : the Hill shape, fixed (default 1), or None to estimate it per tactic.
    seasonality : yearly Fourier harmonics in the baseline (0: none).
    trend : a linear trend in the baseline.
    family : ``"auto"`` (negative binomial for counts, quasi-Poisson for amounts),
        ``"negative_binomial"`` or ``"poisson"``.
    intervals : ``"bootstrap"`` (circular block bootstrap over periods) or ``"fisher"``.
    n_boot : bootstrap (or parametric) draws; 0 gives no intervals.
    block : bootstrap block length in periods (default 8 weeks or 3 months).
    max_carryover : the largest carry-over ``lam`` allowed, per period.
    kind : ``"customers"`` (a count), ``"revenue"`` (an amount: CAC is cost per unit of
        outcome) or ``"auto"``: customers when every value is a whole number. Say
        ``"revenue"`` for revenue in whole currency units.
    seed : seed of the draws.

    Returns
    -------
    MixModel
    """
    started = time.perf_counter()
    spend = _spend_columns(frame, spend)
    controls = [controls] if isinstance(controls, str) else list(controls)
    _check_arguments(frame, outcome, spend, controls, period, market, style, date, form, shape,
                     seasonality, family, intervals, n_boot, block, max_carryover)
    if kind not in KINDS:
        raise SalesnbError(f"cannot fit the mix model: kind must be one of {list(KINDS)}, "
                           f"not {kind!r}")
    rows = frame.assign(**{date: pd.to_datetime(frame[date], errors="coerce")})
    rows = rows.sort_values([date] + ([market] if market else [])).reset_index(drop=True)
    _check_rows(rows, outcome, spend, controls, period, market, style, date)
    data, names, styles, whole = _data(rows, outcome, spend, list(controls), period, market,
                                       style, date, seasonality, trend)
    kind = ("customers" if whole else "revenue") if kind == "auto" else kind
    layout = Layout(data.design.shape[1], len(spend), form, shape, len(styles))
    if data.n_rows <= layout.size + 1:
        raise SalesnbError(f"cannot fit the mix model: {data.n_rows} rows for {layout.size + 1} "
                           "parameters; use more periods or markets, fewer tactics or controls, "
                           "seasonality=0 or a fixed Hill shape")
    estimate, converged = best_fit(data, layout, 0.0, max_carryover, CARRYOVER_STARTS)
    alpha = 0.0
    if family == "negative_binomial" or (family == "auto" and kind == "customers"):
        alpha = moment_dispersion(data, layout, estimate)
        if alpha > 0:
            estimate, _, converged = fit(data, layout, estimate, alpha, max_carryover)
    block = block or PERIODS[period][2]
    failed = 0
    if intervals == "fisher":
        draws = fisher_draws(data, layout, estimate, alpha, max_carryover, n_boot, seed)
    else:
        draws, failed = bootstrap(data, layout, estimate, alpha, max_carryover, n_boot, block,
                                  seed)
    tactics = [c[len(SPEND_PREFIX):] if c.startswith(SPEND_PREFIX) else c for c in spend]
    result = MixModel(
        tactics=tactics, spend_columns=list(spend), outcome=outcome, kind=kind, period=period,
        periods_per_month=PERIODS[period][1], form=form, shape=shape, market=market,
        markets=list(pd.unique(rows[market])) if market else ["all"],
        controls=list(controls), style=style, styles=styles, family=_family(alpha, kind),
        dispersion=alpha, layout=layout, data=data, baseline_terms=names, estimate=estimate,
        draws=draws, periods=pd.DatetimeIndex(pd.unique(rows[date])), intervals=intervals,
        block=block, seed=seed, max_carryover=max_carryover, table=rows)
    result.notes = notes_for(result, converged, failed)
    result.seconds = time.perf_counter() - started
    return result


def _family(alpha: float, kind: str) -> str:
    if kind == "revenue":
        return "quasi-poisson"
    return "negative_binomial" if alpha > 0 else "poisson"


def _spend_columns(frame, spend) -> list[str]:
    if not isinstance(frame, pd.DataFrame):
        raise SalesnbError(f"the mix model needs a pandas DataFrame, not {type(frame).__name__}")
    if spend is None:
        found = [c for c in frame.columns if str(c).startswith(SPEND_PREFIX)]
        if not found:
            raise SalesnbError("no spend columns: name them with spend=[...] or call them "
                               f"'{SPEND_PREFIX}<tactic>'")
        return found
    if isinstance(spend, str):
        return [spend]
    return list(spend)


def _check_arguments(frame, outcome, spend, controls, period, market, style, date, form, shape,
                     seasonality, family, intervals, n_boot, block, max_carryover) -> None:
    problems = []
    named = [date, outcome, *spend, *controls] + [c for c in (market, style) if c]
    missing = [c for c in dict.fromkeys(named) if c not in frame.columns]
    if missing:
        problems.append(f"columns {missing} are not in the table (it has "
                        f"{list(frame.columns)[:20]})")
    if len(set(named)) < len(named):
        problems.append("a column is named twice among date, outcome, spend, controls, market "
                        "and style")
    if period not in PERIODS:
        problems.append(f"period must be one of {list(PERIODS)}, not {period!r}")
    if form not in FORMS:
        problems.append(f"form must be one of {list(FORMS)}, not {form!r}")
    if shape is not None and not (isinstance(shape, int | float) and 0.5 <= shape <= 3):
        problems.append(f"shape must be None (estimated) or a number from 0.5 to 3, not "
                        f"{shape!r}")
    if family not in FAMILIES:
        problems.append(f"family must be one of {list(FAMILIES)}, not {family!r}")
    if intervals not in INTERVALS:
        problems.append(f"intervals must be one of {list(INTERVALS)}, not {intervals!r}")
    for name, value, least in (("n_boot", n_boot, 0), ("seasonality", seasonality, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append(f"{name} must be a whole number >= {least}, not {value!r}")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int)
                              or block < 1):
        problems.append(f"block must be None or a whole number >= 1, not {block!r}")
    if not (isinstance(max_carryover, int | float) and 0 <= max_carryover < 1):
        problems.append(f"max_carryover must be in [0, 1), not {max_carryover!r}")
    if problems:
        raise SalesnbError("cannot fit the mix model: " + "; ".join(problems))


def _check_rows(rows, outcome, spend, controls, period, market, style, date) -> None:
    """Every problem of the table's values at once."""
    problems = []
    for column in [outcome, *spend, *controls]:
        values = pd.to_numeric(rows[column], errors="coerce")
        bad = rows.index[~np.isfinite(values.to_numpy(dtype=float))]
        if len(bad):
            problems.append(f"{column}: {len(bad)} missing or non-numeric values (rows "
                            f"{list(bad[:5])})")
        elif column in (outcome, *spend) and (values < 0).any():
            problems.append(f"{column}: negative values (rows "
                            f"{list(rows.index[values < 0][:5])})")
    for column in spend:
        values = pd.to_numeric(rows[column], errors="coerce")
        positive = values[values > 0]
        if len(positive) < 2 or positive.std() < 0.05 * positive.mean():
            problems.append(f"{column}: spend never varies (or never spent), so its response "
                            "cannot be read; leave it out")
    for column in controls:
        if pd.to_numeric(rows[column], errors="coerce").std() == 0:
            problems.append(f"control {column} is constant (the intercept already holds it)")
    if style and rows[style].isna().any():
        problems.append(f"{style}: missing styles (rows "
                        f"{list(rows.index[rows[style].isna()][:5])})")
    if style and rows[style].nunique() < 2:
        problems.append(f"{style}: only one style, so its effect cannot be read (leave style "
                        "out)")
    problems += _period_problems(rows, period, market, date)
    if problems:
        raise SalesnbError("cannot fit the mix model: " + "; ".join(problems))


def _period_problems(rows, period, market, date) -> list[str]:
    dates = rows[date]
    if dates.isna().any():
        return [f"{date}: {int(dates.isna().sum())} missing values or values that are not "
                "dates"]
    keys = pd.DataFrame({"d": dates, "m": rows[market] if market else "all"})
    duplicated = keys.duplicated()
    if duplicated.any():
        where = "per market" if market else "(give market=... if rows are markets)"
        return [f"{int(duplicated.sum())} repeated periods {where}, e.g. "
                f"{dates[duplicated].iloc[0].date()}"]
    unique = pd.DatetimeIndex(sorted(dates.unique()))
    if period == "week":
        steps = np.diff(unique.values).astype("timedelta64[D]").astype(int)
        odd = bool((steps != 7).any())
    else:
        months = unique.to_period("M")
        steps = np.diff(months.year * 12 + months.month)
        odd = bool((steps != 1).any())
    problems = []
    if odd:
        problems.append(f"{date}: the periods are not consecutive {period}s (gaps or uneven "
                        f"spacing between {unique[0].date()} and {unique[-1].date()}); fill "
                        "missing periods with zero spend and their outcome")
    counts = keys.groupby("m")["d"].nunique()
    short = counts[counts < len(unique)]
    if len(short):
        problems.append(f"markets without every period: {dict(short.head(5))} of "
                        f"{len(unique)}")
    return problems


def _data(rows, outcome, spend, controls, period, market, style, date, seasonality, trend):
    """(MixData, baseline term names, style levels, whether the outcome is whole numbers)."""
    markets = list(pd.unique(rows[market])) if market else ["all"]
    n_markets, n_periods = len(markets), len(rows) // len(markets)
    y = rows[outcome].to_numpy(dtype=float)
    x = np.stack([rows[c].to_numpy(dtype=float).reshape(n_periods, n_markets) for c in spend])
    years = np.repeat(np.arange(n_periods), n_markets) / PERIODS[period][0]
    columns, names = [np.ones(len(y))], ["intercept"]
    labels = rows[market].to_numpy() if market else np.full(len(y), "all")
    for m in markets[1:]:
        columns.append((labels == m).astype(float))
        names.append(f"market={m}")
    if trend:
        columns.append(years - years.mean())
        names.append("trend per year")
    for h in range(1, seasonality + 1):
        columns += [np.sin(2 * np.pi * h * years), np.cos(2 * np.pi * h * years)]
        names += [f"season sin {h}", f"season cos {h}"]
    for c in controls:
        values = rows[c].to_numpy(dtype=float)
        columns.append((values - values.mean()) / values.std())
        names.append(c)
    styles: list[str] = []
    codes = None
    if style:
        counts = rows[style].astype(str).value_counts()
        first = REFERENCE_STYLE if REFERENCE_STYLE in counts.index else str(counts.index[0])
        styles = [first] + sorted(s for s in counts.index if s != first)
        codes = rows[style].astype(str).map({s: i for i, s in enumerate(styles)}).to_numpy()
    reference = np.array([np.median(v[v > 0]) for v in x.reshape(len(spend), -1)])
    data = MixData(y, x, np.column_stack(columns), codes, max(len(styles), 1), reference,
                   float(y.mean()))
    return data, names, styles, bool(np.array_equal(y, np.round(y)))
