"""Statistics: what tactics and leadership style do to cost per customer, with intervals.

The drivers model is a count model on the team x tactic x month panel::

    new_customers ~ tactic * decision_style + involvement + industry_years
                    + admin_share + region [+ month],  offset log(spend)

negative binomial (NB2, dispersion estimated) with errors clustered by team.
With log(spend) as offset, exp(-coefficient) is a **CAC multiplier**: x0.85
means 15% cheaper per customer than the reference level, other things equal.
``elasticity=True`` estimates the spend exponent instead of fixing it at 1
(diminishing returns), which keeps the multipliers unbiased when the next
dollar buys less than the average one.

Every result is a tidy DataFrame (term, estimate, ci_low, ci_high, p, model, n).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError

REFERENCE = {"decision_style": "consultative", "involvement": "hybrid"}
YEARS_UNIT, ADMIN_UNIT = 10.0, 0.1
TIDY_COLUMNS = ["term", "estimate", "ci_low", "ci_high", "p", "model", "n"]


@dataclass
class DriversFit:
    """A fitted drivers model: the statsmodels result plus what is needed to predict."""

    result: object
    data: pd.DataFrame
    formula: str
    model: str
    reference_tactic: str
    elasticity: bool
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.result.nobs)

    @property
    def clusters(self) -> int:
        return int(self.data["team_id"].nunique())

    def critical(self, level: float = 0.95) -> float:
        """Critical value from t with (teams - 1) degrees of freedom.

        Cluster-robust standard errors are too small with few clusters; t(G-1)
        instead of the normal is the usual first correction (the 50-seed coverage
        study in benchmarks/README.md shows why).
        """
        from scipy import stats

        return float(stats.t.ppf(0.5 + level / 2, self.clusters - 1))

    def p_values(self, estimates, standard_errors) -> np.ndarray:
        """Two-sided p-values on t with (teams - 1) degrees of freedom."""
        from scipy import stats

        t = np.asarray(estimates, dtype=float) / np.asarray(standard_errors, dtype=float)
        return 2 * stats.t.sf(np.abs(t), self.clusters - 1)

    def guarded_terms(self) -> list[str]:
        """Terms whose clustered interval cannot be trusted (see :mod:`salesnb.wild_bootstrap`):
        every term when teams are few or very unequal, else terms that few teams carry."""
        from salesnb import wild_bootstrap

        if wild_bootstrap.needs_guard(self):
            return [t for t in self.coefficients().index if t != "Intercept"]
        return wild_bootstrap.thinly_supported_terms(self)

    def coefficients(self) -> pd.Series:
        """The model coefficients (log scale), without the dispersion parameter."""
        return self.result.params.drop("alpha", errors="ignore")

    def effects(self, level: float = 0.95, wild: Sequence[str] | bool = ()) -> pd.DataFrame:
        """Each term as a CAC multiplier with its interval (tidy).

        ``wild`` lists terms (model names, see :meth:`guarded_terms`) whose interval and
        p-value come from the restricted wild cluster bootstrap instead (``True``: all);
        their ``model`` column says so.
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
            "term": [_plain_term(t) for t in frame.index],
            "estimate": np.where(is_spend, frame["coef"], np.exp(-frame["coef"])),
            "ci_low": np.where(is_spend, frame["low"], np.exp(-frame["high"])),
            "ci_high": np.where(is_spend, frame["high"], np.exp(-frame["low"])),
            "p": frame["p"].to_numpy(), "model": frame["model"].to_numpy(), "n": self.n})
        return tidy[tidy["term"] != "Intercept"][TIDY_COLUMNS].reset_index(drop=True)

    def _with_wild_intervals(self, frame: pd.DataFrame, wild, level: float) -> pd.DataFrame:
        from salesnb import wild_bootstrap

        terms = [t for t in frame.index if t != "Intercept"] if wild is True else list(wild)
        if not terms:
            return frame
        boot = wild_bootstrap.bootstrap_intervals(self, terms, level).set_index("term")
        frame = frame.copy()
        frame.loc[terms, ["low", "high", "p"]] = boot[["ci_low", "ci_high", "p"]].to_numpy()
        frame.loc[terms, "model"] = f"{self.model}, {wild_bootstrap.METHOD}"
        return frame


