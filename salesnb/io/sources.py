"""Reading raw exports: CSV, Parquet, Excel sheets and SQL databases.

Nothing here interprets values; it returns the source columns as exported,
with the row numbers a user would see when opening the file in a spreadsheet
(header = row 1; a quoted cell spanning lines is still one row). Raw files are
only ever opened for reading.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from salesnb.errors import Problem
from salesnb.io.file_readers import FILE_SUFFIXES, RawTable, SourceProblem, digest, read_file
from salesnb.secrets import mask_url, mask_urls_in_text, text_secrets

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy

    from salesnb.io.mapping import TableSpec

__all__ = ["DATABASE_SUFFIXES", "OUTSIDE_DATA_VARIABLE", "DataLocation", "RawTable",
           "SourceProblem", "is_database_url", "mask_url"]

DATABASE_SUFFIXES = {".duckdb", ".ddb", ".db", ".sqlite", ".sqlite3"}
OUTSIDE_DATA_VARIABLE = "SALESNB_ALLOW_OUTSIDE_DATA"
"""Set to ``1`` (``--allow-outside-data``) to let a mapping read files outside the DATA
folder; the notebooks of a report inherit it."""


def is_database_url(source: str) -> bool:
    """True for SQLAlchemy URLs such as ``postgresql://...`` or ``duckdb:///file.duckdb``."""
    return "://" in source and not source.startswith("file://")


class DataLocation:
    """Where a dataset lives: a folder, one file (workbook/database) or a database URL."""

    def __init__(self, source: str | Path, allow_outside: bool | None = None):
        text = str(source)
        self.url: str | None = None
        self.path: Path | None = None
        self.allow_outside = (os.environ.get(OUTSIDE_DATA_VARIABLE, "") == "1"
                              if allow_outside is None else allow_outside)
        if is_database_url(text):
            self.url = text
            if text.startswith("sqlite:"):  # never let the driver create a missing file
                database = _sqlite_file(text)
                if database is None or not Path(database).is_file():
                    raise FileNotFoundError(mask_url(text))
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
        """A read-only SQLAlchemy engine for a database source (created once).

        Read-only as the database enforces it: DuckDB opens the file ``read_only`` with
        external access off (no ``COPY ... TO``, no reading other files); SQLite opens an
        existing file in ``mode=ro`` and authorises reading only (no ``ATTACH``, no
        ``VACUUM INTO``; a missing file is an error, never created);
        PostgreSQL sessions default to read-only transactions.
        """
        if self._engine is None:
            import sqlalchemy

            assert self.url is not None, "engine() is for database sources only"
            url = sqlalchemy.engine.make_url(self.url)
            options: dict = {}
            if url.get_backend_name() == "duckdb":
                options["connect_args"] = {"read_only": True,
                                           "config": {"enable_external_access": False}}
            elif url.get_backend_name() == "sqlite":
                options["creator"] = _sqlite_reader(url.database)
            elif url.get_backend_name() == "postgresql":
                options["connect_args"] = {"options": "-c default_transaction_read_only=on"}
            self._engine = sqlalchemy.create_engine(url, **options)
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
        return read_file(self._file_for(spec), spec)

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
        if not self.allow_outside and not self.inside(path):
            raise SourceProblem(Problem(
                spec.table, f"the source {spec.source!r} is outside the data folder "
                f"{self.folder}", source=f"tables.{spec.table}.source",
                hint="copy the file into the data folder, or allow it explicitly with "
                     f"--allow-outside-data ({OUTSIDE_DATA_VARIABLE}=1)"))
        if not path.is_file():
            raise SourceProblem(Problem(
                spec.table, "source file not found", source=str(path),
                hint=f"check tables.{spec.table}.source in the mapping (relative paths are "
                     f"read from {self.folder})."))
        return path


    def inside(self, path: Path) -> bool:
        """Whether ``path`` (symbolic links followed) lies inside the data folder."""
        if self.folder is None:
            return False
        return path.resolve().is_relative_to(self.folder.resolve())


def _sqlite_file(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).database
    except Exception:
        return None


def _sqlite_reader(database: str | None):
    """A connection factory opening an existing SQLite file read-only."""
    import sqlite3

    uri = Path(database or "").resolve().as_uri().replace("file://", "file:", 1) + "?mode=ro"

    allowed = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
               sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_TRANSACTION}

    def reading_only(action: int, *details: object) -> int:
        # mode=ro still lets ATTACH and VACUUM INTO create files: only reading is authorised
        return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(uri, uri=True)
        con.set_authorizer(reading_only)
        return con

    return connect


def _constants_only(spec: TableSpec) -> RawTable:
    """A table whose every field is a ``constant:`` and that names no source: one row (e.g.
    the single team of an export that has no team column).
    """
    import pandas as pd

    values = repr(sorted((f, repr(c.constant)) for f, c in spec.columns.items()))
    return RawTable(pd.DataFrame(index=[0]), f"constants of tables.{spec.table}", first_row=1,
                    digest=digest(values.encode()))


def _looks_like_file(name: str | None) -> bool:
    return name is not None and Path(name).suffix.lower() in FILE_SUFFIXES


def _read_file_query(folder: Path, spec: TableSpec) -> RawTable:
    """``query:`` over files: DuckDB SQL in which the DATA folder's files are tables by name
    (``SELECT * FROM 'opportunities.csv'``), the escape hatch for shapes a mapping cannot say.
    """
    import duckdb

    query = spec.query or ""
    label = f"{folder} (query for {spec.table})"
    try:
        statements = duckdb.extract_statements(query)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise SourceProblem(Problem(
                spec.table, "the query must be one SELECT statement (it may not write or "
                "change settings)", source=label, hint="query: SELECT ... FROM 'file.csv'"))
        con = _folder_connection(folder)
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


_QUERY_READERS = {".csv": "read_csv", ".tsv": "read_csv", ".txt": "read_csv",
                  ".parquet": "read_parquet", ".pq": "read_parquet"}


def _folder_connection(folder: Path):
    """A DuckDB connection that sees the folder's data files, by name, and nothing else.

    Each file is a view named as it is written in a query (``'opportunities.csv'``,
    ``'2024/spend.csv'``); then file access is limited to the folder and locked, so a query
    can read neither other files nor change the settings.
    """
    import duckdb

    root = folder.resolve()
    con = duckdb.connect()
    con.execute("SET allowed_directories = ?", [[str(root) + os.sep]])
    for path in sorted(root.rglob("*")):
        reader = _QUERY_READERS.get(path.suffix.lower())
        if reader and path.is_file() and path.resolve().is_relative_to(root):
            name = path.relative_to(root).as_posix().replace('"', '""')
            location = str(path).replace("'", "''")
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM {reader}('{location}')")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


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
        reason = mask_urls_in_text(reason, text_secrets([location.url or ""]))
        raise SourceProblem(Problem(spec.table, f"cannot read from the database: {reason}",
                                    source=where,
                                    hint="check the URL, the credentials and the table name."),
                            ) from None
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values).hexdigest()
    return RawTable(frame, label, first_row=1, digest=digest)
