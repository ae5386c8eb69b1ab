"""Situational style: does a leadership style's effect on CAC depend on the situation.

For each situation column (segment, industry, region, team size band, deal size band,
tactic: those the data has) the drivers model (:mod:`.drivers`) is refitted with the
situation and a style x situation interaction (negative binomial, spend offset). Per
situation: each style's CAC multiplier against the reference style, at the reference tactic
as the drivers model's style terms (``by="tactic"``: in each tactic), with t(clusters - 1)
intervals from the cluster jackknife (CV3: clusters are leaders when leaders run several
teams, see :mod:`.clusters`); a joint test that the style effect is the same everywhere
(restricted wild cluster score bootstrap, ``p``, Holm-adjusted over the columns tested in
``p_holm``; the CV3 Wald F beside it); and partially pooled multipliers: each situation's
log effect shrunk towards the pooled one with the between-situation variance tau^2 by the
method of moments (:func:`pool_estimates`), so a thin situation makes no extreme claim.
Style x situation cells with fewer than ``min_leaders`` leaders or ``min_cells``
team-months are left out and named in the notes. Method and caveats: docs/situations.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.clusters import inference_clusters
from salesnb.models.drivers import (
    cheapest_tactic,
    drivers_formula,
    model_frame,
    reference_levels,
)
from salesnb.models.multiplicity import adjust_pvalues
from salesnb.models.wild_bootstrap import WEBB_WEIGHTS, fisher_scoring, jackknife_cov

SITUATIONS = ("segment", "industry", "region", "team_size_band", "deal_size_band", "tactic")
"""The situation columns tried by default, in this order (those the data has)."""
BANDS = ("small", "medium", "large")
EFFECT_COLUMNS = ["situation", "level", "style", "estimate", "ci_low", "ci_high", "p",
                  "shrunk", "shrunk_low", "shrunk_high", "leaders", "cells", "note"]
TEST_COLUMNS = ["situation", "levels", "reference", "df", "statistic", "p_wald", "p", "p_holm",
                "clusters", "cluster_by", "model", "n", "note"]
POOLING_COLUMNS = ["situation", "style", "pooled", "pooled_low", "pooled_high", "tau2",
                   "q", "df", "p"]


@dataclass
class SituationalStyle:
    """Style effects by situation (see :func:`style_by_situation`): ``effects`` per column x
    level x style (CAC multipliers against the reference style, raw and shrunk), ``tests``
    per column (the joint test, Holm-adjusted in ``p_holm``), ``pooling`` per column x style
    (pooled multiplier, tau^2 of the log effect, that style's own heterogeneity test).
    """

    effects: pd.DataFrame
    tests: pd.DataFrame
    pooling: pd.DataFrame
    style: str
    reference_style: str
    notes: list[str] = field(default_factory=list)


def situation_columns(panel: pd.DataFrame) -> pd.DataFrame:
    """``panel`` with the derived situation bands added, where the data allows.

    ``team_size_band``: terciles of the team's mean monthly people cost (a head-count proxy
    that, unlike deal counts, is not the outcome); ``deal_size_band``: terciles of the team's
    mean won deal amount. Bands are team-level, over the whole data, labelled
    small / medium / large.
    """
    out = panel.copy()
    teams = out["team_id"]  # bands are per team
    if "people_cost" in out and out["people_cost"].fillna(0).gt(0).any():
        monthly = out.groupby(["team_id", "period"])["people_cost"].sum()
        _add_band(out, "team_size_band", monthly.groupby("team_id").mean(), teams)
    if {"won_amount", "won_with_amount"} <= set(out.columns):
        sums = out.groupby("team_id")[["won_amount", "won_with_amount"]].sum()
        size = sums["won_amount"] / sums["won_with_amount"].where(sums["won_with_amount"] > 0)
        _add_band(out, "deal_size_band", size, teams)
    return out


def _add_band(out: pd.DataFrame, name: str, values: pd.Series, teams: pd.Series) -> None:
    values = values[values.notna() & (values > 0)]
    if values.nunique() >= len(BANDS) * 2:
        out[name] = teams.map(pd.qcut(values.rank(method="first"), len(BANDS),
                                      labels=list(BANDS)).astype(str))


def style_by_situation(panel: pd.DataFrame, by: str | Sequence[str] | None = None, *,
                       style: str = "decision_style", model: str = "negbin",
                       level: float = 0.95, min_leaders: int = 2, min_cells: int = 12,
                       elasticity: bool = False) -> SituationalStyle:
    """Style CAC multipliers per situation, a test that they differ, and shrunk estimates.

    Parameters
    ----------
    panel
        The analysis panel (:func:`salesnb.metrics.panel`).
    by
        Situation column(s); default every column of :data:`SITUATIONS` the data has
        (``team_size_band`` and ``deal_size_band`` are derived, see
        :func:`situation_columns`).
    style
        ``"decision_style"`` (default) or ``"involvement"``.
    model
        ``"negbin"`` (default) or ``"poisson"``.
    level
        Interval level.
    min_leaders, min_cells
        Least leaders (clusters) and team-months a style x situation cell needs to be
        estimated; thinner cells are left out with a note.
    elasticity
        Estimate the spend exponent instead of fixing it at 1 (as in the drivers model).

    Returns
    -------
    SituationalStyle
        Tidy ``effects``, ``tests`` and ``pooling`` tables and notes.

    Raises
    ------
    SalesnbError
        When the data has fewer than two levels of ``style`` or no situation column.
    """
    frame = model_frame(situation_columns(panel))
    levels = reference_levels(frame)
    if style not in levels:
        raise SalesnbError(f"situational style compares levels of {style}, and this data has "
                           "fewer than two (map the leaders' style)")
    columns = [by] if isinstance(by, str) else list(by or [
        c for c in SITUATIONS if c in frame and frame[c].nunique() > 1])
    missing = [c for c in columns if c not in frame]
    if missing or not columns:
        raise SalesnbError(f"no situation column to compare styles across: {missing or 'none'}"
                           f" (the panel has {sorted(frame.columns)})")
    fits = [_fit_situation(frame, column, style, levels, model, level, min_leaders,
                           min_cells, elasticity) for column in columns]
    tests = pd.DataFrame([one["test"] for one in fits], columns=TEST_COLUMNS)
    tests["p_holm"] = adjust_pvalues(tests["p"].to_numpy(dtype=float), "holm")
    return SituationalStyle(
        pd.concat([one["effects"] for one in fits if len(one["effects"])] or [
            pd.DataFrame(columns=EFFECT_COLUMNS)], ignore_index=True)[EFFECT_COLUMNS], tests,
        pd.DataFrame([row for one in fits for row in one["pooling"]], columns=POOLING_COLUMNS),
        style, levels[style],
        [f"{one['test']['situation']}: {note}" for one in fits for note in one["notes"]])


def _fit_situation(frame, column, style, levels, model, level, min_leaders, min_cells,
                   elasticity) -> dict:
    from scipy import stats

    notes: list[str] = []
    data = frame.dropna(subset=[column]).copy()
    data[column] = data[column].astype(str)
    reference_style = levels[style]
    data["cluster"] = inference_clusters(data).ids
    support = data.groupby([column, style]).agg(leaders=("cluster", "nunique"),
                                                cells=("cluster", "size"))
    enough = (support["leaders"] >= min_leaders) & (support["cells"] >= min_cells)
    comparable = [s for s in sorted(data[column].unique())
                  if enough.get((s, reference_style), False)
                  and any(enough.get((s, j), False) for j in data[style].unique()
                          if j != reference_style)]
    thin = [f"{s}/{j}" for (s, j), ok in enough.items() if not ok and s in comparable]
    if dropped := sorted(set(data[column].unique()) - set(comparable)):
        notes.append(f"left out {dropped}: too few leaders of {reference_style} and another "
                     f"style (at least {min_leaders} leaders and {min_cells} team-months each)")
    if thin:
        notes.append(f"cells left out (fewer than {min_leaders} leaders or {min_cells} "
                     f"team-months): {thin}")
    keep = data[column].isin(comparable).to_numpy() & np.array(
        [bool(enough.get(key, False)) for key in zip(data[column], data[style], strict=True)])
    data = data[keep].reset_index(drop=True)
    test: dict = dict.fromkeys(TEST_COLUMNS, np.nan) | dict(
        situation=column, model=model, levels=len(comparable), reference="", note="")
    result = {"effects": pd.DataFrame(columns=EFFECT_COLUMNS), "notes": notes, "test": test,
              "pooling": []}
    if len(comparable) < 2:
        notes.append("fewer than two situations with enough data: no comparison")
        return result
    # the reference situation: most styles with enough data, then most leaders
    rank = data.groupby(column).agg(styles=(style, "nunique"), leaders=("cluster", "nunique"))
    reference = str(rank.sort_values(["styles", "leaders"], ascending=False).index[0])
    others = sorted(set(data.loc[data[column] == reference, style]) - {reference_style})
    if lacking := sorted(set(data[style]) - set(others) - {reference_style}):
        notes.append(f"{lacking} left out: too few of them in {reference}")
        data = data[~data[style].isin(lacking)].reset_index(drop=True)
    cluster = inference_clusters(data)
    test.update(cluster_by=cluster.kind, n=len(data))
    formula, interactions = _formula(data, column, style, levels, reference, others,
                                     elasticity)
    fit = fit_counts(formula, data, cluster.ids, model, elasticity)
    params, clusters = fit["params"], cluster.count
    main = f"C({style}, Treatment({reference_style!r}))"
    crit = float(stats.t.ppf(0.5 + level / 2, clusters - 1))
    effects, pooling = [], []
    for j in others:
        cells = [s for s in comparable if (s == reference or (s, j) in interactions)]
        design = np.zeros((len(cells), len(params)))
        design[:, params.index.get_loc(f"{main}[T.{j}]")] = 1.0
        for row, s in enumerate(cells):
            if s != reference:
                design[row, params.index.get_loc(interactions[(s, j)])] = 1.0
        theta, theta_cov = design @ params.to_numpy(), design @ fit["cov"] @ design.T
        pooled = pool_estimates(theta, theta_cov)
        se, shrunk = np.sqrt(np.diag(theta_cov)), pooled["shrunk"]
        shrunk_se = np.sqrt(np.diag(pooled["prediction_cov"]))
        support_j = support.loc[[(s, j) for s in cells]]
        effects.append(pd.DataFrame({
            "situation": column, "level": cells, "style": j, "estimate": np.exp(-theta),
            "ci_low": np.exp(-theta - crit * se), "ci_high": np.exp(-theta + crit * se),
            "p": 2 * stats.t.sf(np.abs(theta / se), clusters - 1),
            "shrunk": np.exp(-shrunk), "shrunk_low": np.exp(-shrunk - crit * shrunk_se),
            "shrunk_high": np.exp(-shrunk + crit * shrunk_se),
            "leaders": support_j["leaders"].to_numpy(), "cells": support_j["cells"].to_numpy(),
            "note": ["reference situation" if s == reference else "" for s in cells]}))
        df, half = len(cells) - 1, crit * np.sqrt(pooled["mean_var"])
        pooling.append({
            "situation": column, "style": j, "pooled": np.exp(-pooled["mean"]),
            "pooled_low": np.exp(-pooled["mean"] - half),
            "pooled_high": np.exp(-pooled["mean"] + half), "tau2": pooled["tau2"],
            "q": pooled["q"], "df": df,
            "p": stats.f.sf(pooled["q"] / df, df, clusters - 1) if df else np.nan})
    result.update(effects=pd.concat(effects, ignore_index=True)[EFFECT_COLUMNS], pooling=pooling)
    test.update(_joint_test(fit, list(interactions.values()), notes), reference=reference)
    return result


def fit_counts(formula: str, data: pd.DataFrame, clusters: np.ndarray,
               model: str = "negbin", elasticity: bool = False) -> dict:
    """A count model fitted by Fisher scoring, with a jackknife (CV3) cluster covariance.

    ``model="negbin"``: NB2 with the dispersion estimated by maximum likelihood, alternating
    with the coefficients (``"poisson"``: 0). The covariance is the cluster jackknife
    ``(G - 1) / G * sum_g (d_g - mean d)(d_g - mean d)'`` of one-step leave-one-cluster-out
    changes ``d_g``: unlike the usual sandwich it is not too small for terms only a few
    clusters carry (MacKinnon, Nielsen and Webb 2023). ``clusters`` holds each row's
    cluster; the offset is ``data["log_spend"]`` unless ``elasticity``.

    Returns
    -------
    dict
        ``params`` (Series), ``cov`` (ndarray), ``alpha``, fitted ``mu``, and the design
        (``y``, ``X``, ``offset``, integer ``clusters``) for tests and predictions.

    Raises
    ------
    SalesnbError
        When the iterations do not converge.
    """
    from patsy import dmatrices

    if model not in ("negbin", "poisson"):
        raise SalesnbError(f"model must be 'negbin' or 'poisson', not {model!r}")
    y_frame, x_frame = dmatrices(formula, data, return_type="dataframe")
    y, X = y_frame.to_numpy()[:, 0], x_frame.to_numpy()
    offset = np.zeros(len(y)) if elasticity else data["log_spend"].to_numpy(dtype=float)
    start = np.zeros(X.shape[1])
    start[0] = np.log(max(y.mean(), 1e-3) / np.exp(offset).mean())
    alpha, beta = 0.0, fisher_scoring(y, X, offset, 0.0, start)
    for _ in range(2 if model == "negbin" else 0):
        if beta is None:
            break
        alpha = dispersion(y, np.exp(offset + X @ beta))
        beta = fisher_scoring(y, X, offset, alpha, beta)
    if beta is None:
        raise SalesnbError(f"the model {formula!r} cannot be fitted (no convergence)")
    mu = np.exp(offset + X @ beta)
    groups = pd.factorize(clusters)[0]
    cov = jackknife_cov(y, X, offset, beta, alpha, groups)
    return {"params": pd.Series(beta, index=x_frame.columns), "cov": cov, "alpha": alpha,
            "mu": mu, "y": y, "X": X, "offset": offset, "clusters": groups}


def dispersion(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood NB2 dispersion (variance = mu + alpha mu^2) at fixed means."""
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

    def loss(log_alpha: float) -> float:
        r = np.exp(-log_alpha)
        return -float(np.sum(gammaln(y + r) - gammaln(r) + r * np.log(r / (r + mu))
                             + y * np.log(mu / (r + mu))))

    found = minimize_scalar(loss, bounds=(np.log(1e-6), np.log(10.0)), method="bounded")
    return float(np.exp(found.x))


