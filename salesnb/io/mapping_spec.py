"""What a parsed mapping file says: tables, columns and their reading options (data only).

:mod:`salesnb.io.mapping` parses YAML into these objects, checking every option;
:mod:`salesnb.io.loading` and :mod:`salesnb.engine.scanning` carry them out. The reference
for users is ``docs/mapping.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesnb.errors import MappingError
from salesnb.io.schema import CORE_TABLES, TOTALS_TABLES

NUMBER_STYLES = ("us", "eu")
DEFAULT_DATE_RANGE = ("1980-01-01", "2100-12-31")
TABLE_OPTIONS = {"source", "sheet", "encoding", "delimiter", "query", "where", "columns",
                 "skip_footer", "distinct", "unpivot", "aggregate", "attributes", "controls"}
COLUMN_OPTIONS = {
    "column", "constant", "number", "date_format", "values", "keywords", "ranges", "otherwise",
    "lookup", "scale", "years_before", "default",
}
AGGREGATES = ("month",)
"""Grains ``aggregate:`` sums finer rows into (spend only)."""
ATTRIBUTE_TABLES = ("reps",)
"""Tables whose extra source columns ``attributes:`` may keep (as text groupings)."""
CONTROL_TABLES = ("totals",)
"""Tables whose extra source columns ``controls:`` may keep (as numbers)."""


@dataclass(frozen=True)
class Lookup:
    """Read a field through another file: the row whose ``key`` equals the value gives ``value``."""

    source: str
    key: str
    value: str
    sheet: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None


@dataclass(frozen=True)
class ColumnSpec:
    """How to read one canonical field from a source column (or a constant)."""

    field: str
    column: str | None = None
    constant: Any = None
    number: str = "us"
    date_format: str | None = None
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    keywords: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    otherwise: str | None = None
    lookup: Lookup | None = None
    scale: float | None = None
    years_before: str | None = None
    default: Any = None
    has_default: bool = False

    @property
    def has_rules(self) -> bool:
        """True when values are translated by a lookup, keywords or score ranges."""
        return bool(self.values or self.keywords or self.ranges)


@dataclass(frozen=True)
class RowFilter:
    """Keep only rows whose ``column`` matches the regular expression ``matches``."""

    column: str
    matches: str


@dataclass(frozen=True)
class Unpivot:
    """Wide columns (``columns``, or those matching ``matches``) into rows of two new source
    columns: ``names_to`` (the former column name) and ``values_to`` (its value).
    """

    names_to: str
    values_to: str
    columns: tuple[str, ...] = ()
    matches: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """Where one canonical table comes from and how its columns are read."""

    table: str
    columns: dict[str, ColumnSpec]
    source: str | None = None
    sheet: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    query: str | None = None
    where: tuple[RowFilter, ...] = ()
    """Row filters; a row is kept when it matches every one."""
    skip_footer: int = 0
    distinct: bool = False
    unpivot: Unpivot | None = None
    aggregate: str | None = None
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    controls: dict[str, str] = dataclasses.field(default_factory=dict)
    """Control variables of totals: name -> source column, read as numbers."""

    @property
    def source_columns(self) -> dict[str, str]:
        """Canonical field -> source column, for the fields read from a column (not constants)."""
        return {f: c.column for f, c in self.columns.items() if c.column is not None}

    @property
    def raw_columns(self) -> list[str]:
        """Every source column the table reads (fields, attributes, the row filter), after any
        unpivot.
        """
        wanted = [*self.source_columns.values(), *self.attributes.values(),
                  *self.controls.values()]
        wanted += [rule.column for rule in self.where]
        return list(dict.fromkeys(wanted))


@dataclass(frozen=True)
class Mapping:
    """A parsed, structurally valid mapping file."""

    tables: dict[str, TableSpec]
    tactics: tuple[str, ...] | None = None
    date_range: tuple[str, str] = DEFAULT_DATE_RANGE
    path: Path | None = None
    text: str = ""

    @property
    def name(self) -> str:
        """The mapping's file name, for messages."""
        return str(self.path) if self.path else "<mapping>"

    @property
    def totals_only(self) -> bool:
        """True when the mapping gives totals over time and no deals (a marketing-mix input)."""
        return "deals" not in self.tables and any(t in self.tables for t in TOTALS_TABLES)

    def require_core_tables(self) -> None:
        """Raise :class:`MappingError` unless the core tables (deals and teams) are mapped,
        or the mapping is a totals input (``totals`` and ``totals_spend``, no deals).
        """
        if self.totals_only:
            missing = [t for t in TOTALS_TABLES if t not in self.tables]
            if missing:
                raise MappingError(
                    f"mapping {self.name} maps {sorted(set(TOTALS_TABLES) - set(missing))} "
                    f"but not {missing}.\n    hint: totals over time need both: the outcome "
                    "per period (totals) and the spend per tactic and period (totals_spend, "
                    "wide channel columns through unpivot:); see docs/mapping.md.")
            return
        missing = [t for t in CORE_TABLES if t not in self.tables]
        if missing:
            raise MappingError(
                f"mapping {self.name} does not map the core table(s) {missing}.\n    hint: "
                "deals and teams are needed; spend, leaders, reps, leads and touches switch on "
                "more analyses. Without deals, map totals and totals_spend (outcome and spend "
                "per period) for the marketing-mix model.")
