"""Parsing the mapping options for real exports: unpivot, aggregate, attributes, controls,
lookup, scale and years_before (each checked, every problem listed; see docs/mapping.md).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from salesnb.io.mapping_spec import (
    AGGREGATES,
    ATTRIBUTE_TABLES,
    CONTROL_TABLES,
    Lookup,
    Unpivot,
)
from salesnb.io.schema import TABLES


def parse_unpivot(table_name: str, raw: Any, problems: list[str]) -> Unpivot | None:
    """``unpivot: {columns|matches, names_to, values_to}`` (None when not given)."""
    where = f"tables.{table_name}.unpivot"
    if raw is None:
        return None
    if not isinstance(raw, dict) or not {"names_to", "values_to"} <= set(raw) or (
            ("columns" in raw) == ("matches" in raw)):
        problems.append(f"{where} needs names_to:, values_to: and exactly one of columns: (a "
                        "list) or matches: (a regular expression)")
        return None
    unknown = set(raw) - {"names_to", "values_to", "columns", "matches"}
    if unknown:
        problems.append(f"{where}: unknown option(s) {sorted(unknown)}")
    columns = raw.get("columns") or []
    if "columns" in raw and not (isinstance(columns, list) and columns):
        problems.append(f"{where}.columns must be a non-empty list of source columns")
        columns = []
    matches = _opt_str(raw.get("matches"))
    if matches is not None:
        try:
            re.compile(matches)
        except re.error as exc:
            problems.append(f"{where}.matches {matches!r} is not a valid regular expression: "
                            f"{exc}")
    return Unpivot(str(raw["names_to"]), str(raw["values_to"]), tuple(map(str, columns)),
                   matches)


def parse_aggregate(table_name: str, raw: Any, problems: list[str]) -> str | None:
    """``aggregate: month`` (spend only)."""
    if raw is None:
        return None
    if table_name != "spend":
        problems.append(f"tables.{table_name}.aggregate applies to spend only (cost adds up "
                        "over weeks; counts and attributes of other tables do not)")
        return None
    if raw not in AGGREGATES:
        problems.append(f"tables.spend.aggregate must be one of {list(AGGREGATES)}, not "
                        f"{raw!r}")
        return None
    return str(raw)


def parse_attributes(table_name: str, raw: Any, problems: list[str]) -> dict[str, str]:
    """``attributes: {name: source column}`` (reps only; names must not be fields)."""
    return _extra_columns(table_name, raw, problems, "attributes", ATTRIBUTE_TABLES)


def parse_controls(table_name: str, raw: Any, problems: list[str]) -> dict[str, str]:
    """``controls: {name: source column}`` (totals only, read as numbers), or a list of
    source columns that are valid names already.
    """
    if isinstance(raw, list):
        raw = {str(column): str(column) for column in raw}
    return _extra_columns(table_name, raw, problems, "controls", CONTROL_TABLES)


def _extra_columns(table_name: str, raw: Any, problems: list[str], option: str,
                   tables: tuple[str, ...]) -> dict[str, str]:
    if raw is None:
        return {}
    where = f"tables.{table_name}.{option}"
    if table_name not in tables:
        problems.append(f"{where}: only {list(tables)} keep extra {option}")
        return {}
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where} must map names to source columns")
        return {}
    attributes = {}
    for name, column in raw.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            problems.append(f"{where}: {name!r} is not a valid name (lower case letters, "
                            "digits and _; give {name: source column})")
        elif str(name) in TABLES[table_name].field_names:
            problems.append(f"{where}: {name!r} is a field of {table_name}; map it under "
                            "columns: instead")
        else:
            attributes[str(name)] = str(column)
    return attributes


def parse_lookup(where: str, raw: Any, problems: list[str]) -> Lookup | None:
    """``lookup: {source, key, value[, sheet, encoding, delimiter]}``."""
    if raw is None:
        return None
    if not (isinstance(raw, dict) and {"source", "key", "value"} <= set(raw)
            and set(raw) <= {"source", "key", "value", "sheet", "encoding", "delimiter"}):
        problems.append(f"{where}.lookup needs source: (a file), key: and value: (its "
                        "columns), and optionally sheet:, encoding:, delimiter:")
        return None
    return Lookup(str(raw["source"]), str(raw["key"]), str(raw["value"]),
                  _opt_str(raw.get("sheet")), str(raw.get("encoding") or "utf-8"),
                  _opt_str(raw.get("delimiter")))


def parse_scale(where: str, kind: str, raw: Any, problems: list[str]) -> float | None:
    """``scale: FACTOR`` (number fields, a positive factor)."""
    if raw is None:
        return None
    if kind != "number":
        problems.append(f"{where}.scale applies to number fields only")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw > 0:
        problems.append(f"{where}.scale must be a positive number (0.01 reads 0-100 as 0-1)")
        return None
    return float(raw)


def parse_years_before(where: str, kind: str, raw: Any, problems: list[str]) -> str | None:
    """``years_before: SNAPSHOT`` (date fields, an ISO date)."""
    if raw is None:
        return None
    if kind != "date":
        problems.append(f"{where}.years_before applies to date fields only")
        return None
    try:
        return date.fromisoformat(str(raw)).isoformat()
    except ValueError:
        problems.append(f"{where}.years_before must be the snapshot date, YYYY-MM-DD; got "
                        f"{raw!r}")
        return None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
