"""Axes a leader reads at a glance: figure size, money ticks, multiplier ticks (for
:mod:`salesnb.report.plots`).

- :func:`axes_for`: the given Axes, or a new laptop-width figure with constrained layout;
  :func:`set_title`, :func:`set_xlabel` wrap long text so it stays on the figure.
- :func:`money_ticks`, :func:`money_axis`: ``1500`` -> ``"1.5k USD"``, ``2e6`` -> ``"2M USD"``
  on an axis, never matplotlib's ``1e6`` offset text.
- :func:`multiplier_axis`: a log axis of CAC multipliers ticked ``x0.5, x0.8, x1, x1.25, x2``
  from a fixed ladder, no minor labels.
- :func:`variants`, :func:`legend_outside`: tell apart names sharing a colour; a legend
  ordered like the lines' right ends.
- :func:`baseline_label`: what ``x1`` means for a set of model terms (``"x1 = consultative,
  hybrid leaders"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import FuncFormatter, Locator, NullFormatter, NullLocator

from salesnb.report.labels import colour_for, value_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

FIGSIZE = (8.0, 4.5)
"""Laptop width: a chart fills a notebook cell without scrolling."""

LADDERS = (
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0,
     5.0, 6.0, 8.0, 10.0, 20.0, 50.0, 100.0),
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.33, 0.5, 0.67, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0,
     100.0),
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0),
)
"""Multipliers a reader knows (x0.67 = a third cheaper, x1.5 = half as much again), finest
first: an axis takes the finest ladder that gives no more than :data:`MAX_TICKS` ticks.
"""
MAX_TICKS = 8
MONEY_TICKS = 6
"""About this many ticks on a money axis, so ``"12.5k USD"`` labels never touch."""
LINE_STYLES = ("-", "--", ":", "-.")
HATCHES = ("", "//", "..", "xx")
"""Told apart by line style or hatch: names of one chart that share a colour (see
:func:`variants`).
"""

LEADER_TERMS = ("decision_style", "involvement")
"""Categoricals whose reference level is a kind of leader ("consultative, hybrid leaders")."""


def axes_for(ax: Axes | None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """``ax``, or the Axes of a new figure of ``figsize`` whose layout keeps every label in
    view (constrained layout).
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained").add_subplot()


def set_title(ax: Axes, text: str, width: int = 60) -> None:
    """Title ``ax`` with ``text`` wrapped at ``width`` characters, so a long finding never runs
    off a laptop-width figure (constrained layout makes room for its height, not its width).
    """
    import textwrap

    ax.set_title("\n".join(textwrap.fill(line, width) for line in text.splitlines()))


def set_xlabel(ax: Axes, text: str, width: int = 65) -> None:
    """Label the x axis of ``ax`` with ``text`` wrapped at ``width`` characters."""
    import textwrap

    ax.set_xlabel("\n".join(textwrap.fill(line, width) for line in text.splitlines()))


def money_ticks(value: float, currency: str = "", signed: bool = False) -> str:
    """An amount of money as a tick or a label shows it: ``1500`` -> ``"1.5k USD"``,
    ``2_000_000`` -> ``"2M USD"``, ``250`` -> ``"250 USD"`` (three significant digits).

    Parameters
    ----------
    value
        The amount.
    currency
        A code (``"USD"``, written after) or a one-character symbol (``"$"``, written before);
        ``""`` for none.
    signed
        Write ``+`` before a positive amount (changes: ``"+496k USD"``).

    Returns
    -------
    str
    """
    if not np.isfinite(value):
        return "n/a"
    rounded = float(f"{value:.3g}")
    size = abs(rounded)
    number = f"{rounded:g}" if size < 1000 else ""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            number = f"{rounded / limit:.3g}{suffix}"
            break
    if rounded == 0:
        number = "0"
    elif signed and rounded > 0:
        number = f"+{number}"
    if not currency:
        return number
    if len(currency) == 1 and not currency.isalpha():
        sign, digits = (number[0], number[1:]) if number[0] in "+-" else ("", number)
        return f"{sign}{currency}{digits}"
    return f"{number} {currency}"


def money_axis(axis: Axis, currency: str = "") -> None:
    """Tick ``axis`` (``ax.xaxis``, ``ax.yaxis``) with :func:`money_ticks`: no offset text,
    no scientific notation.
    """
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(MONEY_TICKS, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda value, _: money_ticks(value, currency)))


def variants(names: list) -> list[int]:
    """Per name, its place (alphabetical) among the distinct ``names`` sharing its colour
    (:func:`~salesnb.report.labels.colour_for`): 0 for most names, 1 for the second name of a
    shared colour... An index into :data:`LINE_STYLES` or :data:`HATCHES`, so two tactics of
    one colour stay apart in one chart, in whatever order the chart draws them, while each
    keeps its colour on every page.
    """
    texts = [str(name) for name in names]
    shared: dict[str, list[str]] = {}
    for text in sorted(set(texts)):
        shared.setdefault(colour_for(text), []).append(text)
    return [shared[colour_for(text)].index(text) for text in texts]


def legend_outside(ax: Axes, title: str | None = None) -> None:
    """A legend right of the plot, its lines ordered like their right ends (top line first)."""
    lines = [line for line in ax.get_lines() if not str(line.get_label()).startswith("_")]
    lines.sort(key=lambda line: -float(np.asarray(line.get_ydata(), dtype=float)[-1]))
    ax.legend(handles=lines, labels=[str(line.get_label()) for line in lines], title=title,
              fontsize="small",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


class MultiplierLocator(Locator):
    """Ticks of a log axis of multipliers: the values of the finest of :data:`LADDERS` that
    gives no more than :data:`MAX_TICKS` within the view; ``x1`` whenever it is in view.
    """

    def __call__(self) -> list[float]:
        """The ticks of the axis's current view."""
        low, high = self.axis.get_view_interval() if self.axis is not None else (0.5, 2.0)
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        """The ladder values between ``vmin`` and ``vmax``."""
        low, high = sorted((vmin, vmax))
        for ladder in LADDERS:
            ticks = [v for v in ladder if low <= v <= high]
            if len(ticks) <= MAX_TICKS:
                break
        while len(ticks) > MAX_TICKS:  # beyond x0.01..x100: keep x1, thin the rest
            ticks = [v for i, v in enumerate(ticks) if v == 1.0 or i % 2 == 0]
        return ticks


def multiplier_axis(ax: Axes) -> None:
    """Make the x axis of ``ax`` a log axis of multipliers ticked ``x0.5, x0.8, x1, x1.25,
    x2``.
    """
    ax.set_xscale("log")  # first: setting the scale resets the ticks
    axis = ax.xaxis
    axis.set_major_locator(MultiplierLocator())
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"x{value:g}"))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def baseline_label(terms: list[str], references: dict[str, str] | None) -> str:
    """What ``x1`` is for the categorical ``terms`` of an effects table:
    ``"x1 = consultative, hybrid leaders"``, ``"x1 = referrals; East region"``, or
    ``"x1 = no change"`` when no reference level is known.
    """
    references = references or {}
    names = {term.partition("=")[0] for term in terms if ":" not in term and "=" in term}
    leaders = [value_label(references[n]) for n in LEADER_TERMS
               if n in names and n in references]
    groups = [value_label(references[n]) for n in ("tactic",) if n in names and n in references]
    if leaders:
        groups.append(f"{', '.join(leaders)} leaders")
    groups += [f"{value_label(references[n])} {n.replace('_', ' ')}" for n in sorted(names)
               if n in references and n not in (*LEADER_TERMS, "tactic")]
    return f"x1 = {'; '.join(groups) if groups else 'no change'}"
