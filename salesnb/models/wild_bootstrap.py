"""Few-team guard: restricted wild cluster score bootstrap for the drivers model.

Cluster-robust intervals are too narrow when there are few teams, or when an
effect rests on few of them (a trait only a handful of leaders have). The
remedy is the *restricted wild cluster bootstrap* (WCR; Kline & Santos 2012's
score bootstrap for non-linear models, the count-model analogue of Cameron,
Gelbach & Miller 2008), with the interval found by test inversion:

- For a hypothesised coefficient ``b`` of one term, refit the model with that
  coefficient held at ``b`` (an offset), keeping the dispersion of the full fit.
- Take each team's *efficient score* for the term (its score with the other
  coefficients partialled out) and the studentised score statistic
  ``T = sum_g S_g / sqrt(sum_g S_g^2)``.
- Redraw ``T*`` many times with each team's score multiplied by a Webb
  six-point weight (better than Rademacher with under ~12 teams); the p-value of
  ``b`` is the share of ``|T*| >= |T|``.
- The 95% interval holds every ``b`` whose p-value is at least 5%: its ends are
  found by walking out from the clustered interval's ends and bisecting, with the same
  weights at every ``b``.

Costs one restricted fit per evaluated ``b`` (about 20 per term), so it runs
only where needed (see :func:`needs_guard`).

:func:`jackknife_intervals` gives the cluster jackknife (CV3) intervals beside it:
the covariance of the leave-one-cluster-out changes of the coefficients, with t(G - 1)
critical values (MacKinnon, Nielsen and Webb 2023). The drivers model reports the wider of
the two (:data:`ENVELOPE`): over 100 demo seeds the bootstrap alone covered leader-level
effects 87-95% of the time (34 leaders of very unequal size), the jackknife 95-99%, and the
tactic effects alike (benchmarks/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_WEBB_MAGNITUDES = np.sqrt([0.5, 1.0, 1.5])
WEBB_WEIGHTS = np.concatenate([-_WEBB_MAGNITUDES, _WEBB_MAGNITUDES])  # mean 0, variance 1
# MacKinnon & Webb (2017): clustered t-tests over-reject when few clusters are 'treated'.
FEW_TREATED_TEAMS = 15
MAX_ITERATIONS = 100
MAX_WALK = 64  # standard errors from the estimate before an interval end counts as unbounded
METHOD = "wild cluster bootstrap (restricted, Webb weights)"
ENVELOPE = "wider of the wild cluster bootstrap and the cluster jackknife (CV3, t(G-1))"
"""How the drivers model's guarded intervals are made (see :meth:`DriversFit.effects`)."""


@dataclass
class _Problem:
    """The fitted model's design, ready for restricted refits."""

    y: np.ndarray
    X: np.ndarray
    offset: np.ndarray
    names: list[str]
    params: np.ndarray
    alpha: float
    clusters: np.ndarray
    weights: np.ndarray  # bootstrap draws x clusters
    _warm_starts: dict = field(default_factory=dict)  # term -> last restricted solution

    @classmethod
    def from_fit(cls, fit, draws: int, seed: int) -> _Problem:
        model = fit.result.model
        params = fit.result.params.drop("alpha", errors="ignore")
        alpha = float(fit.result.params.get("alpha", 0.0))
        offset = getattr(model, "offset", None)
        clusters = fit.cluster.ids
        rng = np.random.default_rng(seed)
        weights = rng.choice(WEBB_WEIGHTS, size=(draws, clusters.max() + 1))
        return cls(np.asarray(model.endog, float), np.asarray(model.exog, float),
                   np.zeros(len(model.endog)) if offset is None else np.asarray(offset, float),
                   list(params.index), params.to_numpy(), alpha, clusters, weights)

    def p_value(self, j: int, b: float) -> float:
        """Bootstrap p-value of 'coefficient j equals b' (0 when the model cannot be fitted
        with coefficient j held at b: such a value is far outside what the data allow).
        """
        others = np.arange(self.X.shape[1]) != j
        mu = self._restricted_mean(j, b, others)
        if mu is None:
            return 0.0
        scores = self._cluster_efficient_scores(j, others, mu)
        observed = abs(scores.sum()) / np.sqrt((scores**2).sum())
        draws = self.weights @ scores / np.sqrt((self.weights**2) @ (scores**2))
        return float(np.mean(np.abs(draws) >= observed - 1e-12))

    def _restricted_mean(self, j: int, b: float, others: np.ndarray) -> np.ndarray | None:
        """Fitted means with coefficient j held at b (see :func:`fisher_scoring`, warm
        started from the last b); None if that does not converge.
        """
        X, offset = self.X[:, others], self.offset + b * self.X[:, j]
        beta = fisher_scoring(self.y, X, offset, self.alpha,
                              self._warm_starts.get(j, self.params[others]))
        if beta is None:
            return None
        self._warm_starts[j] = beta  # the next b is close: start from here
        return np.exp(offset + X @ beta)

    def _cluster_efficient_scores(self, j: int, others: np.ndarray,
                                  mu: np.ndarray) -> np.ndarray:
        scale = 1.0 + self.alpha * mu
        scores = self.X * ((self.y - mu) / scale)[:, None]
        info = self.X.T @ (self.X * (mu / scale)[:, None])
        projection = np.linalg.lstsq(info[np.ix_(others, others)], info[others, j],
                                     rcond=None)[0]
        efficient = scores[:, j] - scores[:, others] @ projection
        return np.bincount(self.clusters, weights=efficient)


