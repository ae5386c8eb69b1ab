"""The analysis panel: one row per team x tactic x period, built in the query engine.

Columns: the keys (``team_id``, ``tactic``, ``period``), additive measures
(``spend``, ``people_cost``, ``deals``, ``won``, ``lost``, ``open``,
``new_customers``, ``won_amount``, ``won_with_amount``, ``cycle_days``,
``won_with_created``) and descriptors (``programme``, ``strategy``, team
attributes, and the leader's style *as it was at the start of the period*, with
their traits). Every metric in :mod:`salesnb.metrics.measures` is a ratio of sums of
these measures, so it means the same at any grouping.

Rules (documented in docs/design.md, "Metric contract"):
- a deal belongs to the month of its ``close_date``;
- a customer is *new* in the cell of their first won deal (earliest close date,
  then deal id); a won deal without ``customer_id`` counts as its own customer;
  later won deals of the same customer count as won deals, not new customers;
- a rep's annual cost is spread over the days they were employed (without reps or their
  annual cost there is no people cost, and loaded CAC equals program CAC); a team's people
  cost in a month is allocated to its tactics by their share of the team's deals
  that month, or by share of spend when the team closed no deals; a team-month
  with neither keeps its people cost in a row of its own (tactic ``UNALLOCATED``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.engine.connection import Engine

from salesnb.engine.connection import as_count
from salesnb.engine.store import first_wins
from salesnb.io.schema import NEW_CUSTOMER_FLAG

KEYS = ("team_id", "tactic", "period")
UNALLOCATED = "(people cost, no activity)"
"""The tactic of panel rows holding people cost of team-months with no spend and no deals."""
MEASURES = ("spend", "people_cost", "deals", "won", "lost", "open", "new_customers",
            "won_amount", "won_with_amount", "cycle_days", "won_with_created")
TEAM_COLUMNS = ("leader_id", "region", "segment", "industry")
LEADER_COLUMNS = ("title", "industry_years", "admin_share", "training_hours", "recognition")



def build_panel(engine: Engine, describe: bool = True) -> ir.Table:
    """The team x tactic x month panel as an Ibis expression (not yet executed).

    ``describe=False`` leaves out the team, leader and style columns (and their
    joins) when a query groups only by team, tactic, programme or strategy.
    """
    deals = _deal_cells(engine)
    cells = _join_cells(_spend_cells(engine), deals) if "spend" in engine else \
        _without_spend(deals)
    cells = _allocate_people_cost(engine, cells)
    return _describe_cells(engine, cells) if describe else cells


def _without_spend(deals: ir.Table) -> ir.Table:
    """Deal cells with spend unknown (NULL: cost per customer is not measurable, never 0)."""
    import ibis

    return deals.mutate(spend=ibis.null().cast("float64"))


def _spend_cells(engine: Engine) -> ir.Table:
    spend = engine["spend"]
    optional = {c: spend[c].max() for c in ("programme", "strategy") if c in spend.columns}
    return spend.group_by(["team_id", "tactic", "period"]).aggregate(
        spend=spend.cost.sum(), **optional)


def new_customer_deals(engine: Engine) -> ir.Table:
    """The won deals that brought a new customer (a customer's first won deal), with period.

    The ranking window runs over won deals only, so it sorts a fraction of the table.
    A deals table that carries the ``new_customer`` flag (set by
    :func:`salesnb.io.segments.select` on the whole data, so a returning customer is not new
    again in a later period or another region) is taken at its word.
    """
    deals = engine["deals"]
    won = deals.filter(deals.outcome == "won")
    if NEW_CUSTOMER_FLAG in won.columns:  # decided on all deals before a segment was selected
        first_wins_only = won.filter(won[NEW_CUSTOMER_FLAG])
        return first_wins_only.mutate(period=first_wins_only.close_date.truncate("M")).drop(
            NEW_CUSTOMER_FLAG)
    first = first_wins(deals)
    return first.mutate(period=first.close_date.truncate("M"))


def _deal_cells(engine: Engine) -> ir.Table:
    import ibis

    deals = engine["deals"]
    deals = deals.filter(deals.close_date.notnull())  # open deals without a date: pipeline only
    deals = deals.mutate(period=deals.close_date.truncate("M"))
    columns = deals.columns
    won = deals.outcome == "won"
    amount = deals.amount if "amount" in columns else ibis.null().cast("float64")
    created = deals.created_date if "created_date" in columns else ibis.null().cast("timestamp")
    cycle = deals.close_date.date().delta(created.date(), unit="day")
    counts = deals.group_by(["team_id", "tactic", "period"]).aggregate(
        deals=deals.count(),
        won=as_count(won).sum(),
        lost=as_count(deals.outcome == "lost").sum(),
        open=as_count(deals.outcome == "open").sum(),
        won_amount=ibis.ifelse(won, amount, 0.0).sum(),
        won_with_amount=as_count(won & amount.notnull()).sum(),
        cycle_days=ibis.ifelse(won, cycle, 0).sum(),
        won_with_created=as_count(won & created.notnull()).sum(),
    )
    new = new_customer_deals(engine)
    new = new.group_by(["team_id", "tactic", "period"]).aggregate(new_customers=new.count())
    joined = counts.left_join(new, [counts[k] == new[k] for k in KEYS])
    return joined.select(*counts.columns,
                         new_customers=ibis.coalesce(joined.new_customers, 0))


def _join_cells(spend: ir.Table, deals: ir.Table) -> ir.Table:
    import ibis

    joined = spend.outer_join(deals, [spend[k] == deals[k] for k in KEYS])
    keys = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in KEYS}
    measures = {m: ibis.coalesce(joined[m], 0) for m in MEASURES if m in joined.columns}
    optional = {c: joined[c] for c in ("programme", "strategy") if c in joined.columns}
    return joined.select(**keys, **measures, **optional)


def _people_cost_by_team_month(engine: Engine, months: ir.Table) -> ir.Table:
    import ibis

    reps = engine["reps"]
    pairs = reps.cross_join(months)
    month_end = pairs.period.date() + ibis.interval(months=1)
    hired = pairs.hire_date.date() if "hire_date" in pairs.columns else pairs.period.date()
    start = ibis.greatest(ibis.coalesce(hired, pairs.period.date()), pairs.period.date())
    end = ibis.least(ibis.coalesce(pairs.exit_date.date() + ibis.interval(days=1), month_end),
                     month_end)
    days = end.delta(start, unit="day")
    month_days = month_end.delta(pairs.period.date(), unit="day")
    share = days.cast("float64") / month_days.cast("float64")
    pairs = pairs.filter(days > 0)
    cost = ibis.coalesce(pairs.annual_cost, 0.0) / 12.0
    return pairs.group_by(["team_id", "period"]).aggregate(
        team_people_cost=(cost * share).sum())


def activity_months(engine: Engine) -> ir.Table:
    """The months with activity (column ``period``): spend periods and the close months of
    won and lost deals. Open deals' expected close dates do not extend the window.
    """
    deals = engine["deals"]
    closed = deals.filter(deals.close_date.notnull() & (deals.outcome != "open"))
    months = closed.select(period=closed.close_date.truncate("M"))
    if "spend" in engine:
        spend = engine["spend"]
        months = months.union(spend.select(period=spend.period.cast(months.period.type())))
    return months.distinct()


def _allocate_people_cost(engine: Engine, cells: ir.Table) -> ir.Table:
    import ibis

    if "reps" not in engine or "annual_cost" not in engine["reps"].columns:
        return cells.mutate(people_cost=ibis.literal(0.0))  # no people cost known: none added
    people = _people_cost_by_team_month(engine, activity_months(engine))
    team_month = ibis.window(group_by=[cells.team_id, cells.period])
    cells = cells.mutate(team_deals=cells.deals.sum().over(team_month),
                         team_spend=cells.spend.sum().over(team_month))
    share = ibis.ifelse(cells.team_deals > 0,
                        cells.deals.cast("float64") / cells.team_deals.nullif(0),
                        cells.spend / cells.team_spend.nullif(0))
    cells = cells.mutate(share=ibis.coalesce(share, 0.0))
    joined = cells.left_join(people, [cells.team_id == people.team_id,
                                      cells.period == people.period])
    allocated = joined.select(
        *[c for c in cells.columns if c not in ("team_deals", "team_spend", "share")],
        people_cost=ibis.coalesce(joined.team_people_cost, 0.0) * joined.share)
    return allocated.union(_unallocated_people_cost(allocated, people))


def _unallocated_people_cost(allocated: ir.Table, people: ir.Table) -> ir.Table:
    """People cost of team-months with no spend and no deals, as explicit rows.

    They carry ``tactic = UNALLOCATED`` and only ``people_cost``: blended CAC
    counts them, tactic figures show them as their own row, nothing is dropped.
    """
    import ibis

    taken = allocated.group_by(["team_id", "period"]).aggregate(
        taken=allocated.people_cost.sum())
    joined = people.left_join(taken, [people.team_id == taken.team_id,
                                      people.period == taken.period])
    rest = joined.mutate(rest=joined.team_people_cost - ibis.coalesce(joined.taken, 0.0))
    rest = rest.filter(rest.rest > 0.005)
    zeros = {m: ibis.literal(0).cast(allocated[m].type()) for m in allocated.columns
             if m in MEASURES and m != "people_cost"}
    optional = {c: ibis.null().cast(allocated[c].type()) for c in ("programme", "strategy")
                if c in allocated.columns}
    rows = rest.select(team_id=rest.team_id, tactic=ibis.literal(UNALLOCATED),
                       period=rest.period.cast(allocated.period.type()),
                       people_cost=rest.rest, **zeros, **optional)
    return rows.select(*allocated.columns)


def _describe_cells(engine: Engine, cells: ir.Table) -> ir.Table:
    """Team attributes, the leader's traits and the style in force, where the data has them."""
    teams = engine["teams"]
    team_columns = [c for c in TEAM_COLUMNS if c in teams.columns]
    described = cells.left_join(teams.select("team_id", *team_columns),
                                cells.team_id == teams.team_id).drop("team_id_right")
    if "leader_id" not in described.columns:
        return described
    if "leaders" in engine:
        leaders = engine["leaders"]
        leader_columns = [c for c in LEADER_COLUMNS if c in leaders.columns]
        described = described.left_join(leaders.select("leader_id", *leader_columns),
                                        described.leader_id == leaders.leader_id
                                        ).drop("leader_id_right")
    if "style_periods" in engine:
        styles = engine["style_periods"]
        described = described.left_join(styles, [
            described.leader_id == styles.leader_id,
            described.period >= styles.valid_from,
            described.period < styles.valid_to,
        ]).drop("leader_id_right", "valid_from", "valid_to")
    return described