def model_frame(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel rows a model can use (spend > 0, complete traits), with scaled traits.

    Rows with missing values are dropped *before* fitting, so cluster ids stay
    aligned with the rows statsmodels keeps.
    """
    needed = ["new_customers", "spend", "tactic", "decision_style", "involvement", "team_id"]
    frame = panel[panel["spend"] > 0].dropna(subset=needed).copy()
    frame["log_spend"] = np.log(frame["spend"])
    for column, centre, unit, name in (("industry_years", 10.0, YEARS_UNIT, "years10"),
                                       ("admin_share", 0.3, ADMIN_UNIT, "admin10")):
        if column in frame and frame[column].notna().all():
            frame[name] = (frame[column].astype(float) - centre) / unit
    if "region" in frame:
        frame["region"] = frame["region"].fillna("unknown")
    frame["month"] = frame["period"].dt.strftime("%Y-%m")
    return frame.reset_index(drop=True)


def fit_drivers(panel: pd.DataFrame, model: str = "negbin", elasticity: bool = False,
                month_effects: bool = False, reference_tactic: str | None = None) -> DriversFit:
    """Fit the drivers model on the analysis panel (see :func:`salesnb.metrics.panel`).

    Parameters
    ----------
    model : ``"negbin"`` (default; overdispersed counts) or ``"poisson"`` (robust errors).
    elasticity : estimate the spend exponent instead of fixing it at 1.
    month_effects : add one effect per month (seasonality, shocks).
    reference_tactic : the tactic others are compared with (default: the cheapest).
    """
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    if frame["team_id"].nunique() < 2:
        raise SalesnbError("the drivers model needs at least two teams with spend")
    reference_tactic = reference_tactic or _cheapest_tactic(frame)
    formula = _formula(frame, reference_tactic, elasticity, month_effects)
    groups = pd.factorize(frame["team_id"])[0]
    offset = None if elasticity else frame["log_spend"]
    fitter = {"negbin": smf.negativebinomial, "poisson": smf.poisson}.get(model)
    if fitter is None:
        raise SalesnbError(f"model must be 'negbin' or 'poisson', not {model!r}")
    notes = []
    with _captured_warnings(notes):
        result = fitter(formula, frame, offset=offset).fit(
            cov_type="cluster", cov_kwds={"groups": groups}, disp=0, maxiter=300)
    if not result.mle_retvals.get("converged", True):
        notes.append("the optimiser did not converge: treat the estimates with caution")
    return DriversFit(result, frame, formula, model, reference_tactic, elasticity, notes)


def _cheapest_tactic(frame: pd.DataFrame) -> str:
    sums = frame.groupby("tactic")[["spend", "new_customers"]].sum()
    return (sums["spend"] / sums["new_customers"].replace(0, np.nan)).idxmin()


def _formula(frame: pd.DataFrame, reference_tactic: str, elasticity: bool,
             month_effects: bool) -> str:
    terms = [f"C(tactic, Treatment({reference_tactic!r}))"
             f" * C(decision_style, Treatment({REFERENCE['decision_style']!r}))",
             f"C(involvement, Treatment({REFERENCE['involvement']!r}))"]
    terms += [name for name in ("years10", "admin10") if name in frame]
    if "region" in frame and frame["region"].nunique() > 1:
        terms.append("C(region)")
    if month_effects:
        terms.append("C(month)")
    if elasticity:
        terms.append("log_spend")
    return "new_customers ~ " + " + ".join(terms)


class _captured_warnings:
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


def _plain_term(term: str) -> str:
    """``C(tactic, Treatment('referrals'))[T.events]`` -> ``tactic=events``."""
    import re

    parts = []
    for piece in term.split(":"):
        match = re.match(r"C\((\w+)(?:,[^)]*\))?\)\[T\.(.+)\]", piece)
        parts.append(f"{match.group(1)}={match.group(2)}" if match else piece)
    return ":".join(parts)


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


def cac_grid(fit: DriversFit, level: float = 0.95, spend: float | None = None) -> pd.DataFrame:
    """Predicted CAC for every tactic under every decision style and involvement, with intervals.

    Other variables are held at typical values (traits at their mean, region at
    the reference). With the offset model CAC does not depend on the spend level;
    with ``elasticity`` it is evaluated at ``spend`` (default: median cell spend).
    """

    frame = fit.data
    spend = float(spend or frame["spend"].median())
    rows = pd.MultiIndex.from_product(
        [sorted(frame["tactic"].unique()), sorted(frame["decision_style"].unique()),
         sorted(frame["involvement"].unique())],
        names=["tactic", "decision_style", "involvement"]).to_frame(index=False)
    typical = _typical_values(frame, rows, spend)
    design = _design(fit, typical)
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
    cells = frame.groupby(["tactic", "decision_style", "involvement"]).size()
    rows["cells"] = [int(cells.get(tuple(r), 0)) for r in rows[["tactic", "decision_style",
                                                                 "involvement"]].to_numpy()]
    rows["model"], rows["n"] = fit.model, fit.n
    return rows


def _typical_values(frame: pd.DataFrame, rows: pd.DataFrame, spend: float) -> pd.DataFrame:
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


def _design(fit: DriversFit, rows: pd.DataFrame) -> np.ndarray:
    from patsy import build_design_matrices

    design_info = fit.result.model.data.model_spec  # a patsy DesignInfo
    return np.asarray(build_design_matrices([design_info], rows)[0])


def style_contrasts(grid: pd.DataFrame, fit: DriversFit, method: str = "holm",
                    involvement: str = REFERENCE["involvement"]) -> pd.DataFrame:
    """Pairwise CAC ratios between decision styles within each tactic, multiplicity-adjusted."""

    params = fit.result.params.drop("alpha", errors="ignore")
    cov = fit.result.cov_params().loc[params.index, params.index].to_numpy()
    sub = grid[grid["involvement"] == involvement].reset_index(drop=True)
    design = _design(fit, _typical_values(fit.data, sub[["tactic", "decision_style",
                                                           "involvement"]],
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


def attrition_hazards(reps_last_month: pd.DataFrame, data_start: pd.Timestamp,
                      data_end: pd.Timestamp) -> pd.DataFrame:
    """Cox model of rep exits by decision style, involvement and recognition (hazard ratios).

    ``reps_last_month``: one row per rep with ``hire_date``, ``exit_date`` and the
    leader's style in the rep's last month (:func:`salesnb.people.rep_last_months`).
    Time is days since hire; reps hired before the data start enter the risk set
    at the data start (left truncation), so long-serving survivors do not dilute
    the hazard. Each hazard ratio comes with a plain sentence (``finding``).
    """
    import statsmodels.formula.api as smf

    frame = reps_last_month.copy()
    frame["days"] = (frame["exit_date"].fillna(data_end) - frame["hire_date"]).dt.days.clip(
        lower=1)
    entry = (frame["hire_date"].clip(lower=data_start) - frame["hire_date"]).dt.days
    frame["entry"] = entry.clip(upper=frame["days"] - 1).clip(lower=0)
    frame["left"] = frame["exit_date"].notna().astype(int)
    terms = [f"C(decision_style, Treatment({REFERENCE['decision_style']!r}))",
             f"C(involvement, Treatment({REFERENCE['involvement']!r}))"]
    if "recognition" in frame and frame["recognition"].notna().all():
        frame["recognition"] = frame["recognition"].astype(int)
        terms.append("recognition")
    result = smf.phreg("days ~ " + " + ".join(terms), frame, status=frame["left"],
                       entry=frame["entry"]).fit()
    ci = np.asarray(result.conf_int())
    names = result.model.exog_names
    out = pd.DataFrame({"term": [_plain_term(n) for n in names],
                        "estimate": np.exp(result.params), "ci_low": np.exp(ci[:, 0]),
                        "ci_high": np.exp(ci[:, 1]), "p": result.pvalues})
    out["model"], out["n"] = "cox (hazard ratio)", len(frame)
    references = {**REFERENCE, "recognition": "no recognition"}
    out["finding"] = [describe_effect(r.term, r.estimate, r.ci_low, r.ci_high, references,
                                      subject="rep attrition") for r in out.itertuples()]
    return out[[*TIDY_COLUMNS, "finding"]].reset_index(drop=True)


def describe_effect(term: str, estimate: float, ci_low: float, ci_high: float,
                    references: dict[str, str] | None = None,
                    subject: str = "cost per customer") -> str:
    """One plain-English sentence about a CAC multiplier, never overstating.

    An interval that includes 1 is reported as "no clear difference" with its range; an
    unbounded one (the wild bootstrap with very few teams) as "the data cannot pin this down".
    """
    label = _label(term, references or {})
    if not (np.isfinite(ci_high) and ci_low > 0):
        return (f"{label}: the data cannot pin this down (the 95% interval is unbounded: "
                "too few teams).")
    if ci_low <= 1 <= ci_high:
        return (f"{label}: no clear difference in {subject} (95% CI from "
                f"{_change(ci_low)} to {_change(ci_high)}).")
    direction = "lower" if estimate < 1 else "higher"
    size = abs(1 - estimate) * 100
    bounds = sorted(abs(1 - b) * 100 for b in (ci_low, ci_high))
    return (f"{label}: {size:.0f}% {direction} {subject} "
            f"(95% CI {bounds[0]:.0f}-{bounds[1]:.0f}%).")


def findings(fit: DriversFit, level: float = 0.95,
             wild: Sequence[str] | bool = ()) -> pd.DataFrame:
    """The effects table with one plain sentence per effect (column ``finding``);
    ``wild`` as in :meth:`DriversFit.effects`."""
    effects = fit.effects(level, wild=wild)
    references = {"tactic": fit.reference_tactic, **REFERENCE,
                  "region": sorted(fit.data["region"].unique())[0] if "region" in fit.data
                  else ""}
    effects = effects[effects["term"] != "log_spend"].copy()
    effects["finding"] = [describe_effect(r.term, r.estimate, r.ci_low, r.ci_high, references)
                          for r in effects.itertuples()]
    return effects


def _change(multiplier: float) -> str:
    pct = (multiplier - 1) * 100
    return f"{abs(pct):.0f}% {'lower' if pct < 0 else 'higher'}"


def _label(term: str, references: dict[str, str]) -> str:
    def words(text: str) -> str:
        return text.replace("_", " ")

    parts = dict(part.partition("=")[::2] for part in term.split(":"))
    if len(parts) == 2 and {"tactic", "decision_style"} <= set(parts):
        return (f"{words(parts['tactic']).capitalize()} under {words(parts['decision_style'])} "
                "leaders, beyond the tactic and style effects")
    name, value = next(iter(parts.items()))
    if name == "tactic":
        return f"{words(value).capitalize()} vs {words(references.get('tactic', 'reference'))}"
    if name in ("decision_style", "involvement"):
        return (f"Teams under {words(value)} leaders (vs "
                f"{words(references.get(name, 'reference'))})")
    if name == "region":
        return f"Region {value} (vs {references.get('region', 'reference')})"
    if name == "recognition":
        return "Teams whose leader recognises reps (vs not)"
    if name == "years10":
        return "Each 10 more years of leader industry experience"
    if name == "admin10":
        return "Each 10 more points of leader time on admin"
    return term


def fit_log_cac(panel: pd.DataFrame, mixed: bool = False) -> DriversFit:
    """Alternative: OLS of log CAC per cell (team-clustered), or MixedLM with team intercepts.

    Only cells with at least one new customer have a CAC, so this drops the
    zero-customer cells the count model keeps: it leans towards cheaper cells
    when customers are few. Use it as a cross-check, not as the main model.
    """
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    frame = frame[frame["new_customers"] > 0].reset_index(drop=True)
    frame["log_cac"] = np.log(frame["spend"] / frame["new_customers"])
    reference_tactic = _cheapest_tactic(frame)
    formula = _formula(frame, reference_tactic, elasticity=False, month_effects=False).replace(
        "new_customers ~", "log_cac ~")
    notes = [f"{(panel['spend'] > 0).sum() - len(frame)} cells without a new customer left out"]
    with _captured_warnings(notes):
        if mixed:
            result = smf.mixedlm(formula, frame, groups=frame["team_id"]).fit(reml=True)
        else:
            groups = pd.factorize(frame["team_id"])[0]
            result = smf.ols(formula, frame).fit(cov_type="cluster", cov_kwds={"groups": groups})
    model = "mixedlm (team intercepts)" if mixed else "ols log-CAC"
    return _LogCacFit(result, frame, formula, model, reference_tactic, False, notes)


class _LogCacFit(DriversFit):
    """log-CAC models: the coefficient *is* log of the multiplier (no sign flip)."""

    def effects(self, level: float = 0.95, wild: Sequence[str] | bool = ()) -> pd.DataFrame:
        if wild:
            raise SalesnbError("the wild cluster bootstrap is implemented for the count "
                               "model (fit_drivers) only")
        names = [n for n in self.result.params.index if n != "Group Var"]
        params, se = self.result.params.loc[names], self.result.bse.loc[names]
        crit = self.critical(level)
        frame = pd.DataFrame({"term": [_plain_term(t) for t in names],
                              "estimate": np.exp(params.to_numpy()),
                              "ci_low": np.exp((params - crit * se).to_numpy()),
                              "ci_high": np.exp((params + crit * se).to_numpy()),
                              "p": self.p_values(params, se)})
        frame["model"], frame["n"] = self.model, self.n
        return frame[frame["term"] != "Intercept"][TIDY_COLUMNS].reset_index(drop=True)


def overdispersion_test(panel: pd.DataFrame) -> dict[str, float]:
    """Cameron-Trivedi test of Poisson equidispersion (alpha > 0 means negative binomial).

    Regresses ((y - mu)^2 - y) / mu on mu without intercept, mu from a Poisson fit.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    formula = _formula(frame, _cheapest_tactic(frame), False, False)
    mu = smf.poisson(formula, frame, offset=frame["log_spend"]).fit(disp=0).predict(
        offset=frame["log_spend"])
    y = frame["new_customers"]
    aux = sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()
    return {"alpha": float(aux.params.iloc[0]), "t": float(aux.tvalues.iloc[0]),
            "p": float(aux.pvalues.iloc[0]) / 2 if aux.params.iloc[0] > 0 else 1.0}


def minimum_detectable_effect(fit: DriversFit, power: float = 0.8,
                              level: float = 0.95) -> pd.DataFrame:
    """Per term, the smallest CAC change the data at hand would detect with ``power``.

    MDE = exp((t_(1-a/2) + t_power) x standard error), t with (teams - 1) degrees of
    freedom, as a percentage change.
    """
    from scipy import stats

    se = fit.result.bse.drop(["alpha", "Intercept", "Group Var"], errors="ignore")
    multiplier = np.exp((fit.critical(level) + stats.t.ppf(power, fit.clusters - 1)) * se)
    return pd.DataFrame({"term": [_plain_term(t) for t in se.index],
                         "mde_percent": (multiplier.to_numpy() - 1) * 100,
                         "power": power, "model": fit.model})


def influential_teams(fit: DriversFit, top: int = 5) -> pd.DataFrame:
    """Teams whose removal would move an effect most (one-step cluster DFBETA).

    For each team, dropping it shifts the coefficients by about -H^-1 S_g (its
    summed score through the inverse Hessian), with no refitting. The shift is
    reported in standard errors of the estimate without that team; above 1 the
    team alone can change a conclusion.
    """
    values = fit.result.params.to_numpy()
    scores = fit.result.model.score_obs(values)
    inverse = np.linalg.inv(-fit.result.model.hessian(values))
    teams = fit.data["team_id"].to_numpy()
    shifts = pd.DataFrame(scores, index=teams).groupby(level=0).sum() @ inverse
    shifts.columns = fit.result.params.index
    shifts = shifts.drop(columns=["alpha", "Intercept"], errors="ignore")
    # scale by the standard error *without* the team (a team inflates its own), else the
    # ratio could never exceed 1
    without = np.sqrt(((shifts ** 2).sum() - shifts ** 2).clip(lower=1e-300))
    in_se = shifts.abs() / without
    worst = in_se.idxmax(axis=1)
    table = pd.DataFrame({"team_id": in_se.index, "largest_shift_se": in_se.max(axis=1),
                          "term": [_plain_term(t) for t in worst]})
    return table.sort_values("largest_shift_se", ascending=False).head(top).reset_index(
        drop=True)


def residual_checks(fit: DriversFit) -> pd.DataFrame:
    """Pearson residuals overall and by tactic and style: dispersion near 1, means near 0."""
    result = fit.result
    mu = result.predict(offset=None if fit.elasticity else fit.data["log_spend"])
    y = fit.data["new_customers"]
    alpha = float(result.params.get("alpha", 0.0))
    pearson = (y - mu) / np.sqrt(mu + alpha * mu ** 2)
    frame = fit.data.assign(pearson=pearson)
    rows = [{"group": "all", "mean": pearson.mean(), "dispersion": (pearson ** 2).mean(),
             "n": len(frame)}]
    for column in ("tactic", "decision_style"):
        for value, part in frame.groupby(column)["pearson"]:
            rows.append({"group": f"{column}={value}", "mean": part.mean(),
                         "dispersion": (part ** 2).mean(), "n": len(part)})
    return pd.DataFrame(rows)


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
    changed = frame.groupby("team_id")["decision_style"].nunique() > 1
    if not changed.any():
        raise SalesnbError("no team's leader changed decision style: nothing to compare")
    groups = pd.factorize(frame["team_id"])[0]
    base = ("new_customers ~ C(team_id) + C(month) + C(tactic) + "
            f"C(decision_style, Treatment({REFERENCE['decision_style']!r}))")
    did = smf.poisson(base, frame, offset=frame["log_spend"]).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, disp=0, maxiter=300)
    did_fit = DriversFit(did, frame, base, "poisson team+month FE (DiD)", "", False)
    effects = did_fit.effects()
    effects = effects[effects["term"].str.startswith("decision_style=")].reset_index(drop=True)
    frame = frame.assign(event=_months_to_change(frame, window))
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


