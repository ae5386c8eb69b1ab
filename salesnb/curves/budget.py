"""Budget reallocation on response curves: where the next dollar buys the most customers.

Definitions (the contract; see :mod:`salesnb.curves.response` for the curves themselves)
--------------------------------------------------------------------------------
- **Budget**: organisation monthly spend over all tactics (units) of the curves; default: the
  current total (the sum of each tactic's average monthly spend).
- **Allocation**: monthly spend per tactic, spread evenly over the teams that run it. Expected
  new customers a month are ``sum_tactic teams_per_month * f(spend / teams_per_month)``.
- **Before**: today's allocation (current spend). **After**: the allocation that maximises
  expected new customers for the budget within the bounds (scipy SLSQP, then projected exactly
  onto the budget and the bounds). Both are evaluated on the same curves. When the budget is
  the current total, the change comes from the mix alone; with another budget it is the
  budget change and the new mix together.
- **Program CAC** (``program_cac``, as in docs/design.md): tactic spend of the units with a curve /
  their expected new customers. People cost does not move with the budget and is left out,
  so this is *not* blended CAC (all cost incl. people cost / all new customers, as in
  :func:`salesnb.segments.headline`). Tactics without a curve (see the curves' notes) are
  outside the budget altogether.
- **Bounds**: per tactic ``(low, high)`` monthly spend. The default ``high`` is
  ``max_extrapolation x`` the top of the observed range (95th percentile of per-team spend)
  ``x teams_per_month``: the optimiser may not go far beyond what was ever spent. Any new spend
  outside the observed range (5th-95th percentile) is flagged ``extrapolated``.
- **Amounts for a tactic with several units** (curves fitted ``by=``): a bound or fixed amount
  given for a tactic is the tactic's total, split over its groups' units in proportion to their
  current spend; key a ``(tactic, group)`` pair to set one unit.
- **Intervals**: every bootstrap draw of the curves evaluated at the *same* two allocations
  (the point-estimate optimum is not re-optimised per draw); the change is paired per draw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pandas as pd

from salesnb.curves.formulas import percentile_interval, safe_ratio
from salesnb.curves.response import ResponseCurves
from salesnb.errors import SalesnbError

RELATIVE_TOLERANCE = 1e-9
SMALLEST_BUDGET_SHARE = 0.01  # of the current total: the inverse search starts here
BUDGET_GRID_POINTS = 16  # budgets scanned by the inverse search before solving


@dataclass
class Allocation:
    """An optimised allocation and how it compares with today's.

    Attributes
    ----------
    table : one row per tactic: keys, ``current_spend``, ``new_spend``, ``change``,
        ``lower_bound``, ``upper_bound``, ``fixed``, ``customers_before``, ``customers_after``,
        ``marginal_cac_before``, ``marginal_cac_after``, ``extrapolated``, ``note``.
    summary : rows ``spend``, ``expected_customers``, ``program_cac`` (tactic spend /
        expected new customers; no people cost) with ``before``, ``after``, ``change`` and
        their interval ends (``*_low``, ``*_high``).
    budget : the monthly budget allocated.
    notes : what to keep in mind (extrapolation, optimiser, targets).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    budget: float
    labels: list[str]
    notes: list[str] = field(default_factory=list)


def reallocate(curves: ResponseCurves, budget: float | None = None,
               bounds: Mapping | None = None, fixed: Mapping | Iterable | None = None,
               max_extrapolation: float = 1.5, level: float = 0.95) -> Allocation:
    """The allocation of a monthly budget that maximises expected new customers.

    Parameters
    ----------
    curves : fitted :class:`salesnb.curves.ResponseCurves`.
    budget : organisation monthly budget (default: current total spend a month).
    bounds : {tactic: (low, high)} monthly spend; None for a side keeps its default
        (0, and ``max_extrapolation`` x the observed per-team 95th percentile x teams).
        With curves fitted ``by=``, a tactic's amounts are split over its groups in
        proportion to current spend; a ``(tactic, group)`` key sets one unit.
    fixed : tactics kept at their current spend (a list), or {tactic: monthly spend} (split
        the same way).
    max_extrapolation : how far beyond the observed range the default upper bound reaches.
    level : interval level.

    Returns
    -------
    Allocation
    """
    budget = _check_budget(curves, budget)
    low, high, is_fixed = _bounds(curves, bounds, fixed, max_extrapolation)
    _check_feasible(curves, budget, low, high)
    new = optimise(curves, budget, low, high)
    return _allocation(curves, budget, new, low, high, is_fixed, level)


