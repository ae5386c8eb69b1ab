"""Response curves: new customers as a diminishing-returns function of spend, per tactic.

Average CAC hides diminishing returns; :mod:`salesnb.curves.fitting` fits one curve per
tactic (optionally per tactic x decision style, region, ...); this module holds the fitted
curves and answers what the *next* dollar buys.

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

from salesnb.curves.formulas import check_spend, percentile_interval, response, safe_ratio, slope
from salesnb.errors import SalesnbError

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
        a label); all units when None.
        """
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
        every bootstrap draw (rows 1...): array (1 + draws, len(units)).
        """
        units = np.arange(len(self.units)) if units is None else units
        params = self.all_parameters()[:, units]
        x = self.per_team(spend, units)
        return self.units["teams_per_month"].to_numpy()[units] * response(self.form, params, x,
                                                                  self.reference_spend)

    def slope_matrix(self, spend: np.ndarray, units: np.ndarray | None = None) -> np.ndarray:
        """D customers / d spend at organisation spend (estimate and draws)."""
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
        low, high = self.units.at[unit, "observed_low"], self.units.at[unit, "observed_high"]
        low = low if low > 0 else high * 1e-6  # a tactic that also ran at zero spend
        grid = np.geomspace(low / 1e3, high * 1e3, 400)
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
        amount is split over its groups' units in proportion to their current spend.
        """
        units = self.select(key)
        if not isinstance(amount, Real) or not np.isfinite(float(amount)) or amount < 0:
            raise SalesnbError(f"spend for {key!r} must be a finite number >= 0, "
                               f"not {amount!r}")
        return units, float(amount) * self.shares(units)

    def unit_frame(self, units: np.ndarray | None = None) -> pd.DataFrame:
        """The key columns (tactic, and the ``by`` group) of ``units`` (default: all)."""
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

