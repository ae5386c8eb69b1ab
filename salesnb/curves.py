"""Response curves: new customers as a diminishing-returns function of spend, per tactic.

Average CAC hides diminishing returns; this module fits one curve per tactic (optionally per
tactic x decision style, region, ...) and answers what the *next* dollar buys.

Definitions (the contract)
--------------------------
- **Cell**: one team x tactic x month row of :func:`salesnb.metrics.panel` with spend in that
  month (spend > 0). Rows without spend and the "(people cost, no activity)" rows are left out
  (a note counts them).
- **Estimable unit**: a unit is left out (and named in ``notes``) when it has too few cells or
  teams (< ``MIN_CELLS`` / ``MIN_TEAMS``), fewer than ``MIN_CUSTOMERS`` new customers in all, or
  (nearly) constant spend: standard deviation of log effective spend < ``MIN_LOG_SPEND_SD``
  (e.g. a fixed monthly retainer). Neither its level nor its exponent can be read from such
  data, so it gets no curve rather than a confident-looking one; its spend is not in the budget.
  The same rule applies inside every bootstrap draw (the unit is missing from that draw).
- **Effective spend**: with carry-over ``lambda``, ``(1 - lambda) * sum_k lambda**k * spend[t-k]``
  within team x tactic (months without a row count as 0). The months before the panel are
  assumed to have the first month's spend (the filter starts at steady state, so early months
  are not biased low). Spending the same amount every month gives an effective spend equal to
  that monthly spend, so every curve reads in *monthly spend*. ``lambda = 0`` (the default) is
  the month's own spend.
- **Curve** ``f(x)``: expected new customers per team-month of a typical team spending ``x`` a
  month on the tactic. ``power``: ``f(x) = level * (x / reference_spend) ** exponent``
  (``exponent < 1``: diminishing returns). ``hill``: ``f(x) = maximum * x**shape /
  (x**shape + half_saturation**shape)`` (saturates at ``maximum``).
- **Model**: ``log E[customers] = team effect + log f_tactic(effective spend)``, negative binomial
  (NB2, dispersion from a Poisson fit by the method of moments), team effects as fixed effects.
  The Hill form starts from the team effects of the power fit, held as an offset, then
  re-estimates them once under the Hill curves (backfitting) and refits.
- **Typical team**: the unit's cells' team effects averaged (on the customer scale), so
  ``level`` is the unit's average customers per team-month at ``reference_spend`` (the median
  cell spend).
- **Organisation scale** (all spend arguments and results of the public methods, unless a name
  says ``per_team``): monthly spend on a tactic summed over teams. It is assumed spread evenly
  over the ``teams_per_month`` that run the tactic in an average month, so ``S`` a month buys
  ``teams_per_month * f(S / teams_per_month)`` new customers a month.
- **Amounts for a tactic with several units** (curves fitted ``by=``): ``{tactic: amount}``
  is the tactic's organisation total, split over its groups' units in proportion to their
  current spend. Name a ``(tactic, group)`` pair to set one unit alone.
- **Current spend**: the unit's total spend in the fitted cells divided by the number of
  months with at least one fitted cell (any unit); ``teams_per_month`` uses the same months.
- **Marginal CAC** at ``S``: ``1 / d customers / dS = 1 / f'(S / teams_per_month)``, the cost of the
  next customer. For the power curve it is the average CAC divided by the exponent.
- **Observed range**: 5th to 95th percentile of the tactic's per-team effective spend. Spend
  outside it is extrapolation and is flagged.
- **Intervals**: teams are resampled with replacement (seeded), the whole model is refitted
  (carry-over and dispersion held at the full-data values); percentile intervals. Draws that do
  not converge, or in which a unit is not estimable, are left out of that unit's interval and
  counted in ``notes`` (flagged prominently above ``FAILED_DRAWS_WARNING`` of the draws).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.panel import UNALLOCATED

FORMS = ("power", "hill")
PARAMETERS = {"power": ("level", "exponent"), "hill": ("maximum", "half_saturation", "shape")}
MIN_CELLS, MIN_TEAMS = 20, 3
MIN_CUSTOMERS = 10        # new customers in all: fewer and the curve cannot be read
MIN_LOG_SPEND_SD = 0.05   # sd of log spend: below it spend is (nearly) constant
FAILED_DRAWS_WARNING = 0.05  # share of failed bootstrap draws flagged prominently
OBSERVED_QUANTILES = (0.05, 0.95)
CARRYOVER_GRID = np.round(np.arange(0.0, 0.91, 0.1), 2)
GROUPINGS = ("decision_style", "involvement", "region", "segment", "industry")


@dataclass
class ResponseCurves:
    """Fitted response curves, one per unit (tactic, or tactic x ``by`` level).

    Attributes
    ----------
    form : ``"power"`` or ``"hill"``.
    by : the grouping column, or None.
    carryover : the carry-over ``lambda`` used (0: none).
    reference_spend : per-team monthly spend at which ``level`` is read (median cell spend).
    units : one row per unit: ``tactic`` (and ``by``), ``teams_per_month`` (teams running it
        in an average month), ``n_cells``, ``teams`` (distinct teams), ``current_spend``
        (organisation monthly spend), ``observed_low``/``observed_high`` (per-team).
    estimates : array (units x parameters) of the full-data fit, in ``PARAMETERS[form]`` order.
    draws : array (bootstrap draws x units x parameters).
    cells : the fitted cells (``unit``, ``team_id``, ``period``, ``effective_spend``,
        ``new_customers``), for plots and checks.
    """

    form: str
    by: str | None
    carryover: float
    reference_spend: float
    units: pd.DataFrame
    estimates: np.ndarray
    draws: np.ndarray
    cells: pd.DataFrame
    dispersion: float
    seed: int
    notes: list[str] = field(default_factory=list)

    # ----- lookups -------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """One readable label per unit: ``tactic`` or ``tactic (group)``."""
        if self.by is None:
            return list(self.units["tactic"])
        return [f"{t} ({g})" for t, g in zip(self.units["tactic"], self.units[self.by],
                                            strict=True)]

    def select(self, tactic: str | tuple | None = None) -> np.ndarray:
        """Positions of the units matching ``tactic`` (a tactic, a ``(tactic, group)`` pair or
        a label); all units when None."""
        if tactic is None:
            return np.arange(len(self.units))
        if isinstance(tactic, tuple):
            if self.by is None or len(tactic) != 2:
                raise SalesnbError(f"{tactic!r}: a (tactic, group) pair needs curves fitted "
                                   "with by=...; pass the tactic name")
            mask = (self.units["tactic"] == tactic[0]) & (self.units[self.by] == tactic[1])
        else:
            mask = (self.units["tactic"] == tactic) | (pd.Series(self.labels) == tactic)
        found = np.flatnonzero(np.asarray(mask))
        if not len(found):
            raise SalesnbError(f"unknown tactic {tactic!r}; the curves cover "
                               f"{sorted(set(self.labels))}")
        return found

    def per_team(self, spend: np.ndarray, units: np.ndarray | None = None) -> np.ndarray:
        """Organisation monthly spend -> per-team monthly spend of the given units."""
        units = np.arange(len(self.units)) if units is None else units
        return np.asarray(spend, dtype=float) / self.units["teams_per_month"].to_numpy()[units]

    # ----- curve arithmetic (organisation scale) -------------------------------------------
    def customers_matrix(self, spend: np.ndarray, units: np.ndarray | None = None
                         ) -> np.ndarray:
        """Expected new customers a month at organisation spend, for the estimate (row 0) and
        every bootstrap draw (rows 1...): array (1 + draws, len(units))."""
        units = np.arange(len(self.units)) if units is None else units
        params = self.all_parameters()[:, units]
        x = self.per_team(spend, units)
        return self.units["teams_per_month"].to_numpy()[units] * response(self.form, params, x,
                                                                  self.reference_spend)

    def slope_matrix(self, spend: np.ndarray, units: np.ndarray | None = None) -> np.ndarray:
        """d customers / d spend at organisation spend (estimate and draws)."""
        units = np.arange(len(self.units)) if units is None else units
        params = self.all_parameters()[:, units]
        return slope(self.form, params, self.per_team(spend, units), self.reference_spend)

    def all_parameters(self) -> np.ndarray:
        """Estimate (row 0) and bootstrap draws stacked: (1 + draws, units, parameters)."""
        return np.concatenate([self.estimates[None], self.draws])

    def extrapolation(self, spend: np.ndarray, units: np.ndarray | None = None) -> list[str]:
        """For each unit: "" inside the observed range, else "above/below observed range"."""
        units = np.arange(len(self.units)) if units is None else units
        x = self.per_team(spend, units)
        low = self.units["observed_low"].to_numpy()[units]
        high = self.units["observed_high"].to_numpy()[units]
        tolerance = 1e-9
        return ["above observed range" if v > h * (1 + tolerance)
                else "below observed range" if v < lo * (1 - tolerance) else ""
                for v, lo, h in zip(x, low, high, strict=True)]

    # ----- public questions ----------------------------------------------------------------
    def parameters(self, level: float = 0.95) -> pd.DataFrame:
        """Curve parameters with bootstrap percentile intervals (tidy).

        Returns
        -------
        DataFrame
            ``tactic`` (and ``by``), ``parameter``, ``estimate``, ``ci_low``, ``ci_high``,
            ``n_teams`` (distinct teams), ``n_cells``, ``form``. ``level`` is customers per
            team-month at ``reference_spend``; ``cac_at_reference`` is reference_spend / level
            (power form).
        """
        names = list(PARAMETERS[self.form])
        estimates, draws = self.estimates, self.draws
        if self.form == "power":
            names.append("cac_at_reference")
            estimates = np.column_stack([estimates, self.reference_spend / estimates[:, 0]])
            draws = np.concatenate([draws, self.reference_spend / draws[:, :, :1]], axis=2)
        low, high = percentile_interval(draws, level)
        rows = []
        for i, unit in enumerate(self._unit_keys()):
            for j, name in enumerate(names):
                rows.append({**unit, "parameter": name, "estimate": estimates[i, j],
                             "ci_low": low[i, j], "ci_high": high[i, j],
                             "n_teams": int(self.units.at[i, "teams"]),
                             "n_cells": int(self.units.at[i, "n_cells"])})
        frame = pd.DataFrame(rows)
        frame["form"] = self.form
        return frame

    def expected_customers(self, spend: Mapping | None = None, level: float = 0.95
                           ) -> pd.DataFrame:
        """Expected new customers a month per unit at organisation monthly spend.

        Parameters
        ----------
        spend : {tactic or (tactic, group): monthly spend}; units not named stay at their
            current spend. A tactic with several units (``by=``) has its amount split over them
            in proportion to current spend. None: current spend everywhere.

        Returns
        -------
        DataFrame
            unit keys, ``spend``, ``spend_per_team``, ``expected_customers``, ``ci_low``,
            ``ci_high``, ``cac`` (spend / expected customers), ``extrapolated``, ``note``.
        """
        values = self.spend_vector(spend)
        matrix = self.customers_matrix(values)
        low, high = percentile_interval(matrix[1:], level)
        frame = self.unit_frame()
        frame["spend"] = values
        frame["spend_per_team"] = self.per_team(values)
        frame["expected_customers"] = matrix[0]
        frame["ci_low"], frame["ci_high"] = low, high
        frame["cac"] = safe_ratio(values, matrix[0])
        return self._flagged(frame, values)

    def marginal_cac(self, tactic: str | tuple | None = None,
                     spend: float | Iterable[float] | None = None, level: float = 0.95
                     ) -> pd.DataFrame:
        """Marginal CAC (cost of the next new customer) at organisation monthly spend.

        Parameters
        ----------
        tactic : a tactic (all its units), a ``(tactic, group)`` pair, or None for every unit.
        spend : one level or several of a tactic's organisation monthly spend; None: each
            unit's current spend. With curves fitted ``by=``, a level is the tactic's total,
            split over its groups' units in proportion to their current spend.

        Returns
        -------
        DataFrame
            unit keys, ``spend``, ``marginal_cac``, ``ci_low``, ``ci_high``, ``average_cac``,
            ``extrapolated``, ``note``; one row per unit and spend level.
        """
        units = self.select(tactic)
        shares = self.shares(units)
        levels = (self.units["current_spend"].to_numpy()[units][None] if spend is None
                  else np.atleast_1d(np.asarray(spend, dtype=float))[:, None] * shares[None])
        for row in levels:
            check_spend(row, [self.labels[u] for u in units])
        frames = [self._marginal_rows(units, row, level) for row in levels]
        return pd.concat(frames, ignore_index=True)

    def _marginal_rows(self, units: np.ndarray, spend: np.ndarray, level: float
                       ) -> pd.DataFrame:
        marginal = safe_ratio(1.0, self.slope_matrix(spend, units))
        low, high = percentile_interval(marginal[1:], level)
        frame = self.unit_frame(units)
        frame["spend"] = spend
        frame["marginal_cac"], frame["ci_low"], frame["ci_high"] = marginal[0], low, high
        frame["average_cac"] = safe_ratio(spend, self.customers_matrix(spend, units)[0])
        return self._flagged(frame, spend, units)

    def spend_for_marginal_cac(self, target: float, tactic: str | tuple | None = None,
                               level: float = 0.95) -> pd.DataFrame:
        """Organisation monthly spend at which marginal CAC reaches ``target``.

        Spending more than this on the tactic buys customers dearer than ``target``.

        Returns
        -------
        DataFrame
            unit keys, ``target_marginal_cac``, ``spend``, ``ci_low``, ``ci_high``,
            ``current_spend``, ``extrapolated``, ``note``.
        """
        if not np.isfinite(target) or target <= 0:
            raise SalesnbError(f"target marginal CAC must be a positive number, not {target!r}")
        units = self.select(tactic)
        solved = np.array([[self._spend_at(target, u, draw) for u in units]
                           for draw in range(len(self.draws) + 1)])
        unreachable = np.isnan(solved[0])
        if unreachable.all():
            raise SalesnbError(
                f"no spend level gives a marginal CAC of {target:,.0f} for "
                f"{[self.labels[u] for u in units]}: the curve has no diminishing returns "
                "there (exponent >= 1) or its marginal CAC stays above the target; "
                "pick a higher target")
        low, high = percentile_interval(solved[1:], level)
        frame = self.unit_frame(units)
        frame["target_marginal_cac"] = target
        frame["spend"], frame["ci_low"], frame["ci_high"] = solved[0], low, high
        frame["current_spend"] = self.units["current_spend"].to_numpy()[units]
        frame = self._flagged(frame, np.nan_to_num(solved[0], nan=0.0), units)
        frame.loc[unreachable, "note"] = "no solution"
        frame["extrapolated"] = frame["note"].isin(["above observed range",
                                                    "below observed range"])
        return frame

    def _spend_at(self, target: float, unit: int, draw: int) -> float:
        """Per-draw root of 1 / slope(spend) = target on a log-spaced grid, nan if none."""
        params = self.all_parameters()[draw, unit][None, None]
        teams_per_month = self.units.at[unit, "teams_per_month"]
        grid = np.geomspace(self.units.at[unit, "observed_low"] / 1e3,
                            self.units.at[unit, "observed_high"] * 1e3, 400)
        gap = np.log(safe_ratio(1.0, slope(self.form, params, grid[:, None],
                                           self.reference_spend)[:, 0]) / target)
        crossing = np.flatnonzero((gap[:-1] < 0) & (gap[1:] >= 0))
        if not len(crossing):
            return np.nan
        from scipy.optimize import brentq

        def gap_at(log_x: float) -> float:
            value = slope(self.form, params, np.exp([[log_x]]), self.reference_spend)[0, 0]
            return float(np.log(1.0 / value / target))

        i = crossing[0]
        return float(np.exp(brentq(gap_at, np.log(grid[i]), np.log(grid[i + 1]), xtol=1e-12))
                     * teams_per_month)

    # ----- helpers ---------------------------------------------------------------------------
    def spend_vector(self, spend: Mapping | None) -> np.ndarray:
        """A {tactic: monthly spend} mapping as one value per unit (others stay current).

        A tactic with several units (curves fitted ``by=``) has its amount split over them in
        proportion to their current spend; a ``(tactic, group)`` key sets one unit.
        """
        values = self.units["current_spend"].to_numpy(dtype=float).copy()
        for key, value in (spend or {}).items():
            units, amounts = self.split_amount(key, value)
            values[units] = amounts
        check_spend(values, self.labels)
        return values

    def shares(self, units: np.ndarray) -> np.ndarray:
        """Each unit's share of its tactic's current spend among ``units`` (1 without by=)."""
        current = self.units["current_spend"].to_numpy(dtype=float)[units]
        tactics = self.units["tactic"].to_numpy()[units]
        totals = pd.Series(current).groupby(tactics).transform("sum").to_numpy()
        return safe_ratio(current, totals)

    def split_amount(self, key, amount) -> tuple[np.ndarray, np.ndarray]:
        """(units, amount per unit) for an organisation amount named by ``key``: a tactic's
        amount is split over its groups' units in proportion to their current spend."""
        units = self.select(key)
        if not isinstance(amount, Real) or not np.isfinite(amount) or amount < 0:
            raise SalesnbError(f"spend for {key!r} must be a finite number >= 0, "
                               f"not {amount!r}")
        return units, float(amount) * self.shares(units)

    def unit_frame(self, units: np.ndarray | None = None) -> pd.DataFrame:
        units = np.arange(len(self.units)) if units is None else units
        return pd.DataFrame(self._unit_keys()).iloc[units].reset_index(drop=True)

    def _unit_keys(self) -> list[dict]:
        keys = ["tactic"] + ([self.by] if self.by else [])
        return self.units[keys].to_dict("records")

    def _flagged(self, frame: pd.DataFrame, spend: np.ndarray,
                 units: np.ndarray | None = None) -> pd.DataFrame:
        frame["note"] = self.extrapolation(spend, units)
        frame["extrapolated"] = frame["note"] != ""
        return frame


