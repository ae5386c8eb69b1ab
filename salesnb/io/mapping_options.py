"""Parsing the mapping options for real exports: where, unpivot, aggregate, attributes,
controls, lookup, the value rules (values, keywords, ranges), scale, years_before and the
date range (each checked, every problem listed; see docs/mapping.md).
"""

from __future__ import annotations

import re
from typing import Any

from salesnb.io.mapping_checks import (
    EXPECTED_TEXT,
    check_applicable,
    describe,
    iso_date,
    ordered,
    required_text,
    section,
    show,
    single_value,
    text,
    text_list,
)
from salesnb.io.mapping_spec import (
    AGGREGATES,
    ATTRIBUTE_TABLES,
    CONTROL_TABLES,
    DEFAULT_DATE_RANGE,
    Lookup,
    RowFilter,
    Unpivot,
)
from salesnb.io.schema import TABLES

LOOKUP_OPTIONS = ("source", "key", "value", "sheet", "encoding", "delimiter")


def parse_where(where: str, rules: Any, problems: list[str]) -> tuple[RowFilter, ...]:
    """``where:`` is one filter ``{column, matches}`` or a list of them (a row must match
    every one); ``where`` is the table's path, ``tables.NAME``.
    """
    if rules is None:
        return ()
    if isinstance(rules, list):
        parsed = [_one_where(f"{where}.where[{i}]", rule, problems)
                  for i, rule in enumerate(rules)]
    else:
        parsed = [_one_where(f"{where}.where", rules, problems)]
    return tuple(rule for rule in parsed if rule is not None)


def _one_where(where: str, rule: Any, problems: list[str]) -> RowFilter | None:
    if not (isinstance(rule, dict) and {"column", "matches"} <= set(rule)):
        problems.append(f"{where} needs 'column:' and 'matches:' (or a list of such filters), "
                        f"not {describe(rule)}")
        return None
    unknown = set(rule) - {"column", "matches"}
    if unknown:
        problems.append(f"{where}: unknown option(s) {ordered(unknown)}; a filter has "
                        "column: and matches:")
    before = len(problems)
    column = required_text(rule, "column", where, problems, "a source column name")
    matches = required_text(rule, "matches", where, problems, "a regular expression")
    if len(problems) > before:
        return None
    try:
        re.compile(matches)
    except re.error as exc:
        problems.append(f"{where}.matches {show(matches)} is not a valid regular expression: "
                        f"{exc}")
    return RowFilter(column, matches)


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
        problems.append(f"{where}: unknown option(s) {ordered(unknown)}")
    columns: tuple[str, ...] = ()
    if "columns" in raw:
        columns = text_list(raw["columns"], f"{where}.columns", problems,
                            "source column") or ()
    matches = text(raw.get("matches"), f"{where}.matches", problems, "a regular expression")
    if matches is not None:
        try:
            re.compile(matches)
        except re.error as exc:
            problems.append(f"{where}.matches {show(matches)} is not a valid regular "
                            f"expression: {exc}")
    elif "matches" in raw and raw["matches"] is None:
        problems.append(f"{where}.matches must be a regular expression, not null (nothing)")
    return Unpivot(required_text(raw, "names_to", where, problems, "a new column name"),
                   required_text(raw, "values_to", where, problems, "a new column name"),
                   columns, matches)


def parse_aggregate(table_name: str, raw: Any, problems: list[str]) -> str | None:
    """``aggregate: month`` (spend only)."""
    if raw is None:
        return None
    if table_name != "spend":
        problems.append(f"tables.{table_name}.aggregate applies to spend only (cost adds up "
                        "over weeks; counts and attributes of other tables do not)")
        return None
    if not isinstance(raw, str) or raw not in AGGREGATES:
        problems.append(f"tables.spend.aggregate must be one of {list(AGGREGATES)}, not "
                        f"{describe(raw)}")
        return None
    return raw


def parse_attributes(table_name: str, raw: Any, problems: list[str]) -> dict[str, str]:
    """``attributes: {name: source column}`` (reps only; names must not be fields)."""
    return _extra_columns(table_name, raw, problems, "attributes", ATTRIBUTE_TABLES)


def parse_controls(table_name: str, raw: Any, problems: list[str]) -> dict[str, str]:
    """``controls: {name: source column}`` (totals only, read as numbers), or a list of
    source columns that are valid names already.
    """
    if isinstance(raw, list) and table_name in CONTROL_TABLES:
        names = text_list(raw, f"tables.{table_name}.controls", problems, "source column")
        if names is None:
            return {}
        raw = {column: column for column in names}
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
        problems.append(f"{where} must map names to source columns, not {describe(raw)}")
        return {}
    attributes = {}
    for name, column in raw.items():
        if not (isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]*", name)):
            problems.append(f"{where}: {show(name)} is not a valid name (lower case letters, "
                            "digits and _; give {name: source column})")
        elif name in TABLES[table_name].field_names:
            problems.append(f"{where}: {name!r} is a field of {table_name}; map it under "
                            "columns: instead")
        elif column is None:
            problems.append(f"{where}.{name} must be a source column name, not null (nothing)")
        else:
            attributes[name] = text(column, f"{where}.{name}", problems,
                                    "a source column name") or ""
    return attributes


