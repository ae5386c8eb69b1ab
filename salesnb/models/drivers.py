"""Statistics: what tactics and leadership style do to cost per customer, with intervals.

The drivers model is a count model on the team x tactic x month panel::

    new_customers ~ tactic * decision_style + involvement + industry_years
                    + admin_share + region [+ month],  offset log(spend)

negative binomial (NB2, dispersion estimated) with errors clustered at the level the
treatment varies: by leader when leaders run several teams (see :mod:`.clusters`).
With log(spend) as offset, exp(-coefficient) is a **CAC multiplier**: x0.85
means 15% cheaper per customer than the reference level, other things equal.
``elasticity=True`` estimates the spend exponent instead of fixing it at 1
(diminishing returns), which keeps the multipliers unbiased when the next
dollar buys less than the average one.

Every result is a tidy DataFrame (term, estimate, ci_low, ci_high, p, model, n). The
other models (grid, cross-checks, diagnostics, style changes, attrition) live beside this
module; :mod:`salesnb.models.suite` runs them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.clusters import Clusters, inference_clusters

REFERENCE = {"decision_style": "consultative", "involvement": "hybrid"}
"""Preferred reference levels; a level the data lacks falls back to its most common one."""
STYLE_TERMS = ("decision_style", "involvement")
LEADER_VARIABLES = (*STYLE_TERMS, "years10", "admin10", "training10", "recognition")
"""Model-frame variables that belong to the leader: permuted together in the null check."""
YEARS_UNIT, ADMIN_UNIT, TRAINING_UNIT = 10.0, 0.1, 10.0
CLAIM_LEVEL = 0.05
"""A leadership finding is stated only when its permutation p-value is below this."""


def leadership_term(term: str) -> bool:
    """True for a term (plain name, e.g. ``tactic=events:decision_style=autocratic``) that
    involves a leader variable: the terms checked against permuted labels.
    """
    return any(part.partition("=")[0] in LEADER_VARIABLES for part in term.split(":"))
TIDY_COLUMNS = ["term", "estimate", "ci_low", "ci_high", "p", "model", "n"]


@dataclass
class DriversFit:
    """A fitted drivers model: the statsmodels result plus what is needed to predict."""

    result: Any  # a statsmodels results object (NegativeBinomial, Poisson, OLS, MixedLM)
    data: pd.DataFrame
    formula: str
    model: str
    reference_tactic: str
    elasticity: bool
    notes: list[str] = field(default_factory=list)
    levels: dict[str, str] = field(default_factory=dict)
    """The reference level of each style term in the model (see :func:`reference_levels`)."""
    cluster: Clusters | None = None
    """The clusters of the errors (default: :func:`.clusters.inference_clusters` of data)."""

    def __post_init__(self):
        if self.cluster is None:
            self.cluster = inference_clusters(self.data)

    @property
    def n(self) -> int:
        """Number of cells the model used."""
        return int(self.result.nobs)

    @property
    def references(self) -> dict[str, str]:
        """The reference level of each categorical term (tactic, styles, region)."""
        region = sorted(self.data["region"].unique())[0] if "region" in self.data else ""
        return {"tactic": self.reference_tactic, **REFERENCE, **self.levels, "region": region}

    @property
    def styles(self) -> list[str]:
        """The style terms in the model (decision style, involvement: those the data has)."""
        return [c for c in STYLE_TERMS if c in self.levels]

    @property
    def clusters(self) -> int:
        """Number of clusters of the standard errors (leaders, or teams; see ``cluster``)."""
        assert self.cluster is not None
        return self.cluster.count

    def critical(self, level: float = 0.95) -> float:
        """Critical value from t with (clusters - 1) degrees of freedom.

        Cluster-robust standard errors are too small with few clusters; t(G-1)
        instead of the normal is the usual first correction (the 50-seed coverage
        study in benchmarks/README.md shows why).
        """
        from scipy import stats

        return float(stats.t.ppf(0.5 + level / 2, self.clusters - 1))

    def p_values(self, estimates, standard_errors) -> np.ndarray:
        """Two-sided p-values on t with (clusters - 1) degrees of freedom."""
        from scipy import stats

        t = np.asarray(estimates, dtype=float) / np.asarray(standard_errors, dtype=float)
        return 2 * stats.t.sf(np.abs(t), self.clusters - 1)

    def guarded_terms(self) -> list[str]:
        """Terms whose clustered interval cannot be trusted (see :mod:`.wild_bootstrap`):
        every term when clusters are few or very unequal, else terms that few clusters carry.
        """
        from salesnb.models import wild_bootstrap

        if wild_bootstrap.needs_guard(self):
            return [t for t in self.coefficients().index if t != "Intercept"]
        return wild_bootstrap.thinly_supported_terms(self)

    def coefficients(self) -> pd.Series:
        """The model coefficients (log scale), without the dispersion parameter."""
        return self.result.params.drop("alpha", errors="ignore")

    def effects(self, level: float = 0.95, wild: Sequence[str] | bool = ()) -> pd.DataFrame:
        """Each term as a CAC multiplier with its interval (tidy).

        ``wild`` lists terms (model names, see :meth:`guarded_terms`) whose interval and
        p-value come from the few-cluster guard instead (``True``: all): the wider of the
        restricted wild cluster bootstrap and the cluster jackknife (CV3) t(G - 1) interval,
        and the larger p-value (:data:`~salesnb.models.wild_bootstrap.ENVELOPE`); their
        ``model`` column says so.
        """
        params = self.coefficients()
        se = self.result.bse.loc[params.index]
        crit = self.critical(level)
        frame = pd.DataFrame({"coef": params, "low": params - crit * se,
                              "high": params + crit * se, "p": self.p_values(params, se),
                              "model": self.model})
        frame = self._with_wild_intervals(frame, wild, level)
        is_spend = frame.index == "log_spend"  # the spend exponent is reported as itself
        tidy = pd.DataFrame({
            "term": [plain_term(t) for t in frame.index],
            "estimate": np.where(is_spend, frame["coef"], np.exp(-frame["coef"])),
            "ci_low": np.where(is_spend, frame["low"], np.exp(-frame["high"])),
            "ci_high": np.where(is_spend, frame["high"], np.exp(-frame["low"])),
            "p": frame["p"].to_numpy(), "model": frame["model"].to_numpy(), "n": self.n})
        return tidy[tidy["term"] != "Intercept"][TIDY_COLUMNS].reset_index(drop=True)

    def _with_wild_intervals(self, frame: pd.DataFrame, wild, level: float) -> pd.DataFrame:
        from salesnb.models import wild_bootstrap

        terms = [t for t in frame.index if t != "Intercept"] if wild is True else list(wild)
        if not terms:
            return frame
        boot = wild_bootstrap.bootstrap_intervals(self, terms, level).set_index("term")
        jack = wild_bootstrap.jackknife_intervals(self, terms, level).set_index("term")
        frame = frame.copy()
        frame.loc[terms, "low"] = np.fmin(boot["ci_low"], jack["ci_low"]).to_numpy()
        frame.loc[terms, "high"] = np.fmax(boot["ci_high"], jack["ci_high"]).to_numpy()
        frame.loc[terms, "p"] = np.fmax(boot["p"], jack["p"]).to_numpy()
        frame.loc[terms, "model"] = f"{self.model}, {wild_bootstrap.ENVELOPE}"
        return frame


def model_frame(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel rows a model can use (spend > 0, complete traits), with scaled traits.

    Rows with missing values are dropped *before* fitting, so cluster ids stay
    aligned with the rows statsmodels keeps.
    """
    styles = [c for c in STYLE_TERMS if c in panel and panel[c].notna().any()]
    needed = ["new_customers", "spend", "tactic", "team_id", *styles]
    frame = panel[panel["spend"] > 0].dropna(subset=needed).copy()
    frame["log_spend"] = np.log(frame["spend"])
    for column, centre, unit, name in (("industry_years", 10.0, YEARS_UNIT, "years10"),
                                       ("admin_share", 0.3, ADMIN_UNIT, "admin10"),
                                       ("training_hours", 40.0, TRAINING_UNIT, "training10")):
        if column in frame and frame[column].notna().all():
            frame[name] = (frame[column].astype(float) - centre) / unit
    if "recognition" in frame and frame["recognition"].notna().all():
        frame["recognition"] = frame["recognition"].astype(bool).astype(int)
    if "region" in frame:
        frame["region"] = frame["region"].fillna("unknown")
    frame["month"] = frame["period"].dt.strftime("%Y-%m")
    return frame.reset_index(drop=True)


