"""Fitting response curves on the analysis panel (see :mod:`salesnb.curves.response` for the
definitions): fittable cells, estimable units, carry-over, the fit and its bootstrap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.curves.bootstrap import bootstrap_draws, inestimable
from salesnb.curves.hill import fit_once, note_unsaturated
from salesnb.curves.irls import Design, power_fit, unit_labels
from salesnb.curves.response import (
    CARRYOVER_GRID,
    FORMS,
    GROUPINGS,
    MIN_CELLS,
    MIN_CUSTOMERS,
    MIN_LOG_SPEND_SD,
    MIN_TEAMS,
    OBSERVED_QUANTILES,
    ResponseCurves,
)
from salesnb.errors import SalesnbError
from salesnb.metrics.panel_query import UNALLOCATED


# ----- fitting -----------------------------------------------------------------------------
def fit_response_curves(panel: pd.DataFrame, by: str | None = None, form: str = "power",
                        carryover: float | str | None = None, n_boot: int = 200,
                        seed: int = 0) -> ResponseCurves:
    """Fit a response curve per tactic (optionally per tactic x ``by``) on the analysis panel.

    Parameters
    ----------
    panel : :func:`salesnb.metrics.panel` output (team x tactic x month).
    by : None, or a column to split each tactic's curve by (e.g. ``"decision_style"``,
        ``"region"``).
    form : ``"power"`` (default) or ``"hill"``.
    carryover : None/0 (no carry-over), a fixed ``lambda`` in [0, 1), or ``"estimate"``
        (profile likelihood over 0, 0.1, ..., 0.9).
    n_boot : bootstrap draws (teams resampled); 0 gives no intervals.
    seed : bootstrap seed.

    Returns
    -------
    ResponseCurves
    """
    _check_arguments(panel, by, form, carryover, n_boot)
    history, cells, notes = _cells(panel, by)
    lam = _carryover(history, cells, carryover, notes)
    cells = cells.assign(effective_spend=effective_spend(history, cells, lam))
    if lam:  # carry-over smooths spend: a unit may become (nearly) constant
        cells = _keep_estimable(cells, "effective_spend", notes)
    reference = float(cells["effective_spend"].median())
    design = Design.build(cells, reference)
    estimate, dispersion, failed = fit_once(form, design, cells, dispersion=None)
    if failed:
        notes.append(f"the Hill fit did not converge for {unit_labels(design, failed)}: their "
                     "curves are the optimiser's last point; read them with care")
    draws = bootstrap_draws(form, design, cells, dispersion, n_boot, seed, notes)
    units = unit_table(cells, design.unit_keys, by)
    if form == "hill":
        note_unsaturated(estimate, units, notes)
    if n_boot and n_boot < 100:
        notes.append(f"only {n_boot} bootstrap draws: interval ends are rough")
    notes.append(f"dispersion (NB2 alpha) {dispersion:.3f}; carry-over lambda {lam:g}")
    return ResponseCurves(form, by, lam, reference, units, estimate, draws,
                          cells.assign(unit=design.unit_index), dispersion, seed, notes)


def _check_arguments(panel, by, form, carryover, n_boot) -> None:
    problems = []
    missing = {"team_id", "tactic", "period", "spend", "new_customers"} - set(panel.columns)
    if missing:
        problems.append(f"the panel lacks columns {sorted(missing)} (use salesnb.metrics.panel)")
    if by is not None and by not in panel.columns:
        problems.append(f"by={by!r} is not a panel column; try one of {list(GROUPINGS)}")
    if form not in FORMS:
        problems.append(f"form must be one of {list(FORMS)}, not {form!r}")
    if not (carryover is None or carryover == "estimate"
            or (isinstance(carryover, int | float) and 0 <= carryover < 1)):
        problems.append(f"carryover must be None, a number in [0, 1) or 'estimate', "
                        f"not {carryover!r}")
    if not isinstance(n_boot, int) or n_boot < 0:
        problems.append(f"n_boot must be a whole number >= 0, not {n_boot!r}")
    if problems:
        raise SalesnbError("cannot fit response curves: " + "; ".join(problems))


def _cells(panel: pd.DataFrame, by: str | None) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """(spend history of every team x tactic x month, fittable cells, notes)."""
    notes = []
    history = panel[panel["tactic"] != UNALLOCATED]
    keep = history["spend"] > 0
    if by is not None:
        keep &= history[by].notna()
    dropped = int((~keep).sum())
    if dropped:
        without = "without spend" + (f" or without {by}" if by else "")
        notes.append(f"{dropped} team-tactic-months {without} are left out of the curves")
    cells = history[keep].copy()
    cells["unit_key"] = (list(zip(cells["tactic"], cells[by], strict=True)) if by
                         else list(zip(cells["tactic"], strict=True)))
    cells, thin = _drop_thin_units(cells)
    if thin:
        notes.append(f"too little data for a curve (< {MIN_CELLS} cells or < {MIN_TEAMS} "
                     f"teams): {thin}")
    cells = _keep_estimable(cells, "spend", notes)
    return history, cells.reset_index(drop=True), notes


def _drop_thin_units(cells: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    size = cells.groupby("unit_key")["team_id"].agg(["size", "nunique"])
    thin = size[(size["size"] < MIN_CELLS) | (size["nunique"] < MIN_TEAMS)].index
    return cells[~cells["unit_key"].isin(thin)], [" / ".join(map(str, k)) for k in thin]


def _keep_estimable(cells: pd.DataFrame, column: str, notes: list) -> pd.DataFrame:
    """Leave out units whose curve cannot be estimated, naming them in ``notes``."""
    if not cells.empty:
        codes, keys = pd.factorize(cells["unit_key"])
        few, flat = inestimable(codes, np.log(cells[column].to_numpy(float)),
                                 cells["new_customers"].to_numpy(float), len(keys))
        names = [" / ".join(map(str, k)) for k in keys]
        if few.any():
            notes.append(f"fewer than {MIN_CUSTOMERS} new customers in all, so no curve can be "
                         f"read (left out): {[n for n, f in zip(names, few, strict=True) if f]}")
        if flat.any():
            notes.append(f"spend (nearly) constant (sd of log spend < {MIN_LOG_SPEND_SD:g}, e.g. "
                         "a fixed retainer), so its response to spend cannot be estimated "
                         f"(left out): {[n for n, f in zip(names, flat, strict=True) if f]}")
        cells = cells[~(few | flat)[codes]]
    if cells.empty:
        raise SalesnbError(f"no tactic has enough spend data for a response curve (each needs "
                           f">= {MIN_CELLS} team-months with spend from >= {MIN_TEAMS} teams, "
                           f">= {MIN_CUSTOMERS} new customers and spend that varies)")
    return cells


def effective_spend(history: pd.DataFrame, cells: pd.DataFrame, lam: float) -> np.ndarray:
    """Carry-over adstock (normalised to monthly spend) at each cell."""
    if lam == 0:
        return cells["spend"].to_numpy(dtype=float)
    from scipy.signal import lfilter

    months = pd.date_range(history["period"].min(), history["period"].max(), freq="MS")
    wide = history.pivot_table(index="period", columns=["team_id", "tactic"], values="spend",
                               aggfunc="sum").reindex(months).fillna(0.0)
    spend = wide.to_numpy()
    # steady state before the panel: the prior level is the first month's own spend
    adstock = lfilter([1 - lam], [1, -lam], spend, axis=0, zi=lam * spend[:1])[0]
    long = pd.DataFrame(adstock, index=wide.index, columns=wide.columns).stack(
        ["team_id", "tactic"], future_stack=True)
    keys = pd.MultiIndex.from_frame(cells[["period", "team_id", "tactic"]])
    return long.reindex(keys).to_numpy(dtype=float)


def _carryover(history, cells, carryover, notes) -> float:
    if carryover is None:
        return 0.0
    if carryover != "estimate":
        return float(carryover)
    likelihoods = []
    for lam in CARRYOVER_GRID:
        trial = cells.assign(effective_spend=effective_spend(history, cells, lam))
        design = Design.build(trial, float(trial["effective_spend"].median()))
        likelihoods.append(power_fit(design, trial["new_customers"].to_numpy(float))[3])
    best = float(CARRYOVER_GRID[int(np.argmax(likelihoods))])
    notes.append(f"carry-over estimated by profile likelihood: lambda {best:g} (grid 0-0.9; "
                 "its uncertainty is not in the intervals)")
    return best



def unit_table(cells: pd.DataFrame, unit_keys: list, by: str | None) -> pd.DataFrame:
    """One row per unit: teams running it, cells, current spend, observed spend range."""
    months = cells["period"].nunique()
    rows = []
    for key in unit_keys:
        unit_cells = cells[cells["unit_key"] == key]
        low, high = unit_cells["effective_spend"].quantile(list(OBSERVED_QUANTILES))
        teams_per_month = unit_cells.groupby("period")["team_id"].nunique()
        row = {"tactic": key[0],
               "teams_per_month": float(teams_per_month.sum() / months),
               "n_cells": len(unit_cells),
               "teams": unit_cells["team_id"].nunique(),
               "current_spend": float(unit_cells["spend"].sum() / months),
               "observed_low": float(low), "observed_high": float(high)}
        if by:
            row[by] = key[1]
        rows.append(row)
    columns = ["tactic"] + ([by] if by else [])
    frame = pd.DataFrame(rows)
    return frame[columns + [c for c in frame.columns if c not in columns]]