def _months_to_change(frame: pd.DataFrame, window: int) -> pd.Series:
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


FEW_TEAMS = 30
THIN_CELL = 12


@dataclass
class ModelSuite:
    """Every model on one panel: tidy tables, the reasons for the choices, and warnings."""

    tables: dict[str, pd.DataFrame]
    notes: list[str]
    seconds: float

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def model_suite(data, month_effects: bool = False, model: str = "auto") -> ModelSuite:
    """Run the drivers model, its alternatives, the CAC grid, contrasts, style changes,
    attrition and diagnostics on a Dataset or Engine; say which model is used and why.

    ``model``: ``"auto"`` (negative binomial when the overdispersion test says so, else
    Poisson), ``"negbin"`` or ``"poisson"``.
    """
    import time

    from salesnb import metrics, people
    from salesnb.engine import as_engine

    started = time.perf_counter()
    panel = metrics.panel(data)
    dispersion = overdispersion_test(panel)
    if model not in ("auto", "negbin", "poisson"):
        raise SalesnbError(f"model must be 'auto', 'negbin' or 'poisson', not {model!r}")
    kind = model if model != "auto" else "negbin" if dispersion["p"] < 0.05 else "poisson"
    test = f"the overdispersion test gives alpha = {dispersion['alpha']:.2f} " \
           f"(p = {dispersion['p']:.2g})"
    why = f"you chose it ({test})" if model != "auto" else test
    notes = [f"main model: {'negative binomial' if kind == 'negbin' else 'Poisson'} with team-"
             f"clustered errors, because {why}; log-CAC OLS and MixedLM "
             "are shown as cross-checks (they leave out cells without a customer)."]
    main = fit_drivers(panel, model=kind, month_effects=month_effects)
    notes += [f"{main.model}: {n}" for n in main.notes]
    notes += _data_warnings(main)
    notes.append(_interval_note(main))
    grid = cac_grid(main)
    tables = {"effects": findings(main, wild=True), "grid": grid,
              "contrasts": style_contrasts(grid, main),
              "alternatives": pd.concat([fit_log_cac(panel).effects(),
                                         fit_log_cac(panel, mixed=True).effects()]),
              "mde": minimum_detectable_effect(main),
              "dispersion": pd.DataFrame([dispersion]),
              "influential_teams": influential_teams(main),
              "residuals": residual_checks(main)}
    strong = tables["influential_teams"].query("largest_shift_se > 1")
    if len(strong):
        notes.append("teams that alone move an effect by more than one standard error: "
                     + ", ".join(f"{r.team_id} ({r.term})" for r in strong.itertuples()))
    changes = _attempt(notes, "style changes", style_change_effects, panel)
    tables.update({f"style_change_{k}": v for k, v in (changes or {}).items()})
    if "reps" in as_engine(data):
        reps, start, end = people.rep_last_months(data)
        hazards = _attempt(notes, "rep attrition", attrition_hazards, reps, start, end)
        if hazards is not None:
            tables["attrition"] = hazards
        cost = _attempt(notes, "attrition cost", people.attrition_cost, data)
        if cost is not None:
            tables["attrition_cost"] = cost
    return ModelSuite(tables, notes, time.perf_counter() - started)


