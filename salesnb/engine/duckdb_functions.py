"""DuckDB built-in functions that Ibis does not expose, declared for use in expressions.

Kept in a module of its own, imported only when needed: Ibis reads the type
annotations at declaration time, so they must be real objects (no postponed
annotations here) and ``import ibis`` must not happen at package import.
"""

import ibis
import ibis.expr.datatypes as dt


@ibis.udf.scalar.builtin(name="try_strptime")
def try_strptime(value: str, fmt: str) -> dt.timestamp:
    """DuckDB's strptime that returns NULL instead of failing on a value that does not fit."""
