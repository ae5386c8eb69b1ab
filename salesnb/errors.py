"""Errors and warnings raised by salesnb.

Every error derives from :class:`SalesnbError` and carries enough context
(file, table, column, rows) for a user to find and fix the problem without a
traceback. :class:`ValidationError` gathers *every* problem found in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_ROWS_SHOWN = 5
MAX_EXAMPLES_SHOWN = 3


class SalesnbError(Exception):
    """Base class of every error salesnb raises on purpose."""


class MappingError(SalesnbError):
    """The mapping file is missing, malformed or names things that do not exist."""


class SourceError(SalesnbError):
    """The data source itself (folder, file or database URL) does not exist.

    Tables inside a source that cannot be read (a missing or empty file, a bad
    encoding, a wrong sheet) are problems of the data: they are listed in a
    :class:`ValidationError` together with every other problem found.
    """


class SalesnbWarning(UserWarning):
    """Base class of salesnb warnings."""


class DataCleaningWarning(SalesnbWarning):
    """Rows typical of real exports (totals, blanks, exact duplicates) were dropped."""


@dataclass(frozen=True)
class Problem:
    """One problem found in the input data.

    Attributes
    ----------
    table : canonical table name (``deals``, ``spend``, ...).
    message : what is wrong, in plain words.
    source : the file, sheet or database table the rows came from.
    column : the source column (as named in the export), if one is at fault.
    rows : row numbers as the user sees them in the source (header = row 1).
    examples : a few offending values.
    hint : what to do about it.
    """

    table: str
    message: str
    source: str = ""
    column: str | None = None
    rows: Sequence[int] = field(default_factory=tuple)
    examples: Sequence[object] = field(default_factory=tuple)
    hint: str = ""

    def describe(self) -> str:
        """Render the problem as one or two human-readable lines."""
        where = [f"[{self.table}]"]
        if self.source:
            where.append(self.source)
        if self.column:
            where.append(f"column {self.column!r}")
        text = " ".join(where) + f": {self.message}"
        if self.rows:
            shown = ", ".join(str(r) for r in list(self.rows)[:MAX_ROWS_SHOWN])
            more = len(self.rows) - MAX_ROWS_SHOWN
            text += f" (rows {shown}" + (f" and {more} more" if more > 0 else "") + ")"
        if self.examples:
            shown = ", ".join(repr(e) for e in list(self.examples)[:MAX_EXAMPLES_SHOWN])
            text += f"; e.g. {shown}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class ValidationError(SalesnbError):
    """The data failed validation; :attr:`problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) found in the input data:"]
        lines += [f"  {i}. {p.describe()}" for i, p in enumerate(self.problems, 1)]
        super().__init__("\n".join(lines))