def optimise(curves: ResponseCurves, budget: float, low: np.ndarray, high: np.ndarray
             ) -> np.ndarray:
    """Spend per unit maximising expected customers with sum = budget, low <= spend <= high."""
    from scipy.optimize import minimize

    current = curves.units["current_spend"].to_numpy(dtype=float)
    start = project(current * budget / max(current.sum(), 1e-12), budget, low, high)
    scale = _customers(curves, start)

    def loss(shares):
        return -_customers(curves, shares * budget) / scale

    def gradient(shares):
        return -curves.slope_matrix(np.maximum(shares * budget, 1e-12))[0] * budget / scale

    result = minimize(loss, start / budget, jac=gradient, method="SLSQP",
                      bounds=list(zip(low / budget, high / budget, strict=True)),
                      constraints=[{"type": "eq", "fun": lambda s: s.sum() - 1.0,
                                    "jac": lambda s: np.ones_like(s)}],
                      options={"maxiter": 500, "ftol": 1e-12})
    candidate = project(np.nan_to_num(result.x * budget), budget, low, high)
    return candidate if _customers(curves, candidate) >= _customers(curves, start) else start


def project(spend: np.ndarray, budget: float, low: np.ndarray, high: np.ndarray
            ) -> np.ndarray:
    """The closest allocation to ``spend`` (shifted by one constant) that sums to the budget
    and keeps every bound: ``clip(spend + shift, low, high)`` with the shift found by bisection.
    """
    def total(shift):
        return np.clip(spend + shift, low, high).sum()

    lower, upper = (low - spend).min(), (high - spend).max()
    for _ in range(200):
        middle = (lower + upper) / 2
        lower, upper = (middle, upper) if total(middle) < budget else (lower, middle)
    result = np.clip(spend + (lower + upper) / 2, low, high)
    free = (result > low) & (result < high)
    if free.any():  # put the last rounding cents on the tactics not at a bound
        result[free] += (budget - result.sum()) / free.sum()
    return np.clip(result, low, high)


def _customers(curves: ResponseCurves, spend: np.ndarray) -> float:
    return float(curves.customers_matrix(np.maximum(spend, 0.0))[0].sum())


# ----- arguments ---------------------------------------------------------------------------
def _check_budget(curves: ResponseCurves, budget: float | None) -> float:
    if budget is None:
        return float(curves.units["current_spend"].sum())
    if isinstance(budget, bool) or not isinstance(budget, Real) or not np.isfinite(budget) \
            or budget <= 0:
        raise SalesnbError(f"budget must be a positive monthly amount, not {budget!r}")
    return float(budget)


def default_high(curves: ResponseCurves, max_extrapolation: float) -> np.ndarray:
    """Default upper bound: max_extrapolation x top of the observed per-team range x teams."""
    if not np.isfinite(max_extrapolation) or max_extrapolation < 1:
        raise SalesnbError(f"max_extrapolation must be >= 1 (1 = stay within the observed "
                           f"spend range), not {max_extrapolation!r}")
    units = curves.units
    return (max_extrapolation * units["observed_high"].to_numpy()
            * units["teams_per_month"].to_numpy())


def _bounds(curves, bounds, fixed, max_extrapolation):
    """(low, high, fixed mask) per unit from the defaults, ``bounds`` and ``fixed``."""
    low = np.zeros(len(curves.units))
    high = default_high(curves, max_extrapolation)
    for key, pair in (bounds or {}).items():
        units = _units(curves, key, "bounds")
        lo, hi = _bound_pair(key, pair)
        shares = curves.shares(units)  # a tactic's amount is split over its groups
        low[units] = low[units] if lo is None else lo * shares
        high[units] = high[units] if hi is None else hi * shares
    is_fixed = np.zeros(len(curves.units), dtype=bool)
    current = curves.units["current_spend"].to_numpy(dtype=float)
    items = fixed.items() if isinstance(fixed, Mapping) else ((k, None) for k in fixed or ())
    for key, value in items:
        units = _units(curves, key, "fixed")
        amount = current[units] if value is None else _amount(key, value) * curves.shares(units)
        low[units], high[units], is_fixed[units] = amount, amount, True
    crossed = [curves.labels[i] for i in np.flatnonzero(low > high)]
    if crossed:
        raise SalesnbError(f"lower bound above upper bound for {crossed}; the default upper "
                           "bound is max_extrapolation x the observed spend range: raise "
                           "max_extrapolation or pass an explicit upper bound")
    return low, high, is_fixed


def _units(curves: ResponseCurves, key, argument: str) -> np.ndarray:
    try:
        return curves.select(key)
    except SalesnbError as error:
        raise SalesnbError(f"{argument}: {error}") from None


def _bound_pair(key, pair) -> tuple[float | None, float | None]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise SalesnbError(f"bounds[{key!r}] must be a (low, high) pair, not {pair!r}")
    low, high = (None if v is None else _amount(key, v) for v in pair)
    return low, high


