"""Data-quality summaries for the data-quality notebook: aggregates only, never row values.

- :func:`table_overview`: per table, where it came from (file name; URL passwords masked), rows
  read, rows
  dropped while loading (totals, blank rows, exact duplicates) and rows kept.
- :func:`completeness`: per optional column, the share of rows that have a value.
- :func:`loading_notes`: what loading dropped and what was selected, as sentences.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesnb.io.dataset import Dataset
from salesnb.io.schema import NEW_CUSTOMER_FLAG, TABLES
from salesnb.io.sources import mask_url


def table_overview(dataset: Dataset) -> pd.DataFrame:
    """One row per loaded table: source, rows read, dropped while loading, and kept."""
    rows = []
    for name in dataset.table_names():
        provenance = dataset.provenance.get(name)
        kept = dataset.rows(name)
        rows.append({
            "table": name,
            "source": _shown_source(provenance.source) if provenance else "",
            "rows_read": provenance.rows_read if provenance else kept,
            "rows_dropped": sum(provenance.rows_dropped.values()) if provenance else 0,
            "rows_kept": kept,
        })
    return pd.DataFrame(rows)


def completeness(dataset: Dataset) -> pd.DataFrame:
    """Share of rows with a value, per optional column of every loaded table."""
    rows = []
    for name in dataset.table_names():
        spec = TABLES.get(name)
        required = set(spec.required) if spec is not None else set()
        for column, filled in dataset.filled(name).items():
            if column in required or column == NEW_CUSTOMER_FLAG:  # derived, not exported
                continue
            rows.append({"table": name, "column": column, "filled": filled})
    return pd.DataFrame(rows, columns=["table", "column", "filled"])


def loading_notes(dataset: Dataset) -> list[str]:
    """What loading dropped (totals, blank rows, duplicates) and which segment or period was
    selected, as sentences.
    """
    return list(dataset.notes) or ["nothing was dropped while loading; no selection"]


def _shown_source(source: str) -> str:
    """A database URL with its password masked, or a file's name (never a server path)."""
    if "://" in source:
        return mask_url(source)
    return Path(source.split(" [")[0]).name + (" [" + source.split(" [", 1)[1]
                                               if " [" in source else "")
