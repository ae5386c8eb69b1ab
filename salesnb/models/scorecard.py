"""Leader scorecard: each leader's CAC and win rate against what the model expects, shrunk.

A scorecard, never a ranking of noise. For every leader:

- **CAC against expectation.** A count model *without leader identity* gives each of the
  leader's team x tactic x month cells its expected new customers; ``expected`` sums them
  and ``observed`` is what the leader's teams won. With ``expect="situation"`` (default)
  the model holds what the leader does not choose: tactic, spend (offset), region and the
  teams' situation (segment, industry), so the ratio is the leader's whole effect, style
  included. With ``expect="drivers"`` it is the drivers model (tactic x decision style,
  involvement, leader traits, region) plus the situation and, with ``style_by``, a style x
  situation interaction: the ratio is what the leader achieves *beyond* leaders of the same
  style, traits and situation (with few leaders per style x situation cell that leaves
  little to see, and the intervals say so). Expectations are leave-one-leader-out (see
  :func:`leave_one_out_expected`): a leader's own results never move their expectation.
  ``ratio_raw = expected / observed`` is CAC relative to that expectation (x0.8: 20%
  cheaper per customer). Shrinkage (:func:`shrink`): observed customers are Poisson
  around ``lambda x expected`` (counts deflated by their negative-binomial overdispersion),
  ``log lambda`` has a Student t prior centred on 0 (as expected) whose spread is
  estimated from all leaders (its posterior on a grid, flat prior, integrated over);
  ``ratio_shrunk`` is 1 / the posterior median of lambda and ``ci_low``, ``ci_high`` its
  equal-tailed posterior interval. ``clear``: the interval excludes 1.
- **Win rate against expectation.** Won / (won + lost) against the organisation's rate for
  the same tactics and situations (segment, industry), deal for deal; the same shrinkage
  on the log odds of winning (binomial, counts deflated by the within-leader Pearson
  overdispersion). ``win_clear``: the interval excludes the expected rate.

Rows are sorted by ``leader_id``: the table is not a ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.clusters import inference_clusters
from salesnb.models.drivers import DriversFit, cheapest_tactic, drivers_formula, model_frame
from salesnb.models.drivers import reference_levels as style_references
from salesnb.models.situations import fit_counts

SITUATION_TERMS = ("segment", "industry")
COLUMNS = ["leader_id", "teams", "team_months", "observed", "expected", "ratio_raw",
           "ratio_shrunk", "ci_low", "ci_high", "clear", "decided", "win_rate", "win_expected",
           "win_shrunk", "win_low", "win_high", "win_clear"]


@dataclass
class LeaderScorecard:
    """A leader scorecard (see :func:`leader_scorecard`).

    ``table`` has one row per leader (sorted by id); ``cac_sd`` is the between-leader
    standard deviation of the log customers ratio and ``win_sd`` that of the log odds of
    winning (posterior medians), ``formula`` the expectation model.
    """

    table: pd.DataFrame
    cac_sd: float
    win_sd: float
    formula: str
    notes: list[str] = field(default_factory=list)


def leader_scorecard(fit_or_panel: DriversFit | pd.DataFrame, *, expect: str = "situation",
                     situations: Sequence[str] = SITUATION_TERMS, style_by: str | None = None,
                     level: float = 0.95, model: str = "negbin") -> LeaderScorecard:
    """Each leader's CAC and win rate against expectation, shrunk, with intervals.

    Parameters
    ----------
    fit_or_panel
        A fitted drivers model (its rows are used) or the analysis panel
        (:func:`salesnb.metrics.panel`).
    expect
        ``"situation"`` (default): expectation from tactic, spend, region and the situation;
        ``"drivers"``: from the drivers model's terms plus the situation (see the module).
    situations
        Team columns added to the expectation (those with two or more levels).
    style_by
        A situation column whose interaction with decision style joins the expectation
        (e.g. ``"segment"`` when style works differently by segment).
    level
        Interval level.
    model
        ``"negbin"`` (default) or ``"poisson"``.

    Returns
    -------
    LeaderScorecard
        The table (columns in :data:`COLUMNS`) and the estimated between-leader spread.

    Raises
    ------
    SalesnbError
        Without leaders (``leader_id``), with fewer than three leaders, or an unknown
        ``expect``.
    """
    if isinstance(fit_or_panel, DriversFit):
        frame = fit_or_panel.data.copy()
        reference_tactic = fit_or_panel.reference_tactic
    else:
        frame = model_frame(fit_or_panel)
        reference_tactic = cheapest_tactic(frame)
    if "leader_id" not in frame or frame["leader_id"].nunique() < 3:
        raise SalesnbError("the leader scorecard needs at least three leaders (leader_id)")
    frame = frame[frame["leader_id"].notna()].reset_index(drop=True)
    notes: list[str] = []
    formula = expectation_formula(frame, expect, situations, style_by, reference_tactic)
    fit = fit_counts(formula, frame, inference_clusters(frame).ids, model)
    frame["expected"], variance = leave_one_out_expected(fit, frame["leader_id"])
    table, cac_sd = _cac_part(frame, fit["alpha"], variance, level)
    win, win_sd = _win_part(frame, situations, level, notes)
    table = table.join(win) if win is not None else table.assign(
        **dict.fromkeys(COLUMNS[10:], np.nan))
    if (table["observed"] == 0).any():
        notes.append("leaders without a new customer have no raw ratio; their shrunk one "
                     "comes from the spread of the others")
    return LeaderScorecard(table.reset_index()[COLUMNS].sort_values("leader_id")
                           .reset_index(drop=True), cac_sd, win_sd, formula, notes)


def expectation_formula(frame: pd.DataFrame, expect: str, situations: Sequence[str],
                        style_by: str | None, reference_tactic: str) -> str:
    """The expectation model's formula (see :func:`leader_scorecard`)."""
    present = [c for c in situations if c in frame and frame[c].nunique() > 1]
    if expect == "drivers":
        levels = style_references(frame)
        formula = drivers_formula(frame, reference_tactic, False, False, levels)
        formula += "".join(f" + C({c})" for c in present)
        if style_by is not None:
            if style_by not in frame or "decision_style" not in levels:
                raise SalesnbError(f"style_by needs {style_by} and decision_style in the data")
            if style_by not in present:
                formula += f" + C({style_by})"
            formula += (f" + C({style_by}):C(decision_style, "
                        f"Treatment({levels['decision_style']!r}))")
        return formula
    if expect == "situation":
        terms = [f"C(tactic, Treatment({reference_tactic!r}))"] if \
            frame["tactic"].nunique() > 1 else []
        terms += ["C(region)"] if "region" in frame and frame["region"].nunique() > 1 else []
        return "new_customers ~ " + " + ".join(terms + [f"C({c})" for c in present] or ["1"])
    raise SalesnbError(f"expect must be 'drivers' or 'situation', not {expect!r}")


