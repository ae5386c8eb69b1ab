"""Charts of response curves and budgets (re-exported by :mod:`salesnb.report.plots`).

- :func:`response_curves`: per tactic, observed customers per team-month (means of spend bins)
  against per-team monthly spend, the fitted curve of the typical team and its bootstrap band.
- :func:`marginal_cac`: marginal CAC against organisation monthly spend, with its band and
  a marker at current spend.
- :func:`allocation_bars`: monthly spend per tactic now and suggested (``*`` marks spend
  outside the observed range).

A tactic has its own colour (:func:`salesnb.report.labels.colour_for`); when the curves were
fitted per group (``by=``), the groups of one tactic share its colour and differ in line style.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesnb.curves.formulas import percentile_interval, response, safe_ratio
from salesnb.curves.response import ResponseCurves
from salesnb.report.labels import colour_for, value_label
from salesnb.report.plot_axes import (
    HATCHES,
    LINE_STYLES,
    axes_for,
    legend_outside,
    money_axis,
    money_ticks,
    set_title,
    set_xlabel,
    variants,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from salesnb.curves.budget import Allocation

__all__ = ["allocation_bars", "marginal_cac", "response_curves"]

GRID_POINTS = 100
NOW_ALPHA = 0.35
"""Bars of spend now are a tint of the tactic's colour; suggested spend is the full colour."""


def _styles(curves: ResponseCurves, units: list[int]) -> list[tuple[str, str, str]]:
    """(colour, line style, label) per unit: the tactic's colour, one line style per group
    of a tactic and per tactic sharing a colour with another.
    """
    tactics = [str(curves.units["tactic"].iloc[unit]) for unit in units]
    seen: dict[str, int] = {}
    found = []
    for unit, tactic, variant in zip(units, tactics, variants(tactics), strict=True):
        count = seen[tactic] = seen.get(tactic, -1) + 1
        found.append((colour_for(tactic), LINE_STYLES[(variant + count) % len(LINE_STYLES)],
                      value_label(curves.labels[unit])))
    return found


def response_curves(curves: ResponseCurves, ax: Axes | None = None,
                    tactics: list | None = None, bins: int = 8, level: float = 0.95,
                    per: str = "team per month", currency: str = "",
                    title: str | None = None) -> Axes:
    """Observed points, fitted curve and bootstrap band per tactic (per team-month scale).

    Parameters
    ----------
    curves : fitted response curves.
    tactics : tactics (or labels) to draw; default all.
    bins : spend bins (equal counts) whose mean customers are drawn as points.
    per : what one point is, for the axis labels (``"market per week"`` for the curves of
        a weekly marketing-mix model).
    currency : the money of the spend axis (``"20k USD"`` ticks).
    title : the finding the chart shows; a plain description by default.

    Returns
    -------
    Axes
        One line, one point set and one band per unit drawn.
    """
    ax = axes_for(ax)
    units = _units(curves, tactics)
    for (colour, style, label), unit in zip(_styles(curves, units), units, strict=True):
        points = _binned(curves.cells[curves.cells["unit"] == unit], bins)
        ax.scatter(points["effective_spend"], points["new_customers"], color=colour, s=18,
                   alpha=0.8)
        x = np.geomspace(points["effective_spend"].min(), points["effective_spend"].max(),
                         GRID_POINTS)
        values = response(curves.form, curves.all_parameters()[:, [unit]], x[:, None, None],
                          curves.reference_spend)[:, :, 0]  # (grid, 1 + draws)
        low, high = percentile_interval(values[:, 1:].T, level)
        ax.plot(x, values[:, 0], color=colour, linestyle=style, label=label)
        ax.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0)
    money_axis(ax.xaxis, currency)
    set_xlabel(ax, f"spend per {per}" + (f" ({currency})" if currency else ""))
    ax.set_ylabel(f"new customers per {per}")
    set_title(ax, title or "New customers for each level of spend "
                          "(dots: averages of what teams saw)")
    legend_outside(ax)
    return ax


def _binned(cells: pd.DataFrame, bins: int) -> pd.DataFrame:
    groups = pd.qcut(cells["effective_spend"], q=min(bins, len(cells)), duplicates="drop")
    return cells.groupby(groups, observed=True)[["effective_spend", "new_customers"]].mean()


