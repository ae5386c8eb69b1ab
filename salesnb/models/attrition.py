"""Rep attrition: a Cox model of exits by the leader's style and recognition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.drivers import REFERENCE, TIDY_COLUMNS, plain_term, reference_levels

ATTRITION_REFERENCES = {**REFERENCE, "recognition": "no recognition"}
"""The reference level of each term of :func:`attrition_hazards`."""


def attrition_hazards(reps_last_month: pd.DataFrame, data_start: pd.Timestamp,
                      data_end: pd.Timestamp) -> pd.DataFrame:
    """Cox model of rep exits by decision style, involvement and recognition (hazard ratios).

    ``reps_last_month``: one row per rep with ``hire_date``, ``exit_date`` and the
    leader's style in the rep's last month (:func:`salesnb.metrics.people.rep_last_months`).
    Time is days since hire; reps hired before the data start enter the risk set
    at the data start (left truncation), so long-serving survivors do not dilute
    the hazard. :func:`salesnb.report.words.with_findings` (with
    :data:`ATTRITION_REFERENCES`) puts each hazard ratio in words.
    """
    import statsmodels.formula.api as smf

    if "hire_date" not in reps_last_month or reps_last_month["hire_date"].isna().all():
        raise SalesnbError("rep attrition over time needs hire dates (map reps.hire_date, or "
                           "years at company with years_before:)")
    frame = reps_last_month.dropna(subset=["hire_date"]).copy()
    frame["days"] = (frame["exit_date"].fillna(data_end) - frame["hire_date"]).dt.days.clip(
        lower=1)
    entry = (frame["hire_date"].clip(lower=data_start) - frame["hire_date"]).dt.days
    frame["entry"] = entry.clip(upper=frame["days"] - 1).clip(lower=0)
    frame["left"] = frame["exit_date"].notna().astype(int)
    levels = reference_levels(frame)
    terms = [f"C({name}, Treatment({level!r}))" for name, level in levels.items()]
    if "recognition" in frame and frame["recognition"].notna().all() and \
            frame["recognition"].nunique() > 1:
        frame["recognition"] = frame["recognition"].astype(int)
        terms.append("recognition")
    if not terms:
        raise SalesnbError("rep attrition is compared by leadership style and recognition, "
                           "and this data has neither (map leaders.decision_style, "
                           "involvement or recognition)")
    frame = frame.dropna(subset=list(levels))
    try:
        result = smf.phreg("days ~ " + " + ".join(terms), frame, status=frame["left"],
                           entry=frame["entry"]).fit()
    except np.linalg.LinAlgError:
        raise SalesnbError("rep attrition cannot be compared here: too few reps or exits in "
                           "each group to estimate (the model is singular)") from None
    ci = np.asarray(result.conf_int())
    names = result.model.exog_names
    out = pd.DataFrame({"term": [plain_term(n) for n in names],
                        "estimate": np.exp(result.params), "ci_low": np.exp(ci[:, 0]),
                        "ci_high": np.exp(ci[:, 1]), "p": result.pvalues})
    out["model"], out["n"] = "cox (hazard ratio)", len(frame)
    return out[TIDY_COLUMNS].reset_index(drop=True)
