"""Batch reports: the notebook suite run with papermill for every segment, published as HTML.

Owns planning a run (:mod:`.plan`), one notebook in a worker process (:mod:`.worker`), the
worker pool (:mod:`.pool`), publishing (:mod:`.publish`: the ``.partial`` folder, manifests,
the leak check, the rename), the row-level id guard (:mod:`.guards`), secrets
(:mod:`.redaction`), leadership HTML (:mod:`.html`; cells tagged ``appendix`` on a methods
page of their own, :mod:`.split`), the headline facts a brief hands to the index
(:mod:`.headlines`), the brief as PDF (:mod:`.pdf`, headless Chromium), the run index
(:mod:`.index`, rendered from the run's ``manifest.json`` alone), the run itself
(:mod:`.run`) and its results (:mod:`.results`). HTML comes from the Jinja2 templates in
``templates/``.

May import every layer below it (errors, paths, io, engine, metrics, models, curves, report).
"""

from salesnb.batch.plan import (
    ALL_SEGMENT,
    NOTEBOOK_PATTERN,
    PARTIAL_SUFFIX,
    RUNNER_PARAMETERS,
    RunPlan,
    Segment,
    declared_parameters,
    find_notebooks,
    parse_param,
    plan_run,
    plan_segments,
)
from salesnb.batch.results import RunResult, SegmentReport
from salesnb.batch.run import execute
from salesnb.batch.worker import NotebookResult, NotebookTask, run_task

__all__ = [
    "ALL_SEGMENT", "NOTEBOOK_PATTERN", "PARTIAL_SUFFIX", "RUNNER_PARAMETERS", "NotebookResult",
    "NotebookTask", "RunPlan", "RunResult", "Segment", "SegmentReport", "declared_parameters",
    "execute", "find_notebooks", "parse_param", "plan_run", "plan_segments", "run_task",
]