def parse_value_rules(where: str, col: dict, problems: list[str]
                      ) -> tuple[dict[str, str], dict[str, tuple[str, ...]],
                                 dict[str, tuple[float, float]]]:
    """``values:``, ``keywords:`` and ``ranges:`` of one field (each ``{}`` when not given).

    Keys and translated values are single values (text, numbers, true/false, dates: YAML
    reads ``Yes`` as true, and that is still the value ``true``), never lists or mappings.
    """
    values = section(col.get("values"), f"{where}.values", problems,
                     "source values to canonical values") or {}
    keywords = section(col.get("keywords"), f"{where}.keywords", problems,
                       "categories to keywords") or {}
    ranges = section(col.get("ranges"), f"{where}.ranges", problems,
                     "categories to [low, high]") or {}
    for option, rules in (("values", values), ("keywords", keywords), ("ranges", ranges)):
        if None in rules:
            problems.append(f"{where}.{option}: a key is null (nothing); quote it ('null') to "
                            "mean the text, or use default: for empty cells")
        for key in rules:
            if key is not None:
                single_value(key, f"{where}.{option}: the key {show(key)}", problems)
    translated = {}
    for source, target in values.items():
        if single_value(target, f"{where}.values.{source}", problems):
            translated[str(source).strip().casefold()] = "" if target is None else str(target)
    words = {}
    for target, listed in keywords.items():
        listed = listed if isinstance(listed, list) else [listed]
        if all(single_value(w, f"{where}.keywords.{target}", problems, allow_none=False)
               for w in listed):
            words[str(target)] = tuple(str(w).casefold() for w in listed)
    bands = {}
    for target, bounds in ranges.items():
        if not (isinstance(bounds, list) and len(bounds) == 2
                and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
                and bounds[0] <= bounds[1]):
            problems.append(f"{where}.ranges.{target}: give [low, high] numbers, low <= high, "
                            f"not {describe(bounds)}")
            continue
        bands[str(target)] = (float(bounds[0]), float(bounds[1]))
    return translated, words, bands


def parse_lookup(where: str, raw: Any, problems: list[str]) -> Lookup | None:
    """``lookup: {source, key, value[, sheet, encoding, delimiter]}``."""
    if raw is None:
        return None
    if not (isinstance(raw, dict) and {"source", "key", "value"} <= set(raw)
            and set(raw) <= set(LOOKUP_OPTIONS)):
        problems.append(f"{where}.lookup needs source: (a file), key: and value: (its "
                        "columns), and optionally sheet:, encoding:, delimiter:")
        return None
    where = f"{where}.lookup"
    found = {option: text(raw.get(option), f"{where}.{option}", problems,
                          EXPECTED_TEXT[option]) for option in LOOKUP_OPTIONS}
    for option in ("source", "key", "value"):
        if raw[option] is None:
            problems.append(f"{where}.{option} must be {EXPECTED_TEXT[option]}, not null "
                            "(nothing)")
    check_applicable(where, found["source"], None, found, problems)
    return Lookup(found["source"] or "", found["key"] or "", found["value"] or "",
                  found["sheet"], found["encoding"] or "utf-8", found["delimiter"])


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
    snapshot = iso_date(raw)
    if snapshot is None:
        problems.append(f"{where}.years_before must be the snapshot date, YYYY-MM-DD; got "
                        f"{show(raw)}")
        return None
    return snapshot.isoformat()


def parse_date_range(raw: Any, problems: list[str]) -> tuple[str, str]:
    """``date_range: [first, last]`` (ISO dates, first <= last; the default when absent)."""
    if raw is None:
        return DEFAULT_DATE_RANGE
    if not (isinstance(raw, list) and len(raw) == 2):
        problems.append(f"'date_range' must be [first, last] ISO dates, not {describe(raw)}")
        return DEFAULT_DATE_RANGE
    first, last = (iso_date(value) for value in raw)
    if first is None or last is None:
        problems.append(f"'date_range' must be ISO dates (YYYY-MM-DD); got {show(raw)}")
        return DEFAULT_DATE_RANGE
    if first > last:
        problems.append(f"'date_range' must go from the earlier date to the later; got "
                        f"{show(raw)}")
        return DEFAULT_DATE_RANGE
    return (first.isoformat(), last.isoformat())
