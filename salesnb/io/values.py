"""Reading raw values into canonical types, as a mapping's column spec says.

Each reader returns the converted column and a mask of the values that were
present but could not be read, so the caller can report their rows. Nothing
is guessed silently: a value that does not fit the declared format is bad.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from salesnb.io.mapping import ColumnSpec
from salesnb.io.schema import Field

MISSING_TOKENS = {"", "na", "n/a", "null", "none", "nan", "nat", "#n/a"}
TRUE_TOKENS = {"true", "t", "yes", "y", "1", "x"}
FALSE_TOKENS = {"false", "f", "no", "n", "0"}
_CURRENCY = re.compile(r"[$€£¥]|\b[A-Z]{3}\b|\s")  # symbols, ISO codes, (nb)spaces
_NUMBER_PATTERNS = {
    "us": re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^-?\.\d+$"),
    "eu": re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$|^-?,\d+$"),
}
FORMAT_HINTS = {
    "number": "set number: us ('$1,234.50') or number: eu ('1.234,50 €') for this column",
    "date": "set date_format (e.g. '%m/%d/%Y', '%d.%m.%Y') for this column; default is ISO",
    "month": "set date_format (e.g. '%b %Y' for 'Jan 2024', '%Y-%m') for this column",
    "bool": "use yes/no, true/false or 1/0",
}


@dataclass
class Converted:
    """A converted column and the rows whose present values could not be read.

    Attributes
    ----------
    values
        The column in its canonical type.
    bad
        The rows whose present value could not be read.
    no_date
        Among ``bad``, the year-9999 placeholders of "no date" (HR's ``9999-12-31``): the
        caller reads them as missing where the field is optional.
    beyond
        Among ``bad``, real dates outside the years pandas holds (1678-2261).
    """

    values: pd.Series
    bad: pd.Series
    no_date: pd.Series | None = None
    beyond: pd.Series | None = None

    @property
    def any_bad(self) -> bool:
        """True when some present value could not be read."""
        return bool(self.bad.any())


def is_missing(raw: pd.Series) -> pd.Series:
    """True where a raw value is empty (NaN, None, blank or a token like 'N/A')."""
    return per_distinct(raw, lambda text: text.str.strip().str.lower().isin(MISSING_TOKENS),
                        if_missing=True)


def per_distinct(raw: pd.Series, test, if_missing: bool) -> pd.Series:
    """A vectorised ``test`` of the distinct values of ``raw`` as text, spread over its rows.

    ``test`` gets the distinct present values as Arrow strings and returns a boolean
    series; missing values (NaN, None) get ``if_missing``. Exports repeat their values, and
    converting only the distinct ones to text is what costs least.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype("string[pyarrow]")
    result = test(text).fillna(if_missing).to_numpy(dtype=bool)
    return pd.Series(np.append(result, if_missing)[codes], index=raw.index)


def per_value(raw: pd.Series, read) -> pd.Series:
    """``raw.map(read, na_action="ignore")``, calling ``read`` once per distinct value.

    Exports repeat their values (a tactic, a date, a status in every row): on the demo this
    turns 600k Python calls into a few thousand. Distinct means distinct to pandas' hashing:
    ``1`` and ``1.0`` are one value (every reader here reads them alike), and so are ``True``
    and ``1``, which only a column mixing booleans with numbers would tell apart.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    read_once = np.empty(len(uniques) + 1, dtype=object)
    read_once[:-1] = [read(value) for value in uniques]
    read_once[-1] = np.nan  # code -1: a missing value stays missing
    return pd.Series(read_once[codes], index=raw.index, dtype=object)


def convert(raw: pd.Series, spec: ColumnSpec, field: Field) -> Converted:
    """Convert one raw source column to the canonical type of ``field``.

    In order: ``values:`` translates the text (for fields without a vocabulary of their own;
    categories apply it with their other rules), ``default:`` fills empty values,
    ``years_before:`` turns a number of years into a date, the field's reader parses the
    rest, and ``scale:`` multiplies numbers.
    """
    if spec.values and field.kind != "category":
        raw = _translated(raw, spec.values)
    missing = is_missing(raw)
    if spec.has_default and missing.any():
        raw = raw.astype(object).where(~missing, spec.default)
        missing = is_missing(raw)
    if spec.years_before is not None:
        values, bad = _years_before(raw.where(~missing), spec)
        return Converted(values, bad & ~missing)
    reader = _READERS[field.kind]
    read = reader(raw.where(~missing), missing, spec, field)
    values, bad = read[0], read[1] & ~missing
    if spec.scale is not None:
        values = values * spec.scale
    if len(read) == 4:  # dates: placeholders and out-of-range values, among the bad
        return Converted(values, bad, read[2] & bad, read[3] & bad)
    return Converted(values, bad)


def _translated(raw: pd.Series, table: dict[str, str]) -> pd.Series:
    """Source text translated by a ``values:`` table (case-insensitive); others unchanged."""
    def translate(value):
        key = str(value).strip().casefold()
        return table.get(key, value)

    return per_value(raw, translate)


def _years_before(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    """A date ``years`` x 365.25 days before the snapshot date, from a number of years."""
    number = ColumnSpec(spec.field, number=spec.number)
    years, bad = _read_number(raw, raw.isna(), number, None)
    snapshot = pd.Timestamp(spec.years_before)
    days = (years * 365.25).round()
    bad = bad | (years < 0).fillna(False)
    dates = snapshot - pd.to_timedelta(days.where(~bad), unit="D")
    return dates.astype("datetime64[ns]"), bad


def constant(value, length: int, field: Field, index: pd.Index) -> Converted:
    """A column holding the same mapped ``constant`` in every row."""
    raw = pd.Series([value] * length, index=index, dtype=object)
    return convert(raw, ColumnSpec(field.name, constant=value), field)


def _read_id(raw, missing, spec, field):
    def to_text(v):
        if isinstance(v, float) and v.is_integer():
            return str(int(v))  # ids read from Excel/Parquet as 101.0
        return str(v).strip()

    values = per_value(raw, to_text).astype("string")
    return values, pd.Series(False, index=raw.index)


def _read_number(raw, missing, spec, field):
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values, bad = _finite(raw.astype(float))
        return values, bad & raw.notna()
    pattern = _NUMBER_PATTERNS[spec.number]

    def parse(v):
        if isinstance(v, int | float | np.number) and not isinstance(v, bool):
            return float(v)
        text = _CURRENCY.sub("", str(v)).strip()
        negative = text.startswith("(") and text.endswith(")")
        percent = text.endswith("%")
        text = text.strip("()%")
        if not pattern.match(text):
            return np.nan
        if spec.number == "us":
            text = text.replace(",", "")
        else:
            text = text.replace(".", "").replace(",", ".")
        number = float(text) * (-1 if negative else 1)
        return number / 100 if percent else number

    return _finite(per_value(raw, parse).astype(float))


def _finite(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers with infinities (``inf`` in Parquet, ``1e400`` overflowing) marked unreadable."""
    infinite = pd.Series(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)),
                         index=values.index)
    return values.where(~infinite), values.isna() | infinite


