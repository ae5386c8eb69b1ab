"""The validated dataset handed to every analysis: tables, provenance, fingerprint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from salesnb.io.schema import TABLES


def period_grain(periods: pd.Series) -> str | None:
    """``"week"`` when the distinct periods are whole weeks apart, ``"month"`` when they are
    28-31 days apart or all first days of a month; None otherwise (or for one period).
    """
    unique = pd.DatetimeIndex(periods.dropna().drop_duplicates().sort_values())
    if len(unique) < 2:
        return None
    gaps = pd.Series(unique[1:] - unique[:-1]).dt.days
    if (gaps % 7 == 0).all():
        return "week"
    if gaps.between(28, 31).all() or (unique.day == 1).all():
        return "month"
    return None


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

    def rows(self, table: str) -> int:
        """Rows of ``table`` (0 when it is absent)."""
        frame = self.tables.get(table)
        return 0 if frame is None else len(frame)

    def filled(self, table: str) -> dict[str, float]:
        """Share of rows with a value, per column of ``table``."""
        frame = self.tables[table]
        return {str(c): float(frame[c].notna().mean()) if len(frame) else 0.0 for c in frame}

    def table_names(self) -> list[str]:
        """The names of the tables of the data, in loading order."""
        return list(self.tables)

    def last_close_date(self) -> pd.Timestamp | None:
        """The latest close date of a won or lost deal (None: no deals, or none has one)."""
        deals = self.tables.get("deals")
        if deals is None or "close_date" not in deals:
            return None
        latest = deals.loc[deals["outcome"] != "open", "close_date"].max()
        return None if pd.isna(latest) else pd.Timestamp(latest)

    def latest(self, table: str, column: str) -> pd.Timestamp | None:
        """The latest value of a date column (None: no such table or column, or no date)."""
        frame = self.tables.get(table)
        if frame is None or column not in frame:
            return None
        value = frame[column].max()
        return None if pd.isna(value) else pd.Timestamp(value)

    def lacks(self, analysis: str) -> str | None:
        """Why this data cannot support ``analysis`` (one plain sentence), or None.

        See :data:`salesnb.io.capabilities.ANALYSES` for the analyses and their needs.
        """
        from salesnb.io.capabilities import lacks

        return lacks(self, analysis)

    def summary(self) -> dict[str, Any]:
        """Headline facts: rows per table, months covered, teams, leaders, spend, customers.

        Months come from every dated table (spend periods, deal close and created dates,
        lead dates), not from spend alone. ``tactic_spend`` is None without a spend table
        (cost per customer is then not measurable; it is never 0). Totals data (no deals)
        gives :meth:`totals_summary` instead.
        """
        if "deals" not in self:
            return self.totals_summary()
        deals = self.tables["deals"]
        won = deals[deals["outcome"] == "won"]
        has_ids = "customer_id" in won and won["customer_id"].notna().all()
        customers = won["customer_id"].nunique() if has_ids else len(won)
        months = self.months()
        leaders = self.tables.get("leaders")
        styles = (leaders["decision_style"].value_counts().sort_index().to_dict()
                  if leaders is not None and "decision_style" in leaders else {})
        spend = self.tables.get("spend")
        is_open = deals["outcome"] == "open"
        return {
            "rows": {name: len(frame) for name, frame in self.tables.items()},
            "periods": (f"{months.min():%Y-%m} to {months.max():%Y-%m} "
                        f"({months.nunique()} months)") if len(months) else "none",
            "teams": int(self.tables["teams"]["team_id"].nunique()),
            "leaders": int(leaders["leader_id"].nunique()) if leaders is not None else None,
            "leaders_by_style": styles,
            "tactic_spend": float(spend["cost"].sum()) if spend is not None else None,
            "new_customers": int(customers),
            "open_deals": int(is_open.sum()),
            "open_without_close_date": int((is_open & deals["close_date"].isna()).sum())
            if "close_date" in deals else int(is_open.sum()),
        }

    def totals_summary(self) -> dict[str, Any]:
        """Headline facts of totals over time: rows, periods and their grain, markets,
        tactics, spend and the outcome (see :data:`salesnb.io.schema.TOTALS_TABLES`).
        """
        totals = self.tables["totals"]
        spend = self.tables.get("totals_spend")
        periods = totals["period"].drop_duplicates().sort_values()
        grain = period_grain(periods) or ("one period" if len(periods) < 2 else
                                          "neither week nor month")
        outcome = next((c for c in ("new_customers", "revenue") if c in totals), None)
        return {
            "rows": {name: len(frame) for name, frame in self.tables.items()},
            "periods": (f"{periods.min():%Y-%m-%d} to {periods.max():%Y-%m-%d} "
                        f"({len(periods)} periods of a {grain})") if len(periods) else "none",
            "grain": grain,
            "markets": int(totals["market"].nunique()),
            "tactics": sorted(spend["tactic"].unique()) if spend is not None else [],
            "tactic_spend": float(spend["cost"].sum()) if spend is not None else None,
            "outcome": outcome,
            "outcome_total": float(totals[outcome].sum()) if outcome else None,
            "controls": [c for c in totals if c not in TABLES["totals"].field_names],
        }

    def months(self) -> pd.Series:
        """The first day of every month with activity: spend, won or lost deals (by close
        date) and leads (by created date). Open deals' expected close dates and deals'
        created dates (often before the export window) do not extend it. Totals data: the
        months of its periods.
        """
        if "deals" not in self:
            periods = self.tables["totals"]["period"].dropna()
            return periods.dt.to_period("M").dt.to_timestamp().drop_duplicates().sort_values()
        deals = self.tables["deals"]
        closed = deals.loc[deals["outcome"] != "open", "close_date"] if "close_date" in deals \
            else pd.Series([], dtype="datetime64[ns]")
        dates = [closed.dropna()]
        for table, column in (("spend", "period"), ("leads", "created_date")):
            frame = self.tables.get(table)
            if frame is not None and column in frame:
                dates.append(frame[column].dropna())
        if not dates:
            return pd.Series([], dtype="datetime64[ns]")
        stacked = pd.concat(dates, ignore_index=True)
        return stacked.dt.to_period("M").dt.to_timestamp().drop_duplicates().sort_values()

    def describe(self) -> str:
        """The summary as a few lines of text (what ``salesnb validate`` prints)."""
        if "deals" not in self:
            return self._describe_totals()
        facts = self.summary()
        rows = ", ".join(f"{name} {n:,}" for name, n in facts["rows"].items())
        if facts["leaders"] is None:
            leaders = "none mapped (leaders are still a grouping when teams name them)"
        else:
            styles = ", ".join(f"{s} {n}" for s, n in facts["leaders_by_style"].items())
            leaders = f"{facts['leaders']}" + (f" ({styles})" if styles else
                                               " (no decision style mapped)")
        spend = ("not measured (no spend table: cost per customer cannot be computed)"
                 if facts["tactic_spend"] is None else f"{facts['tactic_spend']:,.2f}")
        return "\n".join([
            f"source:        {self.source}",
            f"fingerprint:   {self.fingerprint[:16]}",
            f"rows:          {rows}",
            f"periods:       {facts['periods']}",
            f"teams:         {facts['teams']}",
            f"leaders:       {leaders}",
            f"tactic spend:  {spend}",
            f"new customers: {facts['new_customers']:,}",
            f"open deals:    {facts['open_deals']:,} "
            f"({facts['open_without_close_date']:,} without a close date)",
        ])

    def _describe_totals(self) -> str:
        facts = self.totals_summary()
        rows = ", ".join(f"{name} {n:,}" for name, n in facts["rows"].items())
        outcome = (f"{facts['outcome_total']:,.0f} {facts['outcome'].replace('_', ' ')}"
                   if facts["outcome"] else "none mapped")
        return "\n".join([
            f"source:        {self.source}",
            f"fingerprint:   {self.fingerprint[:16]}",
            f"rows:          {rows}",
            f"periods:       {facts['periods']}",
            f"markets:       {facts['markets']}",
            f"tactics:       {', '.join(facts['tactics']) or 'none'}",
            f"tactic spend:  {facts['tactic_spend'] or 0:,.2f}",
            f"outcome:       {outcome}",
            f"controls:      {', '.join(facts['controls']) or 'none'}",
        ])
