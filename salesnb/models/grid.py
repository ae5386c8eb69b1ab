"""The CAC grid (every tactic under every style) and pairwise style contrasts within tactics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.drivers import DriversFit
from salesnb.models.multiplicity import adjust_pvalues


def cac_grid(fit: DriversFit, level: float = 0.95, spend: float | None = None) -> pd.DataFrame:
    """Predicted CAC for every tactic under every decision style and involvement, with intervals.

    Other variables are held at typical values (traits at their mean, region at
    the reference). With the offset model CAC does not depend on the spend level;
    with ``elasticity`` it is evaluated at ``spend`` (default: median cell spend).
    """
    frame = fit.data
    if "decision_style" not in fit.styles:
        raise SalesnbError("the CAC grid compares decision styles, and this data has fewer "
                           "than two (map leaders.decision_style)")
    spend = float(spend or frame["spend"].median())
    keys = ["tactic", *fit.styles]
    rows = pd.MultiIndex.from_product([sorted(frame[k].unique()) for k in keys],
                                      names=keys).to_frame(index=False)
    typical = typical_values(frame, rows, spend)
    design = design_rows(fit, typical)
    params = fit.result.params.drop("alpha", errors="ignore")
    cov = fit.result.cov_params().loc[params.index, params.index].to_numpy()
    xb = design @ params.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", design, cov, design))
    z = fit.critical(level)
    log_spend = np.log(spend)
    # customers per unit of spend: exp(xb) (offset model) or exp(xb) * spend^b / spend
    log_cac = (log_spend - xb) if fit.elasticity else -xb
    rows["cac"] = np.exp(log_cac)
    rows["ci_low"] = np.exp(log_cac - z * se)
    rows["ci_high"] = np.exp(log_cac + z * se)
    rows["se_log"] = se
    cells = frame.groupby(keys).size()
    rows["cells"] = [int(cells.get(tuple(r) if len(keys) > 1 else r[0], 0))
                     for r in rows[keys].to_numpy()]
    rows["model"], rows["n"] = fit.model, fit.n
    return rows


def typical_values(frame: pd.DataFrame, rows: pd.DataFrame, spend: float) -> pd.DataFrame:
    """``rows`` with every other model variable at a typical value (mean, reference)."""
    typical = rows.copy()
    for name in ("years10", "admin10"):
        if name in frame:
            typical[name] = frame[name].mean()
    if "region" in frame:
        typical["region"] = sorted(frame["region"].unique())[0]
    typical["month"] = sorted(frame["month"].unique())[0]
    typical["log_spend"] = np.log(spend)
    typical["new_customers"] = 0
    return typical


def design_rows(fit: DriversFit, rows: pd.DataFrame) -> np.ndarray:
    """The model's design matrix rows for ``rows`` (patsy, as fitted)."""
    from patsy import build_design_matrices

    design_info = fit.result.model.data.model_spec  # a patsy DesignInfo
    return np.asarray(build_design_matrices([design_info], rows)[0])


def style_contrasts(grid: pd.DataFrame, fit: DriversFit, method: str = "holm",
                    involvement: str | None = None) -> pd.DataFrame:
    """Pairwise CAC ratios between decision styles within each tactic, multiplicity-adjusted
    (at one involvement level: ``involvement``, default the model's reference).
    """
    params = fit.result.params.drop("alpha", errors="ignore")
    cov = fit.result.cov_params().loc[params.index, params.index].to_numpy()
    keys = ["tactic", *fit.styles]
    sub = grid
    if "involvement" in grid:
        level = involvement or fit.levels["involvement"]
        sub = grid[grid["involvement"] == level]
    sub = sub.reset_index(drop=True)
    design = design_rows(fit, typical_values(fit.data, sub[keys],
                                          float(fit.data["spend"].median())))
    rows = []
    for tactic, idx in sub.groupby("tactic").groups.items():
        idx = list(idx)
        for i, a in enumerate(idx):
            for b in idx[i + 1:]:
                diff = design[b] - design[a]  # log CAC(a) - log CAC(b) = xb_b - xb_a
                est = diff @ params.to_numpy()
                se = float(np.sqrt(diff @ cov @ diff))
                p = float(fit.p_values(est, se)) if se > 0 else np.nan
                rows.append({"tactic": tactic, "style": sub.at[a, "decision_style"],
                             "versus": sub.at[b, "decision_style"], "log_ratio": est,
                             "se": se, "p": p})
    frame = pd.DataFrame(rows)
    z = fit.critical(0.95)
    frame["ratio"] = np.exp(frame["log_ratio"])
    frame["ci_low"] = np.exp(frame["log_ratio"] - z * frame["se"])
    frame["ci_high"] = np.exp(frame["log_ratio"] + z * frame["se"])
    frame["p_adjusted"] = adjust_pvalues(frame["p"], method)
    frame["method"] = method
    return frame
