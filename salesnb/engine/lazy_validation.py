"""Validation of scanned tables as aggregate queries in the engine (for :func:`.scan`).

Every check of :mod:`salesnb.io.validation` runs where the data lives and reports every
problem at once, with example keys and values instead of row numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from salesnb.engine.connection import fetch
from salesnb.errors import Problem
from salesnb.io.mapping import Mapping
from salesnb.io.schema import TABLES, TACTIC_FIELDS, Field
from salesnb.io.values import FORMAT_HINTS

if TYPE_CHECKING:
    import ibis.expr.types as ir

EXAMPLES = 3
RAW_PREFIX = "_raw_"
"""Each mapped source value travels beside its conversion under this prefix (for examples)."""
UNREAD_PREFIX = "_unread_"
"""True where a source value is present but its conversion is NULL (cannot be read)."""


def validate_lazily(tables: dict[str, ir.Table], labels: dict[str, str],
                    mapping: Mapping, sources: dict[str, ir.Table]) -> list[Problem]:
    """Every check of :mod:`salesnb.io.validation`, as aggregate queries in the engine.

    ``tables`` are the cleaned tables (canonical columns and ``_unread_`` flags);
    ``sources`` the same rows with their source values (``_raw_`` columns), read
    only to show examples of values that cannot be read. The row checks of one
    table (required, allowed values, ranges, dates, tactic vocabulary) share one
    scan; keys and references take one query each.
    """
    problems: list[Problem] = []
    for name, table in tables.items():
        checks = _row_checks(table, name, mapping, sources[name])
        problems += _run_row_checks(table, name, labels[name], checks)
        problems += _key_problems(table, name, labels[name], TABLES[name].key)
    problems += _references(tables, labels)
    return problems


@dataclass
class _RowCheck:
    """Rows where ``failing`` holds are a problem; ``shown`` gives the example values."""

    failing: ir.BooleanValue
    message: str
    column: str
    shown: str
    hint: str = ""
    examples: ir.Table | None = None
    """Where the examples come from (default: the failing rows of the checked table)."""


def _row_checks(table: ir.Table, name: str, mapping: Mapping,
                source: ir.Table) -> list[_RowCheck]:
    checks = []
    for field in TABLES[name].fields:
        raw, unread = f"{RAW_PREFIX}{field.name}", f"{UNREAD_PREFIX}{field.name}"
        if unread in table.columns:
            checks.append(_RowCheck(
                table[unread], f"cannot read as {field.kind}",
                _source_column(mapping, name, field.name), raw,
                FORMAT_HINTS.get(field.kind, "") + "; scan reads plain numbers and the "
                "mapping's date_format only",
                examples=source.filter(source[raw].notnull() & source[field.name].isnull())))
    for field in TABLES[name].fields:
        if field.name in table.columns:
            checks += _field_checks(table, name, mapping, field)
    if mapping.tactics is not None and (name, "tactic") in TACTIC_FIELDS:
        checks.append(_RowCheck(~table.tactic.isin(list(mapping.tactics)),
                                f"unknown tactic; vocabulary {list(mapping.tactics)}",
                                _source_column(mapping, name, "tactic"), "tactic",
                                "map the spelling with 'values:' on this column"))
    return checks


def _source_column(mapping: Mapping, table: str, field_name: str) -> str:
    return mapping.tables[table].source_columns.get(field_name, field_name)


def _field_checks(table, name, mapping, field: Field) -> list[_RowCheck]:
    import ibis

    column, label = table[field.name], _source_column(mapping, name, field.name)
    checks = []
    unread = f"{UNREAD_PREFIX}{field.name}"
    if field.required:  # an unreadable value is reported as such, not as empty
        empty = column.isnull() & ~table[unread] if unread in table.columns else \
            column.isnull()
        checks.append(_RowCheck(empty, "is required but empty", label,
                                TABLES[name].key[0],
                                "fill or fix the value; check the format options of this column"))
    if field.allowed:
        checks.append(_RowCheck(column.notnull() & ~column.isin(list(field.allowed)),
                                f"value not allowed; allowed: {list(field.allowed)}", label,
                                field.name, "translate source values with 'values:'"))
    if field.min is not None:
        checks.append(_RowCheck(column < field.min, f"must be >= {field.min:g}", label,
                                field.name))
    if field.max is not None:
        checks.append(_RowCheck(column > field.max, f"must be <= {field.max:g}", label,
                                field.name))
    if field.kind in ("date", "month"):
        first, last = (ibis.timestamp(f"{d} 00:00:00") for d in mapping.date_range)
        checks.append(_RowCheck((column < first) | (column > last),
                                f"date outside {mapping.date_range[0]} to "
                                f"{mapping.date_range[1]}", label, field.name))
    return checks


def _run_row_checks(table: ir.Table, name: str, label: str,
                    checks: list[_RowCheck]) -> list[Problem]:
    from salesnb.engine.connection import as_count

    if not checks:
        return []
    counts = fetch(table.aggregate(**{f"check_{i}": as_count(check.failing).sum()
                                      for i, check in enumerate(checks)})).iloc[0]
    problems = []
    for i, check in enumerate(checks):
        failing = int(counts[f"check_{i}"] or 0)
        if failing:
            bad = check.examples if check.examples is not None else table.filter(check.failing)
            problems.append(_problem(bad, failing, name, label, check.column, check.message,
                                     check.shown, check.hint))
    return problems


def _problem(bad: ir.Table, count: int, table: str, label: str, column: str, message: str,
             shown: str, hint: str = "") -> Problem:
    values = fetch(bad.select(shown).limit(EXAMPLES))[shown].tolist()
    return Problem(table, f"{message} ({count:,} rows)", source=label, column=column,
                   examples=tuple(str(v) for v in values), hint=hint)


def _problem_if(bad: ir.Table, table: str, label: str, column: str, message: str,
                shown: str, hint: str = "") -> list[Problem]:
    count = int(fetch(bad.aggregate(n=bad.count()))["n"].iloc[0])
    return [_problem(bad, count, table, label, column, message, shown, hint)] if count else []


def _key_problems(table, name, label, key) -> list[Problem]:
    counts = table.group_by(list(key)).aggregate(n=table.count())
    repeated = counts.filter(counts.n > 1)
    return _problem_if(repeated, name, label, ", ".join(key), "the key is repeated", key[0],
                       "keep one row per key")


def _references(tables, labels) -> list[Problem]:
    out = []
    for name, table in tables.items():
        for ref in TABLES[name].references:
            if ref.target not in tables or ref.columns[0] not in table.columns:
                continue
            target = tables[ref.target].select(ref.target_columns[0]).distinct()
            column = ref.columns[0]
            dangling = table.filter(table[column].notnull()).anti_join(
                target, table[column] == target[ref.target_columns[0]])
            out += _problem_if(dangling, name, labels[name], column,
                               f"refers to {ref.target} that do not exist", column)
    return out