ISO_DATE = re.compile(
    r"^\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?)?)?$")
"""The ISO shapes read without ``date_format``: ``2024-01``, ``2024-01-15``, and a time with
an optional zone (``2024-01-15T10:30:00.000+0000``). Anything else, even a prefix of a date
(``2024-01-15garbage``, ``2024-07-291``), is unreadable."""
NO_DATE = r"(?:^|\D)9999(?:\D|$)"
"""A year 9999 (``9999-12-31``, ``31.12.9999``): the "no end date" of HR and ERP exports."""


def _read_date(raw, missing, spec, field):
    """Dates, parsed strictly and vectorised (``pd.to_datetime(format=...)``).

    A timestamp's time zone is dropped (the date is read as written); a year-9999
    placeholder is "no date" (``Converted.no_date``) and a real date pandas cannot hold is
    out of range (``Converted.beyond``).
    """
    stamps, text = _split_dates(raw)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    in_range = _in_ns_range(stamps)
    parsed[stamps.index[in_range]] = stamps[in_range].astype("datetime64[ns]").to_numpy()
    if len(text):
        if spec.date_format:
            try:
                with warnings.catch_warnings():  # mixed zones (%z): handled by _as_naive
                    warnings.simplefilter("ignore", FutureWarning)
                    read = _as_naive(pd.to_datetime(text, format=spec.date_format,
                                                    errors="coerce"))
            except ValueError:  # a bad directive ('%Q'): nothing can be read with it
                read = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        else:
            text = _without_zone(text)
            read = pd.to_datetime(text.where(text.str.match(ISO_DATE.pattern)),
                                  format="ISO8601", errors="coerce")
        parsed[text.index] = read.astype("datetime64[ns]").to_numpy()
    if field.kind == "month":
        parsed = parsed.dt.to_period("M").dt.to_timestamp()
    unread = parsed.isna() & raw.notna()
    no_date = pd.Series(False, index=raw.index)
    beyond = pd.Series(False, index=raw.index)
    if unread.any():  # why they are unread: only for those (most columns have none)
        as_text = raw[unread].astype("string[pyarrow]")
        stamps = stamps[stamps.index.isin(as_text.index)]
        placeholder = as_text.str.contains(NO_DATE).fillna(False).astype(bool)
        if len(stamps):
            placeholder[stamps.index] = placeholder[stamps.index] | (stamps.dt.year == 9999)
        no_date[as_text.index] = placeholder
        beyond[as_text.index] = ~placeholder & _beyond_pandas(as_text, stamps, spec)
    return parsed.astype("datetime64[ns]"), unread, no_date, beyond