def jackknife_cov(y: np.ndarray, X: np.ndarray, offset: np.ndarray, params: np.ndarray,
                  alpha: float, clusters: np.ndarray) -> np.ndarray:
    """The cluster jackknife (CV3) covariance of NB2 (Poisson: ``alpha`` 0) coefficients:
    ``(G - 1) / G * sum_g (d_g - mean d)(d_g - mean d)'`` of the one-step
    leave-one-cluster-out changes ``d_g``; ``clusters`` holds each row's cluster (0..G-1).
    Unlike the usual sandwich it is not too small for terms only a few clusters carry.
    """
    mu = np.exp(offset + X @ params)
    weight = mu / (1 + alpha * mu)
    scores = X * ((y - mu) / (1 + alpha * mu))[:, None]
    info = X.T @ (X * weight[:, None])
    changes = np.array([-np.linalg.pinv(info - X[rows].T @ (X[rows] * weight[rows, None]))
                        @ scores[rows].sum(axis=0)
                        for rows in (clusters == g for g in range(clusters.max() + 1))])
    delta = changes - changes.mean(axis=0)
    return (len(changes) - 1) / len(changes) * delta.T @ delta


def jackknife_intervals(fit, terms: list[str] | None = None, level: float = 0.95
                        ) -> pd.DataFrame:
    """CV3 t(G - 1) intervals and p-values (coefficient scale) for ``terms`` (default: all),
    G being the fit's clusters; the same columns as :func:`bootstrap_intervals`.
    """
    from scipy import stats

    problem = _Problem.from_fit(fit, draws=1, seed=0)
    se = np.sqrt(np.diag(jackknife_cov(problem.y, problem.X, problem.offset,
                                       problem.params, problem.alpha, problem.clusters)))
    dof = max(int(problem.clusters.max()), 1)
    crit = float(stats.t.ppf(0.5 + level / 2, dof))
    rows = []
    for term in terms or [n for n in problem.names if n != "Intercept"]:
        j = problem.names.index(term)
        estimate, error = problem.params[j], max(float(se[j]), 1e-12)
        rows.append({"term": term, "coef": estimate, "ci_low": estimate - crit * error,
                     "ci_high": estimate + crit * error,
                     "p": float(2 * stats.t.sf(abs(estimate / error), dof))})
    return pd.DataFrame(rows)


