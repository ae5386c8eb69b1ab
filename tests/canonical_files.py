"""Test helper: canonical tables written as CSV files with an identity mapping, then loaded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesnb import load


def write_canonical(folder: Path, tables: dict[str, pd.DataFrame],
                    columns: dict[str, list[str]]):
    """Write each table's ``columns`` (those it has) to ``folder/<name>.csv`` with a
    ``mapping.yml`` mapping every column to itself; return the loaded Dataset.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "tables:"]
    for name, frame in tables.items():
        frame = frame.copy()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        mapped = [c for c in columns[name] if c in frame.columns]
        frame[mapped].to_csv(folder / f"{name}.csv", index=False)
        pairs = ", ".join(f"{c}: {c}" for c in mapped)
        lines += [f"  {name}:", f"    source: {name}.csv", f"    columns: {{{pairs}}}"]
    (folder / "mapping.yml").write_text("\n".join(lines) + "\n")
    return load(folder)
