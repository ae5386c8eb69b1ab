"""Test helper: the demo's source files as an export would hold them, and copies in a database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DEMO_TABLES = ("spend", "deals", "teams", "leaders", "style_changes", "reps", "touches")


def raw_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The demo's source files as plain string/number frames (as an export would hold them)."""
    frames = {}
    for name in DEMO_TABLES:
        csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
        frames[name] = pd.read_csv(csv, dtype=str) if csv.exists() else pd.read_parquet(parquet)
    return frames


def write_duckdb(database: Path, frames: dict[str, pd.DataFrame], suffix: str = "_export"
                 ) -> Path:
    """Store each frame as table ``<name><suffix>`` in a new DuckDB file."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        for name, frame in frames.items():
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name}{suffix} AS SELECT * FROM frame")
            con.unregister("frame")
    return database