def fisher_scoring(y: np.ndarray, X: np.ndarray, offset: np.ndarray, alpha: float,
                   start: np.ndarray) -> np.ndarray | None:
    """NB2 (Poisson when ``alpha`` is 0) coefficients at a fixed dispersion, by Fisher
    scoring from ``start`` with steps capped at 1 on the log scale.

    Returns
    -------
    ndarray or None
        The coefficients, or None when the iterations do not converge (a restriction
        far outside what the data allow).
    """
    beta = np.array(start, dtype=float, copy=True)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(MAX_ITERATIONS):
            mu = np.exp(offset + X @ beta)
            scale = 1.0 + alpha * mu
            score = X.T @ ((y - mu) / scale)
            info = X.T @ (X * (mu / scale)[:, None])
            if not (np.isfinite(score).all() and np.isfinite(info).all()):
                return None
            step = np.linalg.lstsq(info, score, rcond=None)[0]
            beta += step / max(1.0, np.max(np.abs(step)))
            if np.max(np.abs(step)) < 1e-8:
                return beta
    return None


def needs_guard(fit, few_teams: int = 30) -> bool:
    """True when clustered intervals cannot be trusted: few or very unequal clusters
    (teams, or leaders when leaders run several teams).
    """
    sizes = np.bincount(fit.cluster.ids)
    return len(sizes) < few_teams or sizes.max() > 5 * sizes.min()


def clusters_carrying(fit) -> pd.DataFrame:
    """Per binary term, how many clusters have it and how many do not (term, treated,
    untreated); a leader-level term is carried by leaders, not by their teams.
    """
    names = fit.result.params.drop("alpha", errors="ignore").index
    X = np.asarray(fit.result.model.exog)
    ids = fit.cluster.ids
    rows = []
    for j, term in enumerate(names):
        values = X[:, j]
        if term == "Intercept" or len(np.unique(values)) > 2:
            continue
        on = values != 0
        rows.append({"term": term, "treated": len(np.unique(ids[on])),
                     "untreated": len(np.unique(ids[~on]))})
    return pd.DataFrame(rows, columns=["term", "treated", "untreated"])


def thinly_supported_terms(fit, minimum: int = FEW_TREATED_TEAMS) -> list[str]:
    """Terms whose regressor varies in fewer than ``minimum`` clusters (or is constant in
    fewer than ``minimum``): few 'treated' clusters, where clustered errors fail.
    """
    carrying = clusters_carrying(fit)
    thin = carrying[carrying[["treated", "untreated"]].min(axis=1) < minimum]
    return list(thin["term"])


def bootstrap_intervals(fit, terms: list[str] | None = None, level: float = 0.95,
                        draws: int = 999, seed: int = 0) -> pd.DataFrame:
    """WCR intervals and p-values (coefficient scale) for ``terms`` (default: all).

    Returns one row per term: term, coef, ci_low, ci_high, p (of coefficient 0).
    """
    from threadpoolctl import threadpool_limits

    problem = _Problem.from_fit(fit, draws, seed)
    se, start = fit.result.bse, fit.critical(level)
    rows = []
    with threadpool_limits(1, user_api="blas"):  # small matrices: threads only contend
        for term in terms or [n for n in problem.names if n != "Intercept"]:
            j = problem.names.index(term)
            estimate = problem.params[j]
            step = max(float(se[term]), 1e-6)
            low = _interval_end(problem, j, estimate, -step, 1 - level, start)
            high = _interval_end(problem, j, estimate, step, 1 - level, start)
            rows.append({"term": term, "coef": estimate, "ci_low": low, "ci_high": high,
                         "p": problem.p_value(j, 0.0)})
    return pd.DataFrame(rows)


def _interval_end(problem: _Problem, j: int, estimate: float, step: float, alpha: float,
                  start: float, tolerance: float = 0.1) -> float:
    """Where the p-value falls below alpha, walking out from the clustered interval's end
    (``start`` standard errors, ``step`` being one) in doubling steps, then bisecting to
    ``tolerance`` standard errors; infinite if it never does within ``MAX_WALK`` standard
    errors (the data cannot bound the effect).
    """
    inside, distance = estimate, start
    while problem.p_value(j, estimate + distance * step) >= alpha:
        inside, distance = estimate + distance * step, 2 * distance
        if distance > MAX_WALK:
            return float(np.sign(step) * np.inf)
    outside = estimate + distance * step
    while abs(outside - inside) > tolerance * abs(step):
        middle = (inside + outside) / 2
        if problem.p_value(j, middle) >= alpha:
            inside = middle
        else:
            outside = middle
    return (inside + outside) / 2
