"""Plots for the notebooks and reports (matplotlib/seaborn).

Like seaborn: the data or fitted object first, keywords after, ``ax=`` accepted, the Axes
returned; nothing is shown or saved here.

Metrics and models:

- :func:`cac_bars`: CAC per group with its bootstrap interval (from ``metrics.cac_intervals``).
- :func:`cac_trend`: CAC per period, one line per group (from ``metrics.cac(..., period=)``).
- :func:`effects_forest`: CAC multipliers with intervals on a log scale (``models`` effects).
- :func:`cac_heatmap`: estimated CAC of every tactic under every decision style.
- :func:`group_bars`: one measure per group (attrition rate, turnover cost per customer...).

Curves and budget:

- :func:`response_curves`: per tactic, observed customers per team-month (means of spend bins)
  against per-team monthly spend, the fitted curve of the typical team and its bootstrap band.
- :func:`marginal_cac`: marginal CAC against organisation monthly spend, with its band and
  a marker at current spend.
- :func:`allocation_bars`: current and optimised monthly spend per tactic (``*`` marks spend
  outside the observed range).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesnb.curves.formulas import percentile_interval, response, safe_ratio
from salesnb.curves.response import ResponseCurves

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from salesnb.curves.budget import Allocation

GRID_POINTS = 100


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _colours(n: int) -> list:
    import seaborn as sns

    return sns.color_palette(n_colors=n)


def response_curves(curves: ResponseCurves, ax: Axes | None = None,
                    tactics: list | None = None, bins: int = 8, level: float = 0.95,
                    per: str = "team per month") -> Axes:
    """Observed points, fitted curve and bootstrap band per tactic (per team-month scale).

    Parameters
    ----------
    curves : fitted response curves.
    tactics : tactics (or labels) to draw; default all.
    bins : spend bins (equal counts) whose mean customers are drawn as points.
    per : what one point is, for the axis labels (``"market per week"`` for the curves of
        a weekly marketing-mix model).

    Returns
    -------
    Axes
        One line, one point set and one band per unit drawn.
    """
    ax = _axes(ax)
    units = _units(curves, tactics)
    for colour, unit in zip(_colours(len(units)), units, strict=True):
        label = curves.labels[unit]
        points = _binned(curves.cells[curves.cells["unit"] == unit], bins)
        ax.scatter(points["effective_spend"], points["new_customers"], color=colour, s=18,
                   alpha=0.8)
        x = np.geomspace(points["effective_spend"].min(), points["effective_spend"].max(),
                         GRID_POINTS)
        values = response(curves.form, curves.all_parameters()[:, [unit]], x[:, None, None],
                          curves.reference_spend)[:, :, 0]  # (grid, 1 + draws)
        low, high = percentile_interval(values[:, 1:].T, level)
        ax.plot(x, values[:, 0], color=colour, label=label)
        ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel(f"spend per {per}")
    ax.set_ylabel(f"new customers per {per}")
    ax.set_title(f"Response curves ({curves.form}; points: means of spend bins)")
    ax.legend(fontsize="small")
    return ax


def _binned(cells: pd.DataFrame, bins: int) -> pd.DataFrame:
    groups = pd.qcut(cells["effective_spend"], q=min(bins, len(cells)), duplicates="drop")
    return cells.groupby(groups, observed=True)[["effective_spend", "new_customers"]].mean()


def marginal_cac(curves: ResponseCurves, ax: Axes | None = None, tactics: list | None = None,
                 level: float = 0.95) -> Axes:
    """Marginal CAC against organisation monthly spend, per tactic, with current spend marked.

    The x range of each tactic is its observed per-team range times the teams running it.

    Returns
    -------
    Axes
        One line, one band and one current-spend marker per unit drawn.
    """
    ax = _axes(ax)
    units = _units(curves, tactics)
    for colour, unit in zip(_colours(len(units)), units, strict=True):
        row = curves.units.iloc[unit]
        x = np.geomspace(row["observed_low"], row["observed_high"], GRID_POINTS)
        x = x * row["teams_per_month"]
        marginal = safe_ratio(1.0, np.stack([curves.slope_matrix(np.array([v]), np.array([unit]))
                                             [:, 0] for v in x]))  # (grid, 1 + draws)
        low, high = percentile_interval(marginal[:, 1:].T, level)
        ax.plot(x, marginal[:, 0], color=colour, label=curves.labels[unit])
        ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
        current = row["current_spend"]
        now = safe_ratio(1.0, curves.slope_matrix(np.array([current]), np.array([unit]))[0, 0])
        ax.scatter([current], [now], color=colour, edgecolor="black", zorder=3, s=30)
    ax.set_xlabel("monthly spend on the tactic (whole organisation)")
    ax.set_ylabel("marginal CAC (cost of the next new customer)")
    ax.set_title("Marginal CAC (dots: current spend)")
    ax.legend(fontsize="small")
    return ax


def allocation_bars(allocation: Allocation, ax: Axes | None = None) -> Axes:
    """Current and optimised monthly spend per tactic as grouped horizontal bars.

    Returns
    -------
    Axes
        Two bars per unit (current, optimised).
    """
    import seaborn as sns

    ax = _axes(ax)
    table = allocation.table
    labels = [f"{label} *" if flagged else label
              for label, flagged in zip(allocation.labels, table["extrapolated"], strict=True)]
    long = pd.DataFrame({
        "tactic": labels * 2,
        "spend": np.concatenate([table["current_spend"], table["new_spend"]]),
        "allocation": ["current"] * len(table) + ["optimised"] * len(table),
    })
    sns.barplot(long, x="spend", y="tactic", hue="allocation", orient="h", ax=ax)
    ax.set_xlabel("monthly spend (whole organisation)")
    ax.set_ylabel("")
    ax.set_title("Budget allocation (* outside the observed spend range)")
    return ax


def _units(curves: ResponseCurves, tactics: list | None) -> list[int]:
    if tactics is None:
        return list(range(len(curves.units)))
    return sorted({int(u) for tactic in tactics for u in curves.select(tactic)})


def cac_bars(intervals: pd.DataFrame, by: str = "tactic", measure: str = "program_cac",
             ax: Axes | None = None, currency: str = "") -> Axes:
    """CAC per group as horizontal bars, cheapest first, with the interval as error bars.

    ``intervals`` comes from :func:`salesnb.metrics.cac_intervals` (columns ``measure``,
    ``measure_low``, ``measure_high``).
    """
    ax = _axes(ax)
    frame = intervals.dropna(subset=[measure]).sort_values(measure, ascending=False)
    labels = frame[by].astype(str).str.replace("_", " ")
    errors = np.vstack([frame[measure] - frame[f"{measure}_low"],
                        frame[f"{measure}_high"] - frame[measure]])
    ax.barh(labels, frame[measure], xerr=errors, color=_colours(1)[0], capsize=3)
    ax.set_xlabel(f"{_measure_label(measure)} per new customer {currency}".strip())
    ax.set_title(f"{_measure_label(measure)} by {by.replace('_', ' ')} (bars: 95% interval)")
    return ax


def cac_trend(frame: pd.DataFrame, by: str | None = None, measure: str = "loaded_cac",
              ax: Axes | None = None, currency: str = "") -> Axes:
    """CAC per period (one line per ``by`` group); undefined periods leave gaps."""
    import seaborn as sns

    ax = _axes(ax)
    sns.lineplot(frame, x="period", y=measure, hue=by, marker="o", ax=ax)
    ax.set_ylabel(f"{_measure_label(measure)} {currency}".strip())
    ax.set_xlabel("")
    ax.set_title(f"{_measure_label(measure)} over time")
    return ax


def effects_forest(effects: pd.DataFrame, ax: Axes | None = None,
                   terms: list[str] | None = None) -> Axes:
    """CAC multipliers (points) with 95% intervals (lines) on a log scale; 1 = no difference.

    ``effects`` is a tidy effects table (term, estimate, ci_low, ci_high), e.g. from
    :func:`salesnb.models.findings`.
    """
    ax = _axes(ax)
    frame = effects if terms is None else effects[effects["term"].isin(terms)]
    frame = frame.iloc[::-1]
    finite = frame[np.isfinite(frame["ci_high"]) & (frame["ci_low"] > 0)]
    positions = np.arange(len(finite))
    ax.hlines(positions, finite["ci_low"], finite["ci_high"], color="grey")
    ax.plot(finite["estimate"], positions, "o", color=_colours(1)[0])
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(positions, [t.replace("_", " ").replace(":", " x ") for t in finite["term"]])
    ax.set_xscale("log")
    ax.set_xlabel("CAC multiplier (x0.8 = 20% cheaper per customer)")
    ax.set_title("What changes cost per customer (95% intervals)")
    return ax


def cac_heatmap(grid: pd.DataFrame, ax: Axes | None = None, involvement: str | None = "hybrid",
                currency: str = "") -> Axes:
    """Estimated CAC per tactic (rows) and decision style (columns) at one involvement level
    (``grid`` from :func:`salesnb.models.cac_grid`).
    """
    import seaborn as sns

    ax = _axes(ax)
    if "involvement" not in grid:
        involvement = None  # the model had no involvement term
    elif involvement is not None and involvement not in set(grid["involvement"]):
        involvement = str(grid["involvement"].value_counts().idxmax())  # the level it has
    frame = grid if involvement is None else grid[grid["involvement"] == involvement]
    table = frame.pivot_table(index="tactic", columns="decision_style", values="cac")
    table = table.loc[table.mean(axis=1).sort_values().index]
    sns.heatmap(table, annot=True, fmt=",.0f", cmap="RdYlGn_r", cbar=False, ax=ax)
    ax.set_xlabel("leader decision style")
    ax.set_ylabel("")
    suffix = f", {involvement.replace('_', ' ')} leaders" if involvement else ""
    ax.set_title(f"Estimated CAC {currency}{suffix}".replace("  ", " "))
    return ax


def group_bars(frame: pd.DataFrame, by: str, measure: str, ax: Axes | None = None,
               label: str | None = None) -> Axes:
    """One bar per group for any measure (e.g. attrition rate, turnover cost per customer)."""
    ax = _axes(ax)
    frame = frame.dropna(subset=[measure])
    ax.barh(frame[by].astype(str).str.replace("_", " "), frame[measure],
            color=_colours(1)[0])
    ax.set_xlabel(label or measure.replace("_", " "))
    ax.set_title(f"{(label or measure.replace('_', ' ')).capitalize()} by "
                 f"{by.replace('_', ' ')}")
    return ax


def _measure_label(measure: str) -> str:
    """``program_cac`` -> ``Program CAC``."""
    import re

    text = re.sub(r"\bcac\b", "CAC", measure.replace("_", " "))
    return text[:1].upper() + text[1:]
