"""Style changes as natural experiments: difference in differences and an event study."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.drivers import DriversFit, model_frame, reference_levels


def style_change_effects(panel: pd.DataFrame, window: int = 6) -> dict[str, pd.DataFrame]:
    """Style changes as natural experiments: within-team effect of the style and a pre-trend check.

    Count model with team, month and tactic fixed effects (log spend offset): a
    style's effect is identified only by teams whose leader changed style,
    compared with the same months in teams that did not (difference in
    differences). The event study adds months-to-change dummies (-window..window,
    the month before the change as reference); their pre-change coefficients
    should be jointly zero (the ``pretrend`` row).
    """
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    if "decision_style" not in frame or frame["decision_style"].nunique() < 2:
        raise SalesnbError("style changes need decision styles (map leaders.decision_style "
                           "and style_changes)")
    reference = reference_levels(frame)["decision_style"]
    changed = frame.groupby("team_id")["decision_style"].nunique() > 1
    if not changed.any():
        raise SalesnbError("no team's leader changed decision style: nothing to compare")
    groups = pd.factorize(frame["team_id"])[0]
    base = ("new_customers ~ C(team_id) + C(month) + C(tactic) + "
            f"C(decision_style, Treatment({reference!r}))")
    did = smf.poisson(base, frame, offset=frame["log_spend"]).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, disp=0, maxiter=300)
    did_fit = DriversFit(did, frame, base, "poisson team+month FE (DiD)", "", False)
    effects = did_fit.effects()
    effects = effects[effects["term"].str.startswith("decision_style=")].reset_index(drop=True)
    frame = frame.assign(event=months_to_change(frame, window))
    event_formula = base + " + C(event, Treatment('m-1'))"
    event = smf.poisson(event_formula, frame, offset=frame["log_spend"]).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, disp=0, maxiter=300)
    names = [n for n in event.params.index if "C(event" in n]
    names = [n for n in names if "[T.none]" not in n]  # non-changers: absorbed by team effects
    event_table = pd.DataFrame({"term": [n.split("[T.")[1].rstrip("]") for n in names],
                                "estimate": np.exp(-event.params[names].to_numpy()),
                                "p": event.pvalues[names].to_numpy()})
    pre = [n for n in names if "[T.m-" in n]
    wald = event.wald_test(" , ".join(f"{n} = 0" for n in pre), scalar=True) if pre else None
    pretrend = pd.DataFrame([{"test": "pre-change months jointly zero",
                              "statistic": float(wald.statistic) if wald else np.nan,
                              "p": float(wald.pvalue) if wald else np.nan,
                              "teams_changed": int(changed.sum())}])
    return {"effects": effects, "event_study": event_table, "pretrend": pretrend}


def months_to_change(frame: pd.DataFrame, window: int) -> pd.Series:
    """'m-3', 'm+0', ... relative to the team's style change; 'none' if it never changed."""
    labels = pd.Series("none", index=frame.index)
    for _team, rows in frame.groupby("team_id"):
        styles = rows.sort_values("period")[["period", "decision_style"]].drop_duplicates(
            "period")
        switch = styles["decision_style"].ne(styles["decision_style"].shift()).cumsum()
        if switch.max() < 2:
            continue
        change = styles.loc[switch == 2, "period"].min()
        months = ((rows["period"].dt.year - change.year) * 12
                  + rows["period"].dt.month - change.month).clip(-window, window)
        labels.loc[rows.index] = [f"m{m:+d}" if m < 0 else f"m+{m}" for m in months]
    return labels