SD_GRID = np.geomspace(2e-3, 1.5, 60)
"""Between-leader standard deviations (log scale) whose posterior is evaluated."""
EFFECT_GRID = np.linspace(-4.0, 4.0, 1601)
"""A leader's log effect (customers ratio, or odds ratio of winning) evaluated on this grid."""
PRIOR_DF = 4
"""Degrees of freedom of the Student t prior on the log effects (heavier tails than the
normal: a few real outliers are not shrunk away with the noise)."""


def shrink(loglik: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, float]:
    """Empirical-Bayes shrinkage of leader effects evaluated on :data:`EFFECT_GRID`.

    Each leader's effect ``u`` has prior ``scale * t(PRIOR_DF)`` centred on 0 (as
    expected); the scale gets a flat prior on :data:`SD_GRID` and its posterior from all
    leaders' marginal likelihoods, so the intervals carry its uncertainty too (no
    collapse to 0 when the spread is estimated at 0).

    Parameters
    ----------
    loglik
        Log-likelihood of each leader (rows) at each grid value (columns), up to a
        constant per leader.
    level
        Interval level.

    Returns
    -------
    tuple of (ndarray, float)
        Per leader the posterior ``[low, median, high]`` of ``u`` (shape leaders x 3), and
        the between-leader standard deviation of ``u`` (posterior median).
    """
    from scipy import stats

    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))  # leaders x grid
    prior = stats.t.pdf(EFFECT_GRID[None, :] / SD_GRID[:, None], PRIOR_DF) / SD_GRID[:, None]
    prior /= prior.sum(axis=1, keepdims=True)  # sd x grid (normalised on the grid)
    marginal = lik @ prior.T  # leaders x sd
    log_w = np.log(marginal).sum(axis=0) + np.log(SD_GRID)  # flat in sd on a log grid
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    posterior = lik * ((w / marginal) @ prior)  # leaders x grid: sum_k w_k lik p_k / m_k
    cdf = np.cumsum(posterior, axis=1)
    cdf /= cdf[:, -1:]
    tail = (1 - level) / 2
    quantiles = np.column_stack([
        [np.interp(q, row, EFFECT_GRID) for row in cdf] for q in (tail, 0.5, 1 - tail)])
    scale = float(np.exp(np.interp(0.5, np.cumsum(w), np.log(SD_GRID))))
    return quantiles, scale * float(np.sqrt(PRIOR_DF / (PRIOR_DF - 2)))  # t scale -> sd


