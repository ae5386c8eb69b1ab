"""Plots for the notebooks and reports (matplotlib/seaborn), readable in five seconds.

Like seaborn: the data or fitted object first, keywords after, ``ax=`` accepted, the Axes
returned; nothing is shown or saved here. Every chart takes ``title=`` (a finding, such as
"Referrals win customers cheapest"; a plain description by default), labels in words
(:mod:`salesnb.report.labels`), money ticks such as ``"1.5k USD"`` (:func:`money_ticks`) and
one colour per tactic or style on every page (:func:`salesnb.report.labels.colour_for`).

Metrics and models:

- :func:`cac_bars`: CAC per group with its bootstrap interval (from ``metrics.cac_intervals``).
- :func:`cac_trend`: CAC per period, one line per group (from ``metrics.cac(..., period=)``).
- :func:`effects_forest`: CAC multipliers with intervals on a log scale (``models`` effects).
- :func:`cac_heatmap`: estimated CAC of every tactic under every decision style.
- :func:`group_bars`: one measure per group (attrition rate, turnover cost per customer...).

Curves and budget (:mod:`salesnb.report.plot_curves`):

- :func:`response_curves`: per tactic, observed customers per team-month (means of spend bins)
  against per-team monthly spend, the fitted curve of the typical team and its bootstrap band.
- :func:`marginal_cac`: marginal CAC against organisation monthly spend, with its band and
  a marker at current spend.
- :func:`allocation_bars`: current and suggested monthly spend per tactic (``*`` marks spend
  outside the observed range).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesnb.report.labels import colour_for, colours_for, column_label, term_label, value_label
from salesnb.report.plot_axes import (
    HATCHES,
    axes_for,
    baseline_label,
    money_axis,
    money_ticks,
    multiplier_axis,
    set_title,
    set_xlabel,
    variants,
)
from salesnb.report.plot_curves import allocation_bars, marginal_cac, response_curves

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["allocation_bars", "cac_bars", "cac_heatmap", "cac_trend", "effects_forest",
           "group_bars", "marginal_cac", "money_ticks", "response_curves"]

NEUTRAL = "#4d4d4d"
"""Points and lines that stand for no tactic or style (leader traits, regions)."""
COUNTS = ("new_customers", "deals", "won_deals", "exits", "customers_before",
          "customers_after")
"""Measures that are counts, not money: their ticks get k/M but no currency."""
DASHES: tuple[object, ...] = ("", (4, 2), (1, 2), (4, 2, 1, 2))
"""seaborn dashes of :data:`~salesnb.report.plot_axes.LINE_STYLES`, for lines sharing a colour."""


def _with_currency(text: str, currency: str) -> str:
    return f"{text} ({currency})" if currency else text


def cac_bars(intervals: pd.DataFrame, by: str = "tactic", measure: str = "program_cac",
             ax: Axes | None = None, currency: str = "", title: str | None = None) -> Axes:
    """CAC per group as horizontal bars, cheapest on top, with the interval as error bars and
    the value written at the end of each bar.

    ``intervals`` comes from :func:`salesnb.metrics.cac_intervals` (columns ``measure``,
    ``measure_low``, ``measure_high``). Each bar has the colour of its group
    (:func:`~salesnb.report.labels.colour_for`).
    """
    ax = axes_for(ax)
    frame = intervals.dropna(subset=[measure]).sort_values(measure, ascending=False)
    names = frame[by].astype(str)
    labels = [value_label(name) for name in names]
    low = frame[f"{measure}_low"].fillna(frame[measure])
    high = frame[f"{measure}_high"].fillna(frame[measure])
    errors = np.vstack([frame[measure] - low, high - frame[measure]])
    ax.barh(labels, frame[measure], xerr=errors, color=colours_for(list(names)), capsize=3,
            error_kw={"ecolor": NEUTRAL, "linewidth": 1},
            hatch=[HATCHES[v % len(HATCHES)] for v in variants(list(names))],
            edgecolor="white")
    for position, (value, end) in enumerate(zip(frame[measure], high, strict=True)):
        ax.text(end, position, "  " + money_ticks(value, currency), va="center",
                fontsize="small")
    if len(frame):
        ax.set_xlim(0, float(high.max()) * 1.22)  # room for the written values
    money_axis(ax.xaxis, currency)
    set_xlabel(ax, _with_currency(column_label(measure), currency))
    set_title(ax, title or f"{column_label(measure)} by {column_label(by).lower()} "
                          "(lines: 95% range)")
    return ax


def cac_trend(frame: pd.DataFrame, by: str | None = None, measure: str = "loaded_cac",
              ax: Axes | None = None, currency: str = "", title: str | None = None) -> Axes:
    """CAC (or any measure) per period, one line per ``by`` group in the group's colour;
    undefined periods leave gaps.
    """
    import seaborn as sns

    ax = axes_for(ax)
    money = currency if measure not in COUNTS else ""
    if by is None:
        sns.lineplot(frame, x="period", y=measure, marker="o", color=NEUTRAL, ax=ax)
    else:
        groups = list(dict.fromkeys(frame[by].dropna()))
        dashes = [DASHES[v % len(DASHES)] for v in variants(groups)]
        sns.lineplot(frame, x="period", y=measure, hue=by, marker="o", ax=ax,
                     palette={g: colour_for(g) for g in groups}, hue_order=groups,
                     style=by, style_order=groups, dashes=dict(zip(groups, dashes, strict=True)),
                     markers=dict.fromkeys(groups, "o"))
        handles, names = ax.get_legend_handles_labels()
        last = frame.dropna(subset=[measure]).sort_values("period").groupby(by)[measure].last()
        order = sorted(range(len(names)), key=lambda i: -float(last.get(names[i], np.nan)))
        ax.legend([handles[i] for i in order], [value_label(names[i]) for i in order],
                  title=column_label(by), fontsize="small", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False)  # top line first
    ax.set_ylim(bottom=0)  # from zero: a 5% wiggle must not look like a doubling
    money_axis(ax.yaxis, money)
    ax.set_ylabel(_with_currency(column_label(measure), money))
    set_xlabel(ax, "")
    set_title(ax, title or f"{column_label(measure)} over time")
    return ax


def effects_forest(effects: pd.DataFrame, ax: Axes | None = None,
                   terms: list[str] | None = None, references: dict[str, str] | None = None,
                   title: str | None = None) -> Axes:
    """CAC multipliers (points) with 95% intervals (lines) on a log axis ticked ``x0.5, x0.8,
    x1, x1.25, x2``; the dashed line at ``x1`` is the baseline, named from ``references``.

    Parameters
    ----------
    effects
        A tidy effects table (term, estimate, ci_low, ci_high), e.g. ``suite.effects``.
    terms
        The terms to draw, in the table's order; default all. Unbounded intervals are left out.
    references
        The reference level of each categorical (``suite.references``): the label of the
        line at ``x1`` ("x1 = consultative, hybrid leaders"; "x1 = no change" when unknown).
    title
        The finding the chart shows; a plain description by default.

    Returns
    -------
    Axes
        One interval line and one point per term; points of decision styles in the style's
        colour.
    """
    frame = effects if terms is None else effects[effects["term"].isin(terms)]
    frame = frame.iloc[::-1]
    finite = frame[np.isfinite(frame["ci_high"]) & (frame["ci_low"] > 0)]
    ax = axes_for(ax, figsize=(8.0, max(4.5, 1.6 + 0.3 * len(finite))))
    positions = np.arange(len(finite))
    colours = [_term_colour(term) for term in finite["term"]]
    ax.hlines(positions, finite["ci_low"], finite["ci_high"], colors=colours, linewidth=2,
              alpha=0.5)
    ax.scatter(finite["estimate"], positions, c=colours, s=36, zorder=3)
    baseline = baseline_label(list(finite["term"]), references)
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--", label=baseline)
    ax.set_yticks(positions, [term_label(t, references, versus=False) for t in finite["term"]])
    multiplier_axis(ax)
    low, high = 0.8, 1.25
    if len(finite):
        low = min(float(finite["ci_low"].min()), low) / 1.1
        high = max(float(finite["ci_high"].max()), high) * 1.1
    ax.set_xlim(low, high)
    ax.set_ylim(-0.7, len(finite) + 0.3)  # an empty band on top for the baseline's name
    right = -np.log(low) / np.log(high / low) < 0.5  # x1 in the left half: write rightwards
    ax.annotate(baseline, xy=(1.0, 1.0), xycoords=("data", "axes fraction"),
                xytext=(4 if right else -4, -4), textcoords="offset points",
                ha="left" if right else "right", va="top", fontsize="small", color=NEUTRAL)
    set_xlabel(ax, "cost per customer: x0.8 = 20% cheaper, x1.25 = 25% dearer\n"
                   "(lines: 95% range)")
    set_title(ax, title or "What makes a new customer cheaper or dearer")
    return ax


def _term_colour(term: str) -> str:
    """A decision style's colour for its terms (and tactic x style terms), a tactic's for
    tactic terms, neutral for the rest.
    """
    parts = dict(part.partition("=")[::2] for part in term.split(":"))
    if parts.get("decision_style"):
        return colour_for(parts["decision_style"])
    if parts.get("tactic"):
        return colour_for(parts["tactic"])
    return NEUTRAL


def cac_heatmap(grid: pd.DataFrame, ax: Axes | None = None, involvement: str | None = "hybrid",
                currency: str = "", title: str | None = None) -> Axes:
    """Estimated CAC per tactic (rows, cheapest on top) and decision style (columns) at one
    involvement level (``grid`` from :func:`salesnb.models.cac_grid`); each cell says its
    cost (``"2.5k USD"``).
    """
    import seaborn as sns

    ax = axes_for(ax)
    if "involvement" not in grid:
        involvement = None  # the model had no involvement term
    elif involvement is not None and involvement not in set(grid["involvement"]):
        involvement = str(grid["involvement"].value_counts().idxmax())  # the level it has
    frame = grid if involvement is None else grid[grid["involvement"] == involvement]
    table = frame.pivot_table(index="tactic", columns="decision_style", values="cac")
    table = table.loc[table.mean(axis=1).sort_values().index]
    styles = list(table.columns)
    text = table.map(lambda v: money_ticks(v, currency) if pd.notna(v) else "")
    table.index = [value_label(t) for t in table.index]
    table.columns = [value_label(s) for s in styles]
    sns.heatmap(table, annot=text.to_numpy(), fmt="", cmap="RdYlGn_r", cbar=False, ax=ax,
                linewidths=1, linecolor="white")
    for label, style in zip(ax.get_xticklabels(), styles, strict=True):
        label.set_color(colour_for(style))
    ax.tick_params(axis="y", rotation=0)
    set_xlabel(ax, f"{column_label('decision_style')} of the leader")
    ax.set_ylabel("")
    suffix = f", {value_label(involvement)} leaders" if involvement else ""
    set_title(ax, title or f"Estimated cost per new customer{suffix}")
    return ax


def group_bars(frame: pd.DataFrame, by: str, measure: str, ax: Axes | None = None,
               label: str | None = None, currency: str | None = None,
               title: str | None = None) -> Axes:
    """One bar per group for any measure (e.g. attrition rate, turnover cost per customer),
    each in its group's colour; ``currency`` (even ``""``) ticks the axis as money.
    """
    ax = axes_for(ax)
    frame = frame.dropna(subset=[measure])
    names = list(frame[by].astype(str))
    ax.barh([value_label(n) for n in names], frame[measure], color=colours_for(names),
            hatch=[HATCHES[v % len(HATCHES)] for v in variants(names)], edgecolor="white")
    if currency is not None:
        money_axis(ax.xaxis, currency)
    text = label or column_label(measure)
    set_xlabel(ax, text if currency is None else _with_currency(text, currency))
    set_title(ax, title or f"{text[:1].upper()}{text[1:]} by {column_label(by).lower()}")
    return ax
