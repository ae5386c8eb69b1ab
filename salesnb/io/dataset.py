"""The validated dataset handed to every analysis: tables, provenance, fingerprint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class TableProvenance:
    """Where one canonical table came from and what loading did to it."""

    source: str
    columns: dict[str, str]
    rows_read: int
    rows_dropped: dict[str, int]
    digest: str


@dataclass
class Dataset:
    """Validated canonical tables (see docs/design.md) with their provenance.

    Tables are reachable as ``dataset.tables["deals"]`` or ``dataset.deals``;
    optional tables that were not mapped are absent (``"touches" in dataset``).
    ``fingerprint`` is a SHA-256 over the mapping and every source read, so a
    report can say exactly which inputs it was built from.
    """

    tables: dict[str, pd.DataFrame]
    provenance: dict[str, TableProvenance]
    fingerprint: str
    source: str
    mapping_path: str | None = None
    notes: list[str] = field(default_factory=list)

    def __contains__(self, table: str) -> bool:
        return table in self.tables

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"dataset has no table {name!r}; it has {sorted(tables)}")

    def summary(self) -> dict[str, Any]:
        """Headline facts: rows per table, periods, teams, leader styles, cost, customers."""
        spend, deals, leaders = self.tables["spend"], self.tables["deals"], self.tables["leaders"]
        won = deals[deals["outcome"] == "won"]
        has_ids = "customer_id" in won and won["customer_id"].notna().all()
        customers = won["customer_id"].nunique() if has_ids else len(won)
        periods = spend["period"]
        return {
            "rows": {name: len(frame) for name, frame in self.tables.items()},
            "periods": (f"{periods.min():%Y-%m} to {periods.max():%Y-%m} "
                        f"({periods.nunique()} months)") if len(periods) else "none",
            "teams": int(self.tables["teams"]["team_id"].nunique()),
            "leaders_by_style": leaders["decision_style"].value_counts().sort_index().to_dict(),
            "total_cost": float(spend["cost"].sum()),
            "new_customers": int(customers),
        }

    def describe(self) -> str:
        """The summary as a few lines of text (what ``salesnb validate`` prints)."""
        facts = self.summary()
        rows = ", ".join(f"{name} {n:,}" for name, n in facts["rows"].items())
        styles = ", ".join(f"{s} {n}" for s, n in facts["leaders_by_style"].items())
        return "\n".join([
            f"source:        {self.source}",
            f"fingerprint:   {self.fingerprint[:16]}",
            f"rows:          {rows}",
            f"periods:       {facts['periods']}",
            f"teams:         {facts['teams']}",
            f"leaders:       {styles}",
            f"total cost:    {facts['total_cost']:,.2f}",
            f"new customers: {facts['new_customers']:,}",
        ])
