"""Hill (saturating) curves, fitted per unit with the team effects of the power fit held
as offsets, and :func:`fit_once`: one full fit (power, or power then Hill) on given rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.curves.formulas import response
from salesnb.curves.irls import Design, nb_loglik, power_fit, power_parameters


def fit_once(form: str, design: Design, cells: pd.DataFrame, dispersion: float | None,
         rows: np.ndarray | None = None, team_codes: np.ndarray | None = None
         ) -> tuple[np.ndarray, float, list[int]]:
    """(parameters (units x k), dispersion, units whose Hill fit did not converge) of one fit
    on the given rows (default: all cells).
    """
    rows = np.arange(len(cells)) if rows is None else rows
    team_codes = design.teams[rows] if team_codes is None else team_codes
    y = cells["new_customers"].to_numpy(float)[rows]
    sub = design.subset(rows, team_codes)
    beta, eta, dispersion, _ = power_fit(sub, y, dispersion)
    power = power_parameters(sub, beta, eta)
    if form == "power":
        return power, dispersion, []
    offsets = sub.split(beta)[0][sub.teams]
    x = sub.reference * np.exp(sub.log_spend)
    hill, failed = hill_parameters(sub, y, x, offsets, dispersion)
    for _ in range(HILL_BACKFITS):  # team effects again, now given the Hill curves
        curve = response("hill", hill[sub.unit_index], x, sub.reference)
        offsets = np.log(np.bincount(sub.teams, y, sub.n_teams)
                         / np.bincount(sub.teams, curve, sub.n_teams))[sub.teams]
        hill, failed = hill_parameters(sub, y, x, offsets, dispersion)
    return hill, dispersion, failed



def hill_parameters(design, y, x, offsets, dispersion) -> tuple[np.ndarray, list[int]]:
    """(maximum, half_saturation, shape) per unit, team effects held as offsets; and the units
    whose optimiser reported failure.
    """
    rows, failed = [], []
    for unit in range(design.n_units):
        mask = design.unit_index == unit
        if not mask.any():
            rows.append(np.full(3, np.nan))
            continue
        offset = offsets[mask] - np.log(np.mean(np.exp(offsets[mask])))
        params, success = _hill_one(y[mask], x[mask], offset, dispersion)
        rows.append(params)
        if not success:
            failed.append(unit)
    return np.array(rows), failed


HILL_MAX_HALF_SATURATION = 100.0  # x the largest observed spend
HILL_SHAPE_RANGE = (0.05, 10.0)
HILL_BACKFITS = 1  # rounds of re-estimating team effects under the Hill curves


def _hill_one(y, x, offset, dispersion) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood Hill curve of one unit: ((maximum, half_saturation, shape), whether
    the optimiser reported success).

    Optimised over (log curve value at the median spend, log half-saturation, log shape), which
    keeps the likelihood well conditioned when the data show no saturation (half-saturation
    running off to the bound); exact gradient.
    """
    from scipy.optimize import minimize

    log_x, log_mid = np.log(x), np.log(np.median(x))
    size = 1 / dispersion if dispersion > 1e-8 else np.inf

    def loss_and_gradient(theta):
        log_half, shape = theta[1], np.exp(theta[2])
        s, s_mid = shape * (log_x - log_half), shape * (log_mid - log_half)
        log_mu = offset + theta[0] - np.logaddexp(0, -s) + np.logaddexp(0, -s_mid)
        mu = np.exp(np.clip(log_mu, -30, 30))
        d_mu = mu * (y / mu - (1.0 if np.isinf(size) else (y + size) / (size + mu)))
        share, share_mid = _sigmoid(-s), _sigmoid(-s_mid)
        gradient = [d_mu.sum(), (d_mu * shape * (share_mid - share)).sum(),
                    (d_mu * (s * share - s_mid * share_mid)).sum()]
        return -nb_loglik(y, mu, dispersion), -np.array(gradient)

    start = [np.log(max(y.mean(), 1e-3)), log_mid, 0.0]
    bounds = [(None, None), (log_x.min(), log_x.max() + np.log(HILL_MAX_HALF_SATURATION)),
              tuple(np.log(HILL_SHAPE_RANGE))]
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    shape = np.exp(theta[2])
    maximum = np.exp(theta[0] + np.logaddexp(0, -shape * (log_mid - theta[1])))
    params = np.array([maximum, np.exp(theta[1]), shape])
    return params, bool(result.success) and bool(np.isfinite(params).all())


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -values))


def note_unsaturated(estimate: np.ndarray, units: pd.DataFrame, notes: list) -> None:
    """Name the units whose Hill half-saturation lies far beyond the observed spend."""
    high = units["observed_high"].to_numpy()
    unsaturated = [t for t, h, top in zip(units["tactic"], estimate[:, 1], high, strict=True)
                   if h > 10 * top]
    if unsaturated:
        notes.append(f"no saturation in the observed spend for {unsaturated}: the Hill half-"
                     "saturation lies far beyond the data (a power curve describes them as well)")

