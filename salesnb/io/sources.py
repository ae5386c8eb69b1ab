"""Reading raw exports: CSV, Parquet, Excel sheets and SQL databases.

Nothing here interprets values; it returns the source columns as exported,
with the row numbers a user would see when opening the file in a spreadsheet
(header = row 1; a quoted cell spanning lines is still one row). Raw files are
only ever opened for reading.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from salesnb.errors import Problem

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy

    from salesnb.io.mapping import TableSpec

FILE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
                 ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel"}
DATABASE_SUFFIXES = {".duckdb", ".ddb", ".db", ".sqlite", ".sqlite3"}


class SourceProblem(Exception):
    """A table's source cannot be read; carries the :class:`Problem` to report."""

    def __init__(self, problem: Problem):
        super().__init__(problem.describe())
        self.problem = problem


@dataclass
class RawTable:
    """A source table as exported, before any value is interpreted."""

    frame: pd.DataFrame
    label: str
    first_row: int
    digest: str


def is_database_url(source: str) -> bool:
    """True for SQLAlchemy URLs such as ``postgresql://...`` or ``duckdb:///file.duckdb``."""
    return "://" in source and not source.startswith("file://")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe for logs and reports)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL we understand: show nothing secret-looking
        return url.split("@")[-1]


class DataLocation:
    """Where a dataset lives: a folder, one file (workbook/database) or a database URL."""

    def __init__(self, source: str | Path):
        text = str(source)
        self.url: str | None = None
        self.path: Path | None = None
        if is_database_url(text):
            self.url = text
        else:
            path = Path(text)
            if not path.exists():
                raise FileNotFoundError(path)
            self.path = path
            if path.is_file() and path.suffix.lower() in DATABASE_SUFFIXES:
                self.url = f"duckdb:///{path.resolve()}" if path.suffix.lower() in {
                    ".duckdb", ".ddb"} else f"sqlite:///{path.resolve()}"
        self._engine: sqlalchemy.Engine | None = None

    @property
    def folder(self) -> Path | None:
        """The folder that relative file names in the mapping resolve against."""
        if self.path is None:
            return None
        return self.path if self.path.is_dir() else self.path.parent

    def describe(self) -> str:
        """The location as shown to users (database passwords masked)."""
        return mask_url(self.url) if self.url and self.path is None else str(self.path)

    def engine(self) -> sqlalchemy.Engine:
        """A read-only SQLAlchemy engine for a database source (created once)."""
        if self._engine is None:
            import sqlalchemy

            assert self.url is not None, "engine() is for database sources only"

            read_only = {"read_only": True} if self.url.startswith("duckdb") else {}
            self._engine = sqlalchemy.create_engine(self.url, connect_args=read_only)
        return self._engine

    def close(self) -> None:
        """Dispose of the database engine, if one was opened."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def read(self, spec: TableSpec) -> RawTable:
        """Read the raw source of one mapped table; raise :class:`SourceProblem` if impossible."""
        if self.url is not None and (spec.query or not _looks_like_file(spec.source)):
            return _read_sql(self, spec)
        if spec.query is not None and self.folder is not None:
            return _read_file_query(self.folder, spec)
        if spec.source is None and spec.columns and not spec.source_columns:
            return _constants_only(spec)
        path = self._file_for(spec)
        kind = FILE_SUFFIXES.get(path.suffix.lower())
        if kind == "csv":
            return _read_csv(path, spec)
        if kind == "parquet":
            return _read_parquet(path, spec)
        if kind == "excel":
            return _read_excel(path, spec)
        raise SourceProblem(Problem(
            spec.table, f"cannot read files of type {path.suffix!r}", source=str(path),
            hint="use .csv, .parquet, .xlsx or a database (.duckdb, .sqlite or a URL)."))

    def _file_for(self, spec: TableSpec) -> Path:
        if spec.source is None:
            if self.path is not None and self.path.is_file():
                return self.path
            raise SourceProblem(Problem(
                spec.table, "the mapping gives no 'source:' for this table",
                source=self.describe(), hint=f"add tables.{spec.table}.source: FILE"))
        path = Path(spec.source)
        if not path.is_absolute() and self.folder is not None:
            path = self.folder / path
        if not path.is_file():
            raise SourceProblem(Problem(
                spec.table, "source file not found", source=str(path),
                hint=f"check tables.{spec.table}.source in the mapping (relative paths are "
                     f"read from {self.folder})."))
        return path


def _constants_only(spec: TableSpec) -> RawTable:
    """A table whose every field is a ``constant:`` and that names no source: one row (e.g.
    the single team of an export that has no team column).
    """
    import pandas as pd

    values = repr(sorted((f, repr(c.constant)) for f, c in spec.columns.items()))
    return RawTable(pd.DataFrame(index=[0]), f"constants of tables.{spec.table}", first_row=1,
                    digest=_digest(values.encode()))


def _looks_like_file(name: str | None) -> bool:
    return name is not None and Path(name).suffix.lower() in FILE_SUFFIXES


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_csv(path: Path, spec: TableSpec) -> RawTable:
    import pandas as pd

    data = path.read_bytes()
    if not data.strip():
        raise SourceProblem(Problem(spec.table, "the file is empty", source=str(path),
                                    hint="export the table again; it should have a header row."))
    text = _decode(data, path, spec)
    delimiter = spec.delimiter or ("\t" if path.suffix.lower() == ".tsv" else
                                   sniff_delimiter(text))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            sep=delimiter, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise SourceProblem(Problem(spec.table, f"not a readable CSV file: {exc}",
                                    source=str(path),
                                    hint="check the delimiter (tables.X.delimiter) and quoting."),
                            ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame, str(path), first_row=2, digest=_digest(data))


DELIMITERS = ",;\t|"
"""The delimiters a CSV file may use when the mapping does not say (detected in this order)."""


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text among :data:`DELIMITERS` (a comma when it cannot tell,
    e.g. for a file of one column).
    """
    import csv

    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _decode(data: bytes, path: Path, spec: TableSpec) -> str:
    skipped = 0
    if spec.encoding.lower().replace("-", "") == "utf8" and data.startswith(codecs.BOM_UTF8):
        skipped = len(codecs.BOM_UTF8)  # tolerate the byte-order mark Excel writes
    try:
        return data[skipped:].decode(spec.encoding)
    except LookupError:
        raise SourceProblem(Problem(spec.table, f"unknown encoding {spec.encoding!r}",
                                    source=str(path),
                                    hint="use a Python codec name such as cp1252 or latin-1."),
                            ) from None
    except UnicodeDecodeError as exc:
        position = exc.start + skipped
        line = data.count(b"\n", 0, position) + 1
        raise SourceProblem(Problem(
            spec.table,
            f"cannot decode as {spec.encoding}: byte 0x{data[position]:02x} at byte "
            f"position {position} (line {line})",
            source=str(path), rows=(line,),
            hint=f"the file was probably saved by Excel in another encoding; set "
                 f"tables.{spec.table}.encoding (for example cp1252) in the mapping.")) from None


