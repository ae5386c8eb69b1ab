"""Multiplicity: adjusted p-values for a family of claims (Holm, Benjamini-Hochberg)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from salesnb.errors import SalesnbError


def adjust_pvalues(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values; missing p-values stay missing.

    statsmodels' ``multipletests`` returns all-NaN when any input is NaN, so the
    adjustment runs on the present values only (the family is what was tested).
    """
    from statsmodels.stats.multitest import multipletests

    if method not in ("holm", "fdr_bh"):
        raise SalesnbError("method must be 'holm' or 'fdr_bh'")
    values = np.asarray(p, dtype=float)
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    if present.any():
        out[present] = multipletests(values[present], method=method)[1]
    return out