def _amount(key, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(float(value)) \
            or value < 0:
        raise SalesnbError(f"spend for {key!r} must be a number >= 0, not {value!r}")
    return float(value)


def _check_feasible(curves, budget: float, low: np.ndarray, high: np.ndarray) -> None:
    if low.sum() > budget * (1 + RELATIVE_TOLERANCE):
        raise SalesnbError(f"the lower bounds and fixed tactics already need {low.sum():,.0f} a "
                           f"month, more than the budget of {budget:,.0f}: lower them or raise "
                           "the budget")
    if high.sum() < budget * (1 - RELATIVE_TOLERANCE):
        raise SalesnbError(f"the upper bounds allow at most {high.sum():,.0f} a month, less than "
                           f"the budget of {budget:,.0f}: the budget would go far beyond the "
                           "observed spend; lower the budget, raise the bounds or "
                           "max_extrapolation")


# ----- results -------------------------------------------------------------------------------
def _allocation(curves, budget, new, low, high, is_fixed, level) -> Allocation:
    current = curves.units["current_spend"].to_numpy(dtype=float)
    before, after = curves.customers_matrix(current), curves.customers_matrix(new)
    table = curves.unit_frame()
    table["current_spend"], table["new_spend"] = current, new
    table["change"] = new - current
    table["lower_bound"], table["upper_bound"], table["fixed"] = low, high, is_fixed
    table["customers_before"], table["customers_after"] = before[0], after[0]
    table["marginal_cac_before"] = safe_ratio(1.0, curves.slope_matrix(current)[0])
    table["marginal_cac_after"] = safe_ratio(1.0, curves.slope_matrix(new)[0])
    table["note"] = curves.extrapolation(new)
    table["extrapolated"] = table["note"] != ""
    summary = _summary(current.sum(), new.sum(), before.sum(axis=1), after.sum(axis=1), level)
    return Allocation(table, summary, budget, curves.labels, _notes(table, curves))


def _summary(spend_before: float, spend_after: float, before: np.ndarray, after: np.ndarray,
             level: float) -> pd.DataFrame:
    """Rows spend, expected_customers, program_cac; row 0 of the arrays is the estimate."""
    measures = {"spend": (np.full_like(before, spend_before), np.full_like(after, spend_after)),
                "expected_customers": (before, after),
                "program_cac": (safe_ratio(spend_before, before), safe_ratio(spend_after, after))}
    rows = []
    for name, (b, a) in measures.items():
        row = {"measure": name}
        for column, values in (("before", b), ("after", a), ("change", a - b)):
            low, high = percentile_interval(values[1:, None], level)
            row.update({column: values[0], f"{column}_low": low[0], f"{column}_high": high[0]})
        rows.append(row)
    return pd.DataFrame(rows)


def _notes(table: pd.DataFrame, curves: ResponseCurves) -> list[str]:
    notes = []
    flagged = table[table["extrapolated"]]
    if len(flagged):
        shown = [f"{label}: {note}" for label, note in
                 zip(np.array(curves.labels)[flagged.index], flagged["note"], strict=True)]
        notes.append("new spend outside the observed range (the curve is extrapolated there): "
                     + "; ".join(shown))
    at_cap = table[(table["new_spend"] >= table["upper_bound"] * (1 - 1e-6)) & ~table["fixed"]]
    if len(at_cap):
        names = ", ".join(str(curves.labels[i]).replace("_", " ") for i in at_cap.index)
        notes.append(f"{len(at_cap)} tactic(s) sit at their upper bound: {names}; the optimiser "
                     "wanted more; the bounds, not the curves, decide how much")
    return notes


# ----- the inverse question --------------------------------------------------------------------
def budget_for_target(curves: ResponseCurves, target_cac: float | None = None,
                      target_customers: float | None = None, bounds: Mapping | None = None,
                      fixed: Mapping | Iterable | None = None, max_extrapolation: float = 1.5,
                      level: float = 0.95) -> Allocation:
    """The monthly budget that reaches a target, spent the best way.

    Parameters
    ----------
    target_cac : the program CAC to reach (tactic spend / expected new customers, no people
        cost): the answer is the largest budget whose optimal allocation keeps program CAC at
        the target. Program CAC need not rise with the budget (with fixed tactics or lower
        bounds it can first fall, then rise), so budgets are scanned on a grid and the last
        crossing of the target is solved for; an unreachable target is refused with the
        lowest program CAC any budget gives.
    target_customers : expected new customers a month: the smallest budget that wins them.
    bounds, fixed, max_extrapolation : as in :func:`reallocate`; they also cap the budget,
        so a target beyond the observed spend range is refused.

    Returns
    -------
    Allocation
        At the budget found (``.budget``), with a note stating the target.
    """
    if (target_cac is None) == (target_customers is None):
        raise SalesnbError("give exactly one of target_cac or target_customers")
    target = target_cac if target_cac is not None else target_customers
    if isinstance(target, bool) or not isinstance(target, Real) or not np.isfinite(target) \
            or target <= 0:
        raise SalesnbError(f"the target must be a positive number, not {target!r}")
    low, high, is_fixed = _bounds(curves, bounds, fixed, max_extrapolation)
    smallest = max(low.sum(), SMALLEST_BUDGET_SHARE * curves.units["current_spend"].sum())
    largest = high.sum()
    if smallest >= largest:
        raise SalesnbError("the bounds leave no room to choose a budget: fixed tactics and lower "
                           "bounds already reach the largest budget allowed")
    measure = _cac_gap if target_cac is not None else _customers_gap
    budget = _solve_budget(curves, measure, target, smallest, largest, low, high,
                           target_cac is not None)
    allocation = _allocation(curves, budget, optimise(curves, budget, low, high), low, high,
                             is_fixed, level)
    what = (f"program CAC {target:,.0f}" if target_cac is not None
            else f"{target:,.1f} new customers a month")
    allocation.notes.insert(0, f"budget {budget:,.0f} a month reaches {what} "
                               "(optimal allocation at every budget)")
    return allocation


def _cac_gap(curves, budget, low, high, target) -> float:
    return budget / _customers(curves, optimise(curves, budget, low, high)) - target


def _customers_gap(curves, budget, low, high, target) -> float:
    return _customers(curves, optimise(curves, budget, low, high)) - target


def _solve_budget(curves, gap, target, smallest, largest, low, high, is_cac) -> float:
    """The budget where ``gap`` crosses zero: for a CAC target the *last* crossing from at or
    below the target to above it (the largest budget keeping the target), for a customers
    target the first crossing. Budgets are scanned on a log grid first, so a CAC that falls
    before it rises is handled; brentq then solves inside the bracketing grid step.
    """
    from scipy.optimize import brentq

    budgets = np.geomspace(smallest, largest, BUDGET_GRID_POINTS)
    gaps = np.array([gap(curves, b, low, high, target) for b in budgets])
    label = "program CAC" if is_cac else "expected new customers a month"
    if (gaps > 0).all():
        if is_cac:
            where, lowest = _lowest_cac(curves, budgets, gaps + target, low, high)
            raise SalesnbError(
                f"target {label} of {target:,.1f} is impossible: the lowest program CAC any "
                f"budget between {smallest:,.0f} and {largest:,.0f} a month reaches is "
                f"{lowest:,.1f} (at a budget of {where:,.0f}); no allocation wins customers "
                "that cheaply")
        raise SalesnbError(
            f"target {label} of {target:,.1f} is impossible: even the smallest budget "
            f"considered ({smallest:,.0f} a month) gives {gaps[0] + target:,.1f}")
    if gaps[-1] < 0:
        raise SalesnbError(
            f"target {label} of {target:,.1f} is out of reach within the observed spend range: "
            f"the largest budget allowed ({largest:,.0f} a month) gives {gaps[-1] + target:,.1f}."
            " Beyond it the curves would be extrapolated; raise max_extrapolation or the bounds "
            "only if you accept that")
    if gaps[-1] == 0 and is_cac:
        return float(largest)
    steps = np.flatnonzero((gaps[:-1] <= 0) & (gaps[1:] > 0) if is_cac
                           else (gaps[:-1] < 0) & (gaps[1:] >= 0))
    if not len(steps):  # customers target reached exactly at the smallest budget
        return float(budgets[0])
    i = steps[-1] if is_cac else steps[0]
    return float(brentq(lambda b: gap(curves, b, low, high, target), budgets[i],
                        budgets[i + 1], xtol=1e-6 * largest, rtol=1e-10))


def _lowest_cac(curves, budgets, cac, low, high) -> tuple[float, float]:
    """(budget, program CAC) at the lowest CAC, refined between the grid neighbours."""
    from scipy.optimize import minimize_scalar

    i = int(np.argmin(cac))
    left, right = budgets[max(i - 1, 0)], budgets[min(i + 1, len(budgets) - 1)]
    found = minimize_scalar(lambda b: b / _customers(curves, optimise(curves, b, low, high)),
                            bounds=(left, right), method="bounded",
                            options={"xatol": 1e-6 * right})
    if found.success and found.fun < cac[i]:
        return float(found.x), float(found.fun)
    return float(budgets[i]), float(cac[i])
