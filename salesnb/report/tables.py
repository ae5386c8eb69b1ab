"""Tables fit to share: human headers, readable numbers, intervals in one column.

Every table a notebook shows goes through :func:`styled`. It returns a pandas ``Styler``
(so Jupyter shows it and nbconvert renders it as HTML) over the data as it is, only the
display changes:

- headers in words (:func:`salesnb.report.labels.column_label`), category values too
  (:func:`~salesnb.report.labels.value_label`; model terms in a ``term`` column through
  :func:`~salesnb.report.labels.term_label`);
- thousands separators and never scientific notation: ``7812345.6`` shows as
  ``7,812,346``, ``0.00042`` as ``0.00042``, a p-value below 0.001 as ``<0.001``;
- money without decimals (the currency goes into the header), shares as ``12%``;
- a low and a high column shown as one range, ``1,492-1,558``;
- no index, and ``-`` where a value is missing.

In a notebook::

    from salesnb.report import tables
    tables.styled(metrics.cac_intervals(data_set, by=["tactic"]), money=("program_cac",),
                  currency="USD", hide=("n_boot", "seed"),
                  intervals={"program_cac": ("program_cac_low", "program_cac_high")})
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from salesnb.report.labels import COLUMN_LABELS, column_label, term_label, value_label

__all__ = ["MISSING", "Table", "format_number", "format_percent", "format_pvalue", "format_range",
           "styled"]

MISSING = "-"
"""What a missing value shows."""
RANGE_HEADER = "95% range"
"""The header of a combined low-high column."""
STATISTICS_HEADERS = {
    "p": "p-value", "p_permutation": "p-value, labels shuffled",
    "p_family": "p-value, adjusted in the family", "p_holm": "p-value, Holm-adjusted",
    "p_adjusted": "p-value, adjusted", "p_wald": "p-value, Wald", "n": "Observations",
    "df": "Degrees of freedom", "df_denominator": "Degrees of freedom, denominator",
    "se": "Standard error", "t": "t statistic", "alpha": "Overdispersion (alpha)",
    "tau2": "Variance between situations", "q": "Heterogeneity Q",
    "avg_deal_size": "Average deal size", "ltv_to_cac": "Lifetime value to cost",
    "mde_percent": "Smallest detectable effect (%)", "n_teams": "Teams",
    "n_cells": "Team-months", "largest_shift_se": "Largest shift (standard errors)",
    "cac_defined": "Cost per customer defined", "target_marginal_cac": "Target next-customer cost",
}
"""Headers of statistical columns :mod:`salesnb.report.labels` does not name (yet); its
labels win when it has one."""
CATEGORY = re.compile(r"^[A-Za-z0-9_-]+$")
"""A category value (``outbound_calls``): one word, shown by ``value_label``; file names,
sentences and the like are shown as they are."""
CELL = re.compile(r'class="(data row\d+ col(\d+))"')
HEADER = re.compile(r'class="(col_heading level0 col(\d+))"')
"""The class attribute of a data cell and of a column header in Styler's HTML."""
SHORT_TEXT, SHORT_HEADER = 24, 12
"""Cells of columns whose texts are all this short, and headers this short, do not wrap."""
CAPTION_STYLE = "text-align: left; color: #555555; font-size: 0.9em;"
NAME_COLUMNS = ("measure", "metric", "parameter")
"""Columns whose values are names of measures (``expected_customers``): shown as headers are."""
PVALUE = re.compile(r"^(p|pvalue|p_value|p_.+|.+_p)$")
"""Column names read as p-values."""
TABLE_STYLES = [
    {"selector": "", "props": "border-collapse: collapse; margin: 0.4em 0 1em 0; "
                              "font-variant-numeric: tabular-nums;"},
    {"selector": "caption", "props": "caption-side: bottom; text-align: left; "
                                     "color: #555; font-size: 0.9em; padding-top: 0.4em;"},
    {"selector": "th", "props": "text-align: left; vertical-align: bottom; padding: 4px 10px; "
                                "border-bottom: 1px solid #888; font-weight: 600;"},
    {"selector": "td", "props": "padding: 3px 10px; border-bottom: 1px solid #e4e4e4;"},
    {"selector": "tbody tr:nth-child(even)", "props": "background-color: #f7f7f7;"},
]


