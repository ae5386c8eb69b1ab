"""The query engine: canonical tables as Ibis expressions on one backend.

DuckDB in-process is the default and needs no server; the same expressions run
on PostgreSQL (``ibis.postgres.connect``) and Spark (``ibis.pyspark.connect``),
so data that sits in a warehouse is aggregated where it lives. Only small
aggregates come back to pandas.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.io.dataset import Dataset

DUCKDB_MEMORY_LIMIT = "1GB"
"""Memory cap of salesnb's own DuckDB connections: larger work spills to a temporary folder.
Measured on 50M deals (benchmarks/README.md) to keep the whole process under 1.5 GB."""

OPEN_START = pd.Timestamp("1900-01-01")
OPEN_END = pd.Timestamp("2200-01-01")


@dataclass
class Engine:
    """Canonical tables (plus ``style_periods``) on one Ibis backend."""

    con: Any  # an Ibis backend connection
    tables: dict[str, ir.Table]

    @classmethod
    def from_dataset(cls, dataset: Dataset, con=None, prefix: str = "salesnb_") -> Engine:
        """Put a validated :class:`Dataset` into a backend (default: a new in-memory DuckDB).

        The tables are small once validated, so they are copied in; on Spark they
        travel as Parquet files (pandas' string missing values would otherwise
        arrive as the text "NaN").
        """
        con = con if con is not None else default_connection()
        frames = dict(dataset.tables)
        periods = style_periods(frames.get("leaders"), frames.get("style_changes"))
        if periods is not None:
            frames["style_periods"] = periods
        tables = {name: put_table(con, f"{prefix}{name}", frame) for name, frame in frames.items()}
        return cls(con, tables)

    def __getitem__(self, name: str) -> ir.Table:
        return self.tables[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    @property
    def backend(self) -> str:
        """The backend's name: ``duckdb``, ``postgres``, ``pyspark``..."""
        return self.con.name


def default_connection(memory_limit: str = DUCKDB_MEMORY_LIMIT, database: str | Path = ":memory:",
                       read_only: bool = False):
    """A new in-process DuckDB connection with salesnb's memory cap (spills beyond it).

    What does not fit is spilled to a folder of the system's temporary
    directory, removed when Python exits (DuckDB's own default is ``.tmp`` in
    the working directory: a notebook or data folder). ``database``: a DuckDB
    file instead of memory (``read_only``: many processes may read it at once).
    """
    import ibis

    return ibis.duckdb.connect(str(database), read_only=read_only, memory_limit=memory_limit,
                               temp_directory=str(_spill_folder()))


def _spill_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="salesnb-duckdb-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def as_engine(data: Engine | Dataset) -> Engine:
    """Accept an Engine, or a Dataset (put into an in-memory DuckDB once, then reused)."""
    if isinstance(data, Engine):
        return data
    cached = getattr(data, "_engine", None)
    if cached is None:
        cached = Engine.from_dataset(data)
        object.__setattr__(data, "_engine", cached)
    return cached


def table_names(con) -> list[str]:
    """The tables of a connection's current database, sorted.

    On DuckDB from its catalogue: Ibis 12's ``list_tables`` calls a method DuckDB 2 no longer
    has (``fetch_arrow_table``).
    """
    if con.name != "duckdb":
        return sorted(con.list_tables())
    rows = con.con.execute("SELECT table_name FROM information_schema.tables WHERE "
                           "table_catalog = current_database() AND table_schema = "
                           "current_schema() ORDER BY table_name").fetchall()
    return [name for (name,) in rows]


def fetch(expr: ir.Table) -> pd.DataFrame:
    """Execute an Ibis expression into pandas.

    On DuckDB through Arrow: on 252k grouped rows about 1 s instead of 3 s for
    ``to_pandas()``, whose per-column conversions dominate once the query is
    fast. Elsewhere through Ibis' own conversion, which also copes with
    PostgreSQL returning NUMERIC for float literals (Ibis drops their casts).
    """
    import ibis

    if ibis.get_backend(expr).name == "duckdb":
        return expr.to_pyarrow().to_pandas()
    return expr.to_pandas()


STYLE_COLUMNS = ("decision_style", "involvement")
"""The leadership style fields that can change over time (``style_changes``)."""


def style_periods(leaders: pd.DataFrame | None, changes: pd.DataFrame | None
                  ) -> pd.DataFrame | None:
    """Each leader's style over time: [valid_from, valid_to) intervals (None: no style data).

    ``leaders`` holds the style at the start of the data; each style change holds
    from its ``effective_date`` until the next change. Only the style fields the leaders
    table has are carried (a dataset without any has no style periods).
    """
    styles = [c for c in STYLE_COLUMNS if leaders is not None and c in leaders]
    if leaders is None or not styles:
        return None
    base = leaders[["leader_id", *styles]].assign(valid_from=OPEN_START)
    if changes is not None and len(changes):
        moves = changes.rename(columns={"effective_date": "valid_from"})[list(base.columns)]
        base = pd.concat([base, moves], ignore_index=True)
    base = base.sort_values(["leader_id", "valid_from"]).reset_index(drop=True)
    base["valid_to"] = base.groupby("leader_id")["valid_from"].shift(-1).fillna(OPEN_END)
    for column in ("valid_from", "valid_to"):
        base[column] = pd.to_datetime(base[column]).astype("datetime64[ns]")
    return base[["leader_id", "valid_from", "valid_to", *styles]]


def as_count(condition: ir.BooleanValue) -> ir.IntegerValue:
    """1 where ``condition`` holds, else 0 (PostgreSQL cannot cast boolean to bigint)."""
    import ibis

    return ibis.ifelse(condition, 1, 0)


def put_table(con, name: str, frame: pd.DataFrame) -> ir.Table:
    """Copy a small pandas frame into the backend as table ``name``."""
    import pyarrow as pa

    frame = frame.copy()
    declared = {}
    for column in frame.columns:  # pandas' nullable dtypes: plain objects with None for missing
        dtype = frame[column].dtype
        if isinstance(dtype, pd.StringDtype | pd.BooleanDtype):
            declared[column] = pa.string() if isinstance(dtype, pd.StringDtype) else pa.bool_()
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for column, arrow_type in declared.items():  # an all-empty column would otherwise be NULL-typed
        if table.schema.field(column).type == pa.null():
            index = table.schema.get_field_index(column)
            table = table.set_column(index, column, table[column].cast(arrow_type))
    if con.name == "pyspark":
        import pyarrow.parquet as pq

        folder = Path(tempfile.mkdtemp(prefix="salesnb-spark-"))
        atexit.register(shutil.rmtree, folder, True)  # Spark reads lazily: keep until exit
        # Spark reads microsecond timestamps only
        pq.write_table(table, folder / f"{name}.parquet", coerce_timestamps="us")
        return con.read_parquet(str(folder / f"{name}.parquet"), table_name=name)
    return con.create_table(name, table, overwrite=True)
