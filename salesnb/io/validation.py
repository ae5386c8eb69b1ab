"""Checking canonical tables: types, required fields, vocabularies, ranges, keys, references.

Per-table rules run through pandera (lazy, so every failure is collected);
rules across tables (references, the tactic vocabulary) run here. Every
failure becomes a :class:`~salesnb.errors.Problem` naming the source, the
source column and the source rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from salesnb.errors import Problem
from salesnb.io.schema import TABLES, TACTIC_FIELDS, Table

ROW = "_source_row"
"""Column that carries each record's row number in its source through validation."""

ORDERED_DATES = (("deals", "created_date", "close_date"), ("reps", "hire_date", "exit_date"))


@dataclass
class LoadedTable:
    """A canonical table still carrying where each row and column came from."""

    table: str
    frame: pd.DataFrame
    source: str
    columns: dict[str, str]
    raw: pd.DataFrame | None = None
    unreadable: dict[str, pd.Series] = dataclasses.field(default_factory=dict)

    def column_label(self, field_name: str) -> str:
        """The source column a canonical field was read from (for messages)."""
        return self.columns.get(field_name, field_name)

    def examples(self, field_name: str, index) -> tuple[str, ...]:
        """Up to three offending values as written in the source (not as converted)."""
        column = self.columns.get(field_name)
        frame, name = (self.raw, column) if self.raw is not None and column in self.raw else (
            self.frame, field_name)
        values = frame.loc[index, name].dropna().astype(str)
        return tuple(pd.unique(values))[:3]

    def rows(self, mask_or_index) -> list[int]:
        """Source row numbers of the records selected by a boolean mask or an index."""
        selected = self.frame.loc[mask_or_index, ROW]
        return sorted(int(r) for r in selected)


def validate_tables(
    loaded: dict[str, LoadedTable],
    tactics: tuple[str, ...] | None,
    date_range: tuple[str, str],
) -> list[Problem]:
    """Run every check and return all problems found (empty list: the data is valid)."""
    problems: list[Problem] = []
    for item in loaded.values():
        problems += _schema_problems(item)
        problems += _date_problems(item, date_range)
    problems += _vocabulary_problems(loaded, tactics)
    problems += _reference_problems(loaded)
    return problems


def _pandera_schema(table: Table, present: list[str]):
    import pandera.pandas as pa

    columns = {}
    for field in table.fields:
        if field.name not in present:
            continue
        checks = []
        if field.allowed:
            checks.append(pa.Check.isin(list(field.allowed)))
        if field.min is not None:
            checks.append(pa.Check.ge(field.min))
        if field.max is not None:
            checks.append(pa.Check.le(field.max))
        columns[field.name] = pa.Column(nullable=not field.required, checks=checks)
    unique = list(table.key) if len(table.key) > 1 else None
    if len(table.key) == 1:
        columns[table.key[0]] = pa.Column(nullable=False, unique=True,
                                          checks=columns[table.key[0]].checks)
    return pa.DataFrameSchema(columns, unique=unique, report_duplicates="all")


_CHECK_WORDING = {
    "not_nullable": ("is required but empty", "fill the value in the export, or drop the row"),
    "field_uniqueness": ("must be unique but is repeated", "keep one row per key"),
    "multiple_fields_uniqueness": ("key is repeated", "keep one row per key"),
}