def _split_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The present values that already are timestamps (Excel, Parquet, databases), as
    ``datetime64`` of any unit, and those that are text (stripped, as Arrow strings).
    """
    present = raw.dropna()
    if pd.api.types.is_datetime64_any_dtype(present):
        return _naive(present), pd.Series(dtype="string")
    kind = pd.api.types.infer_dtype(present, skipna=True)
    if kind in ("string", "empty"):
        return pd.Series(dtype="datetime64[ns]"), _stripped(present)
    is_stamp = present.map(lambda v: isinstance(v, datetime | date | np.datetime64))
    stamps = present[is_stamp]
    wall = np.array([_wall_clock(v) for v in stamps], dtype="datetime64[us]")
    return pd.Series(wall, index=stamps.index), _stripped(present[~is_stamp])


_HAS_TIME = r"\d{2}:\d{2}"
_ZONE_SUFFIX = r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _stripped(text: pd.Series) -> pd.Series:
    """Text values as Arrow-backed strings, stripped: pattern work then runs vectorised
    (RE2), not value by value.
    """
    return text.astype("string[pyarrow]").str.strip()


def _without_zone(text: pd.Series) -> pd.Series:
    """ISO text dates with the zone of a timestamp removed: the date is read as written (a
    ``date_format`` with ``%z`` keeps its zone).
    """
    timed = text.str.contains(_HAS_TIME).fillna(False).astype(bool)
    if timed.any():
        text = text.copy()
        text[timed] = text[timed].str.replace(_ZONE_SUFFIX, "", regex=True)
    return text


def _wall_clock(value) -> np.datetime64:
    if isinstance(value, np.datetime64):
        return value
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return np.datetime64(value.replace(tzinfo=None), "us")


def _as_naive(read: pd.Series) -> pd.Series:
    """Parsed dates without zones, each keeping its wall-clock time: a format with ``%z``
    gives zoned timestamps (one zone: a zoned dtype; several: objects).
    """
    if read.dtype == object:
        read = read.map(lambda v: v.replace(tzinfo=None) if isinstance(v, datetime) else v)
        return pd.to_datetime(read, errors="coerce")
    return _naive(read)


def _naive(values: pd.Series) -> pd.Series:
    """Timestamps without a zone: a zoned one keeps its wall-clock time (as written)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_localize(None)
    return values


def _in_ns_range(stamps: pd.Series) -> pd.Series:
    """Which timestamps fit pandas' nanosecond range (years 1678-2261)."""
    if not len(stamps):
        return pd.Series(dtype=bool)
    years = stamps.dt.year
    return (years > 1677) & (years < 2262)


def _beyond_pandas(as_text: pd.Series, stamps: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Values that are real dates, but outside the years pandas can hold."""
    beyond = pd.Series(False, index=as_text.index)
    if len(stamps):
        beyond[stamps.index] = ~_in_ns_range(stamps)
    if not spec.date_format:
        year = pd.to_numeric(as_text.str.strip().str.extract(r"^(\d{4})-\d{2}", expand=False),
                             errors="coerce")
        beyond |= ((year < 1678) | (year > 2261)).fillna(False).astype(bool)
    return beyond


def _read_bool(raw, missing, spec, field):
    def parse(v):
        if isinstance(v, bool | np.bool_):
            return bool(v)
        text = str(v).strip().casefold()
        if text.endswith(".0"):
            text = text[:-2]
        if text in TRUE_TOKENS:
            return True
        if text in FALSE_TOKENS:
            return False
        return None

    parsed = per_value(raw, parse)
    bad = parsed.isna()
    return parsed.astype("boolean"), bad


def _read_category(raw, missing, spec, field):
    if not spec.has_rules and spec.otherwise is None:
        values = per_value(raw, lambda v: _canonical_word(v, field))
        return values.astype("string"), pd.Series(False, index=raw.index)
    translated = per_value(raw, lambda v: _apply_rules(v, spec, field))
    return translated.astype("string"), pd.Series(False, index=raw.index)


def _canonical_word(value, field: Field) -> str:
    text = str(value).strip()
    if field.allowed is None:
        return text
    return re.sub(r"[\s\-]+", "_", text.casefold())


def _apply_rules(value, spec: ColumnSpec, field: Field) -> str:
    text = str(value).strip()
    folded = text.casefold()
    if folded in spec.values:
        return spec.values[folded]
    if spec.ranges:
        score = _as_float(value)
        for target, (low, high) in spec.ranges.items():
            if score is not None and low <= score <= high:
                return target
    for target, words in spec.keywords.items():
        if any(word in folded for word in words):
            return target
    canonical = _canonical_word(text, field)
    if spec.otherwise is not None and not (field.allowed and canonical in field.allowed):
        return spec.otherwise  # the fallback is for values outside the vocabulary only
    return canonical


def _as_float(value) -> float | None:
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        return None


_READERS = {
    "id": _read_id,
    "text": _read_id,
    "category": _read_category,
    "number": _read_number,
    "date": _read_date,
    "month": _read_date,
    "bool": _read_bool,
}
