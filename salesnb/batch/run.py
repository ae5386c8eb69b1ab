"""Batch reports: run the notebook suite with papermill for every segment, in parallel.

Three modules share the job: :mod:`salesnb.batch.plan` (segments, notebooks, parameters),
:mod:`salesnb.batch.worker` (one notebook in a worker process) and this one (the pool,
headline figures, manifests, the index and publishing the run).

A run is planned first (:func:`plan_run`: load the data, find the segments and
notebooks, check every ``--param``), so mistakes surface before any notebook
starts. :func:`execute` then runs one task per segment x notebook in a pool of
worker processes (each calls ``papermill.execute_notebook`` in-process, so a
worker imports papermill once) and publishes the run::

    reports/<name>.partial/           while running: never looks complete
        <segment>/NN_name.ipynb       executed notebook (secrets masked)
        <segment>/NN_name.html        leadership HTML: no code, self-contained
        <segment>/NN_name_methods.html  its cells tagged ``appendix``, when it has any
        <segment>/00_leadership_brief.pdf  the brief (and its appendix), headless Chromium
        <segment>/manifest.json       parameters, fingerprint, versions, git, status
        manifest.json, index.html     the run: every segment, headline figures, failures
    reports/<name>/                   the same folder, renamed when everything is written

A failing notebook is recorded (status, failing cell, error) and the others go
on; so is a notebook whose cell runs longer than the timeout, or whose worker
process dies, and a segment whose headline figures cannot be computed.
Ctrl-C (and SIGTERM/SIGHUP, which the command line turns into Ctrl-C) stops
the workers, whose kernels exit with them, and deletes the ``.partial``
folder; any other unexpected error leaves only the ``.partial`` folder (the
error says where). An existing run folder is never overwritten.

Secrets (:mod:`salesnb.batch.redaction`): every password found in a URL parameter
(``--data``, ``--param``) is masked in every file written and every message
printed. The executed notebook never touches the disk unmasked: papermill
writes it to memory, the worker masks it and only then saves it. Before the
run is published every file is searched for the passwords once more; a run
with a leak is not published.
"""

from __future__ import annotations

import shutil
import time

from salesnb.batch.pdf import make_pdfs
from salesnb.batch.plan import RunPlan
from salesnb.batch.pool import make_tasks, run_all
from salesnb.batch.publish import publish_run, refuse_leaks, reserve_partial, write_outputs
from salesnb.batch.results import RunResult
from salesnb.batch.worker import DEFAULT_TIMEOUT
from salesnb.errors import SalesnbError


def execute(plan: RunPlan, jobs: int = 1, progress: bool | None = None,
            timeout: float | None = DEFAULT_TIMEOUT, pdf: bool = True,
            threads: int | None = 1) -> RunResult:
    """Run a planned batch and publish it as ``plan.folder``.

    Parameters
    ----------
    plan
        From :func:`plan_run`. With a default (timestamp) name already taken
        by a concurrent run, the next free name is used (``plan.name`` changes).
    jobs
        Worker processes (each runs one notebook at a time).
    progress
        Show a progress bar on stderr; None: only when stderr is a terminal.
    timeout
        Seconds one cell may run (papermill's ``execution_timeout``); a notebook
        that exceeds it is stopped and recorded as failed. None: no limit.
    pdf
        Print each segment's leadership brief (its methods page at the end) to PDF beside
        its HTML with headless Chromium (:mod:`salesnb.batch.pdf`). Without Chromium, or
        False, no PDF is made and ``RunResult.pdf_note`` (and the index) say so; a
        missing PDF never fails the run.
    threads
        BLAS/OpenMP threads of each worker and notebook kernel (``OMP_NUM_THREADS`` and
        friends). The default 1 gave the same wall time as two threads on a quiet 2-core
        machine with 40% less CPU, and half the wall time under load; None: leave the
        environment's setting.

    Returns
    -------
    RunResult
        Check ``.failed``; the folder is complete either way.

    Raises
    ------
    KeyboardInterrupt
        After stopping the workers and deleting the ``.partial`` folder.
    SalesnbError
        The run name is taken, a file would show a password (the run is not
        published; the leaking files are deleted) or the run folder appeared
        while running; the message says where the ``.partial`` folder is.
    Exception
        Anything unexpected, with a note saying where the ``.partial`` folder is
        (kept for inspection).
    """
    started = time.perf_counter()
    reserve_partial(plan)
    partial = plan.partial_folder
    try:
        reports = run_all(plan, make_tasks(plan, timeout), jobs, progress, threads)
        pdf_note = make_pdfs(plan.partial_folder, [r for s in reports for r in s.results],
                             enabled=pdf)
        duration = round(time.perf_counter() - started, 3)
        write_outputs(plan, reports, duration, pdf_note)
        refuse_leaks(plan)
    except KeyboardInterrupt:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except Exception as exc:
        if not isinstance(exc, SalesnbError):
            exc.add_note(f"salesnb: the unfinished run is left in {partial}")
        raise
    publish_run(plan)
    return RunResult(plan, plan.folder, reports, duration, pdf_note)

