"""Checks on the raw YAML of a mapping: that each option has the type it needs (text, a list,
a mapping, a single value) and applies to its source (``sheet:`` to workbooks, ``encoding:``
and ``delimiter:`` to CSV files). Each problem is appended to a list, naming the option's path
(``tables.spend.encoding``) and what is expected; see docs/mapping.md, "Strictness".
"""

from __future__ import annotations

import re
import reprlib
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

SOURCE_KINDS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
                ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel",
                ".duckdb": "database", ".ddb": "database", ".db": "database",
                ".sqlite": "database", ".sqlite3": "database"}
"""What a source name's suffix says it is (the suffixes of :mod:`salesnb.io.sources`, which
reads them; a test keeps the two in step)."""
KIND_NAMES = {"csv": "a CSV file", "parquet": "a Parquet file", "excel": "an .xlsx workbook",
              "database": "a database"}
FILE_KINDS = ("csv", "parquet", "excel")
FILE_OPTIONS = ("sheet", "encoding", "delimiter")
"""Reading options that apply to some kinds of source only (see :func:`check_applicable`)."""
EXPECTED_TEXT = {"source": "a file name or database table name", "sheet": "a sheet name",
                 "encoding": "a codec name such as cp1252", "delimiter": "a character such "
                 "as ';'", "query": "an SQL query", "key": "a column of the lookup file",
                 "value": "a column of the lookup file"}
"""What each text option of a table or lookup must be, for messages."""
SCALARS = (str, int, float, date)
"""The types of a single value (``constant:``, ``default:``, a ``values:`` entry); bool is an
int and a datetime a date."""

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlevel = 3


def show(value: Any) -> str:
    """A short ``repr`` of a YAML value for messages (long text and big lists cut with ``...``).

    Parameters
    ----------
    value : Any
        The value as YAML read it.

    Returns
    -------
    str
        At most about 60 characters per item, 6 items per list and 3 levels.
    """
    return _SHORT.repr(value)


def describe(value: Any) -> str:
    """What a YAML value is, in words, for "must be text, not ..." messages.

    Parameters
    ----------
    value : Any
        The value as YAML read it.

    Returns
    -------
    str
        For example ``the number 5``, ``true/false (true)``, ``a list ['a.csv']``, ``null``.
    """
    if value is None:
        return "null (nothing)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"the number {show(value)}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, dict):
        return f"a mapping {show(value)}"
    if isinstance(value, list | tuple | set):
        return f"a list {show(value)}"
    return f"{type(value).__name__} {show(value)}"


def ordered(keys: Any) -> list:
    """Keys of any YAML type in a stable order, for listing them in a message."""
    return sorted(keys, key=lambda k: (type(k).__name__, str(k)))


def _hint(value: Any) -> str:
    if isinstance(value, bool):
        return " (YAML reads unquoted yes/no/on/off/true/false as true/false: quote it)"
    if isinstance(value, int | float | date):
        return f" (quote it to mean the text: '{value}')"
    return ""


def text(value: Any, where: str, problems: list[str], what: str = "text") -> str | None:
    """An optional text option: None when not given, else the text.

    Parameters
    ----------
    value : Any
        The option's value as YAML read it (None when absent).
    where : str
        The option's path, e.g. ``tables.spend.encoding``.
    problems : list of str
        Where a problem is appended when the value is not text (a number, a list, ...).
    what : str
        What is expected, for the message (``a codec name such as cp1252``).

    Returns
    -------
    str or None
        The text, or None when the value is absent or not text.
    """
    if value is None or isinstance(value, str):
        return value
    problems.append(f"{where} must be {what}, not {describe(value)}{_hint(value)}")
    return None


def required_text(raw: dict, key: str, where: str, problems: list[str],
                  what: str = "text") -> str:
    """``raw[key]``, which must be given and be text (an empty string when it is not)."""
    value = raw.get(key)
    if value is None:
        problems.append(f"{where}.{key} must be {what}, not null (nothing)")
        return ""
    return text(value, f"{where}.{key}", problems, what) or ""