def _formula(data: pd.DataFrame, column: str, style: str, levels: dict[str, str],
             reference: str, others: list[str], elasticity: bool
             ) -> tuple[str, dict[tuple[str, str], str]]:
    """The drivers formula plus the situation and style x situation dummies (added to
    ``data`` as ``sx0``, ``sx1``, ...; the dict maps (situation, style) to its dummy).
    """
    formula = drivers_formula(data, cheapest_tactic(data), elasticity, False, levels)
    if column == "tactic" and style == "decision_style":  # the drivers model's own
        formula = formula.replace(" * ", " + ")  # tactic x style becomes the dummies below
    elif not (column == "region" and "C(region)" in formula):
        formula += f" + C({column}, Treatment({reference!r}))"
    interactions: dict[tuple[str, str], str] = {}
    present = set(zip(data[column], data[style], strict=True))
    for s, j in sorted(k for k in present if k[0] != reference and k[1] in others):
        name = interactions[(s, j)] = f"sx{len(interactions)}"
        data[name] = ((data[column] == s) & (data[style] == j)).astype(float)
    return formula + "".join(f" + {name}" for name in interactions.values()), interactions


def _joint_test(fit: dict, names: list[str], notes: list[str]) -> dict:
    """Joint test that all style x situation terms are 0: the score bootstrap (``p``) and
    the CV3 Wald F (``statistic``, ``p_wald``; clusters - 1 denominator df).
    """
    from scipy import stats

    q, clusters = len(names), int(fit["clusters"].max()) + 1
    if not q:
        return {"df": 0, "note": "nothing to test"}
    index = np.array([fit["params"].index.get_loc(n) for n in names])
    gamma, v = fit["params"].to_numpy()[index], fit["cov"][np.ix_(index, index)]
    if q >= clusters - 1:
        notes.append(f"{q} interaction terms and only {clusters} clusters: the joint test "
                     "cannot be trusted and is not reported")
        return {"df": q, "clusters": clusters, "note": "too few clusters"}
    wald = float(gamma @ np.linalg.pinv(v) @ gamma) / q
    return {"df": q, "statistic": wald, "p_wald": float(stats.f.sf(wald, q, clusters - 1)),
            "p": score_bootstrap(fit, index), "clusters": clusters}