def fit_drivers(panel: pd.DataFrame, model: str = "negbin", elasticity: bool = False,
                month_effects: bool = False, reference_tactic: str | None = None,
                formula: str | None = None, terms: Sequence[str] = ()) -> DriversFit:
    """Fit the drivers model on the analysis panel (see :func:`salesnb.metrics.panel`).

    Parameters
    ----------
    panel : the team x tactic x month panel.
    model : ``"negbin"`` (default; overdispersed counts) or ``"poisson"`` (robust errors).
    elasticity : estimate the spend exponent instead of fixing it at 1.
    month_effects : add one effect per month (seasonality, shocks).
    reference_tactic : the tactic others are compared with (default: the cheapest).
    formula : a patsy formula replacing the default right-hand side, e.g.
        ``"C(tactic) * C(decision_style) + training10 + recognition"`` (with or without
        ``new_customers ~``); log spend stays the offset unless ``elasticity``.
    terms : extra terms added to the default formula, e.g. ``["training10",
        "recognition", "C(segment):C(decision_style)"]``.

    Model-frame variables: ``tactic``, ``decision_style``, ``involvement``, ``years10``
    (industry years, per 10 from 10), ``admin10`` (admin share, per 0.1 from 0.3),
    ``training10`` (training hours, per 10 from 40), ``recognition`` (0/1), ``region``,
    ``segment``, ``industry``, ``month``, ``log_spend``: those the data has.
    """
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    if frame["team_id"].nunique() < 2:
        raise SalesnbError("the drivers model needs at least two teams with spend")
    reference_tactic = reference_tactic or cheapest_tactic(frame)
    levels = reference_levels(frame)
    if formula is None:
        formula = drivers_formula(frame, reference_tactic, elasticity, month_effects, levels)
    elif "~" not in formula:
        formula = "new_customers ~ " + formula
    if terms:
        formula += " + " + " + ".join(terms)
    _check_variables(formula, frame)
    cluster = inference_clusters(frame)
    offset = None if elasticity else frame["log_spend"]
    fitter = {"negbin": smf.negativebinomial, "poisson": smf.poisson}.get(model)
    if fitter is None:
        raise SalesnbError(f"model must be 'negbin' or 'poisson', not {model!r}")
    notes: list[str] = []
    with captured_warnings(notes):
        try:
            specified = fitter(formula, frame, offset=offset)
            _refuse_collinear(specified.exog)
            result = specified.fit(
                cov_type="cluster", cov_kwds={"groups": cluster.ids}, disp=0, maxiter=300)
        except np.linalg.LinAlgError:
            raise SalesnbError(
                f"the model {formula!r} cannot be estimated on this data: some terms are "
                "collinear or have no data (e.g. a situation x style combination no leader "
                "has); drop or merge them") from None
    if not result.mle_retvals.get("converged", True):
        notes.append("the optimiser did not converge: treat the estimates with caution")
    return DriversFit(result, frame, formula, model, reference_tactic, elasticity, notes,
                      levels, cluster)


