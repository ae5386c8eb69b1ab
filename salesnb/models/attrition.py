"""Rep attrition: Cox models of exits by the leader's style, recognition and training.

:func:`rep_attrition` is the model to use. It is a counting-process Cox model: each rep
contributes one row per spell of constant leader and style (:func:`salesnb.metrics.people.
rep_spells`), at risk over (entry, exit] in days since hire, with the style **in force at
each time at risk**. A rep who left under an autocratic leader counts there even if the
leader turned consultative afterwards, and the months a stayer spent under each style
count under that style.

:func:`attrition_hazards` is the earlier approximation, kept for callers that hold one row
per rep: every rep takes the style of their last month for all their time at risk. When
leaders change style, that mixes up exposure and biases the hazard ratios.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.attrition_null import attrition_permutation_p
from salesnb.models.drivers import REFERENCE, TIDY_COLUMNS, plain_term, reference_levels

if TYPE_CHECKING:
    from salesnb.engine.connection import Engine
    from salesnb.io.dataset import Dataset

ATTRITION_REFERENCES = {**REFERENCE, "recognition": "no recognition"}
"""The reference level of each term of :func:`attrition_hazards` and :func:`rep_attrition`."""

TRAINING_PER = 10.0
"""Training hours enter :func:`rep_attrition` per this many hours (term ``training10``)."""

Cluster = Literal["auto", "leader", "team", "rep"]

NO_HIRE_DATES = ("rep attrition over time needs hire dates (map reps.hire_date, or "
                 "years at company with years_before:)")
NO_TERMS = ("rep attrition is compared by leadership style and recognition, and this data has "
            "neither (map leaders.decision_style, involvement or recognition)")
SINGULAR = ("rep attrition cannot be compared here: too few reps or exits in each group to "
            "estimate (the model is singular)")


def rep_attrition(data: Engine | Dataset, cluster: Cluster = "auto",
                  level: float = 0.95) -> pd.DataFrame:
    """Hazard ratios of rep exits under the leadership style in force (counting-process Cox).

    Parameters
    ----------
    data : Dataset or Engine
        Data with a ``reps`` table (hire dates needed) and leaders with a style,
        ``recognition`` or ``training_hours``.
    cluster
        What the standard errors are clustered by: ``"auto"`` (by leader when some leader
        runs several teams, else by team), ``"leader"``, ``"team"`` or ``"rep"``.
    level
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        Tidy: ``term`` (``decision_style=...``, ``involvement=...``, ``recognition``,
        ``training10`` = per 10 training hours), ``estimate`` (hazard ratio vs
        :data:`ATTRITION_REFERENCES`), ``ci_low``, ``ci_high``, ``p``, ``model`` (says
        the clustering), ``n`` (reps), ``p_permutation`` (against leader attributes
        permuted across leaders, max-T over the terms: :mod:`.attrition_null`). ``attrs``
        hold ``spells``, ``exits``,
        ``clusters`` and ``cluster`` (what was clustered by).

    Raises
    ------
    SalesnbError
        Without reps or hire dates, without any style, recognition or training to compare,
        or when the model is singular (too few exits per group).

    Notes
    -----
    Time is days since hire; a rep hired before the data enters the risk set at the data
    start (left truncation); reps without a hire date are left out. Standard errors are
    cluster-robust (statsmodels' sandwich, times clusters / (clusters - 1)) and never below
    the model-based ones; intervals and p-values use t(clusters - 1). Rows with a missing
    term are dropped. Styles are not assigned at random: a hazard ratio is an association,
    adjusted for the other terms only.
    """
    from salesnb.metrics.people import rep_spells

    spells, start, _ = rep_spells(data)
    return spell_hazards(spells, start, cluster=cluster, level=level)


def spell_hazards(spells: pd.DataFrame, data_start: pd.Timestamp, cluster: Cluster = "auto",
                  level: float = 0.95) -> pd.DataFrame:
    """Counting-process Cox model on rep spells (the fit behind :func:`rep_attrition`).

    Parameters
    ----------
    spells : DataFrame
        One row per rep and spell, as :func:`salesnb.metrics.people.rep_spells` returns:
        ``rep_id``, ``team_id``, ``hire_date``, ``start``, ``stop``, ``exited`` and the
        terms (``decision_style``, ``involvement``, ``recognition``, ``training_hours``).
        Spells of one rep must not overlap.
    data_start : Timestamp
        The first day of the data; time before it is not at risk (left truncation).
    cluster, level
        As in :func:`rep_attrition`.

    Returns
    -------
    DataFrame
        As :func:`rep_attrition`.
    """
    import statsmodels.api as sm
    from scipy import stats

    if cluster not in ("auto", "leader", "team", "rep"):
        raise SalesnbError(f"cluster must be 'auto', 'leader', 'team' or 'rep', not {cluster!r}")
    if "hire_date" not in spells or spells["hire_date"].isna().all():
        raise SalesnbError(NO_HIRE_DATES)
    frame = _at_risk(spells.dropna(subset=["hire_date"]), data_start)
    design, columns, design_info = _design(frame)
    frame = frame.loc[design.index]
    if not frame["exited"].any():
        raise SalesnbError("rep attrition cannot be compared here: no rep left during the data")
    reps = frame["rep_id"].nunique()
    rows = _informative(frame)
    frame, design = frame[rows], design[rows]
    groups, kind = cluster_ids(frame, cluster)
    try:
        model = sm.PHReg(frame["exit"].to_numpy(float), design.to_numpy(float),
                         status=frame["exited"].to_numpy(int),
                         entry=frame["entry"].to_numpy(float))
        result = model.fit(groups=groups)
        params = np.asarray(result.params)
        clusters = len(np.unique(groups))
        robust = np.diag(np.asarray(result.cov_params())) * clusters / max(clusters - 1, 1)
        plain = np.diag(np.linalg.inv(-model.hessian(params)))
    except np.linalg.LinAlgError:
        raise SalesnbError(SINGULAR) from None
    # the sandwich runs small with a few dozen clusters (20 demo seeds: 92% coverage of
    # 95% intervals, 97% with this floor): never below the model-based standard error
    se = np.sqrt(np.maximum(robust, plain))
    if not np.isfinite(se).all() or not np.isfinite(params).all():
        raise SalesnbError(SINGULAR)
    df = max(clusters - 1, 1)
    critical = stats.t.ppf(0.5 + level / 2, df)
    out = pd.DataFrame({"term": columns, "estimate": np.exp(params),
                        "ci_low": np.exp(params - critical * se),
                        "ci_high": np.exp(params + critical * se),
                        "p": 2 * stats.t.sf(np.abs(params / se), df)})
    out["model"] = f"cox, time-varying style (hazard ratio; clustered by {kind})"
    out["n"] = reps
    out = out[TIDY_COLUMNS].reset_index(drop=True)
    out["p_permutation"] = attrition_permutation_p(frame, design_info, list(design.columns),
                                                   groups)
    out.attrs.update(spells=len(frame), exits=int(frame["exited"].sum()), clusters=clusters,
                     cluster=kind)
    return out


def _at_risk(spells: pd.DataFrame, data_start: pd.Timestamp) -> pd.DataFrame:
    """Entry and exit in days since hire; left-truncated at the data start."""
    frame = spells.copy()
    hired = pd.to_datetime(frame["hire_date"])
    begin = pd.to_datetime(frame["start"]).clip(lower=pd.Timestamp(data_start))
    entry = (begin - hired).dt.days.clip(lower=0)
    stop = (pd.to_datetime(frame["stop"]) - hired).dt.days
    frame["entry"] = entry.astype(float)
    # a rep who left on the day their spell began is still at risk for that day
    frame["exit"] = np.maximum(stop, entry + 1).astype(float)
    # statsmodels counts a row as at risk at its entry time ([entry, exit]); spells are
    # (entry, exit]: on whole days, entry + 0.5 keeps a rep out of the risk set twice at a
    # spell boundary
    frame["entry"] = frame["entry"] + 0.5
    return frame


def _design(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], Any]:
    """The treatment-coded design matrix, its plain term names (rows with gaps dropped) and
    its patsy design (to rebuild rows from other labels).
    """
    import patsy

    terms, used = [], []
    levels = reference_levels(frame)
    for name, level in levels.items():
        terms.append(f"C({name}, Treatment({level!r}))")
        used.append(name)
    frame = frame.copy()
    if "recognition" in frame and frame["recognition"].nunique(dropna=True) > 1:
        frame["recognition"] = frame["recognition"].astype(float)
        terms.append("recognition")
        used.append("recognition")
    if "training_hours" in frame and frame["training_hours"].nunique(dropna=True) > 1:
        frame["training10"] = frame["training_hours"].astype(float) / TRAINING_PER
        terms.append("training10")
        used.append("training10")
    if not terms:
        raise SalesnbError(NO_TERMS)
    frame = frame.dropna(subset=used)
    # treatment coding as with an intercept; the Cox baseline hazard takes its place
    full = patsy.dmatrix(" + ".join(terms), frame, return_type="dataframe")
    design = full.drop(columns="Intercept")
    return design, [plain_term(c) for c in design.columns], full.design_info


def _informative(frame: pd.DataFrame) -> np.ndarray:
    """Rows at risk at one exit time or more. Other rows add nothing to the partial
    likelihood, and statsmodels' score residuals (the robust covariance) mishandle them.
    """
    failures = np.unique(frame.loc[frame["exited"] == 1, "exit"].to_numpy(float))
    entry, stop = frame["entry"].to_numpy(float), frame["exit"].to_numpy(float)
    return (np.searchsorted(failures, stop, side="right")
            - np.searchsorted(failures, entry, side="left")) > 0


def cluster_ids(frame: pd.DataFrame, cluster: Cluster = "auto") -> tuple[np.ndarray, str]:
    """The cluster of each row and what a cluster is (``"leader"``, ``"team"``, ``"rep"``).

    ``"auto"`` clusters by leader when some leader runs several teams (their teams are not
    independent evidence about the leader's style), else by team. Teams without a leader
    are clusters of their own.
    """
    if cluster == "rep":
        return pd.factorize(frame["rep_id"])[0], "rep"
    has_leader = "leader_id" in frame and frame["leader_id"].notna().any()
    if cluster == "leader" and not has_leader:
        raise SalesnbError("cannot cluster by leader: the teams have no leader_id (map "
                           "teams.leader_id)")
    if cluster == "auto":
        teams_per_leader = (frame.dropna(subset=["leader_id"]).groupby("leader_id")["team_id"]
                            .nunique() if has_leader else pd.Series(dtype=int))
        cluster = "leader" if (teams_per_leader > 1).any() else "team"
    if cluster == "team":
        return pd.factorize(frame["team_id"])[0], "team"
    labels = frame["leader_id"].astype(object).where(frame["leader_id"].notna(),
                                                     "team " + frame["team_id"].astype(str))
    return pd.factorize(labels)[0], "leader"


def attrition_hazards(reps_last_month: pd.DataFrame, data_start: pd.Timestamp,
                      data_end: pd.Timestamp) -> pd.DataFrame:
    """Cox model of rep exits by the style of each rep's last month (hazard ratios).

    Superseded by :func:`rep_attrition`: giving each rep the style of their last month for
    all their time at risk biases the hazard ratios when leaders change style.

    Parameters
    ----------
    reps_last_month : DataFrame
        One row per rep with ``hire_date``, ``exit_date`` and the leader's style in the
        rep's last month (:func:`salesnb.metrics.people.rep_last_months`).
    data_start, data_end : Timestamp
        The first day of the data and the day after its last month.

    Returns
    -------
    DataFrame
        Tidy hazard ratios (term, estimate, ci_low, ci_high, p, model, n). Time is days
        since hire; reps hired before the data start enter the risk set at the data start
        (left truncation). :func:`salesnb.report.words.with_findings` (with
        :data:`ATTRITION_REFERENCES`) puts each hazard ratio in words.
    """
    import statsmodels.formula.api as smf

    if "hire_date" not in reps_last_month or reps_last_month["hire_date"].isna().all():
        raise SalesnbError(NO_HIRE_DATES)
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
        raise SalesnbError(NO_TERMS)
    frame = frame.dropna(subset=list(levels))
    try:
        result = smf.phreg("days ~ " + " + ".join(terms), frame, status=frame["left"],
                           entry=frame["entry"]).fit()
    except np.linalg.LinAlgError:
        raise SalesnbError(SINGULAR) from None
    ci = np.asarray(result.conf_int())
    names = result.model.exog_names
    out = pd.DataFrame({"term": [plain_term(n) for n in names],
                        "estimate": np.exp(result.params), "ci_low": np.exp(ci[:, 0]),
                        "ci_high": np.exp(ci[:, 1]), "p": result.pvalues})
    out["model"], out["n"] = "cox (hazard ratio)", len(frame)
    return out[TIDY_COLUMNS].reset_index(drop=True)