def score_bootstrap(fit: dict, tested: np.ndarray, draws: int = 999, seed: int = 0) -> float:
    """Restricted wild cluster score bootstrap p-value of "the ``tested`` coefficients are 0":
    refit without them (same dispersion); the clusters' efficient scores ``S_g`` give
    ``S' (sum_g S_g S_g')^-1 S``, redrawn with Webb weights on the ``S_g`` (Kline and Santos
    2012; :mod:`.wild_bootstrap` does it for one term). Seeded: same data, same p-value.
    """
    X, y, offset, alpha, groups = (fit[k] for k in ("X", "y", "offset", "alpha", "clusters"))
    others = np.setdiff1d(np.arange(X.shape[1]), tested)
    beta = fisher_scoring(y, X[:, others], offset, alpha, fit["params"].to_numpy()[others])
    if beta is None:
        return float("nan")
    mu = np.exp(offset + X[:, others] @ beta)
    scale = 1.0 + alpha * mu
    scores = X * ((y - mu) / scale)[:, None]
    info = X.T @ (X * (mu / scale)[:, None])
    projection = np.linalg.lstsq(info[np.ix_(others, others)], info[np.ix_(others, tested)],
                                 rcond=None)[0]
    efficient = scores[:, tested] - scores[:, others] @ projection
    per_cluster = pd.DataFrame(efficient).groupby(groups).sum().to_numpy()

    def statistic(weights: np.ndarray) -> np.ndarray:
        total = weights @ per_cluster  # draws x q
        spread = np.einsum("bg,gi,gj->bij", weights**2, per_cluster, per_cluster)
        return np.einsum("bi,bij,bj->b", total, np.linalg.pinv(spread), total)

    observed = statistic(np.ones((1, len(per_cluster))))[0]
    weights = np.random.default_rng(seed).choice(WEBB_WEIGHTS, size=(draws, len(per_cluster)))
    return float((1 + np.sum(statistic(weights) >= observed - 1e-12)) / (draws + 1))