def _refuse_collinear(exog: np.ndarray) -> None:
    """Raise LinAlgError when the design's columns are linearly dependent.

    LAPACK raises on an exactly singular matrix only when rounding leaves a zero pivot, which
    depends on the CPU: on some, a design with more leader terms than leaders "fits" and gives
    estimates of 1e30. The rank, from the singular values, decides the same everywhere.
    """
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise np.linalg.LinAlgError("the design matrix is rank deficient")


def factor_words(factor: str) -> set[str]:
    """The names in a patsy factor, string literals left out: ``C(tactic,
    Treatment('email'))`` -> ``{"C", "tactic", "Treatment"}``.
    """
    import re

    return set(re.findall(r"[A-Za-z_]\w*", re.sub(r"'[^']*'|\"[^\"]*\"", "", factor)))


def _check_variables(formula: str, frame: pd.DataFrame) -> None:
    """A formula naming a variable the model frame lacks fails here, in words."""
    from patsy import ModelDesc

    try:
        description = ModelDesc.from_formula(formula)
    except Exception as exc:  # patsy raises PatsyError with a caret diagram
        raise SalesnbError(f"the model formula {formula!r} cannot be read: "
                           f"{str(exc).splitlines()[0]}") from None
    names = [factor.name() for side in (description.lhs_termlist, description.rhs_termlist)
             for term in side for factor in term.factors]
    known = set(frame.columns)
    missing = sorted(set().union(*map(factor_words, names)) - known - _FORMULA_WORDS)
    if missing:
        raise SalesnbError(
            f"the model formula names {', '.join(missing)}, which this data does not have; "
            f"variables available: {', '.join(sorted(c for c in known if not c.endswith('_id')))}"
            " (map the leader or team column first, e.g. leaders.training_hours)")


