"""Metrics: cost per customer, the funnel, people and attribution, computed in the engine.

Owns the team x tactic x month panel (:mod:`.panel_query`), CAC and funnel metrics
(:mod:`.measures`; its functions are also here: ``salesnb.metrics.cac(...)``), people metrics
(:mod:`.people`), new-hire ramp and retention (:mod:`.ramp`), lead conversion, win rates,
sales cycles and the open pipeline (:mod:`.funnels`), rates with intervals clustered by rep
and between-group tests (:mod:`.rates`), multi-touch attribution (:mod:`.attribution`) and
headline figures (:mod:`.headline_figures`). Every result is a small tidy pandas DataFrame; the
aggregation runs in the query engine.

May import: :mod:`salesnb.errors`, :mod:`salesnb.io`, :mod:`salesnb.engine`.
"""

from salesnb.metrics.funnels import (
    conversion,
    pipeline,
    sales_cycle_test,
    sales_cycles,
    win_rate_test,
    win_rates,
)
from salesnb.metrics.headline_figures import headline
from salesnb.metrics.measures import (
    DIMENSIONS,
    PERIOD_GRAINS,
    blended_cac,
    cac,
    cac_intervals,
    funnel,
    loaded_cac,
    new_customers,
    panel,
    program_cac,
    spend,
)
from salesnb.metrics.panel_query import UNALLOCATED
from salesnb.metrics.ramp import ramp, rep_ramp
from salesnb.metrics.rates import compare_rates, rate_intervals

__all__ = ["DIMENSIONS", "PERIOD_GRAINS", "UNALLOCATED", "blended_cac", "cac", "cac_intervals",
           "compare_rates", "conversion", "funnel", "headline", "loaded_cac", "new_customers",
           "panel", "pipeline", "program_cac", "ramp", "rate_intervals", "rep_ramp",
           "sales_cycle_test", "sales_cycles", "spend", "win_rate_test", "win_rates"]