# ----- curve formulas --------------------------------------------------------------------------
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
    """numerator / denominator, nan where the denominator is not positive (never infinite)."""
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
    cells = cells.assign(effective_spend=_effective_spend(history, cells, lam))
    if lam:  # carry-over smooths spend: a unit may become (nearly) constant
        cells = _keep_estimable(cells, "effective_spend", notes)
    reference = float(cells["effective_spend"].median())
    design = _Design.build(cells, reference)
    estimate, dispersion, failed = _fit(form, design, cells, dispersion=None)
    if failed:
        notes.append(f"the Hill fit did not converge for {_labels(design, failed)}: their "
                     "curves are the optimiser's last point; read them with care")
    draws = _bootstrap(form, design, cells, dispersion, n_boot, seed, notes)
    units = _unit_table(cells, design.unit_keys, by)
    if form == "hill":
        _note_unsaturated(estimate, units, notes)
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


def _inestimable(unit: np.ndarray, log: np.ndarray, customers: np.ndarray, n_units: int
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


def _keep_estimable(cells: pd.DataFrame, column: str, notes: list) -> pd.DataFrame:
    """Leave out units whose curve cannot be estimated, naming them in ``notes``."""
    if not cells.empty:
        codes, keys = pd.factorize(cells["unit_key"])
        few, flat = _inestimable(codes, np.log(cells[column].to_numpy(float)),
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


def _effective_spend(history: pd.DataFrame, cells: pd.DataFrame, lam: float) -> np.ndarray:
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
        trial = cells.assign(effective_spend=_effective_spend(history, cells, lam))
        design = _Design.build(trial, float(trial["effective_spend"].median()))
        likelihoods.append(_power_fit(design, trial["new_customers"].to_numpy(float))[3])
    best = float(CARRYOVER_GRID[int(np.argmax(likelihoods))])
    notes.append(f"carry-over estimated by profile likelihood: lambda {best:g} (grid 0-0.9; "
                 "its uncertainty is not in the intervals)")
    return best


@dataclass
class _Design:
    """The model's design, kept as codes: team dummies | unit dummies | unit x log spend.

    Every product the fit needs is a sum over cells of one team or unit (``np.bincount``), so
    no dense matrix is built.
    """

    teams: np.ndarray       # team code per cell
    unit_index: np.ndarray  # unit code per cell
    unit_keys: list
    log_spend: np.ndarray   # log(effective spend / reference)
    n_teams: int
    reference: float

    @classmethod
    def build(cls, cells: pd.DataFrame, reference: float) -> _Design:
        team_codes, team_names = pd.factorize(cells["team_id"])
        unit_codes, unit_keys = pd.factorize(cells["unit_key"], sort=True)
        return cls(team_codes, unit_codes, list(unit_keys),
                   np.log(cells["effective_spend"].to_numpy(float) / reference),
                   len(team_names), reference)

    @property
    def n_units(self) -> int:
        return len(self.unit_keys)

    def subset(self, rows: np.ndarray, team_codes: np.ndarray) -> _Design:
        """The design on ``rows``, teams recoded by ``team_codes`` (0, 1, ... without gaps)."""
        return _Design(team_codes, self.unit_index[rows], self.unit_keys,
                       self.log_spend[rows], int(team_codes.max()) + 1, self.reference)

    def predictor(self, beta: np.ndarray) -> np.ndarray:
        """Linear predictor: team effect + unit intercept + unit exponent x log spend."""
        teams, intercepts, exponents = self.split(beta)
        return (teams[self.teams] + intercepts[self.unit_index]
                + exponents[self.unit_index] * self.log_spend)

    def split(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, u = self.n_teams, self.n_units
        return beta[:t], beta[t:t + u], beta[t + u:]

    def cross(self, weight: np.ndarray, working: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X'WX and X'Wz from group sums."""
        t, u, z = self.n_teams, self.n_units, self.log_spend
        team, unit = self.teams, self.unit_index

        def by_unit(values):
            return np.bincount(unit, values, u)

        def by_team_unit(values):
            return np.bincount(team * u + unit, values, t * u).reshape(t, u)

        gram = np.zeros((t + 2 * u, t + 2 * u))
        gram[:t, :t] = np.diag(np.bincount(team, weight, t))
        gram[t:t + u, t:t + u] = np.diag(by_unit(weight))
        gram[t:t + u, t + u:] = gram[t + u:, t:t + u] = np.diag(by_unit(weight * z))
        gram[t + u:, t + u:] = np.diag(by_unit(weight * z * z))
        gram[:t, t:t + u] = by_team_unit(weight)
        gram[:t, t + u:] = by_team_unit(weight * z)
        gram[t:, :t] = gram[:t, t:].T
        product = weight * working
        right = np.concatenate([np.bincount(team, product, t), by_unit(product),
                                by_unit(product * z)])
        return gram, right


def _fit(form: str, design: _Design, cells: pd.DataFrame, dispersion: float | None,
         rows: np.ndarray | None = None, team_codes: np.ndarray | None = None
         ) -> tuple[np.ndarray, float, list[int]]:
    """(parameters (units x k), dispersion, units whose Hill fit did not converge) of one fit
    on the given rows (default: all cells)."""
    rows = np.arange(len(cells)) if rows is None else rows
    team_codes = design.teams[rows] if team_codes is None else team_codes
    y = cells["new_customers"].to_numpy(float)[rows]
    sub = design.subset(rows, team_codes)
    beta, eta, dispersion, _ = _power_fit(sub, y, dispersion)
    power = _power_parameters(sub, beta, eta)
    if form == "power":
        return power, dispersion, []
    offsets = sub.split(beta)[0][sub.teams]
    x = sub.reference * np.exp(sub.log_spend)
    hill, failed = _hill_parameters(sub, y, x, offsets, dispersion)
    for _ in range(HILL_BACKFITS):  # team effects again, now given the Hill curves
        curve = response("hill", hill[sub.unit_index], x, sub.reference)
        offsets = np.log(np.bincount(sub.teams, y, sub.n_teams)
                         / np.bincount(sub.teams, curve, sub.n_teams))[sub.teams]
        hill, failed = _hill_parameters(sub, y, x, offsets, dispersion)
    return hill, dispersion, failed


def _power_fit(design: _Design, y: np.ndarray, dispersion: float | None = None):
    """(beta, linear predictor, dispersion, log-likelihood) of the NB power model."""
    if dispersion is None:
        mu = np.exp(_irls(design, y, 0.0)[1])
        dispersion = max(float(((y - mu) ** 2 - y).sum() / (mu ** 2).sum()), 0.0)
    beta, eta = _irls(design, y, dispersion)
    return beta, eta, dispersion, _nb_loglik(y, np.exp(eta), dispersion)


def _irls(design: _Design, y: np.ndarray, alpha: float, max_iter: int = 100,
          tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Negative binomial (NB2, fixed alpha; 0 = Poisson) GLM with log link by IRLS.

    Normal equations solved by least squares, so rank deficiency (team dummies alongside unit
    dummies) gives the minimum-norm solution; fitted values are unique either way.
    """
    mu = (y + y.mean()) / 2
    eta = np.log(mu)
    previous, beta = -np.inf, None
    for _ in range(max_iter):
        weight = mu / (1 + alpha * mu)
        gram, right = design.cross(weight, eta + (y - mu) / mu)
        last, beta = beta, np.linalg.lstsq(gram, right, rcond=1e-12)[0]
        eta = np.clip(design.predictor(beta), -30, 30)
        mu = np.exp(eta)
        loglik = _nb_loglik(y, mu, alpha)
        if abs(loglik - previous) < tol * (abs(loglik) + 1):
            break
        previous = loglik
    else:
        raise SalesnbError("the response-curve model did not converge after "
                           f"{max_iter} iterations; still moving: "
                           f"{_labels(design, _unsettled(design, beta, last, eta))}; check "
                           "them for almost no customers or (nearly) constant spend")
    return beta, eta


def _unsettled(design: _Design, beta: np.ndarray, last: np.ndarray | None,
               eta: np.ndarray) -> list[int]:
    """Units whose coefficients still move, or whose fitted values hit the clip (all if none)."""
    _, intercepts, exponents = design.split(beta)
    moving = np.zeros(design.n_units, dtype=bool)
    if last is not None:
        _, last_intercepts, last_exponents = design.split(last)
        moving = (np.abs(intercepts - last_intercepts)
                  + np.abs(exponents - last_exponents)) > 1e-6
    clipped = np.bincount(design.unit_index, np.abs(eta) >= 30, design.n_units) > 0
    found = np.flatnonzero(moving | clipped)
    return list(found) if len(found) else list(range(design.n_units))


def _labels(design: _Design, units) -> list[str]:
    return [" / ".join(map(str, design.unit_keys[u])) for u in units]


def _nb_loglik(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    from scipy.special import gammaln

    if alpha < 1e-8:
        return float(np.sum(y * np.log(mu) - mu - gammaln(y + 1)))
    size = 1 / alpha
    return float(np.sum(gammaln(y + size) - gammaln(size) - gammaln(y + 1)
                        + size * np.log(size / (size + mu)) + y * np.log(mu / (size + mu))))


def _power_parameters(design: _Design, beta: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """(level, exponent) per unit; level averages the fitted value at the reference spend."""
    n_units = design.n_units
    exponents = design.split(beta)[2]
    at_reference = np.exp(eta - exponents[design.unit_index] * design.log_spend)
    with np.errstate(divide="ignore", invalid="ignore"):  # units absent from a draw: nan
        level = np.bincount(design.unit_index, at_reference, n_units) / np.bincount(
            design.unit_index, minlength=n_units)
    return np.column_stack([level, exponents])


def _hill_parameters(design, y, x, offsets, dispersion) -> tuple[np.ndarray, list[int]]:
    """(maximum, half_saturation, shape) per unit, team effects held as offsets; and the units
    whose optimiser reported failure."""
    rows, failed = [], []
    for unit in range(design.n_units):
        mask = design.unit_index == unit
        if not mask.any():
            rows.append(np.full(3, np.nan))
            continue
        offset = offsets[mask] - np.log(np.mean(np.exp(offsets[mask])))
        params, success = _hill_one(y[mask], x[mask], offset, dispersion)
        rows.append(params)
        if not success:
            failed.append(unit)
    return np.array(rows), failed


HILL_MAX_HALF_SATURATION = 100.0  # x the largest observed spend
HILL_SHAPE_RANGE = (0.05, 10.0)
HILL_BACKFITS = 1  # rounds of re-estimating team effects under the Hill curves


def _hill_one(y, x, offset, dispersion) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood Hill curve of one unit: ((maximum, half_saturation, shape), whether
    the optimiser reported success).

    Optimised over (log curve value at the median spend, log half-saturation, log shape), which
    keeps the likelihood well conditioned when the data show no saturation (half-saturation
    running off to the bound); exact gradient.
    """
    from scipy.optimize import minimize

    log_x, log_mid = np.log(x), np.log(np.median(x))
    size = 1 / dispersion if dispersion > 1e-8 else np.inf

    def loss_and_gradient(theta):
        log_half, shape = theta[1], np.exp(theta[2])
        s, s_mid = shape * (log_x - log_half), shape * (log_mid - log_half)
        log_mu = offset + theta[0] - np.logaddexp(0, -s) + np.logaddexp(0, -s_mid)
        mu = np.exp(np.clip(log_mu, -30, 30))
        d_mu = mu * (y / mu - (1.0 if np.isinf(size) else (y + size) / (size + mu)))
        share, share_mid = _sigmoid(-s), _sigmoid(-s_mid)
        gradient = [d_mu.sum(), (d_mu * shape * (share_mid - share)).sum(),
                    (d_mu * (s * share - s_mid * share_mid)).sum()]
        return -_nb_loglik(y, mu, dispersion), -np.array(gradient)

    start = [np.log(max(y.mean(), 1e-3)), log_mid, 0.0]
    bounds = [(None, None), (log_x.min(), log_x.max() + np.log(HILL_MAX_HALF_SATURATION)),
              tuple(np.log(HILL_SHAPE_RANGE))]
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    shape = np.exp(theta[2])
    maximum = np.exp(theta[0] + np.logaddexp(0, -shape * (log_mid - theta[1])))
    params = np.array([maximum, np.exp(theta[1]), shape])
    return params, bool(result.success) and bool(np.isfinite(params).all())


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -values))


def _note_unsaturated(estimate: np.ndarray, units: pd.DataFrame, notes: list) -> None:
    high = units["observed_high"].to_numpy()
    unsaturated = [t for t, h, top in zip(units["tactic"], estimate[:, 1], high, strict=True)
                   if h > 10 * top]
    if unsaturated:
        notes.append(f"no saturation in the observed spend for {unsaturated}: the Hill half-"
                     "saturation lies far beyond the data (a power curve describes them as well)")


def _bootstrap(form: str, design: _Design, cells: pd.DataFrame, dispersion: float,
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
        few, flat = _inestimable(design.unit_index[rows], design.log_spend[rows], y[rows],
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
            params, _, failed = _fit(form, design, cells, dispersion, rows, codes)
        except SalesnbError:
            failed_draws += 1
            continue  # a draw that does not converge is left out (nan), and counted
        present = np.setdiff1d(present, failed)
        missing[failed] += 1
        draws[b, present] = params[present]
    _note_draws(design, n_boot, failed_draws, missing, notes)
    return draws


def _note_draws(design: _Design, n_boot: int, failed_draws: int, missing: np.ndarray,
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
                  zip(_labels(design, range(design.n_units)), missing, strict=True) if n}
        text = ("bootstrap draws in which a unit could not be estimated (too few customers, "
                "constant spend, no team running it or a failed fit among the resampled teams) "
                "leave it out of that "
                f"draw; draws per unit: {counts}")
        if max(counts.values()) > FAILED_DRAWS_WARNING * n_boot:
            notes.insert(0, "WARNING: " + text + "; its interval rests on the other draws")
        else:
            notes.append(text)


def _unit_table(cells: pd.DataFrame, unit_keys: list, by: str | None) -> pd.DataFrame:
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