_FORMULA_WORDS = {"C", "Treatment", "Sum", "np", "log", "exp", "I", "center", "standardize",
                  "bs", "cr", "Q"}


def reference_levels(frame: pd.DataFrame) -> dict[str, str]:
    """The reference level of each style term the data can estimate (two or more levels):
    :data:`REFERENCE` where the data has it, else the most common level.
    """
    levels = {}
    for column in STYLE_TERMS:
        if column not in frame:
            continue
        counts = frame[column].dropna().value_counts()
        if len(counts) < 2:
            continue
        levels[column] = REFERENCE[column] if REFERENCE[column] in counts.index else \
            str(counts.idxmax())
    return levels


def cheapest_tactic(frame: pd.DataFrame) -> str:
    """The tactic with the lowest spend per new customer (the default reference)."""
    sums = frame.groupby("tactic")[["spend", "new_customers"]].sum()
    return (sums["spend"] / sums["new_customers"].replace(0, np.nan)).idxmin()


def drivers_formula(frame: pd.DataFrame, reference_tactic: str, elasticity: bool,
                    month_effects: bool, levels: dict[str, str] | None = None) -> str:
    """The drivers model's patsy formula for the columns ``frame`` has: tactic x decision
    style and involvement where the data has them (``levels``: their references, default
    :func:`reference_levels`), leader traits, region, month, spend.
    """
    levels = reference_levels(frame) if levels is None else levels
    tactic = f"C(tactic, Treatment({reference_tactic!r}))" if frame["tactic"].nunique() > 1 \
        else ""
    terms = []
    if "decision_style" in levels:
        style = f"C(decision_style, Treatment({levels['decision_style']!r}))"
        terms.append(f"{tactic} * {style}" if tactic else style)
    elif tactic:
        terms.append(tactic)
    if "involvement" in levels:
        terms.append(f"C(involvement, Treatment({levels['involvement']!r}))")
    terms += [name for name in ("years10", "admin10") if name in frame]
    if "region" in frame and frame["region"].nunique() > 1:
        terms.append("C(region)")
    if month_effects:
        terms.append("C(month)")
    if elasticity:
        terms.append("log_spend")
    return "new_customers ~ " + (" + ".join(terms) or "1")


def formula_without_leadership(panel: pd.DataFrame, month_effects: bool = False) -> str:
    """The drivers formula with no leader variable (tactics, region, month): the fallback
    when leaders are too few to tell style, involvement and traits apart.
    """
    frame = model_frame(panel)
    lean = frame.drop(columns=[c for c in LEADER_VARIABLES if c in frame])
    return drivers_formula(lean, cheapest_tactic(frame), False, month_effects, levels={})


class captured_warnings:
    """Collect statsmodels warnings (convergence, boundary) as notes instead of losing them."""

    def __init__(self, notes: list[str]):
        self.notes = notes

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings(record=True)
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        for warning in self._caught:
            text = str(warning.message).splitlines()[0]
            if text not in self.notes:
                self.notes.append(text)
        return False


def plain_term(term: str) -> str:
    """``C(tactic, Treatment('referrals'))[T.events]`` -> ``tactic=events``."""
    import re

    parts = []
    for piece in term.split(":"):
        match = re.match(r"C\((\w+)(?:,[^)]*\))?\)\[T\.(.+)\]", piece)
        parts.append(f"{match.group(1)}={match.group(2)}" if match else piece)
    return ":".join(parts)