def _schema_problems(item: LoadedTable) -> list[Problem]:
    import pandera.errors

    table = TABLES[item.table]
    schema = _pandera_schema(table, list(item.frame.columns))
    try:
        schema.validate(item.frame, lazy=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = _without_unreadable(item, cases)
    key_repeats = cases["check"] == "multiple_fields_uniqueness"
    problems = []
    if key_repeats.any():  # one failure group per key column: report the key once
        problems.append(_describe_failure(item, table, None, "multiple_fields_uniqueness",
                                          cases[key_repeats]))
    for (column, check), group in cases[~key_repeats].groupby(["column", "check"],
                                                                dropna=False, sort=False):
        problems.append(_describe_failure(item, table, column, str(check), group))
    return problems


def _without_unreadable(item: LoadedTable, cases: pd.DataFrame) -> pd.DataFrame:
    """Drop 'required but empty' failures on cells already reported as unreadable."""
    unreadable = {(name, idx) for name, mask in item.unreadable.items()
                  for idx in mask.index[mask]}
    already = [(c == "not_nullable") and (col, i) in unreadable
               for col, c, i in zip(cases["column"], cases["check"], cases["index"], strict=True)]
    return cases[~pd.Series(already, index=cases.index, dtype=bool)]


def _describe_failure(item: LoadedTable, table: Table, column, check: str,
                      group: pd.DataFrame) -> Problem:
    index = group["index"].dropna().unique()
    rows = item.rows(index) if len(index) else []
    if check == "multiple_fields_uniqueness" or column is None or column == table.name:
        key = ", ".join(item.column_label(k) for k in table.key)
        return Problem(item.table, f"the key ({key}) is repeated", source=item.source,
                       rows=rows, hint="keep one row per key (exact copies are dropped "
                       "automatically; these rows differ in other columns)")
    field = table.field(column)
    if check in _CHECK_WORDING:
        message, hint = _CHECK_WORDING[check]
    elif check.startswith("isin"):
        message = f"value not allowed; allowed: {list(field.allowed or ())}"
        hint = "translate source values with 'values:', 'keywords:' or 'ranges:' in the mapping"
    elif check.startswith("greater_than"):
        message, hint = f"must be >= {field.min:g}", "correct or remove negative values"
    elif check.startswith("less_than"):
        message = f"must be <= {field.max:g}"
        hint = "shares are fractions (0-1): '35%' or 0.35" if field.max == 1 else \
            "check the units of this column"
    else:
        message, hint = f"failed check {check}", ""
    examples = item.examples(column, index) if check != "not_nullable" else ()
    return Problem(item.table, message, source=item.source, column=item.column_label(column),
                   rows=rows, examples=examples, hint=hint)


def _date_problems(item: LoadedTable, date_range: tuple[str, str]) -> list[Problem]:
    first, last = (pd.Timestamp(d) for d in date_range)
    problems = []
    for field in TABLES[item.table].fields:
        if field.kind not in ("date", "month") or field.name not in item.frame:
            continue
        values = item.frame[field.name]
        outside = values.notna() & ((values < first) | (values > last))
        if outside.any():
            problems.append(Problem(
                item.table, f"date outside the plausible range {first.date()} to {last.date()}",
                source=item.source, column=item.column_label(field.name),
                rows=item.rows(outside), examples=item.examples(field.name, values.index[outside]),
                hint="check the date format (day/month order) or set date_range in the mapping"))
    if item.table == "deals" and {"outcome", "close_date"} <= set(item.frame.columns):
        unreadable = item.unreadable.get("close_date")  # already reported as unreadable
        closed = item.frame["outcome"].isin(["won", "lost"]) & item.frame["close_date"].isna()
        if unreadable is not None:
            closed &= ~unreadable.reindex(closed.index, fill_value=False)
        if closed.any():
            problems.append(Problem(
                item.table, "won and lost deals need a close date (open ones may leave it "
                "empty)", source=item.source, column=item.column_label("close_date"),
                rows=item.rows(closed), hint="fill the close date, or check the outcome"))
    for table_name, earlier, later in ORDERED_DATES:
        if item.table == table_name and {earlier, later} <= set(item.frame.columns):
            wrong = item.frame[later] < item.frame[earlier]
            if wrong.any():
                problems.append(Problem(
                    item.table, f"{later} is before {earlier}", source=item.source,
                    column=item.column_label(later), rows=item.rows(wrong),
                    hint=f"{later} must be on or after {earlier}"))
    return problems


def _vocabulary_problems(loaded: dict[str, LoadedTable],
                         tactics: tuple[str, ...] | None) -> list[Problem]:
    if tactics is None:
        return []
    problems = []
    for table_name, column in TACTIC_FIELDS:
        item = loaded.get(table_name)
        if item is None or column not in item.frame:
            continue
        values = item.frame[column]
        unknown = values.notna() & ~values.isin(tactics)
        if unknown.any():
            problems.append(Problem(
                table_name, f"unknown tactic; the mapping's vocabulary is {list(tactics)}",
                source=item.source, column=item.column_label(column), rows=item.rows(unknown),
                examples=item.examples(column, values.index[unknown]),
                hint="map the spelling with 'values:' on this column, or add it to 'tactics:'"))
    return problems


def _reference_problems(loaded: dict[str, LoadedTable]) -> list[Problem]:
    problems = []
    for item in loaded.values():
        for ref in TABLES[item.table].references:
            target = loaded.get(ref.target)
            if target is None or not set(ref.columns) <= set(item.frame.columns):
                continue
            known = set(target.frame[list(ref.target_columns)[0]].dropna())
            values = item.frame[ref.columns[0]]
            dangling = values.notna() & ~values.isin(known)
            if dangling.any():
                problems.append(Problem(
                    item.table, f"refers to {ref.target} that do not exist in {target.source}",
                    source=item.source, column=item.column_label(ref.columns[0]),
                    rows=item.rows(dangling),
                    examples=item.examples(ref.columns[0], values.index[dangling]),
                    hint=f"add the missing {ref.target} rows, or correct the ids"))
    return problems
