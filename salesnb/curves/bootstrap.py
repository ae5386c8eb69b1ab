"""Intervals for the curves: teams resampled with replacement, the whole model refitted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.curves.hill import fit_once
from salesnb.curves.irls import Design, unit_labels
from salesnb.curves.response import (
    FAILED_DRAWS_WARNING,
    MIN_CUSTOMERS,
    MIN_LOG_SPEND_SD,
    PARAMETERS,
)
from salesnb.errors import SalesnbError


def inestimable(unit: np.ndarray, log: np.ndarray, customers: np.ndarray, n_units: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over unit codes: (too few customers, nearly constant log spend)."""
    count = np.bincount(unit, minlength=n_units)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(unit, log, n_units) / count
        sd = np.sqrt(np.maximum(np.bincount(unit, log * log, n_units) / count - mean ** 2, 0))
    present = count > 0
    few = present & (np.bincount(unit, customers, n_units) < MIN_CUSTOMERS)
    flat = present & ~few & (sd < MIN_LOG_SPEND_SD)
    return few, flat


def bootstrap_draws(form: str, design: Design, cells: pd.DataFrame, dispersion: float,
               n_boot: int, seed: int, notes: list) -> np.ndarray:
    """Parameter draws from refits on teams resampled with replacement.

    In each draw the estimability rule of the full fit applies again: a unit with too few
    customers or (nearly) constant spend among the resampled teams is left out of that draw
    (nan), as is a unit whose Hill fit fails; a draw whose model does not converge is nan.
    All are counted in ``notes``.
    """
    k = len(PARAMETERS[form])
    draws = np.full((n_boot, design.n_units, k), np.nan)
    rng = np.random.default_rng(seed)
    rows_of_team = [np.flatnonzero(design.teams == t) for t in range(design.n_teams)]
    y = cells["new_customers"].to_numpy(float)
    failed_draws, missing = 0, np.zeros(design.n_units, dtype=int)
    for b in range(n_boot):
        picked = rng.integers(0, design.n_teams, design.n_teams)
        rows = np.concatenate([rows_of_team[t] for t in picked])
        # a team drawn twice is two teams: each copy gets its own effect
        codes = np.concatenate([np.full(len(rows_of_team[t]), i) for i, t in enumerate(picked)])
        few, flat = inestimable(design.unit_index[rows], design.log_spend[rows], y[rows],
                                 design.n_units)
        absent = np.bincount(design.unit_index[rows], minlength=design.n_units) == 0
        keep = ~(few | flat)[design.unit_index[rows]]
        rows, codes = rows[keep], pd.factorize(codes[keep])[0]
        missing += few | flat | absent
        if not len(rows):
            failed_draws += 1
            continue
        present = np.unique(design.unit_index[rows])
        try:
            params, _, failed = fit_once(form, design, cells, dispersion, rows, codes)
        except SalesnbError:
            failed_draws += 1
            continue  # a draw that does not converge is left out (nan), and counted
        present = np.setdiff1d(present, failed)
        missing[failed] += 1
        draws[b, present] = params[present]
    _note_draws(design, n_boot, failed_draws, missing, notes)
    return draws


def _note_draws(design: Design, n_boot: int, failed_draws: int, missing: np.ndarray,
                notes: list) -> None:
    """Count the draws left out of the intervals; loudly when above FAILED_DRAWS_WARNING."""
    if failed_draws:
        share = failed_draws / n_boot
        text = (f"{failed_draws} of {n_boot} bootstrap draws ({share:.0%}) did not converge "
                "and are left out of every interval")
        if share > FAILED_DRAWS_WARNING:
            notes.insert(0, "WARNING: " + text + ": the intervals rest on the draws that "
                         "converged and may be too narrow")
        else:
            notes.append(text)
    if missing.any():
        counts = {label: int(n) for label, n in
                  zip(unit_labels(design, range(design.n_units)), missing, strict=True) if n}
        text = ("bootstrap draws in which a unit could not be estimated (too few customers, "
                "constant spend, no team running it or a failed fit among the resampled teams) "
                "leave it out of that "
                f"draw; draws per unit: {counts}")
        if max(counts.values()) > FAILED_DRAWS_WARNING * n_boot:
            notes.insert(0, "WARNING: " + text + "; its interval rests on the other draws")
        else:
            notes.append(text)

