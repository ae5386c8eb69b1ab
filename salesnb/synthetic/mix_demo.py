"""Synthetic *totals* data for the marketing-mix model, with the truth planted and documented.

Many organisations cannot say which tactic won each customer; they know spend per tactic per
period and the total of new customers per period (per market, or for the whole company).
:func:`generate` simulates that table with known answers, so the model of
:mod:`salesnb.curves.mix` can be checked against them (``truth.json``, as for the demo).

The table (wide, one row per period x market; the shape :func:`salesnb.curves.mix.fit_mix_model`
reads)
----------------------------------------------------------------------------------------------
``period`` (week start, a Monday, or month start), ``market``, ``new_customers`` (the outcome),
``spend_<tactic>`` (one column per tactic, spend in the period), the controls
``demand_index`` (the confounder), ``price`` (price index, 1 = list price) and ``event``
(1 in promotion weeks or months), and ``decision_style`` of the market's sales leader when
``leaders=True``.

How it is generated (per market ``m`` and period ``t``)
-------------------------------------------------------
    E[new_customers] = baseline[m, t] + style[m] * sum_k f_k(adstock_k[m, t])

- **baseline** = ``size[m] * BASELINE * exp(trend * years + seasonality(t) + DEMAND_EFFECT *
  demand[m, t] - PRICE_ELASTICITY * log(price[t]) + EVENT_EFFECT * event[t])``; seasonality is
  ``0.15 sin + 0.05 cos`` of the time of year.
- **confounder**: ``demand`` is a standardised AR(1) index (per market, half of it shared). It
  lifts the baseline *and* the spend of the tactics that react to it (``DEMAND_REACTION``: a
  marketing team that spends more when demand is up), so a model without it credits the
  tactics with customers demand won.
- **spend**: ``size[m] * weekly spend * exp(0.7 AR(1) noise + reaction * 0.3 * demand)``;
  ``events`` runs in flights (on about half the periods, runs of about four weeks).
- **months** are generated as periods of their own (52/12 weeks of baseline and spend each;
  AR(1) coefficients, carry-over and price noise scaled to the period), so month length does
  not vary.
- **carry-over**: geometric adstock, normalised, ``A[t] = lam * A[t-1] + (1 - lam) * x[t]``
  (weekly ``lam`` from ``TACTICS``; monthly ``lam ** (52/12)``); a year of burn-in spend runs
  before the data starts, so the first periods carry real history.
- **saturation**: Hill ``f(A) = maximum * A**shape / (A**shape + half**shape)`` (default) or
  power ``f(A) = level * (A / reference) ** exponent``; ``maximum`` / ``level`` is calibrated so
  that each tactic's **average CAC over the observed data** (its total spend / the customers its
  curve gives, summed over periods and markets) is exactly the planted one.
- **leaders** (``leaders=True``, several markets): each market's leader has a decision style;
  the style multiplies every tactic's response by ``1 / STYLE_CAC[style]`` (the CAC multipliers
  of the demo).
- **noise**: negative binomial, variance ``mu + DISPERSION * mu**2`` (``dispersion=0``:
  Poisson).

The truth (``truth["tactics"][tactic]``): ``average_cac``, ``marginal_cac`` (1 / slope at the
mean spend per market-period, steady state, times the mean style multiplier), ``contribution``
and ``contribution_share`` (of all expected customers), ``spend``, ``current_spend`` (mean
spend per market-period), ``carryover`` (per period of the data) and the curve parameters.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.synthetic.demo import STYLE_CAC

WEEKS_PER_YEAR = 52.1775
WEEKS_PER_MONTH = WEEKS_PER_YEAR / 12
BURN_IN_WEEKS = 52
TACTICS = {  # tactic: (average CAC, weekly spend, weekly carry-over, half-saturation / spend,
    #                    Hill shape, demand reaction)
    "email": (120.0, 40_000.0, 0.1, 1.5, 1.0, 0.0),
    "paid_search": (250.0, 150_000.0, 0.2, 2.0, 1.0, 1.0),
    "webinars": (400.0, 125_000.0, 0.5, 2.5, 1.0, 0.3),
    "partners": (650.0, 200_000.0, 0.6, 3.0, 1.0, 0.0),
    "outbound_calls": (1_000.0, 300_000.0, 0.3, 2.0, 1.0, 0.5),
    "events": (1_600.0, 500_000.0, 0.7, 1.5, 1.0, 0.0),
}
POWER_EXPONENT = 0.6
BASELINE = 1_500.0  # new customers a week of an average market without marketing
TREND_PER_YEAR = 0.08
SEASONALITY = (0.15, 0.05)  # (sin, cos) amplitude of the yearly cycle on the log baseline
DEMAND_EFFECT = 0.15  # log baseline per standard deviation of demand
DEMAND_PHI = 0.9  # AR(1) coefficient of demand, per week
SPEND_SD, SPEND_PHI = 0.7, 0.5  # log spend noise and its AR(1) coefficient, per week
REACTION = 0.3  # log spend per sd of demand, times the tactic's DEMAND_REACTION
PRICE_ELASTICITY = 1.5
EVENT_EFFECT = 0.25
EVENTS_PER_YEAR = 4
DISPERSION = 0.0002
SPEND_PREFIX = "spend_"
CONTROLS = ("demand_index", "price", "event")


def generate(out: str | Path | None = None, seed: int = 0, period: str = "week",
             years: float = 3.0, markets: int = 1, tactics: int | list[str] | None = None,
             saturation: str = "hill", leaders: bool = False, dispersion: float = DISPERSION,
             start: str = "2023-01-02") -> tuple[pd.DataFrame, dict]:
    """Simulate a totals table (outcome and spend per tactic per period) with planted truth.

    Parameters
    ----------
    out : folder to write ``totals.csv``, ``mapping.yml`` and ``truth.json`` into (must not
        exist or be empty; written atomically); None writes nothing.
    seed : random seed.
    period : ``"week"`` or ``"month"``.
    years : length of the data.
    markets : number of markets (1: the whole company).
    tactics : how many of :data:`TACTICS` (in order), or their names; default all six.
    saturation : ``"hill"`` or ``"power"`` (exponent ``POWER_EXPONENT``).
    leaders : give each market a sales leader's decision style that scales the response
        (needs ``markets >= 2``).
    dispersion : negative binomial dispersion (0: Poisson).
    start : first period (a Monday for weeks; its month for months).

    Returns
    -------
    (DataFrame, dict)
        The table (see the module docstring) and the truth (as written to ``truth.json``).
    """
    names = _tactics(tactics)
    _check(period, years, markets, saturation, leaders, dispersion)
    rng = np.random.default_rng(seed)
    weeks = 1.0 if period == "week" else WEEKS_PER_MONTH  # weeks per period
    per_year = WEEKS_PER_YEAR / weeks
    n, burn = int(round(years * per_year)), int(round(BURN_IN_WEEKS / weeks))
    size = np.exp(rng.normal(0, 0.3, markets)) if markets > 1 else np.ones(1)
    demand = _demand(rng, burn + n, markets, DEMAND_PHI ** weeks)
    history = {t: _spend(rng, t, burn + n, size, demand, weeks) for t in names}
    spend = {t: v[burn:] for t, v in history.items()}
    first = pd.Timestamp(start)
    if period == "month":
        first = first.to_period("M").to_timestamp()
    periods = pd.date_range(first, periods=n, freq="7D" if period == "week" else "MS")
    time = np.arange(n) / per_year
    demand_obs = demand[burn:]
    demand_obs = (demand_obs - demand_obs.mean()) / demand_obs.std()
    price = np.exp(np.cumsum(rng.normal(0, 0.01 * np.sqrt(weeks), n)))
    price = price / price.mean()
    event = (rng.random(n) < EVENTS_PER_YEAR / per_year).astype(int)
    phase = 2 * np.pi * time
    baseline = (size[None] * BASELINE * weeks
                * np.exp(TREND_PER_YEAR * (time[:, None] - time.mean())
                         + SEASONALITY[0] * np.sin(phase)[:, None]
                         + SEASONALITY[1] * np.cos(phase)[:, None]
                         + DEMAND_EFFECT * demand_obs - PRICE_ELASTICITY * np.log(price)[:, None]
                         + EVENT_EFFECT * event[:, None]))
    styles, multiplier = _styles(rng, markets, leaders)
    truth_tactics, media = {}, np.zeros_like(baseline)
    for t in names:
        lam = TACTICS[t][2] ** weeks
        adstock = _adstock(history[t], lam)[burn:]
        curve, info = _calibrated_curve(t, saturation, spend[t], adstock, multiplier)
        media += multiplier[None] * curve
        truth_tactics[t] = {"carryover": float(lam), **info}
    mean = baseline + media
    customers = _counts(rng, mean, dispersion)
    for t in names:
        truth_tactics[t]["contribution_share"] = truth_tactics[t]["contribution"] / mean.sum()
    frame = _frame(periods, markets, customers, spend, demand_obs, price, event, styles)
    truth = {
        "seed": seed, "period": period, "periods": n, "markets": markets,
        "start": str(periods[0].date()), "saturation": saturation, "outcome": "new_customers",
        "tactics": truth_tactics,
        "baseline": {"customers_per_period": float(baseline.mean()),
                     "share": float(baseline.sum() / mean.sum()),
                     "trend_per_year": TREND_PER_YEAR, "seasonality_sin_cos": list(SEASONALITY),
                     "demand_effect_per_sd": DEMAND_EFFECT, "price_elasticity": PRICE_ELASTICITY,
                     "event_effect": EVENT_EFFECT, "market_size": size.tolist()},
        "confounder": "demand_index lifts the baseline and the spend of the tactics that react to "
                      "it (demand_reaction); leaving it out credits them with its customers",
        "dispersion": dispersion,
        "style_response_multiplier": ({s: 1 / STYLE_CAC[s] for s in STYLE_CAC} if leaders
                                      else None),
        "market_decision_style": styles,
    }
    if out is not None:
        write_totals(frame, truth, Path(out))
    return frame, truth


def _tactics(tactics) -> list[str]:
    if tactics is None:
        return list(TACTICS)
    if isinstance(tactics, int):
        if not 1 <= tactics <= len(TACTICS):
            raise SalesnbError(f"tactics must be 1 to {len(TACTICS)}, not {tactics}")
        return list(TACTICS)[:tactics]
    unknown = sorted(set(tactics) - set(TACTICS))
    if unknown:
        raise SalesnbError(f"unknown tactics {unknown}; choose from {list(TACTICS)}")
    return list(tactics)


def _check(period, years, markets, saturation, leaders, dispersion) -> None:
    problems = []
    if period not in ("week", "month"):
        problems.append(f"period must be 'week' or 'month', not {period!r}")
    if not years >= 0.5:
        problems.append(f"years must be at least 0.5, not {years!r}")
    if not isinstance(markets, int) or markets < 1:
        problems.append(f"markets must be a whole number >= 1, not {markets!r}")
    if saturation not in ("hill", "power"):
        problems.append(f"saturation must be 'hill' or 'power', not {saturation!r}")
    if leaders and markets < 2:
        problems.append("leaders=True needs at least 2 markets (one market's style cannot be "
                        "told apart from its baseline)")
    if not dispersion >= 0:
        problems.append(f"dispersion must be >= 0, not {dispersion!r}")
    if problems:
        raise SalesnbError("cannot simulate totals: " + "; ".join(problems))


def _demand(rng, periods: int, markets: int, phi: float) -> np.ndarray:
    """Standardised AR(1) demand per period x market (half of the variance shared)."""
    from scipy.signal import lfilter

    shocks = (rng.normal(0, 1, (periods, 1)) + rng.normal(0, 1, (periods, markets))) / np.sqrt(2)
    return np.asarray(lfilter([np.sqrt(1 - phi ** 2)], [1, -phi], shocks, axis=0))


def _spend(rng, tactic: str, periods: int, size: np.ndarray, demand: np.ndarray, weeks: float
           ) -> np.ndarray:
    """Spend of a tactic per period x market: lognormal AR(1) noise, reacting to demand."""
    from scipy.signal import lfilter

    markets, phi = len(size), SPEND_PHI ** weeks
    noise = lfilter([np.sqrt(1 - phi ** 2)], [1, -phi], rng.normal(0, 1, (periods, markets)),
                    axis=0)
    log_spend = SPEND_SD * noise + REACTION * TACTICS[tactic][5] * demand
    spend = (TACTICS[tactic][1] * weeks * size[None]
             * np.exp(log_spend - log_spend.mean(axis=0)))
    if tactic == "events":  # flights: runs of about four weeks on and off
        run = max(1, int(round(4 / weeks)))
        on = np.repeat(rng.random((periods // run + 1, markets)) < 0.5, run, axis=0)[:periods]
        spend = np.where(on, 2 * spend, 0.0)
    return np.round(spend, 2)


def _adstock(spend: np.ndarray, lam: float) -> np.ndarray:
    """Normalised geometric adstock from zero (periods x markets)."""
    from scipy.signal import lfilter

    return np.asarray(lfilter([1 - lam], [1, -lam], spend, axis=0))


def _styles(rng, markets: int, leaders: bool) -> tuple[list | None, np.ndarray]:
    if not leaders:
        return None, np.ones(markets)
    styles = list(np.resize(list(STYLE_CAC), markets))
    rng.shuffle(styles)
    return [str(s) for s in styles], np.array([1 / STYLE_CAC[s] for s in styles])


def _calibrated_curve(tactic, saturation, spend, adstock, multiplier):
    """(curve values, truth) with the level set so average CAC is the planted one."""
    cac, weekly, _, half_ratio, shape, reaction = TACTICS[tactic]
    current = float(spend.mean())
    if saturation == "hill":
        half = half_ratio * current
        unit = adstock ** shape / (adstock ** shape + half ** shape)
        unit_slope = shape * current ** (shape - 1) * half ** shape / (
            current ** shape + half ** shape) ** 2
    else:
        unit = (adstock / current) ** POWER_EXPONENT
        unit_slope = POWER_EXPONENT / current
    scale = spend.sum() / cac / (multiplier[None] * unit).sum()
    info = {"average_cac": cac, "demand_reaction": reaction, "spend": float(spend.sum()),
            "current_spend": current,
            "contribution": float(spend.sum() / cac),
            "marginal_cac": float(1 / (scale * unit_slope * multiplier.mean()))}
    if saturation == "hill":
        info |= {"maximum": float(scale), "half_saturation": float(half), "shape": shape}
    else:
        info |= {"level": float(scale), "reference": current, "exponent": POWER_EXPONENT}
    return scale * unit, info


def _counts(rng, mean: np.ndarray, dispersion: float) -> np.ndarray:
    if dispersion <= 0:
        return rng.poisson(mean)
    return rng.poisson(mean * rng.gamma(1 / dispersion, dispersion, mean.shape))


def _frame(periods, markets, customers, spend, demand, price, event, styles) -> pd.DataFrame:
    n = len(periods)
    names = [f"M{i + 1}" for i in range(markets)] if markets > 1 else ["all"]
    frame = pd.DataFrame({"period": np.repeat(periods, markets),
                          "market": np.tile(names, n),
                          "new_customers": customers.ravel()})
    for tactic, values in spend.items():
        frame[SPEND_PREFIX + tactic] = values.ravel()
    frame["demand_index"] = demand.ravel().round(4)
    frame["price"] = np.repeat(price, markets).round(4)
    frame["event"] = np.repeat(event, markets)
    if styles is not None:
        frame["decision_style"] = np.tile(styles, n)
    return frame


def totals_mapping(leaders: bool) -> str:
    """The ``mapping.yml`` that loads ``totals.csv`` (see docs/mapping.md, totals over time):
    the outcome and controls from the wide file, the spend columns unpivoted into
    ``totals_spend`` (``spend_email`` names tactic ``email``), and with ``leaders`` one team
    and one leader per market, whose decision style the file carries.
    """
    text = f"""# salesnb mapping for synthetic totals over time (written by mix_demo.generate).
