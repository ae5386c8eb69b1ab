"""``salesnb.load``: from raw exports, through a mapping, to a validated :class:`Dataset`."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salesnb.errors import DataCleaningWarning, MappingError, Problem, SourceError, ValidationError
from salesnb.io import reshaping
from salesnb.io.dataset import Dataset, TableProvenance
from salesnb.io.mapping import ColumnSpec, Mapping, RowFilter, TableSpec, read_mapping
from salesnb.io.schema import LEADER_ROLE, ONE_MARKET, TABLES, TOTALS_TABLES, Field
from salesnb.io.sources import DataLocation, RawTable, SourceProblem, is_database_url, mask_url
from salesnb.io.validation import ROW, LoadedTable, validate_tables
from salesnb.io.values import FORMAT_HINTS, Converted, constant, convert, is_missing, per_distinct

TOTAL_WORDS = re.compile(r"^\s*(grand\s+|sub\s*)?totals?\s*:?\s*$", re.IGNORECASE)


def load(source: str | Path, mapping: str | Path | Mapping | None = None, *,
         allow_outside_data: bool | None = None) -> Dataset:
    """Load and validate a sales dataset.

    Parameters
    ----------
    source
        A folder of exports, one workbook/database file (``.xlsx``, ``.duckdb``,
        ``.sqlite``) or a SQLAlchemy database URL (``postgresql://...``).
    mapping
        A mapping file (or parsed :class:`Mapping`). Default: ``mapping.yml``
        inside ``source`` (or beside it, for a file).
    allow_outside_data
        Let the mapping read files outside the data folder (absolute paths, ``../``,
        symbolic links leading out). Default: refused, unless the environment variable
        ``SALESNB_ALLOW_OUTSIDE_DATA`` is ``1``. Values of such files are never quoted in
        an error message.

    Returns
    -------
    Dataset
        The canonical tables, clean: later code may rely on types and keys.

    Raises
    ------
    MappingError
        The mapping is missing or malformed.
    SourceError
        ``source`` does not exist.
    ValidationError
        Anything wrong with the data; ``.problems`` lists every problem found.
    """
    location = _locate(source, allow_outside_data)
    try:
        spec = mapping if isinstance(mapping, Mapping) else read_mapping(
            mapping or _default_mapping(location))
        spec.require_core_tables()
        return _load(location, spec)
    finally:
        location.close()


def _locate(source: str | Path, allow_outside: bool | None) -> DataLocation:
    try:
        return DataLocation(source, allow_outside)
    except FileNotFoundError:
        raise SourceError(f"data source {mask_url(str(source))} does not exist.\n    hint: "
                          "give a folder of exports, a .xlsx/.duckdb file or a database URL."
                          ) from None


def _default_mapping(location: DataLocation) -> Path:
    if location.folder is None:
        raise MappingError(f"no mapping given for database {location.describe()}.\n"
                           "    hint: pass --mapping FILE (mapping=... in Python).")
    return location.folder / "mapping.yml"


def _load(location: DataLocation, mapping: Mapping) -> Dataset:
    problems: list[Problem] = []
    loaded: dict[str, LoadedTable] = {}
    provenance: dict[str, TableProvenance] = {}
    notes: list[str] = []
    outside: set[str] = set()  # labels of files outside the data folder: values not quoted
    for name, spec in mapping.tables.items():
        try:
            raw = location.read(spec)
        except SourceProblem as exc:
            problems.append(exc.problem)
            continue
        prepared = _prepare(raw, spec, location)
        notes += [f"{name}: {note}" for note in raw.notes]
        if spec.source and not is_database_url(spec.source) and location.folder is not None \
                and not location.inside(location.folder / spec.source):
            outside.add(raw.label)
        problems += prepared.problems
        for reason, count in prepared.dropped.items():
            notes.append(f"{name}: dropped {count} {reason} row(s) from {raw.label}")
        notes += [f"{name}: {note}" for note in prepared.notes]
        if prepared.frame is None:
            continue
        loaded[name] = LoadedTable(name, prepared.frame, raw.label, spec.source_columns,
                                   prepared.raw, prepared.unreadable)
        digest = raw.digest  # the files read through lookups are inputs too
        if prepared.lookup_digests:
            digest = hashlib.sha256("".join([digest, *prepared.lookup_digests]).encode()
                                    ).hexdigest()
        provenance[name] = TableProvenance(raw.label, spec.source_columns, len(raw.frame),
                                           prepared.dropped, digest)
    problems += validate_tables(loaded, mapping.tactics, mapping.date_range)
    if problems:
        raise ValidationError([_without_values(p) if p.source in outside else p
                               for p in problems])
    notes += _drop_late_touches(loaded)
    for note in notes:
        warnings.warn(note, DataCleaningWarning, stacklevel=3)
    tables = {name: item.frame.drop(columns=ROW).reset_index(drop=True)
              for name, item in loaded.items()}
    return Dataset(tables, provenance, _fingerprint(mapping, provenance),
                   location.describe(), str(mapping.path) if mapping.path else None, notes)


def _drop_late_touches(loaded: dict[str, LoadedTable]) -> list[str]:
    """Leave out touches dated after their deal closed (a touch cannot have won it); a note
    counts them and names their rows.
    """
    if "touches" not in loaded or "deals" not in loaded:
        return []
    touches = loaded["touches"].frame
    closed = loaded["deals"].frame.set_index("deal_id")["close_date"]
    closing = touches["deal_id"].map(closed)
    late = (touches["touch_date"] > closing).fillna(False).astype(bool)
    if not late.any():
        return []
    loaded["touches"].frame = touches[~late]
    rows = sorted(int(r) for r in touches.loc[late, ROW])
    shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10
                                              else "")
    return [f"touches: left out {int(late.sum())} touch(es) dated after their deal closed, "
            f"from {loaded['touches'].source} (rows {shown})"]


def _without_values(problem: Problem) -> Problem:
    """The problem without example values (for a file outside the data folder)."""
    if not problem.examples:
        return problem
    return dataclasses.replace(problem, examples=("(values of files outside the data folder "
                                                  "are not shown)",))


@dataclass
class _Prepared:
    """One table after filtering, cleaning and conversion (``frame`` None: unusable)."""

    frame: pd.DataFrame | None
    raw: pd.DataFrame | None = None
    unreadable: dict[str, pd.Series] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lookup_digests: list[str] = field(default_factory=list)


def _prepare(raw: RawTable, spec: TableSpec, location: DataLocation) -> _Prepared:
    """Filter, reshape, clean and convert one raw table."""
    frame = raw.frame.copy()
    frame[ROW] = range(raw.first_row, raw.first_row + len(frame))
    if len(raw.frame) == 0 or (not raw.frame.columns.size and spec.source_columns):
        return _Prepared(None, problems=[Problem(
            spec.table, "the source has no data rows", source=raw.label,
            hint="check that the right file, sheet or table is mapped")])
    dropped, notes = {}, []
    if spec.skip_footer >= len(frame):
        return _Prepared(None, problems=[Problem(
            spec.table, f"skip_footer: {spec.skip_footer} would drop all {len(frame)} "
            "data row(s)", source=raw.label,
            hint=f"set tables.{spec.table}.skip_footer to the number of footer lines below "
                 "the table (0 for none)")])
    if spec.skip_footer:
        frame = frame.iloc[:-spec.skip_footer]
        dropped["footer"] = spec.skip_footer
    for rule in spec.where:
        if rule.column not in frame:
            return _Prepared(None, problems=_missing_columns(frame, raw.label, spec))
        frame = _apply_where(frame, rule)
        if frame.empty:
            return _Prepared(None, dropped=dropped, problems=[Problem(
                spec.table, f"the filter where: {rule.matches!r} keeps none of "
                f"{len(raw.frame)} rows", source=raw.label, column=rule.column,
                hint="check the regular expression (in YAML, single-quote it so backslashes "
                     "stay as written)")])
    if spec.unpivot is not None:
        frame, problems, empty = reshaping.unpivot(frame, spec, raw.label)
        if problems:
            return _Prepared(None, problems=problems)
        if empty:
            notes.append(f"unpivot left out {empty} empty cell(s) of the wide columns")
    problems = _missing_columns(frame, raw.label, spec)
    if problems:
        return _Prepared(None, problems=problems)
    if spec.source_columns:  # a table of constants only has no export debris
        frame, debris = _drop_export_debris(frame, spec)
        dropped.update(debris)
    converted, unreadable, problems, lookups, read_notes = _convert_columns(
        frame, raw.label, spec, location)
    converted, reshaped = _reshape(converted, spec, bool(problems))
    return _Prepared(converted, frame, unreadable, dropped, problems,
                     notes + read_notes + reshaped, lookups)


def _reshape(out: pd.DataFrame, spec: TableSpec, has_problems: bool
             ) -> tuple[pd.DataFrame, list[str]]:
    """``distinct: true`` and ``aggregate: month``, after conversion; their notes."""
    notes = []
    if spec.distinct:
        out, repeats = reshaping.distinct_rows(out)
        if repeats:
            notes.append(f"distinct: {repeats} repeated row(s) folded into {len(out)}")
    if spec.aggregate == "month" and not has_problems:
        before = len(out)
        out, summed = reshaping.months(out)
        if summed:
            notes.append(f"aggregate: {before} rows summed into {len(out)} month rows "
                         "(a week counts in the month of its date)")
    return out, notes


def _apply_where(frame: pd.DataFrame, rule: RowFilter) -> pd.DataFrame:
    pattern = re.compile(rule.matches)
    text = frame[rule.column].astype("string").fillna("")
    return frame[text.map(lambda value: bool(pattern.search(value))).astype(bool)]


def _missing_columns(frame: pd.DataFrame, label: str, spec: TableSpec) -> list[Problem]:
    return [Problem(spec.table, "the mapping names a column the source does not have",
                    source=label, column=col,
                    hint=f"columns in the source are: "
                         f"{[c for c in frame.columns if c != ROW][:30]}")
            for col in spec.raw_columns if col not in frame.columns]


def _drop_export_debris(frame: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, dict]:
    """Drop blank rows, 'Total' rows and exact duplicate rows; count each."""
    mapped = list(spec.source_columns.values())
    missing = frame[mapped].apply(is_missing)
    blank = missing.all(axis=1)
    required = [spec.source_columns[f] for f in TABLES[spec.table].required
                if f in spec.source_columns]
    says_total = frame[mapped].apply(lambda col: per_distinct(
        col, lambda text: text.str.match(TOTAL_WORDS.pattern, case=False), if_missing=False)
        ).any(axis=1)
    total = ~blank & says_total & missing[required].any(axis=1)
    duplicate = ~blank & ~total & frame.drop(columns=ROW).duplicated(keep="first")
    dropped = {"blank": int(blank.sum()), "'Total'": int(total.sum()),
               "exact duplicate": int(duplicate.sum())}
    return frame[~(blank | total | duplicate)], {k: v for k, v in dropped.items() if v}


def _convert_columns(frame: pd.DataFrame, label: str, spec: TableSpec,
                     location: DataLocation):
    """Convert every mapped column; return the frame, unreadable-cell masks and problems."""
    table = TABLES[spec.table]
    out = pd.DataFrame(index=frame.index)
    unreadable, problems, lookups, notes = {}, [], [], []
    for name, col in spec.columns.items():
        field = table.field(name)
        if col.column is None:
            result = constant(col.constant, len(frame), field, frame.index)
        else:
            source = frame[col.column]
            if col.lookup is not None:
                source, found, digest = reshaping.looked_up(source, col, frame, spec.table,
                                                            label, location)
                problems += found
                lookups.append(digest)
            result = convert(source, col, field)
        out[name] = result.values
        if not result.any_bad:
            continue
        findings, bad = _unread_values(result, col, field, name in table.required, frame,
                                       label, spec.table)
        problems += findings.problems
        notes += findings.notes
        if bad.any():
            unreadable[name] = bad
    if spec.table == "leaders":
        out["role"] = pd.Series(LEADER_ROLE, index=out.index, dtype="string")
    if spec.table in TOTALS_TABLES and "market" not in spec.columns:
        out["market"] = pd.Series(ONE_MARKET, index=out.index, dtype="string")
    for name, column in spec.attributes.items():  # kept as text, for groupings
        text = frame[column].astype("string").str.strip()
        out[name] = text.where(~is_missing(frame[column]))
    for name, column in spec.controls.items():  # numbers, in the table's number style
        reading = ColumnSpec(name, column=column, number=_number_style(spec))
        result = convert(frame[column], reading, CONTROL_FIELD)
        out[name] = result.values
        if result.any_bad:
            unreadable[name] = result.bad
            problems.append(Problem(
                spec.table, "cannot read the control variable as a number", source=label,
                column=column, rows=sorted(int(r) for r in frame.loc[result.bad, ROW]),
                examples=tuple(pd.unique(frame.loc[result.bad, column].astype(str)))[:3],
                hint=FORMAT_HINTS.get("number", "")))
    out[ROW] = frame[ROW]
    return out, unreadable, problems, lookups, notes


@dataclass
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _unread_values(result: Converted, col: ColumnSpec, kind: Field, required: bool,
                   frame: pd.DataFrame, label: str, table: str) -> tuple[_Findings, pd.Series]:
    """The problems (and notes) of a column's unreadable values, and the rows still bad.

    A year-9999 date ("no end date" in HR exports) is read as missing where the field is
    optional, with a note; a date pandas cannot hold and any other unreadable value is a
    problem with its rows and examples.
    """
    found = _Findings()
    column = col.column or f"constant for {kind.name}"

    def rows_of(mask: pd.Series) -> list[int]:
        return sorted(int(r) for r in frame.loc[mask, ROW])

    def examples(mask: pd.Series) -> tuple:
        return tuple(pd.unique(frame.loc[mask, col.column].astype(str)))[:3] \
            if col.column else (col.constant,)

    bad = result.bad
    placeholders = result.no_date if result.no_date is not None else bad & False
    if placeholders.any() and not required:
        found.notes.append(f"{placeholders.sum()} year-9999 date(s) in column {column!r} of "
                           f"{label} read as 'no date' (rows {_listed(rows_of(placeholders))})")
        bad = bad & ~placeholders
    elif placeholders.any():
        found.problems.append(Problem(
            table, f"a year-9999 date stands for 'no date', but {kind.name} is required",
            source=label, column=column, rows=rows_of(placeholders),
            examples=examples(placeholders),
            hint=f"give the real {kind.name}, or leave these rows out of the export"))
    beyond = result.beyond if result.beyond is not None else bad & False
    beyond = beyond & bad & ~placeholders
    if beyond.any():
        found.problems.append(Problem(
            table, "a date outside the years 1678-2261 that salesnb can hold", source=label,
            column=column, rows=rows_of(beyond), examples=examples(beyond),
            hint="check the year (a typing slip?); an open-ended date is best left empty"))
    rest = bad & ~placeholders & ~beyond
    if rest.any():
        found.problems.append(Problem(
            table, f"cannot read as {kind.kind}", source=label, column=column,
            rows=rows_of(rest), examples=examples(rest), hint=FORMAT_HINTS.get(kind.kind, "")))
    return found, bad


def _listed(rows: list[int], most: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:most])
    return shown + (f" and {len(rows) - most} more" if len(rows) > most else "")


CONTROL_FIELD = Field("control", "number", description="a control variable of totals")
"""How ``controls:`` columns are read (numbers; an empty cell stays missing)."""


def _number_style(spec: TableSpec) -> str:
    """The number style the table's own number fields use (``eu`` if any says so)."""
    return "eu" if any(c.number == "eu" for c in spec.columns.values()) else "us"


def _fingerprint(mapping: Mapping, provenance: dict[str, TableProvenance]) -> str:
    digest = hashlib.sha256(mapping.text.encode())
    for name in sorted(provenance):
        digest.update(f"{name}:{provenance[name].digest}".encode())
    return digest.hexdigest()
