"""Curve formulas and the numeric helpers every part of the curves uses.

- :func:`response`: customers per team-month at per-team spend ``x`` (power or Hill curve);
- :func:`slope`: its derivative (the marginal customers per unit of spend);
- :func:`percentile_interval`, :func:`safe_ratio`, :func:`check_spend`.
"""

from __future__ import annotations

import numpy as np

from salesnb.errors import SalesnbError


def response(form: str, params: np.ndarray, x: np.ndarray, reference: float) -> np.ndarray:
    """Customers per team-month at per-team spend ``x`` (params: (..., units, k))."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if form == "power":
            return params[..., 0] * (x / reference) ** params[..., 1]
        ratio = np.exp(params[..., 2] * (np.log(x) - np.log(params[..., 1])))
        return params[..., 0] * ratio / (1 + ratio)


def slope(form: str, params: np.ndarray, x: np.ndarray, reference: float) -> np.ndarray:
    """Derivative of :func:`response` with respect to per-team spend."""
    x = np.asarray(x, dtype=float)
    value = response(form, params, x, reference)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if form == "power":
            return params[..., 1] * value / x
        ratio = np.exp(params[..., 2] * (np.log(x) - np.log(params[..., 1])))
        return value * params[..., 2] / (x * (1 + ratio))


def percentile_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis, ignoring missing draws."""
    if not 0 < level < 1:
        raise SalesnbError(f"level must be between 0 and 1, not {level!r}")
    if len(draws) == 0:
        nan = np.full(draws.shape[1:], np.nan)
        return nan, nan.copy()
    tail = (1 - level) / 2 * 100
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan slices give nan, as wanted
        return (np.nanpercentile(draws, tail, axis=0),
                np.nanpercentile(draws, 100 - tail, axis=0))


def safe_ratio(numerator, denominator) -> np.ndarray:
    """Numerator / denominator, nan where the denominator is not positive (never infinite)."""
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, np.asarray(numerator, dtype=float) / denominator,
                        np.nan)


def check_spend(values: np.ndarray, labels: list | None = None) -> None:
    """Refuse spend that is negative or not finite, naming the units and values."""
    values = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        named = [f"{labels[i] if labels else i}: {float(values[i])!r}" for i in bad]
        raise SalesnbError(f"spend levels must be finite numbers >= 0, not {named}")

