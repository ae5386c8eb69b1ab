"""The query engine: canonical tables as Ibis expressions on DuckDB, PostgreSQL or Spark.

Owns the connection and table plumbing (:mod:`.connection`: :class:`Engine`, ``fetch``,
``put_table``, ``style_periods``), out-of-core loading (:mod:`.scanning`: ``scan()`` applies
a mapping as SQL over Parquet/CSV files or database tables, cleaning each table once), its
validation as aggregate queries in the engine (:mod:`.lazy_validation`) and DuckDB functions
Ibis does not expose (:mod:`.duckdb_functions`).

May import: :mod:`salesnb.errors`, :mod:`salesnb.io`.
"""

from salesnb.engine.connection import Engine, as_engine, default_connection, fetch
from salesnb.engine.scanning import scan

__all__ = ["Engine", "as_engine", "default_connection", "fetch", "scan"]
