"""Headline figures of a dataset or segment: cost, new customers and blended CAC."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from salesnb.metrics.measures import cac

if TYPE_CHECKING:
    from salesnb.io.dataset import Dataset


def headline(dataset: Dataset) -> dict[str, float | int | None]:
    """Headline figures of a dataset: cost, new customers and blended CAC.

    Returns
    -------
    dict
        ``spend`` (tactic spend), ``people_cost`` (allocated rep cost; 0 when
        no reps table), ``total_cost`` (both), ``new_customers`` and
        ``blended_cac`` (total cost / new customers; None when no customer was
        won, never infinite), following the metric contract (docs/design.md).
        Without a spend table ``spend``, ``total_cost`` and ``blended_cac`` are None and
        ``cac_measurable`` is False: cost per customer is not measurable, never 0.
        Totals over time (no deals): the spend of ``totals_spend`` and the outcome of
        ``totals`` (new customers; revenue gives no customer count); no people cost.
    """
    if "deals" not in dataset:
        return _totals_headline(dataset)
    row = cac(dataset, by=[]).iloc[0]
    measurable = "spend" in dataset.tables
    people_cost = 0.0 if pd.isna(row["people_cost"]) else float(row["people_cost"])
    customers = 0 if pd.isna(row["new_customers"]) else int(row["new_customers"])
    if not measurable:
        return {"spend": None, "people_cost": people_cost, "total_cost": None,
                "new_customers": customers, "blended_cac": None, "cac_measurable": False}
    spend = 0.0 if pd.isna(row["spend"]) else float(row["spend"])  # NaN: no activity at all
    total = spend + people_cost
    return {"spend": spend, "people_cost": people_cost, "total_cost": total,
            "new_customers": customers,
            "blended_cac": total / customers if customers else None, "cac_measurable": True}


def _totals_headline(dataset: Dataset) -> dict[str, float | int | None]:
    spend = float(dataset.tables["totals_spend"]["cost"].sum())
    totals = dataset.tables["totals"]
    counted = "new_customers" in totals and totals["new_customers"].notna().any()
    customers = int(totals["new_customers"].sum()) if counted else None
    return {"spend": spend, "people_cost": 0.0, "total_cost": spend,
            "new_customers": customers,
            "blended_cac": spend / customers if customers else None, "cac_measurable": True}
