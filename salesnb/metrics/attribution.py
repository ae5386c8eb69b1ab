"""Multi-touch attribution: credit each new customer to the tactics that touched the deal.

Models (credits of one customer always sum to 1):

- ``first``: all credit to the earliest touch
- ``last``: all credit to the latest touch
- ``linear``: equal credit to every touch
- ``time_decay``: weight 2^(-days before close / half_life_days), normalised
- ``position``: 40% first, 40% last, 20% shared by the touches in between
  (one touch: 100%; two touches: 50/50)

Touches are ordered by date, then tactic, so ties resolve the same way on every engine.
A new customer whose deal has no touches is credited to its lead source (the deal's tactic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from salesnb.engine.connection import as_engine, fetch
from salesnb.errors import SalesnbError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesnb.engine.connection import Engine
    from salesnb.io.dataset import Dataset

MODELS = ("first", "last", "linear", "time_decay", "position")


def credits(data: Engine | Dataset, model: str = "linear", half_life_days: float = 7.0
            ) -> ir.Table:
    """Per new-customer deal and tactic: the customer credit under ``model`` (Ibis table)."""
    import ibis

    engine = as_engine(data)
    from salesnb.metrics.panel_query import new_customer_deals

    if model not in MODELS:
        raise SalesnbError(f"unknown attribution model {model!r}; choose from {list(MODELS)}")
    if "touches" not in engine:
        raise SalesnbError("attribution needs the touches table; map it in the mapping file")
    if half_life_days <= 0:
        raise SalesnbError("half_life_days must be positive")
    deals = new_customer_deals(engine)
    touches = _touches_with_lead_source(engine, deals)
    joined = touches.inner_join(deals, touches.deal_id == deals.deal_id).select(
        touches.deal_id, touches.touch_date, touches.tactic, deals.close_date, deals.period)
    order = ibis.window(group_by=joined.deal_id, order_by=[joined.touch_date, joined.tactic])
    whole = ibis.window(group_by=joined.deal_id)
    joined = joined.mutate(position=ibis.row_number().over(order),
                           touches=joined.count().over(whole))
    joined = joined.mutate(weight=_weight(joined, model, half_life_days))
    joined = joined.mutate(credit=joined.weight / joined.weight.sum().over(whole))
    return joined.group_by(["deal_id", "tactic", "period"]).aggregate(credit=joined.credit.sum())


def _touches_with_lead_source(engine: Engine, deals: ir.Table) -> ir.Table:
    """The touches, plus the lead source as the one touch of a new customer that has none."""
    import ibis

    touches = engine["touches"].select("deal_id", "touch_date", "tactic")
    touched = touches.select("deal_id").distinct()
    untouched = deals.anti_join(touched, deals.deal_id == touched.deal_id)
    start = ibis.coalesce(untouched.created_date, untouched.close_date) if (
        "created_date" in untouched.columns) else untouched.close_date
    fallback = untouched.select(deal_id=untouched.deal_id, touch_date=start,
                                tactic=untouched.tactic)
    return touches.union(fallback.cast(touches.schema()))


def _weight(t: ir.Table, model: str, half_life_days: float):
    import ibis

    first, last = t.position == 0, t.position == t.touches - 1
    if model == "first":
        return ibis.ifelse(first, 1.0, 0.0)
    if model == "last":
        return ibis.ifelse(last, 1.0, 0.0)
    if model == "linear":
        return ibis.literal(1.0)
    if model == "time_decay":
        days = t.close_date.date().delta(t.touch_date.date(), unit="day").cast("float64")
        return (ibis.literal(0.5) ** (days / half_life_days)).cast("float64")
    middle = 0.2 / (t.touches - 2).cast("float64").nullif(0)
    return ibis.cases(
        (t.touches == 1, 1.0),
        (t.touches == 2, 0.5),
        (first | last, 0.4),
        else_=middle)


def attributed_cac(data: Engine | Dataset, model: str = "linear",
                   by: Sequence[str] = ("tactic",), half_life_days: float = 7.0) -> pd.DataFrame:
    """Spend / attributed new customers per tactic (optionally per period) under ``model``."""
    allowed = {"tactic", "period"}
    if not set(by) <= allowed:
        raise SalesnbError(f"attributed CAC groups by {sorted(allowed)} only")
    keys = list(by)
    engine = as_engine(data)
    credit = credits(engine, model, half_life_days)
    credited = credit.group_by(keys).aggregate(attributed_customers=credit.credit.sum())
    spend = engine["spend"]
    spent = spend.group_by(keys).aggregate(spend=spend.cost.sum())
    frame = fetch(spent).merge(fetch(credited), on=keys, how="outer")
    frame = frame.fillna({"spend": 0.0, "attributed_customers": 0.0})
    defined = frame["attributed_customers"] > 0
    frame["cac"] = (frame["spend"] / frame["attributed_customers"]).where(defined)
    frame["cac_defined"] = defined
    frame["model"] = model
    return frame.sort_values(keys).reset_index(drop=True)