def leave_one_out_expected(fit: dict, leaders: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each row's expected count from the model fitted *without its leader's rows*.

    One Newton step from the full fit (``beta - (H - H_l)^-1 s_l``, the leader's score and
    information taken out), so that a leader's own results do not move their expectation
    (a leader alone in a style x segment cell would otherwise explain themselves). Also
    returns, per leader, the variance of the log of their expected total from the
    uncertainty of the coefficients (jackknife covariance of the fit).
    """
    X, y, offset, alpha, beta = (fit["X"], fit["y"], fit["offset"], fit["alpha"],
                                 fit["params"].to_numpy())
    mu = fit["mu"]
    weight = mu / (1 + alpha * mu)
    info = X.T @ (X * weight[:, None])
    expected = np.empty(len(y))
    variance = {}
    codes, names = pd.factorize(leaders)
    for code, name in enumerate(names):
        rows = codes == code
        own = X[rows].T @ (X[rows] * weight[rows, None])
        score = X[rows].T @ ((y[rows] - mu[rows]) / (1 + alpha * mu[rows]))
        without = beta - np.linalg.pinv(info - own) @ score
        expected[rows] = np.exp(offset[rows] + X[rows] @ without)
        gradient = expected[rows] @ X[rows] / expected[rows].sum()
        variance[name] = float(gradient @ fit["cov"] @ gradient)
    return expected, pd.Series(variance)


def _cac_part(frame: pd.DataFrame, alpha: float, variance: pd.Series, level: float
              ) -> tuple[pd.DataFrame, float]:
    """Observed and expected customers per leader, shrunk (CAC ratios)."""
    frame = frame.assign(mu2=frame["expected"] ** 2,
                         team_month=frame["team_id"].astype(str) + frame["month"])
    leaders = frame.groupby("leader_id").agg(
        teams=("team_id", "nunique"), team_months=("team_month", "nunique"),
        observed=("new_customers", "sum"), expected=("expected", "sum"), mu2=("mu2", "sum"))
    # variance of log(observed / expected) = (NB overdispersion + expectation's own
    # uncertainty x expected) / expected: counts are deflated by that factor
    overdispersion = (1.0 + alpha * leaders["mu2"] / leaders["expected"]
                      + variance.reindex(leaders.index).fillna(0) * leaders["expected"]
                      ).to_numpy()
    o = (leaders["observed"].to_numpy(float) / overdispersion)[:, None]
    e = (leaders["expected"].to_numpy(float) / overdispersion)[:, None]
    u = EFFECT_GRID[None, :]  # log customers ratio
    quantiles, sd = shrink(o * u - e * np.exp(u), level)
    leaders["ratio_raw"] = leaders["expected"] / leaders["observed"].where(
        leaders["observed"] > 0)
    leaders["ratio_shrunk"] = np.exp(-quantiles[:, 1])
    leaders["ci_low"], leaders["ci_high"] = np.exp(-quantiles[:, 2]), np.exp(-quantiles[:, 0])
    leaders["clear"] = (leaders["ci_high"] < 1) | (leaders["ci_low"] > 1)
    return leaders.drop(columns="mu2"), sd


def _win_part(frame: pd.DataFrame, situations: Sequence[str], level: float,
              notes: list[str]) -> tuple[pd.DataFrame | None, float]:
    """Win rate per leader against the organisation's rate for the same tactics and
    situations, shrunk on the log-odds scale.
    """
    if not {"won", "lost"} <= set(frame.columns) or (frame["won"] + frame["lost"]).sum() == 0:
        notes.append("no won and lost deals per cell: no win rates")
        return None, float("nan")
    keys = ["tactic", *[c for c in situations if c in frame and frame[c].notna().all()]]
    cells = frame.assign(decided=frame["won"] + frame["lost"])
    cells = cells[cells["decided"] > 0]
    rates = cells.groupby(keys)[["won", "decided"]].sum()
    own_rates = cells.groupby(["leader_id", *keys])[["won", "decided"]].sum()
    cells = cells.join(rates, on=keys, rsuffix="_all").join(own_rates, on=["leader_id", *keys],
                                                            rsuffix="_own")
    # the organisation's rate without the leader's own deals
    cells["rate"] = ((cells["won_all"] - cells["won_own"])
                     / (cells["decided_all"] - cells["decided_own"]).where(
                         lambda d: d > 0)).fillna(cells["won_all"] / cells["decided_all"])
    cells["expected_won"] = cells["decided"] * cells["rate"]
    leaders = cells.groupby("leader_id")[["won", "lost", "decided", "expected_won"]].sum()
    # within-leader overdispersion: Pearson residuals around each leader's own level
    own = (leaders["won"] / leaders["expected_won"]).rename("own")
    p = (cells["rate"] * cells["leader_id"].map(own)).clip(1e-6, 1 - 1e-6)
    pearson = ((cells["won"] - cells["decided"] * p) ** 2
               / (cells["decided"] * p * (1 - p))).sum()
    phi = max(1.0, float(pearson / max(len(cells) - len(rates) - len(leaders), 1)))
    rate = (leaders["expected_won"] / leaders["decided"]).to_numpy()
    won = leaders["won"].to_numpy(float)[:, None] / phi
    lost = leaders["lost"].to_numpy(float)[:, None] / phi
    logit = np.log(rate / (1 - rate))[:, None] + EFFECT_GRID[None, :]
    quantiles, sd = shrink(-won * np.log1p(np.exp(-logit)) - lost * np.log1p(np.exp(logit)),
                           level)
    expit = 1 / (1 + np.exp(-(np.log(rate / (1 - rate))[:, None] + quantiles)))
    out = pd.DataFrame({"decided": leaders["decided"],
                        "win_rate": leaders["won"] / leaders["decided"],
                        "win_expected": rate, "win_shrunk": expit[:, 1],
                        "win_low": expit[:, 0], "win_high": expit[:, 2]}, index=leaders.index)
    out["win_clear"] = (out["win_low"] > out["win_expected"]) | (
        out["win_high"] < out["win_expected"])
    return out, sd