def _attempt(notes: list[str], what: str, function, *args):
    """Run an optional analysis; its warnings become notes; if the data cannot support it,
    say why and go on."""
    from numpy.linalg import LinAlgError

    caught: list[str] = []
    try:
        with _captured_warnings(caught):
            return function(*args)
    except (SalesnbError, LinAlgError, ValueError) as exc:
        reason = "singular design: too few observations for this model" if isinstance(
            exc, LinAlgError) else str(exc).splitlines()[0]
        notes.append(f"{what}: not estimated ({reason})")
        return None
    finally:
        notes.extend(f"{what}: {warning}" for warning in caught)


def _interval_note(fit: DriversFit) -> str:
    """Why the effects' intervals come from the wild cluster bootstrap, and where it matters
    most (the terms clustered errors get wrong: few teams, or few teams on one side)."""
    from salesnb import wild_bootstrap

    guarded = fit.guarded_terms()
    if len(guarded) == len(fit.coefficients()) - 1:
        where = "; with few or very unequal teams the clustered intervals would be too narrow"
    elif guarded:
        where = (f"; it matters most for {', '.join(_plain_term(t) for t in guarded)} (fewer "
                 f"than {wild_bootstrap.FEW_TREATED_TEAMS} teams on one side)")
    else:
        where = ""
    return (f"few-team guard: the effects' intervals and p-values come from the "
            f"{wild_bootstrap.METHOD}, which covered the planted effects 90-98% of the time in "
            f"the 50-seed study (clustered t intervals: 80-98%){where}; the CAC grid and "
            "contrasts use clustered t(teams - 1) intervals")


def _data_warnings(fit: DriversFit) -> list[str]:
    """Few teams, unbalanced clusters, thin tactic x style cells: said, not hidden."""
    frame = fit.data
    notes = []
    sizes = frame.groupby("team_id").size()
    if len(sizes) < FEW_TEAMS:
        notes.append(f"only {len(sizes)} teams: clustered intervals are too narrow with fewer "
                     f"than {FEW_TEAMS}; the effects use the wild cluster bootstrap, the CAC "
                     "grid and contrasts still use t(teams - 1): read them as optimistic")
    if sizes.max() > 5 * sizes.min():
        notes.append("teams differ a lot in size (largest > 5x smallest): clustered "
                     "intervals lean on the large teams")
    cells = frame.groupby(["tactic", "decision_style"]).size()
    thin = cells[cells < THIN_CELL]
    if len(thin):
        listed = ", ".join(f"{t} x {s}" for t, s in thin.index[:5])
        notes.append(f"too little data to estimate well ({THIN_CELL}+ team-months needed): "
                     f"{listed}")
    return notes
