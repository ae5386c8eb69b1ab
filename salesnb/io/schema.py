"""The canonical data model: tables, fields, keys and references (see docs/design.md).

This module only *describes* the model. Reading values lives in
:mod:`salesnb.io.values`, checking them in :mod:`salesnb.io.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "category", "month", "date", "number", "bool"]

DECISION_STYLES = ("autocratic", "consultative", "collaborative")
INVOLVEMENTS = ("hands_on", "delegating", "hybrid")
OUTCOMES = ("won", "lost", "open")
LEADER_ROLE = "sales leader"
ONE_MARKET = "all"
"""The market of totals whose mapping names no market column."""
NEW_CUSTOMER_FLAG = "new_customer"
"""Deals column set on the whole data before a segment is selected (see io.segments)."""


@dataclass(frozen=True)
class Field:
    """One canonical column.

    ``kind`` says how values are read; ``allowed`` closes the vocabulary of a
    category; ``min``/``max`` bound numbers.
    """

    name: str
    kind: Kind
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Reference:
    """``columns`` of this table must exist as ``target_columns`` of ``target``."""

    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """One canonical table: its fields, primary key and references."""

    name: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    description: str = ""

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of every field, in order."""
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required fields."""
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        """The field called ``name`` (KeyError if none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "spend",
            (
                Field("period", "month", True, description="month the cost was incurred"),
                Field("team_id", "id", True),
                Field("tactic", "category", True, description="sales tactic / lead source"),
                Field("cost", "number", True, min=0, description="spend in the report currency"),
                Field("programme", "text"),
                Field("strategy", "text"),
            ),
            key=("period", "team_id", "tactic"),
            references=(Reference(("team_id",), "teams", ("team_id",)),),
            description="tactic spend per team and month",
        ),
        Table(
            "deals",
            (
                Field("deal_id", "id", True),
                Field("team_id", "id", True),
                Field("tactic", "category", True, description="lead source"),
                Field("close_date", "date", description="actual or expected close date; "
                      "required for won and lost deals, may be empty for open ones"),
                Field("outcome", "category", True, allowed=OUTCOMES),
                Field("rep_id", "id"),
                Field("created_date", "date"),
                Field("amount", "number", min=0),
                Field("customer_id", "id"),
                Field("lead_id", "id", description="the lead the deal came from"),
            ),
            key=("deal_id",),
            references=(
                Reference(("team_id",), "teams", ("team_id",)),
                Reference(("rep_id",), "reps", ("rep_id",)),
                Reference(("lead_id",), "leads", ("lead_id",)),
            ),
            description="opportunities and their outcome",
        ),
        Table(
            "leads",
            (
                Field("lead_id", "id", True),
                Field("created_date", "date", True, description="first contact"),
                Field("tactic", "category", True, description="lead source"),
                Field("rep_id", "id", description="the lead's owner"),
                Field("team_id", "id"),
                Field("stage", "text", description="lead status as exported"),
                Field("deal_id", "id", description="the deal the lead converted into"),
            ),
            key=("lead_id",),
            references=(
                Reference(("deal_id",), "deals", ("deal_id",)),
                Reference(("team_id",), "teams", ("team_id",)),
                Reference(("rep_id",), "reps", ("rep_id",)),
            ),
            description="marketing or sales leads, for conversion by source, owner and team",
        ),
        Table(
            "teams",
            (
                Field("team_id", "id", True),
                Field("leader_id", "id"),
                Field("region", "text"),
                Field("segment", "text"),
                Field("industry", "text"),
            ),
            key=("team_id",),
            references=(Reference(("leader_id",), "leaders", ("leader_id",)),),
        ),
        Table(
            "leaders",
            (
                Field("leader_id", "id", True),
                Field("title", "text", description="original job title, kept as exported"),
                Field("decision_style", "category", allowed=DECISION_STYLES),
                Field("involvement", "category", allowed=INVOLVEMENTS),
                Field("industry_years", "number", min=0, max=70),
                Field("admin_share", "number", min=0, max=1),
                Field("training_hours", "number", min=0),
                Field("recognition", "bool"),
            ),
            key=("leader_id",),
            description="sales leaders (any title; loading adds role = 'sales leader') and "
                        "their style at the start of the data",
        ),
        Table(
            "style_changes",
            (
                Field("leader_id", "id", True),
                Field("effective_date", "date", True),
                Field("decision_style", "category", True, allowed=DECISION_STYLES),
                Field("involvement", "category", True, allowed=INVOLVEMENTS),
            ),
            key=("leader_id", "effective_date"),
            references=(Reference(("leader_id",), "leaders", ("leader_id",)),),
            description="a leader's style from effective_date on",
        ),
        Table(
            "reps",
            (
                Field("rep_id", "id", True),
                Field("team_id", "id", True),
                Field("hire_date", "date", description="empty: employed since before the "
                      "data starts"),
                Field("exit_date", "date"),
                Field("annual_cost", "number", min=0),
                Field("role", "text", description="job role as exported"),
            ),
            key=("rep_id",),
            references=(Reference(("team_id",), "teams", ("team_id",)),),
        ),
        Table(
            "touches",
            (
                Field("deal_id", "id", True),
                Field("touch_date", "date", True),
                Field("tactic", "category", True),
            ),
            key=("deal_id", "touch_date", "tactic"),
            references=(Reference(("deal_id",), "deals", ("deal_id",)),),
            description="marketing/sales touches on a deal, for multi-touch attribution",
        ),
        Table(
            "totals",
            (
                Field("period", "date", True, description="week start or month start"),
                Field("market", "id", description="market, country or business unit; not "
                      f"mapped: one market called {ONE_MARKET!r}"),
                Field("team_id", "id", description="the team (and so the sales leader) "
                      "running the market, where markets have leaders"),
                Field("new_customers", "number", min=0, description="the outcome: new "
                      "customers won in the period"),
                Field("revenue", "number", min=0, description="the outcome when customers "
                      "are not counted (CAC then reads as cost per unit of revenue)"),
            ),
            key=("period", "market"),
            references=(Reference(("team_id",), "teams", ("team_id",)),),
            description="the outcome per period (and market) when customers are not tagged "
                        "with a tactic; control variables under controls:",
        ),
        Table(
            "totals_spend",
            (
                Field("period", "date", True, description="week start or month start"),
                Field("market", "id", description=f"not mapped: {ONE_MARKET!r}"),
                Field("tactic", "category", True, description="channel or tactic"),
                Field("cost", "number", True, min=0, description="spend in the period"),
            ),
            key=("period", "market", "tactic"),
            description="spend per tactic, period (and market) for the totals; wide "
                        "channel columns through unpivot:",
        ),
    )
}

TOTALS_TABLES = ("totals", "totals_spend")
"""The marketing-mix input: outcome totals and spend over time (see docs/mapping.md)."""
TOTALS_OUTCOMES = ("new_customers", "revenue")
"""The outcome fields of ``totals``; a mapping gives at least one."""

CORE_TABLES = ("deals", "teams")
"""Tables every analysis needs; the others (spend, leaders, reps, ...) switch on more analyses."""

TACTIC_FIELDS = (("spend", "tactic"), ("deals", "tactic"), ("touches", "tactic"),
                 ("leads", "tactic"), ("totals_spend", "tactic"))
"""Where the (optionally closed) tactic vocabulary applies."""