def text_list(value: Any, where: str, problems: list[str], what: str) -> tuple[str, ...] | None:
    """A non-empty list of texts (None, with a problem, when it is anything else).

    Parameters
    ----------
    value : Any
        The option's value as YAML read it.
    where : str
        The option's path.
    problems : list of str
        Where the problems are appended: one for a value that is not a non-empty list, one
        per item that is not text.
    what : str
        What an item is, for the message (``tactic``, ``source column``).

    Returns
    -------
    tuple of str or None
        The texts, or None when the list or any item is wrong.
    """
    if not isinstance(value, list) or not value:
        problems.append(f"{where} must be a non-empty list of {what}s, not {describe(value)}")
        return None
    before = len(problems)
    items = [text("" if item is None else item, f"{where}[{i}]", problems, f"a {what} (text)")
             for i, item in enumerate(value)]
    problems += [f"{where}[{i}] must be a {what} (text), not null (nothing)"
                 for i, item in enumerate(value) if item is None]
    if len(problems) > before:
        return None
    return tuple(str(item) for item in items)


def section(value: Any, where: str, problems: list[str], what: str) -> dict | None:
    """An optional mapping option: ``{}`` when not given, None (with a problem) when it is
    not a mapping.

    Parameters
    ----------
    value : Any
        The option's value as YAML read it.
    where : str
        The option's path, e.g. ``tables.deals.columns.outcome.values``.
    problems : list of str
        Where the problem is appended.
    what : str
        What the mapping maps, for the message (``source values to canonical values``).

    Returns
    -------
    dict or None
        The mapping, ``{}`` for None, or None when the value is of another type.
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    problems.append(f"{where} must be a mapping of {what}, not {describe(value)}")
    return None


def single_value(value: Any, where: str, problems: list[str], allow_none: bool = True) -> bool:
    """True when ``value`` is one text, number, boolean or date (or null, if allowed);
    otherwise a problem is appended.
    """
    if (value is None and allow_none) or isinstance(value, SCALARS):
        return True
    problems.append(f"{where} must be a single value (text, a number, true/false or a date), "
                    f"not {describe(value)}")
    return False


def source_kind(source: str | None) -> str | None:
    """What the source name says it is: ``csv``, ``parquet``, ``excel``, ``database`` (a
    database URL or file), or None (no source, or a name that does not say: a database table).
    """
    if source is None:
        return None
    if "://" in source and not source.startswith("file://"):
        return "database"
    return SOURCE_KINDS.get(PurePath(source).suffix.lower())


def check_applicable(where: str, source: str | None, query: str | None,
                     options: dict[str, Any], problems: list[str]) -> None:
    """Refuse reading options that the source cannot use, decided from its name only.

    Parameters
    ----------
    where : str
        The path of the table or lookup, e.g. ``tables.teams``.
    source : str or None
        Its ``source:`` (None when not given: the data location itself is read, which may be a
        workbook, a CSV file or a database, so every option may apply).
    query : str or None
        Its ``query:``; its rows come from SQL, so no file option applies and a file
        ``source:`` would be ignored.
    options : dict
        The options of the table or lookup, option -> value (None when not given); only
        :data:`FILE_OPTIONS` are looked at.
    problems : list of str
        Where the problems are appended.
    """
    given = [option for option in FILE_OPTIONS if options.get(option) is not None]
    kind = source_kind(source)
    if query is not None:
        problems += [f"{where}.{option} does not apply with query: (the query's rows come from "
                     "SQL, not from a file)" for option in given]
        if kind in FILE_KINDS:
            problems.append(f"{where}: give source: or query:, not both; the query reads its "
                            f"own rows (name the file inside it: FROM '{source}'), so source: "
                            f"{source} would be ignored")
        return
    if kind is None:
        return
    if "sheet" in given and kind != "excel":
        problems.append(f"{where}.sheet applies to .xlsx workbooks only; {source} is "
                        f"{KIND_NAMES[kind]}")
    for option in ("encoding", "delimiter"):
        if option in given and kind != "csv":
            problems.append(f"{where}.{option} applies to CSV files (.csv, .tsv, .txt) only; "
                            f"{source} is {KIND_NAMES[kind]}")


def iso_date(value: Any) -> date | None:
    """A date given as a YAML date or as ``YYYY-MM-DD`` text (None for anything else).

    Parameters
    ----------
    value : Any
        The value as YAML read it (unquoted ``2024-12-31`` is already a date).

    Returns
    -------
    datetime.date or None
        The date, or None for other text, numbers, date-times and containers.
    """
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