def _read_parquet(path: Path, spec: TableSpec) -> RawTable:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        raise SourceProblem(Problem(spec.table, f"not a readable Parquet file: {exc}",
                                    source=str(path))) from None
    return RawTable(frame, str(path), first_row=1, digest=_digest(path.read_bytes()))


def _read_excel(path: Path, spec: TableSpec) -> RawTable:
    import openpyxl
    import pandas as pd

    try:
        workbook = openpyxl.load_workbook(path, read_only=True)
    except Exception as exc:
        raise SourceProblem(Problem(spec.table, f"not a readable .xlsx workbook: {exc}",
                                    source=str(path))) from None
    sheets = workbook.sheetnames
    workbook.close()
    sheet = spec.sheet or sheets[0]
    if sheet not in sheets:
        raise SourceProblem(Problem(
            spec.table, f"the workbook has no sheet named {sheet!r}", source=str(path),
            hint=f"set tables.{spec.table}.sheet to one of {sheets}."))
    frame = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame, f"{path} [sheet {sheet}]", first_row=2,
                    digest=_digest(path.read_bytes() + sheet.encode()))


def _read_file_query(folder: Path, spec: TableSpec) -> RawTable:
    """``query:`` over files: DuckDB SQL in which the DATA folder's files are tables by name
    (``SELECT * FROM 'opportunities.csv'``), the escape hatch for shapes a mapping cannot say.
    """
    import duckdb

    query = spec.query or ""
    label = f"{folder} (query for {spec.table})"
    try:
        con = duckdb.connect()
        con.execute("SET file_search_path = ?", [str(folder)])
        relation = con.sql(query)
        frame = relation.df() if relation is not None else None
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        raise SourceProblem(Problem(spec.table, f"the query failed: {reason}", source=label,
                                    hint="query: is DuckDB SQL; name files of the data folder "
                                         "in quotes: FROM 'file.csv'")) from None
    if frame is None:
        raise SourceProblem(Problem(spec.table, "the query returns no table", source=label,
                                    hint="query: must be one SELECT statement"))
    frame.columns = [str(c).strip() for c in frame.columns]
    digest = hashlib.sha256(query.encode() + pd_hash(frame)).hexdigest()
    return RawTable(frame, label, first_row=1, digest=digest)


def pd_hash(frame: pd.DataFrame) -> bytes:
    """A content hash of a frame (for the dataset fingerprint)."""
    import pandas as pd

    return pd.util.hash_pandas_object(frame, index=False).values.tobytes()


def _read_sql(location: DataLocation, spec: TableSpec) -> RawTable:
    import pandas as pd
    import sqlalchemy

    where = location.describe()
    try:
        engine = location.engine()
        if spec.query:
            frame = pd.read_sql_query(sqlalchemy.text(spec.query), engine)
            label = f"{where} (query for {spec.table})"
        else:
            name = spec.source or spec.table
            tables = sqlalchemy.inspect(engine).get_table_names()
            if name not in tables:
                raise SourceProblem(Problem(
                    spec.table, f"the database has no table {name!r}", source=where,
                    hint=f"set tables.{spec.table}.source to one of {sorted(tables)}."))
            quoted = engine.dialect.identifier_preparer.quote(name)
            # a plain SELECT: reflection (read_sql_table) breaks on some dialects (duckdb-engine)
            frame = pd.read_sql_query(sqlalchemy.text(f"SELECT * FROM {quoted}"), engine)
            label = f"{where} table {name}"
    except SourceProblem:
        raise
    except Exception as exc:  # driver errors differ per database
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise SourceProblem(Problem(spec.table, f"cannot read from the database: {reason}",
                                    source=where,
                                    hint="check the URL, the credentials and the table name."),
                            ) from None
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values).hexdigest()
    return RawTable(frame, label, first_row=1, digest=digest)
