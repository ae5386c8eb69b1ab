"""Mapping files: which column of which export is which canonical field.

A mapping is YAML. The bundled demo's ``data/demo/mapping.yml`` and
``data/examples/salesforce/mapping.yml`` are worked examples; the full
reference is in docs/mapping.md. Every problem in a mapping is
reported at once in one :class:`~salesnb.errors.MappingError`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from salesnb.errors import MappingError
from salesnb.io import mapping_options
from salesnb.io.mapping_spec import (
    COLUMN_OPTIONS,
    DEFAULT_DATE_RANGE,
    NUMBER_STYLES,
    TABLE_OPTIONS,
    ColumnSpec,
    Lookup,
    Mapping,
    RowFilter,
    TableSpec,
    Unpivot,
)
from salesnb.io.schema import TABLES, TOTALS_OUTCOMES

__all__ = ["ColumnSpec", "Lookup", "Mapping", "RowFilter", "TableSpec", "Unpivot",
           "parse_mapping", "read_mapping"]

CLOSED_FIELDS = {name for table in TABLES.values() for field in table.fields
                 if field.allowed for name in [f"{table.name}.{field.name}"]}
"""Fields with a fixed vocabulary (``otherwise:`` applies to these, and to a closed tactic)."""


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses repeated keys instead of keeping the last one."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in the same section",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file.

    Raises
    ------
    MappingError
        If the file is missing or is not valid YAML, or if it names unknown
        tables, fields or options, or leaves out a required field. Every
        problem is listed.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(
            f"mapping file {path} does not exist.\n    hint: pass --mapping FILE, or put a "
            "mapping.yml in the data folder (`salesnb demo` writes an example)."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"mapping file {path} is not UTF-8: byte 0x{exc.object[exc.start]:02x} at byte "
            f"position {exc.start}.\n    hint: save the mapping with UTF-8 encoding."
        ) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(
            f"mapping file {path} is not valid YAML{where}: {problem}.\n"
            "    hint: check indentation and quote values containing ':' or '#'."
        ) from None
    return parse_mapping(raw, path=path, text=text)


def parse_mapping(raw: Any, path: Path | None = None, text: str = "") -> Mapping:
    """Build a :class:`Mapping` from already-parsed YAML, listing every problem."""
    name = str(path) if path else "<mapping>"
    problems: list[str] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        raise MappingError(
            f"mapping file {name} must be a YAML mapping with a 'tables:' section.\n"
            "    hint: see data/demo/mapping.yml for a complete example."
        )
    unknown_top = set(raw) - {"version", "tables", "tactics", "date_range"}
    if unknown_top:
        problems.append(f"unknown top-level key(s) {sorted(unknown_top)}")
    tables = {}
    for table_name, spec in raw["tables"].items():
        if table_name not in TABLES:
            problems.append(f"unknown table {table_name!r}; known tables: {sorted(TABLES)}")
            continue
        table_spec = _parse_table(table_name, spec, problems)
        if table_spec is not None:
            tables[table_name] = table_spec
    tactics = _parse_tactics(raw.get("tactics"), problems)
    date_range = _parse_date_range(raw.get("date_range"), problems)
    problems += _open_fallbacks(tables, tactics is not None)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise MappingError(
            f"mapping file {name} has {len(problems)} problem(s):\n{listing}\n"
            "    hint: the mapping reference is docs/mapping.md in the salesnb repository."
        )
    return Mapping(tables, tactics, date_range, path, text)


def _parse_table(table_name: str, spec: Any, problems: list[str]) -> TableSpec | None:
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        problems.append(f"tables.{table_name} needs a 'columns:' section mapping fields to columns")
        return None
    unknown = set(spec) - TABLE_OPTIONS
    if unknown:
        problems.append(f"tables.{table_name}: unknown option(s) {sorted(unknown)}")
    table = TABLES[table_name]
    columns = {}
    for field_name, col in spec["columns"].items():
        if field_name not in table.field_names:
            problems.append(
                f"tables.{table_name}.columns: unknown field {field_name!r}; "
                f"fields of {table_name}: {list(table.field_names)}"
            )
            continue
        parsed = _parse_column(f"tables.{table_name}.columns.{field_name}", table_name,
                               field_name, col, problems)
        if parsed is not None:
            columns[field_name] = parsed
    missing = [f for f in table.required if f not in spec["columns"]]
    if missing:
        problems.append(f"tables.{table_name}: required field(s) not mapped: {missing}")
    if table_name == "totals" and not set(TOTALS_OUTCOMES) & set(spec["columns"]):
        problems.append(f"tables.totals: map an outcome, one of {list(TOTALS_OUTCOMES)} (new "
                        "customers per period, or revenue when customers are not counted)")
    skip_footer = spec.get("skip_footer", 0)
    if not isinstance(skip_footer, int) or isinstance(skip_footer, bool) or skip_footer < 0:
        problems.append(f"tables.{table_name}.skip_footer must be a row count >= 0")
        skip_footer = 0
    distinct = spec.get("distinct", False)
    if not isinstance(distinct, bool):
        problems.append(f"tables.{table_name}.distinct must be true or false")
        distinct = False
    return TableSpec(
        table=table_name,
        skip_footer=skip_footer,
        columns=columns,
        source=_opt_str(spec.get("source")),
        sheet=_opt_str(spec.get("sheet")),
        encoding=str(spec.get("encoding") or "utf-8"),
        delimiter=_opt_str(spec.get("delimiter")),
        query=_opt_str(spec.get("query")),
        where=_parse_where(table_name, spec.get("where"), problems),
        distinct=distinct,
        unpivot=mapping_options.parse_unpivot(table_name, spec.get("unpivot"), problems),
        aggregate=mapping_options.parse_aggregate(table_name, spec.get("aggregate"), problems),
        attributes=mapping_options.parse_attributes(table_name, spec.get("attributes"), problems),
        controls=mapping_options.parse_controls(table_name, spec.get("controls"), problems),
    )


def _parse_where(table_name: str, where: Any, problems: list[str]) -> tuple[RowFilter, ...]:
    """``where:`` is one filter or a list of them (a row must match every one)."""
    if where is None:
        return ()
    rules = where if isinstance(where, list) else [where]
    parsed = [_parse_one_where(table_name, rule, problems) for rule in rules]
    return tuple(rule for rule in parsed if rule is not None)


def _parse_one_where(table_name: str, where: Any, problems: list[str]) -> RowFilter | None:
    if not (isinstance(where, dict) and {"column", "matches"} <= set(where)):
        problems.append(f"tables.{table_name}.where needs 'column:' and 'matches:' (or a list "
                        "of such filters)")
        return None
    row_filter = RowFilter(str(where["column"]), str(where["matches"]))
    try:
        re.compile(row_filter.matches)
    except re.error as exc:
        problems.append(f"tables.{table_name}.where.matches {row_filter.matches!r} is not "
                        f"a valid regular expression: {exc}")
    return row_filter


def _parse_column(where: str, table_name: str, field_name: str, col: Any,
                  problems: list[str]) -> ColumnSpec | None:
    if isinstance(col, str):
        return ColumnSpec(field_name, column=col)
    if not isinstance(col, dict):
        problems.append(f"{where}: give a source column name or a mapping with 'column:'")
        return None
    unknown = set(col) - COLUMN_OPTIONS
    if unknown:
        problems.append(f"{where}: unknown option(s) {sorted(unknown)}; allowed: "
                        f"{sorted(COLUMN_OPTIONS)}")
    if ("column" in col) == ("constant" in col):
        problems.append(f"{where}: give exactly one of 'column:' or 'constant:'")
        return None
    number = str(col.get("number", "us"))
    if number not in NUMBER_STYLES:
        problems.append(f"{where}.number: {number!r} is not one of {list(NUMBER_STYLES)}")
    values = col.get("values") or {}
    keywords = col.get("keywords") or {}
    ranges = col.get("ranges") or {}
    if not isinstance(values, dict) or not isinstance(keywords, dict) or not isinstance(
        ranges, dict
    ):
        problems.append(f"{where}: 'values', 'keywords' and 'ranges' must be mappings")
        return None
    parsed_ranges = {}
    for target, bounds in ranges.items():
        if not (isinstance(bounds, list | tuple) and len(bounds) == 2
                and all(isinstance(b, int | float) for b in bounds) and bounds[0] <= bounds[1]):
            problems.append(f"{where}.ranges.{target}: give [low, high] numbers, low <= high")
            continue
        parsed_ranges[str(target)] = (float(bounds[0]), float(bounds[1]))
    kind = TABLES[table_name].field(field_name).kind
    return ColumnSpec(
        field=field_name,
        column=_opt_str(col.get("column")),
        constant=col.get("constant"),
        number=number,
        date_format=_opt_str(col.get("date_format")),
        values={str(k).strip().casefold(): "" if v is None else str(v)
                for k, v in values.items()},
        keywords={str(k): tuple(str(w).casefold() for w in _as_list(v))
                  for k, v in keywords.items()},
        ranges=parsed_ranges,
        otherwise=_opt_str(col.get("otherwise")),
        lookup=mapping_options.parse_lookup(where, col.get("lookup"), problems),
        scale=mapping_options.parse_scale(where, kind, col.get("scale"), problems),
        years_before=mapping_options.parse_years_before(where, kind, col.get("years_before"),
                                                        problems),
        default=col.get("default"),
        has_default="default" in col,
    )


def _open_fallbacks(tables: dict[str, TableSpec], tactics_closed: bool) -> list[str]:
    """``otherwise:`` on a field without a fixed vocabulary would send every value there."""
    problems = []
    for name, spec in tables.items():
        for field_name, column in spec.columns.items():
            if column.otherwise is None:
                continue
            closed = f"{name}.{field_name}" in CLOSED_FIELDS or (
                field_name == "tactic" and tactics_closed)
            if not closed:
                problems.append(
                    f"tables.{name}.columns.{field_name}.otherwise: {field_name} has no fixed "
                    "vocabulary, so every value would be sent to the fallback; translate "
                    "values with values:/keywords: instead" + (
                        ", or close the tactic vocabulary with tactics: [...]"
                        if field_name == "tactic" else ""))
    return problems


def _parse_tactics(raw: Any, problems: list[str]) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        problems.append("'tactics' must be a non-empty list (the closed tactic vocabulary)")
        return None
    return tuple(str(t) for t in raw)


def _parse_date_range(raw: Any, problems: list[str]) -> tuple[str, str]:
    default = DEFAULT_DATE_RANGE
    if raw is None:
        return default
    if not (isinstance(raw, list) and len(raw) == 2):
        problems.append("'date_range' must be [first, last] ISO dates")
        return default
    try:
        first, last = (date.fromisoformat(str(value)) for value in raw)
    except ValueError:
        problems.append(f"'date_range' must be ISO dates (YYYY-MM-DD); got {raw!r}")
        return default
    if first > last:
        problems.append(f"'date_range' must go from the earlier date to the later; got {raw!r}")
        return default
    return (first.isoformat(), last.isoformat())


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
