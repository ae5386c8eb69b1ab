"""Out-of-core loading: canonical tables as lazy Ibis expressions over the raw sources.

``salesnb.load`` reads everything into pandas, which is right for exports of a
few million rows. For larger data, :func:`scan` leaves the data where it is:
Parquet and CSV files are read by DuckDB (streaming, no pandas copy), and
database tables are used in place through an Ibis connection. The mapping's
column renames, value lookups, date formats and filters become SQL
expressions; validation runs as aggregate queries in the engine and reports
every problem at once (with example keys instead of row numbers).

Mapping features that need row-by-row Python (keywords, score ranges, European
number strings) are refused with a clear error: convert such files with
``salesnb.load`` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from salesnb.errors import MappingError, Problem, SourceError, ValidationError
from salesnb.mapping import ColumnSpec, Mapping, TableSpec, read_mapping
from salesnb.schema import CORE_TABLES, LEADER_ROLE, TABLES, TACTIC_FIELDS, Field

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.engine import Engine

EXAMPLES = 3


def scan(source, mapping: str | Path | Mapping | None = None, con=None) -> Engine:
    """Validated canonical tables over ``source`` without copying them into pandas.

    Parameters
    ----------
    source
        A folder of Parquet/CSV files, or an Ibis connection whose tables the
        mapping names (PostgreSQL, Spark, DuckDB, ...).
    mapping
        Mapping file; default ``mapping.yml`` in the folder.
    con
        The Ibis connection to compute in, for a folder source (default: a new
        in-memory DuckDB).

    Raises
    ------
    MappingError, SourceError, ValidationError
        As :func:`salesnb.load`; validation problems carry example keys.
    """
    import ibis

    from salesnb.engine import Engine, fetch, put_table, style_periods

    folder = None
    if hasattr(source, "list_tables"):
        con = source
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise SourceError(f"scan needs a folder of Parquet/CSV files or an Ibis connection; "
                              f"{source} is neither.\n    hint: use salesnb.load for single files.")
        con = con if con is not None else ibis.duckdb.connect()
    spec = mapping if isinstance(mapping, Mapping) else read_mapping(
        mapping or (folder / "mapping.yml" if folder else None))
    missing = [t for t in CORE_TABLES if t not in spec.tables]
    if missing:
        raise MappingError(f"mapping {spec.name} does not map the core table(s) {missing}")
    _refuse_python_only_features(spec)
    raw = {name: _raw_table(con, folder, table) for name, table in spec.tables.items()}
    problems = [p for name, table in raw.items() if isinstance(table, Problem) for p in [table]]
    if problems:
        raise ValidationError(problems)
    tables = {name: _canonical(raw[name], spec.tables[name], con) for name in spec.tables}
    labels = {name: _label(folder, spec.tables[name]) for name in spec.tables}
    problems = validate_lazily(tables, labels, spec)
    if problems:
        raise ValidationError(problems)
    periods = style_periods(fetch(tables["leaders"]),
                            fetch(tables["style_changes"]) if "style_changes" in tables else None)
    engine = Engine(con, dict(tables))
    engine.tables["style_periods"] = put_table(con, "salesnb_style_periods", periods)
    return engine


def _refuse_python_only_features(mapping: Mapping) -> None:
    refused = []
    for name, table in mapping.tables.items():
        for field_name, column in table.columns.items():
            if column.keywords or column.ranges:
                refused.append(f"tables.{name}.columns.{field_name}: keywords/ranges")
            if column.number == "eu" and column.column is not None:
                refused.append(f"tables.{name}.columns.{field_name}: number: eu")
        if table.skip_footer:
            refused.append(f"tables.{name}.skip_footer")
    if refused:
        raise MappingError(
            "scan() runs the mapping as SQL and cannot apply: " + "; ".join(refused)
            + "\n    hint: use salesnb.load for such exports, or convert them to Parquet once.")


def _label(folder: Path | None, table: TableSpec) -> str:
    if folder is not None and table.source:
        return str(folder / table.source)
    return table.source or table.table


def _raw_table(con, folder: Path | None, table: TableSpec):
    if folder is None:
        name = table.source or table.table
        if name not in con.list_tables():
            return Problem(table.table, f"the database has no table {name!r}",
                           hint=f"set tables.{table.table}.source")
        return con.table(name)
    if not table.source:
        return Problem(table.table, "the mapping gives no 'source:' for this table")
    path = folder / table.source
    if not path.is_file():
        return Problem(table.table, "source file not found", source=str(path))
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return con.read_parquet(str(path))
    if suffix in (".csv", ".tsv", ".txt"):
        if table.encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
            return Problem(table.table, f"scan reads UTF-8 CSV only, not {table.encoding}",
                           source=str(path), hint="use salesnb.load for this file")
        options = {"delim": table.delimiter} if table.delimiter else {}
        return con.read_csv(str(path), all_varchar=True, **options)
    return Problem(table.table, f"scan cannot read {suffix} files", source=str(path),
                   hint="use salesnb.load for spreadsheets")


def _canonical(raw: ir.Table, table: TableSpec, con) -> ir.Table:
    import ibis

    missing = [c.column for c in table.columns.values()
               if c.column is not None and c.column not in raw.columns]
    if missing:
        raise ValidationError([Problem(
            table.table, "the mapping names a column the source does not have",
            source=table.source or "", column=m,
            hint=f"columns in the source are: {list(raw.columns)[:30]}") for m in missing])
    if table.where is not None:
        raw = raw.filter(raw[table.where.column].cast("string").re_search(table.where.matches))
    schema = TABLES[table.table]
    columns = {name: _read(raw, spec, schema.field(name)) for name, spec in table.columns.items()}
    if table.table == "leaders":
        columns["role"] = ibis.literal(LEADER_ROLE)
    return raw.select(**columns)


def _read(raw: ir.Table, spec: ColumnSpec, field: Field):
    import ibis

    value = ibis.literal(spec.constant) if spec.column is None else raw[spec.column]
    if field.kind in ("id", "text"):
        return value.cast("string").strip()
    if field.kind == "category":
        text = value.cast("string").strip()
        if spec.values:
            text = text.lower().substitute(spec.values, else_=text)
        if spec.otherwise is not None:
            allowed = list(field.allowed or ()) + list(spec.values.values())
            text = ibis.ifelse(text.isin(allowed), text, ibis.literal(spec.otherwise))
        return text
    if field.kind == "number":
        return value.cast("float64") if value.type().is_numeric() else \
            value.cast("string").re_replace(r"[$€£¥,\s]|[A-Z]{3}", "").try_cast("float64")
    if field.kind in ("date", "month"):
        if value.type().is_string() and spec.date_format:
            value = value.as_timestamp(spec.date_format)
        else:
            value = value.try_cast("timestamp") if value.type().is_string() else \
                value.cast("timestamp")
        return value.truncate("M") if field.kind == "month" else value
    if field.kind == "bool":
        return value.cast("boolean")
    raise AssertionError(field.kind)


def validate_lazily(tables: dict[str, ir.Table], labels: dict[str, str],
                    mapping: Mapping) -> list[Problem]:
    """Every check of :mod:`salesnb.validation`, as aggregate queries in the engine."""
    problems: list[Problem] = []
    for name, table in tables.items():
        schema = TABLES[name]
        present = [f for f in schema.fields if f.name in table.columns]
        for field in present:
            problems += _field_problems(table, name, labels[name], mapping, field)
        problems += _key_problems(table, name, labels[name], schema.key)
    problems += _vocabulary(tables, labels, mapping)
    problems += _references(tables, labels)
    return problems


def _problem_if(bad: ir.Table, table: str, label: str, column: str, message: str,
                shown: str, hint: str = "") -> list[Problem]:
    count = int(bad.count().to_pyarrow().as_py())
    if count == 0:
        return []
    values = bad.select(shown).limit(EXAMPLES).to_pyarrow().column(0).to_pylist()
    examples = tuple(str(v) for v in values)
    return [Problem(table, f"{message} ({count:,} rows)", source=label, column=column,
                    examples=examples, hint=hint)]


def _field_problems(table, name, label, mapping, field: Field) -> list[Problem]:
    import ibis

    column = table[field.name]
    out = []
    source_column = mapping.tables[name].columns.get(field.name)
    shown = source_column.column if source_column and source_column.column else field.name
    key = TABLES[name].key[0]
    if field.required:
        out += _problem_if(table.filter(column.isnull()), name, label, shown,
                           "is required but empty or unreadable", key,
                           "fill or fix the value; check the format options of this column")
    if field.allowed:
        out += _problem_if(table.filter(column.notnull() & ~column.isin(list(field.allowed))),
                           name, label, shown, f"value not allowed; allowed: {list(field.allowed)}",
                           field.name, "translate source values with 'values:' in the mapping")
    if field.min is not None:
        out += _problem_if(table.filter(column < field.min), name, label, shown,
                           f"must be >= {field.min:g}", field.name)
    if field.max is not None:
        out += _problem_if(table.filter(column > field.max), name, label, shown,
                           f"must be <= {field.max:g}", field.name)
    if field.kind in ("date", "month"):
        first, last = (ibis.timestamp(f"{d} 00:00:00") for d in mapping.date_range)
        out += _problem_if(table.filter((column < first) | (column > last)), name, label, shown,
                           f"date outside {mapping.date_range[0]} to {mapping.date_range[1]}",
                           field.name)
    return out


def _key_problems(table, name, label, key) -> list[Problem]:
    counts = table.group_by(list(key)).aggregate(n=table.count())
    repeated = counts.filter(counts.n > 1)
    return _problem_if(repeated, name, label, ", ".join(key), "the key is repeated", key[0],
                       "keep one row per key")


def _vocabulary(tables, labels, mapping: Mapping) -> list[Problem]:
    if mapping.tactics is None:
        return []
    out = []
    for name, column in TACTIC_FIELDS:
        if name in tables:
            table = tables[name]
            bad = table.filter(~table[column].isin(list(mapping.tactics)))
            out += _problem_if(bad, name, labels[name], column,
                               f"unknown tactic; vocabulary {list(mapping.tactics)}", column)
    return out


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
