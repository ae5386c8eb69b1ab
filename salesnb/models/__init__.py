"""Statistics: what tactics and leadership do to cost per customer, and how sure that is.

Owns the drivers model (:mod:`.drivers`), the CAC grid and style contrasts (:mod:`.grid`),
multiplicity control (:mod:`.multiplicity`), the log-CAC and MixedLM cross-checks
(:mod:`.alternatives`), diagnostics (:mod:`.diagnostics`), style changes as natural
experiments (:mod:`.style_changes`, stacked difference in differences in :mod:`.stacked_did`),
rep attrition (:mod:`.attrition`, its null check in :mod:`.attrition_null`), the few-team
guard (:mod:`.wild_bootstrap`), the level of inference (:mod:`.clusters`), the permutation check of
leadership claims (:mod:`.permutation`), style by situation (:mod:`.situations`), the leader
scorecard (:mod:`.scorecard`) and the suite that runs them all (:mod:`.suite`).

May import: :mod:`salesnb.errors`, :mod:`salesnb.io`, :mod:`salesnb.engine`,
:mod:`salesnb.metrics`. Returns numbers and tidy tables; sentences about them live in
:mod:`salesnb.report.words`.
"""

from salesnb.models.alternatives import fit_log_cac
from salesnb.models.attrition import ATTRITION_REFERENCES, attrition_hazards, rep_attrition
from salesnb.models.clusters import inference_clusters
from salesnb.models.diagnostics import (
    influential_teams,
    minimum_detectable_effect,
    overdispersion_test,
    residual_checks,
)
from salesnb.models.drivers import REFERENCE, TIDY_COLUMNS, DriversFit, fit_drivers, model_frame
from salesnb.models.grid import cac_grid, style_contrasts
from salesnb.models.multiplicity import adjust_pvalues
from salesnb.models.permutation import leadership_null
from salesnb.models.scorecard import LeaderScorecard, leader_scorecard
from salesnb.models.situations import SituationalStyle, pool_estimates, style_by_situation
from salesnb.models.style_changes import style_change_effects
from salesnb.models.suite import ModelSuite, model_suite

__all__ = [
    "ATTRITION_REFERENCES", "REFERENCE", "TIDY_COLUMNS", "DriversFit", "LeaderScorecard",
    "ModelSuite", "SituationalStyle", "leader_scorecard", "pool_estimates", "style_by_situation",
    "adjust_pvalues", "attrition_hazards", "cac_grid", "fit_drivers", "fit_log_cac",
    "inference_clusters", "influential_teams", "leadership_null", "minimum_detectable_effect",
    "model_frame", "model_suite", "overdispersion_test", "rep_attrition", "residual_checks",
    "style_change_effects", "style_contrasts",
]
