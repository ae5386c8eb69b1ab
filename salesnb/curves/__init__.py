"""Response curves and budget: what the next dollar on each tactic buys, and the best split.

Owns the curve formulas (:mod:`.formulas`), the fitted-curves result and its questions
(:mod:`.response`), fitting (:mod:`.fitting`) with its negative-binomial IRLS
(:mod:`.irls`), Hill fits (:mod:`.hill`) and team bootstrap (:mod:`.bootstrap`), the
budget reallocation on the curves (:mod:`.budget`, also ``salesnb.budget``), and the
marketing-mix model for customers not tagged with a tactic: cost per customer from totals
over time (:mod:`.mix`, :mod:`.mix_fit`, :mod:`.mix_result`, :mod:`.mix_notes`), read from
a dataset's totals tables by :mod:`.mix_input`.

May import: :mod:`salesnb.errors`, :mod:`salesnb.io`, :mod:`salesnb.engine`,
:mod:`salesnb.metrics`, :mod:`salesnb.models`.
"""

from salesnb.curves.fitting import fit_response_curves
from salesnb.curves.formulas import check_spend, percentile_interval, response, safe_ratio, slope
from salesnb.curves.mix import fit_mix_model
from salesnb.curves.mix_input import TotalsInput, totals_input
from salesnb.curves.mix_result import MixModel
from salesnb.curves.response import FORMS, GROUPINGS, PARAMETERS, ResponseCurves

__all__ = ["FORMS", "GROUPINGS", "PARAMETERS", "MixModel", "ResponseCurves", "TotalsInput",
           "check_spend", "fit_mix_model", "fit_response_curves", "percentile_interval",
           "response", "safe_ratio", "slope", "totals_input"]