class Table(Styler):
    """A :class:`pandas.io.formats.style.Styler` whose cells also carry their alignment inline.

    Report pages keep inline ``style`` attributes but drop ``<style>`` blocks, and their CSS
    right-aligns every cell; inline styles keep text left and numbers right (and unbroken).

    Parameters
    ----------
    data
        The table.
    numeric
        For each column, whether it holds numbers (right-aligned; None: none does).
    short, short_headers
        For each column, whether its cells, and its header, are short enough not to wrap.
    """

    def __init__(self, data: pd.DataFrame, numeric: list[bool] | None = None,
                 short: list[bool] | None = None, short_headers: list[bool] | None = None
                 ) -> None:
        super().__init__(data)
        self.numeric, self.short = numeric or [], short or []
        self.short_headers = short_headers or []

    def to_html(self, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`Styler.to_html`, with each cell's alignment written on the cell."""
        text = super().to_html(*args, **kwargs)
        if not isinstance(text, str):
            return text
        text = CELL.sub(lambda m: m.group(0) + self._inline(int(m.group(2)), header=False), text)
        text = HEADER.sub(lambda m: m.group(0) + self._inline(int(m.group(2)), header=True),
                          text)
        return text.replace("<caption>", f'<caption style="{CAPTION_STYLE}">')

    def _inline(self, column: int, header: bool) -> str:
        def flag(flags: list[bool]) -> bool:
            return column < len(flags) and bool(flags[column])

        style = f"text-align: {'right' if flag(self.numeric) else 'left'};"
        if header:
            style += " vertical-align: bottom;"
        if flag(self.short_headers if header else self.short):
            style += " white-space: nowrap;"
        return f' style="{style}"'


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value: object, decimals: int = 2, whole: bool = False) -> str:
    """A number in plain notation, never scientific.

    Parameters
    ----------
    value
        A number (missing values give :data:`MISSING`, booleans "yes" or "no").
    decimals
        Decimals of numbers between 1 and 100; numbers below 1 keep this many significant
        digits (``0.00042``), numbers from 100 on none (``7,812,346``).
    whole
        Show no decimals at all (counts; a column of whole numbers).

    Returns
    -------
    str
    """
    if _missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    number = float(value)  # type: ignore[arg-type]
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    size = abs(number)
    if whole or size >= 100:
        return f"{number:,.0f}"
    if size >= 1 or number == 0:
        return f"{number:,.{decimals}f}"
    if size < 1e-6:
        return f"{'-' if number < 0 else ''}<0.000001"
    digits = max(decimals, decimals - 1 - math.floor(math.log10(size)))
    return f"{number:.{digits}f}"


def format_percent(value: object) -> str:
    """A share as a percentage: ``0.123`` -> ``"12%"``, ``0.004`` -> ``"0.4%"``."""
    if _missing(value):
        return MISSING
    share = float(value)  # type: ignore[arg-type]
    if 0 < abs(share) < 0.01:
        return f"{share:.1%}"
    return f"{share:.0%}"


def format_pvalue(value: object) -> str:
    """A p-value: ``0.0312`` -> ``"0.031"``, anything below 0.001 -> ``"<0.001"``."""
    if _missing(value):
        return MISSING
    p = float(value)  # type: ignore[arg-type]
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_range(low: object, high: object,
                 formatter: Callable[[object], str] = format_number) -> str:
    """Two bounds as one range: ``"1,492-1,558"``, ``"24-29%"``; ``"-0.20 to 0.31"`` when a bound is
    negative; one value when both bounds show the same; ``"above 1,492"`` or ``"below
    1,558"`` when one bound is missing (a bootstrap bound is missing when too many replicates
    win no customer); :data:`MISSING` when both are.
    """
    if _missing(low) and _missing(high):
        return MISSING
    if _missing(high):
        return f"above {formatter(low)}"
    if _missing(low):
        return f"below {formatter(high)}"
    first, last = formatter(low), formatter(high)
    if first == last:
        return first
    if float(low) < 0 or float(high) < 0:  # type: ignore[arg-type]
        return f"{first} to {last}"
    if first.endswith("%") and last.endswith("%"):
        first = first[:-1]
    return f"{first}-{last}"


def _money(value: object) -> str:
    return MISSING if _missing(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _text(value: object) -> str:
    """A category in words, free text as it is; numbers and dates in object columns too."""
    if _missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.number):
        return format_number(value)
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M}"
    text = str(value)
    return value_label(text) if CATEGORY.match(text) else text


def _with_ranges(frame: pd.DataFrame, intervals: Mapping[str, tuple[str, str]],
                 formatters: dict[str, Callable[[object], str]]
                 ) -> tuple[pd.DataFrame, dict[str, str]]:
    """``frame`` with each (low, high) pair replaced by one text column after its estimate
    (in the low column's place when there is no estimate column); also returns, for each new
    column, the estimate it belongs to.
    """
    ranges: dict[str, str] = {}
    for estimate, (low, high) in intervals.items():
        if low not in frame or high not in frame:
            continue
        formatter = formatters.get(estimate, formatters.get(low, format_number))
        text = [format_range(lo, hi, formatter)
                for lo, hi in zip(frame[low], frame[high], strict=True)]
        name = f"{estimate} (range)"
        anchor = estimate if estimate in frame else low
        frame = frame.drop(columns=[c for c in (low, high) if c != anchor])
        position = list(frame.columns).index(anchor) + 1
        frame.insert(position, name, text)
        if anchor != estimate:
            frame = frame.drop(columns=[anchor])
        ranges[name] = estimate
    return frame, ranges