# One wide file: a row per period and market, the outcome, one spend column per tactic and
# the control variables.
version: 1
tables:
  totals:
    source: totals.csv
    columns:
      period: period
      market: market
      new_customers: new_customers{chr(10) + "      team_id: market" if leaders else ""}
    controls: [{", ".join(CONTROLS)}]
  totals_spend:
    source: totals.csv
    unpivot: {{matches: '^{SPEND_PREFIX}(.*)$', names_to: tactic, values_to: spend}}
    columns: {{period: period, market: market, tactic: tactic, cost: spend}}
"""
    if leaders:
        text += """  teams:
    source: totals.csv
    distinct: true
    columns: {team_id: market, leader_id: market}
  leaders:
    source: totals.csv
    distinct: true
    columns: {leader_id: market, decision_style: decision_style}
"""
    return text


def write_totals(frame: pd.DataFrame, truth: dict, out: Path) -> None:
    """Write ``totals.csv``, its ``mapping.yml`` and ``truth.json`` into ``out`` atomically
    (every file or none).
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SalesnbError(f"{out} already exists and is not empty; synthetic data never "
                           "overwrites a folder.\n    hint: choose a new folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".salesnb-mix-", dir=out.parent))
    try:
        frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d")).to_csv(
            staging / "totals.csv", index=False)
        (staging / "truth.json").write_text(json.dumps(truth, indent=2) + "\n",
                                            encoding="utf-8")
        (staging / "mapping.yml").write_text(
            totals_mapping("decision_style" in frame), encoding="utf-8")
        staging.chmod(0o755)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