def pool_estimates(theta: np.ndarray, cov: np.ndarray) -> dict:
    """Partial pooling of correlated estimates of one effect (empirical Bayes).

    ``theta = mu + u + e``, ``u ~ N(0, tau2 I)`` (real between-situation variation),
    ``e ~ N(0, cov)``. ``tau2``: method of moments (DerSimonian-Laird, generalised to
    correlated estimates): ``Q = theta' P theta`` with ``P = V^-1 - V^-1 1 1' V^-1 / (1' V^-1
    1)`` has ``E[Q] = (k - 1) + tau2 tr(P)``; truncated at 0.

    Returns
    -------
    dict
        ``mean`` (random-effects pooled estimate), ``mean_var``, ``tau2``, ``q`` (the Wald
        statistic of "all equal", k - 1 degrees of freedom), ``shrunk`` (best linear
        unbiased predictions of ``mu + u``) and ``prediction_cov`` (``V - V P_S V``,
        ``S = V + tau2 I``: their prediction-error covariance).
    """
    theta, v = np.asarray(theta, dtype=float), np.asarray(cov, dtype=float)
    ones = np.ones(len(theta))

    def projector(sigma: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        inv = np.linalg.pinv(sigma)
        total = float(ones @ inv @ ones)
        return inv - np.outer(inv @ ones, ones @ inv) / total, total, inv

    p_v, _, _ = projector(v)
    q = float(theta @ p_v @ theta)
    trace = float(np.trace(p_v))
    tau2 = max(0.0, (q - (len(theta) - 1)) / trace) if trace > 0 else 0.0
    sigma = v + tau2 * np.eye(len(theta))
    p_s, total, inv = projector(sigma)
    mean = float(ones @ inv @ theta) / total
    return {"mean": mean, "mean_var": 1.0 / total, "tau2": tau2, "q": q,
            "shrunk": theta - v @ p_s @ theta, "prediction_cov": v - v @ p_s @ v}