def _formatter(column: str, values: pd.Series, money: set[str], percent: set[str],
               decimals: int, references: dict[str, str],
               named: dict[str, set[str]]) -> Callable[[object], str]:
    """How the cells of one column are shown."""
    if column in money:
        return _money
    if column in percent:
        return format_percent
    if PVALUE.match(str(column)) and pd.api.types.is_numeric_dtype(values):
        return format_pvalue
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        whole = bool(values.dropna().astype(float).apply(float.is_integer).all())
        return partial(format_number, decimals=decimals, whole=whole)
    if column in named["term"]:
        return partial(_named, partial(term_label, references=references))
    if column in named["measure"]:
        return partial(_named, column_label)
    return _text


def _named(namer: Callable[[str], str], value: object) -> str:
    return MISSING if _missing(value) else namer(str(value))


def _escaped(formatter: Callable[[object], str], value: object) -> str:
    return html.escape(formatter(value))


def _header(column: str) -> str:
    if column in COLUMN_LABELS or column not in STATISTICS_HEADERS:
        return column_label(column)
    return STATISTICS_HEADERS[column]


def _visible(frame: pd.DataFrame) -> pd.DataFrame:
    """A named index becomes ordinary columns (the index itself is never shown)."""
    names = [name for name in frame.index.names if name is not None]
    return frame.reset_index() if names else frame.reset_index(drop=True)


def styled(frame: pd.DataFrame, money: Iterable[str] = (), percent: Iterable[str] = (),
           intervals: Mapping[str, tuple[str, str]] | None = None, currency: str = "",
           max_rows: int | None = None, caption: str | None = None,
           references: Mapping[str, str] | None = None, hide: Iterable[str] = (),
           terms: Iterable[str] = ("term",), decimals: int = 2) -> Table:
    """A table as a reader should see it (see the module docstring for the rules).

    Parameters
    ----------
    frame
        A tidy salesnb table. A named index is shown as columns; an unnamed one is hidden.
    money
        Columns holding money: no decimals, the currency in the header.
    percent
        Columns holding shares (0-1): shown as percentages.
    intervals
        ``{estimate: (low, high)}``: the low and high columns become one "95% range" column
        next to the estimate, formatted like it (``1,492-1,558``). The estimate column need
        not exist (``{"hazard_ratio": ("ci_low", "ci_high")}`` still combines the bounds).
    currency
        Currency label of the money columns, added to their headers: ``Spend (USD)``.
    max_rows
        Show at most this many rows (the first ones); the caption says how many there are.
        Say in the text around the table where the full one is.
    caption
        A sentence under the table.
    references
        The reference level of each categorical, for the model terms (``suite.references``):
        "Autocratic leaders (vs consultative)".
    hide
        Columns to leave out (columns not in the frame are ignored).
    terms
        Columns holding model terms (``decision_style=autocratic``), shown in words by
        :func:`salesnb.report.labels.term_label`.
    decimals
        Decimals of plain numbers between 1 and 100 (see :func:`format_number`).

    Returns
    -------
    Table
        A pandas ``Styler``: render it with ``display`` in a notebook or ``.to_html()``.
    """
    frame = _visible(frame).drop(columns=[c for c in hide if c in frame])
    money, percent = set(money), set(percent)
    total = len(frame)
    if max_rows is not None and total > max_rows:
        frame = frame.head(max_rows)
        shown = f"The first {max_rows} of {total} rows."
        caption = f"{caption} {shown}" if caption else shown

    named = {"term": set(terms), "measure": set(NAME_COLUMNS)}
    formatters = {column: _formatter(column, frame[column], money, percent, decimals,
                                     dict(references or {}), named)
                  for column in frame.columns}
    money |= {low for estimate, (low, _) in (intervals or {}).items() if estimate in money}
    frame, ranges = _with_ranges(frame, intervals or {}, formatters)
    money |= {name for name, estimate in ranges.items()
              if estimate in money or intervals and intervals[estimate][0] in money}
    headers = []
    for column in frame.columns:
        if column in ranges:  # right after its estimate, else named after it
            estimate = ranges[column]
            header = (RANGE_HEADER if estimate in frame
                      else f"{_header(estimate)}, {RANGE_HEADER}")
            formatters[column] = str
        else:
            header = _header(str(column))
        headers.append(html.escape(f"{header} ({currency})" if currency and column in money
                                   else header))

    numeric = [c in ranges or (pd.api.types.is_numeric_dtype(frame[c])
                               and not pd.api.types.is_bool_dtype(frame[c]))
               for c in frame.columns]
    short = [number or frame[c].map(formatters[c]).str.len().max() <= SHORT_TEXT
             for c, number in zip(frame.columns, numeric, strict=True)]
    styler = Table(frame, numeric, short, [len(h) <= SHORT_HEADER for h in headers])
    styler = styler.format(
        {column: partial(_escaped, formatters[column]) for column in frame.columns},
        na_rep=MISSING)
    styler = styler.hide(axis="index").relabel_index(headers, axis="columns")
    styler = styler.set_table_styles(TABLE_STYLES)
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler
