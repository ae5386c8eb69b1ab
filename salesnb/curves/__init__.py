"""Response curves and budget: what the next dollar on each tactic buys, and the best split.

Owns the curve formulas (:mod:`.formulas`), the fitted-curves result and its questions
(:mod:`.response`), fitting (:mod:`.fitting`) with its negative-binomial IRLS
(:mod:`.irls`), Hill fits (:mod:`.hill`) and team bootstrap (:mod:`.bootstrap`), and the
budget reallocation on the curves (:mod:`.budget`, also ``salesnb.budget``).

May import: :mod:`salesnb.errors`, :mod:`salesnb.io`, :mod:`salesnb.engine`,
:mod:`salesnb.metrics`, :mod:`salesnb.models`.
"""

from salesnb.curves.fitting import fit_response_curves
from salesnb.curves.formulas import check_spend, percentile_interval, response, safe_ratio, slope
from salesnb.curves.response import FORMS, GROUPINGS, PARAMETERS, ResponseCurves

__all__ = ["FORMS", "GROUPINGS", "PARAMETERS", "ResponseCurves", "check_spend",
           "fit_response_curves", "percentile_interval", "response", "safe_ratio", "slope"]
