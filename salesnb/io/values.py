"""Reading raw values into canonical types, as a mapping's column spec says.

Each reader returns the converted column and a mask of the values that were
present but could not be read, so the caller can report their rows. Nothing
is guessed silently: a value that does not fit the declared format is bad.
"""

from __future__ import annotations

import re
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
    """A converted column and the rows whose present values could not be read."""

    values: pd.Series
    bad: pd.Series

    @property
    def any_bad(self) -> bool:
        """True when some present value could not be read."""
        return bool(self.bad.any())


def is_missing(raw: pd.Series) -> pd.Series:
    """True where a raw value is empty (NaN, None, blank or a token like 'N/A')."""
    as_text = raw.astype("string").str.strip().str.casefold()
    return raw.isna() | as_text.isin(MISSING_TOKENS).fillna(True)


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
    values, bad = reader(raw.where(~missing), missing, spec, field)
    if spec.scale is not None:
        values = values * spec.scale
    return Converted(values, bad & ~missing)


def _translated(raw: pd.Series, table: dict[str, str]) -> pd.Series:
    """Source text translated by a ``values:`` table (case-insensitive); others unchanged."""
    def translate(value):
        key = str(value).strip().casefold()
        return table.get(key, value)

    return raw.map(translate, na_action="ignore")


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

    values = raw.map(to_text, na_action="ignore").astype("string")
    return values, pd.Series(False, index=raw.index)


def _read_number(raw, missing, spec, field):
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype(float), pd.Series(False, index=raw.index)
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

    values = raw.map(parse, na_action="ignore").astype(float)
    return values, values.isna()


def _read_date(raw, missing, spec, field):
    def parse(v):
        if isinstance(v, datetime | date | pd.Timestamp | np.datetime64):
            return pd.Timestamp(v)
        text = str(v).strip()
        try:
            if spec.date_format:
                return pd.Timestamp(datetime.strptime(text, spec.date_format))
            return pd.Timestamp(date.fromisoformat(text[:10])) if len(text) >= 10 else \
                pd.Timestamp(datetime.strptime(text, "%Y-%m"))
        except ValueError:
            return pd.NaT

    values = pd.to_datetime(raw.map(parse, na_action="ignore"))
    if field.kind == "month":
        values = values.dt.to_period("M").dt.to_timestamp()
    return values.astype("datetime64[ns]"), values.isna()


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

    parsed = raw.map(parse, na_action="ignore")
    bad = parsed.isna()
    return parsed.astype("boolean"), bad


def _read_category(raw, missing, spec, field):
    if not spec.has_rules and spec.otherwise is None:
        values = raw.map(lambda v: _canonical_word(v, field), na_action="ignore")
        return values.astype("string"), pd.Series(False, index=raw.index)
    translated = raw.map(lambda v: _apply_rules(v, spec, field), na_action="ignore")
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