def marginal_cac(curves: ResponseCurves, ax: Axes | None = None, tactics: list | None = None,
                 level: float = 0.95, currency: str = "", scope: str = "whole organisation",
                 title: str | None = None) -> Axes:
    """Marginal CAC against organisation monthly spend, per tactic, with current spend marked.

    The x range of each tactic is its observed per-team range times the teams running it.
    ``scope`` names what the spend covers ("North" for a segment's report).

    Returns
    -------
    Axes
        One line, one band and one current-spend marker per unit drawn.
    """
    ax = axes_for(ax)
    units = _units(curves, tactics)
    for (colour, style, label), unit in zip(_styles(curves, units), units, strict=True):
        row = curves.units.iloc[unit]
        x = np.geomspace(row["observed_low"], row["observed_high"], GRID_POINTS)
        x = x * row["teams_per_month"]
        marginal = safe_ratio(1.0, np.stack([curves.slope_matrix(np.array([v]), np.array([unit]))
                                             [:, 0] for v in x]))  # (grid, 1 + draws)
        low, high = percentile_interval(marginal[:, 1:].T, level)
        ax.plot(x, marginal[:, 0], color=colour, linestyle=style, label=label)
        ax.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0)
        current = row["current_spend"]
        now = safe_ratio(1.0, curves.slope_matrix(np.array([current]), np.array([unit]))[0, 0])
        ax.scatter([current], [now], color=colour, edgecolor="black", zorder=3, s=30)
    money_axis(ax.xaxis, currency)
    money_axis(ax.yaxis, currency)
    set_xlabel(ax, f"monthly spend on the tactic, {scope}" + (f" ({currency})" if currency
                                                             else ""))
    ax.set_ylabel("cost of the next new customer")
    set_title(ax, title or "What the next customer costs at each level of spend "
                          "(dots: spend now)")
    legend_outside(ax)
    return ax


def allocation_bars(allocation: Allocation, ax: Axes | None = None, currency: str = "",
                    scope: str = "whole organisation", title: str | None = None) -> Axes:
    """Monthly spend per tactic now (a tint of the tactic's colour) and suggested (the full
    colour) as paired horizontal bars, largest suggestion on top, the change written beside.

    Parameters
    ----------
    allocation : from :func:`salesnb.curves.budget.reallocate`.
    currency : the money of the spend axis and the written changes.
    scope : what the budget covers, for the axis label ("North" for a segment's report).
    title : the finding the chart shows; a plain description by default.

    Returns
    -------
    Axes
        Two bar containers (now, suggested), one bar each per unit; ``*`` after a label marks
        suggested spend outside the observed range.
    """
    from matplotlib.patches import Patch

    ax = axes_for(ax)
    table = allocation.table.assign(label=allocation.labels).sort_values("new_spend")
    labels = [f"{value_label(label)} *" if flagged else value_label(label)
              for label, flagged in zip(table["label"], table["extrapolated"], strict=True)]
    colours = [colour_for(t) for t in table["tactic"]]
    hatches = [HATCHES[v % len(HATCHES)] for v in variants(list(table["tactic"]))]
    positions = np.arange(len(table))
    height = 0.4
    ax.barh(positions + height / 2, table["current_spend"], height=height, color=colours,
            alpha=NOW_ALPHA, hatch=hatches, edgecolor="white", label="now")
    ax.barh(positions - height / 2, table["new_spend"], height=height, color=colours,
            hatch=hatches, edgecolor="white", label="suggested")
    ends = np.maximum(table["current_spend"], table["new_spend"])
    for position, end, change in zip(positions, ends, table["change"], strict=True):
        ax.text(float(end), float(position), "  " + money_ticks(change, currency, signed=True),
                va="center", fontsize="small")
    if len(table):
        ax.set_xlim(0, float(ends.max()) * 1.22)  # room for the written changes
    ax.set_yticks(positions, labels)
    money_axis(ax.xaxis, currency)
    handles = [Patch(color="grey", alpha=NOW_ALPHA, label="now"),
               Patch(color="grey", label="suggested")]
    if table["extrapolated"].any():
        handles.append(Patch(color="none", label="* beyond the spend seen so far"))
    ax.legend(handles=handles, fontsize="small", loc="lower right")
    set_xlabel(ax, f"monthly spend, {scope}" + (f" ({currency})" if currency else ""))
    ax.set_ylabel("")
    set_title(ax, title or "Monthly budget per tactic: now and suggested")
    return ax


def _units(curves: ResponseCurves, tactics: list | None) -> list[int]:
    if tactics is None:
        return list(range(len(curves.units)))
    return sorted({int(u) for tactic in tactics for u in curves.select(tactic)})
