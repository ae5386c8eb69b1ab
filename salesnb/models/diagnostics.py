"""Diagnostics of the drivers model: overdispersion, detectable effects, influence, residuals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.models.drivers import (
    DriversFit,
    cheapest_tactic,
    drivers_formula,
    model_frame,
    plain_term,
)


def overdispersion_test(panel: pd.DataFrame) -> dict[str, float]:
    """Cameron-Trivedi test of Poisson equidispersion (alpha > 0 means negative binomial).

    Regresses ((y - mu)^2 - y) / mu on mu without intercept, mu from a Poisson fit.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    formula = drivers_formula(frame, cheapest_tactic(frame), False, False)
    mu = smf.poisson(formula, frame, offset=frame["log_spend"]).fit(disp=0).predict(
        offset=frame["log_spend"])
    y = frame["new_customers"]
    aux = sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()
    return {"alpha": float(aux.params.iloc[0]), "t": float(aux.tvalues.iloc[0]),
            "p": float(aux.pvalues.iloc[0]) / 2 if aux.params.iloc[0] > 0 else 1.0}


def minimum_detectable_effect(fit: DriversFit, power: float = 0.8,
                              level: float = 0.95) -> pd.DataFrame:
    """Per term, the smallest CAC change the data at hand would detect with ``power``.

    MDE = exp((t_(1-a/2) + t_power) x standard error), t with (teams - 1) degrees of
    freedom, as a percentage change.
    """
    from scipy import stats

    se = fit.result.bse.drop(["alpha", "Intercept", "Group Var"], errors="ignore")
    multiplier = np.exp((fit.critical(level) + stats.t.ppf(power, fit.clusters - 1)) * se)
    return pd.DataFrame({"term": [plain_term(t) for t in se.index],
                         "mde_percent": (multiplier.to_numpy() - 1) * 100,
                         "power": power, "model": fit.model})


def influential_teams(fit: DriversFit, top: int = 5) -> pd.DataFrame:
    """Teams whose removal would move an effect most (one-step cluster DFBETA).

    For each team, dropping it shifts the coefficients by about -H^-1 S_g (its
    summed score through the inverse Hessian), with no refitting. The shift is
    reported in standard errors of the estimate without that team; above 1 the
    team alone can change a conclusion.
    """
    values = fit.result.params.to_numpy()
    scores = fit.result.model.score_obs(values)
    inverse = np.linalg.inv(-fit.result.model.hessian(values))
    teams = fit.data["team_id"].to_numpy()
    shifts = pd.DataFrame(scores, index=teams).groupby(level=0).sum() @ inverse
    shifts.columns = fit.result.params.index
    shifts = shifts.drop(columns=["alpha", "Intercept"], errors="ignore")
    # scale by the standard error *without* the team (a team inflates its own), else the
    # ratio could never exceed 1
    without = np.sqrt(((shifts ** 2).sum() - shifts ** 2).clip(lower=1e-300))
    in_se = shifts.abs() / without
    worst = in_se.idxmax(axis=1)
    table = pd.DataFrame({"team_id": in_se.index, "largest_shift_se": in_se.max(axis=1),
                          "term": [plain_term(t) for t in worst]})
    return table.sort_values("largest_shift_se", ascending=False).head(top).reset_index(
        drop=True)


def residual_checks(fit: DriversFit) -> pd.DataFrame:
    """Pearson residuals overall and by tactic and style: dispersion near 1, means near 0."""
    result = fit.result
    mu = result.predict(offset=None if fit.elasticity else fit.data["log_spend"])
    y = fit.data["new_customers"]
    alpha = float(result.params.get("alpha", 0.0))
    pearson = (y - mu) / np.sqrt(mu + alpha * mu ** 2)
    frame = fit.data.assign(pearson=pearson)
    rows = [{"group": "all", "mean": pearson.mean(), "dispersion": (pearson ** 2).mean(),
             "n": len(frame)}]
    for column in [c for c in ("tactic", "decision_style") if c in frame]:
        for value, part in frame.groupby(column)["pearson"]:
            rows.append({"group": f"{column}={value}", "mean": part.mean(),
                         "dispersion": (part ** 2).mean(), "n": len(part)})
    return pd.DataFrame(rows)
