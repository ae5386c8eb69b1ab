"""A dataset whose large tables stay in the engine: what reports run on at any size.

:class:`EngineDataset` is a :class:`~salesnb.io.dataset.Dataset` for data too large for
pandas. The small tables (teams, leaders, style changes, spend, reps: one row per team,
person or team-month) are read into pandas as usual; the row-level tables
(:data:`LARGE_TABLES`: deals, touches, leads) stay in the engine, and only their aggregates
come out: a :class:`TableProfile` each (rows, share filled per column), the months with
activity, the headline counts. The metrics reach every table through
:func:`salesnb.engine.connection.as_engine`, which returns this dataset's engine, so the
panel, funnels, people and ramp tables are computed where the rows are.

Code that needs row-level pandas frames asks ``dataset.tables``, which holds only the small
tables: ``"deals" in dataset`` is True, ``"deals" in dataset.tables`` is not, and
``dataset.deals`` says where the rows are instead of returning them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from salesnb.engine.connection import Engine, as_count, fetch
from salesnb.errors import SalesnbError
from salesnb.io.dataset import Dataset, TableProvenance
from salesnb.io.schema import TABLES

LARGE_TABLES = ("deals", "touches", "leads")
"""Row-level tables left in the engine; every other table is read into pandas."""


@dataclass(frozen=True)
class TableProfile:
    """Aggregates of one engine table: its rows and the share of rows filled per column."""

    rows: int
    filled: dict[str, float]

    @classmethod
    def of(cls, table: Any) -> TableProfile:
        """One aggregate query over ``table`` (an Ibis table)."""
        counts = {"rows": table.count(),
                  **{f"filled_{i}": table[c].count() for i, c in enumerate(table.columns)}}
        row = fetch(table.aggregate(**counts)).iloc[0]
        rows = int(row["rows"])
        return cls(rows, {c: (int(row[f"filled_{i}"]) / rows if rows else 0.0)
                          for i, c in enumerate(table.columns)})


@dataclass(kw_only=True)
class EngineDataset(Dataset):
    """Validated tables: small ones in pandas (``tables``), row-level ones in ``engine``.

    ``profiles`` holds a :class:`TableProfile` per engine-only table.
    """

    engine: Engine
    profiles: dict[str, TableProfile] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_engine", self.engine)  # what as_engine() returns

    @classmethod
    def from_engine(cls, engine: Engine, source: str, fingerprint: str,
                    labels: dict[str, str] | None = None) -> EngineDataset:
        """Read the small tables of ``engine`` into pandas and profile the large ones."""
        small = {name: fetch(table) for name, table in engine.tables.items()
                 if name not in LARGE_TABLES and name != "style_periods"}
        profiles = {name: TableProfile.of(engine[name]) for name in LARGE_TABLES
                    if name in engine}
        labels = labels or {}
        names = [n for n in TABLES if n in small or n in profiles]
        small = {name: small[name] for name in names if name in small}
        provenance = {name: TableProvenance(labels.get(name, source), {},
                                            _rows(name, small, profiles), {}, "")
                      for name in names}
        deals = profiles.get("deals")
        note = (f"the {deals.rows:,} deals stay in {engine.backend}; only their totals were "
                "read into memory" if deals else "the row-level tables stay in the engine")
        return cls(tables=small, provenance=provenance, fingerprint=fingerprint, source=source,
                   notes=[note], engine=engine, profiles=profiles)

    def __contains__(self, table: str) -> bool:
        return table in self.tables or table in self.profiles

    def __getattr__(self, name: str) -> Any:
        if name in self.__dict__.get("profiles", {}):
            raise SalesnbError(f"the {name} rows stay in the engine; use "
                               f"dataset.engine[{name!r}] (an Ibis table) or the metrics.")
        return super().__getattr__(name)

    def rows(self, table: str) -> int:
        """Rows of ``table`` (0 when it is absent)."""
        return _rows(table, self.tables, self.profiles)

    def filled(self, table: str) -> dict[str, float]:
        """Share of rows with a value, per column of ``table``."""
        if table in self.profiles:
            return dict(self.profiles[table].filled)
        return super().filled(table)

    def table_names(self) -> list[str]:
        """The tables of the data, in the data model's order."""
        return [name for name in TABLES if name in self]

    def summary(self) -> dict[str, Any]:
        """As :meth:`Dataset.summary`, the deal counts computed in the engine."""
        deals = self.engine["deals"]
        won, is_open = deals.outcome == "won", deals.outcome == "open"
        counts = {"won": as_count(won).sum(), "open": as_count(is_open).sum(),
                  "open_undated": as_count(is_open & deals.close_date.isnull()).sum()}
        if "customer_id" in deals.columns:
            counts["won_ids"] = deals.customer_id.count(where=won)
            counts["customers"] = deals.customer_id.nunique(where=won)
        row = fetch(deals.aggregate(**counts)).iloc[0].fillna(0)
        has_ids = "customers" in row and int(row["won_ids"]) == int(row["won"])
        months = self.months()
        leaders = self.tables.get("leaders")
        styles = (leaders["decision_style"].value_counts().sort_index().to_dict()
                  if leaders is not None and "decision_style" in leaders else {})
        spend = self.tables.get("spend")
        return {
            "rows": {name: self.rows(name) for name in self.table_names()},
            "periods": (f"{months.min():%Y-%m} to {months.max():%Y-%m} "
                        f"({months.nunique()} months)") if len(months) else "none",
            "teams": int(self.tables["teams"]["team_id"].nunique()),
            "leaders": int(leaders["leader_id"].nunique()) if leaders is not None else None,
            "leaders_by_style": styles,
            "tactic_spend": float(spend["cost"].sum()) if spend is not None else None,
            "new_customers": int(row["customers"] if has_ids else row["won"]),
            "open_deals": int(row["open"]),
            "open_without_close_date": int(row["open_undated"]),
        }

    def months(self) -> pd.Series:
        """As :meth:`Dataset.months`: the distinct months come out of the engine."""
        deals = self.engine["deals"]
        closed = deals.filter(deals.outcome != "open")
        parts = [closed.select(month=closed.close_date.truncate("M")).distinct()]
        if "leads" in self.profiles and "created_date" in self.engine["leads"].columns:
            leads = self.engine["leads"]
            parts.append(leads.select(month=leads.created_date.truncate("M")).distinct())
        months = [pd.to_datetime(fetch(part)["month"]).dropna() for part in parts]
        spend = self.tables.get("spend")
        if spend is not None:
            months.append(spend["period"].dropna().dt.to_period("M").dt.to_timestamp())
        stacked = pd.concat(months, ignore_index=True).astype("datetime64[ns]")
        return stacked.drop_duplicates().sort_values().reset_index(drop=True)

    def latest(self, table: str, column: str) -> pd.Timestamp | None:
        """As :meth:`Dataset.latest`; for an engine table one query."""
        if table not in self.profiles:
            return super().latest(table, column)
        rows = self.engine[table]
        if column not in rows.columns:
            return None
        value = fetch(rows.aggregate(latest=rows[column].max())).iloc[0]["latest"]
        return None if pd.isna(value) else pd.Timestamp(value)

    def last_close_date(self) -> pd.Timestamp | None:
        """The latest close date of a won or lost deal (None: none has one)."""
        deals = self.engine["deals"]
        latest = fetch(deals.aggregate(latest=deals.close_date.max(
            where=deals.outcome != "open"))).iloc[0]["latest"]
        return None if pd.isna(latest) else pd.Timestamp(latest)


def _rows(table: str, small: dict[str, pd.DataFrame], profiles: dict[str, TableProfile]) -> int:
    if table in small:
        return len(small[table])
    return profiles[table].rows if table in profiles else 0
