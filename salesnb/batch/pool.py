"""Running the notebooks of a run in a pool of worker processes, with a progress bar."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from salesnb.batch.guards import flag_row_level_ids
from salesnb.batch.plan import RunPlan, Segment
from salesnb.batch.progress import Progress
from salesnb.batch.publish import abandon
from salesnb.batch.redaction import masked, redact
from salesnb.batch.results import SegmentReport
from salesnb.batch.worker import (
    DEFAULT_TIMEOUT,
    NotebookResult,
    NotebookTask,
    init_worker,
    record_failure,
    run_task,
)
from salesnb.errors import SalesnbError


def make_tasks(plan: RunPlan, timeout: float | None = DEFAULT_TIMEOUT) -> list[NotebookTask]:
    """One task per segment x notebook, each segment's folder created.

    Raises
    ------
    SalesnbError
        A segment folder cannot be created (disk full...); the ``.partial`` folder is
        removed (see :func:`salesnb.batch.publish.abandon`).
    """
    tasks = []
    fingerprint = plan.dataset.fingerprint[:12]
    for segment in plan.segments:
        folder = plan.partial_folder / segment.folder
        try:
            folder.mkdir()
        except OSError as exc:
            raise abandon(plan, exc, "create the segment folders") from None
        for notebook in plan.notebooks:
            tasks.append(NotebookTask(
                notebook=notebook, segment=segment.folder, folder=folder,
                parameters=plan.notebook_parameters(notebook, segment), secrets=plan.secrets,
                title=f"{_title(notebook)} | {segment.label}",
                subtitle=f"{segment.label} | run {plan.name} | data fingerprint {fingerprint}",
                timeout=timeout))
    return tasks


def _title(notebook: Path) -> str:
    """The notebook's first ``# `` heading ("CAC overview"), else its name ("Cac overview")."""
    with contextlib.suppress(OSError, ValueError):
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            source = "".join(cell.get("source", ""))
            if cell.get("cell_type") == "markdown":
                heading = re.match(r"#\s+(.+)", source.strip())
                if heading:
                    return heading.group(1).strip()
    return notebook.stem[3:].replace("_", " ").capitalize() if notebook.stem[:2].isdigit() \
        else notebook.stem.replace("_", " ")



def run_all(plan: RunPlan, tasks: list[NotebookTask], jobs: int, progress: bool | None,
            threads: int | None = 1) -> list[SegmentReport]:
    """Run every task in a spawn pool of ``jobs`` workers, each worker and kernel with
    ``threads`` BLAS threads; results grouped by segment.
    """
    results: list[NotebookResult] = []
    bar = Progress(len(tasks), plan.name, progress)
    labels = {s.folder: s.label for s in plan.segments}
    others = set(multiprocessing.active_children())  # not ours to stop (see _stop_workers)
    runtime = kernel_runtime_dir()
    executor = ProcessPoolExecutor(max_workers=max(1, jobs), initializer=init_worker,
                                   initargs=(threads, str(runtime), os.getpid()),
                                   mp_context=multiprocessing.get_context("spawn"))
    try:
        futures: dict[Future, NotebookTask] = {executor.submit(run_task, task): task
                                               for task in tasks}
        headlines = {s.folder: segment_headline(plan, s) for s in plan.segments}
        for future in as_completed(futures):
            result = _result_of(future, futures[future])
            results.append(result)
            bar.finished(result.notebook, labels.get(result.segment, result.segment),
                         result.ok, result.duration_s)
    except BaseException:
        _stop_workers(executor, others)
        shutil.rmtree(runtime, ignore_errors=True)
        raise
    finally:
        bar.close()
    executor.shutdown()
    shutil.rmtree(runtime, ignore_errors=True)  # the kernels are gone, and their files
    flag_row_level_ids(plan, results)
    return by_segment(plan, results, headlines)


def kernel_runtime_dir() -> Path:
    """A new folder for the kernel connection files of one run, deleted when it ends.

    Inside Jupyter's runtime folder (``JUPYTER_RUNTIME_DIR``, where ``jupyter --paths``
    looks), else in the temporary folder. Each worker uses a folder of its own inside it
    and deletes it when it is stopped or its parent dies (:func:`salesnb.batch.worker.
    exit_worker`), so no ``kernel-*.json`` outlives a run, however it ends.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    try:
        base = Path(jupyter_runtime_dir())
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="salesnb-run-", dir=base))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="salesnb-kernels-"))


def _result_of(future: Future, task: NotebookTask) -> NotebookResult:
    """The task's result; a worker that died or failed outside ``run_task`` is one failure."""
    try:
        return future.result()
    except Exception as exc:
        result = NotebookResult(task.notebook.stem, task.segment, "failed", 0.0,
                                {k: masked(v, task.secrets) for k, v in task.parameters.items()})
        if isinstance(exc, BrokenProcessPool):
            message = ("the worker process running the notebooks died (killed, out of memory?) "
                       "before this one finished; this and the notebooks still queued were "
                       "not run")
        else:
            message = f"the worker could not run the notebook: {exc}"
        record_failure(result, type(exc).__name__, message, task.secrets)
        return result


def _stop_workers(executor: ProcessPoolExecutor, others: set[Any]) -> None:
    """Cancel queued notebooks, terminate the running workers, kill those that linger.

    The worker processes are found with the public ``multiprocessing.active_children()``
    (minus ``others``, the children that existed before the pool) rather than the
    executor's private ``_processes``: ``concurrent.futures`` has no public way to them.
    """
    executor.shutdown(wait=False, cancel_futures=True)
    processes = [p for p in multiprocessing.active_children() if p not in others]
    for process in processes:
        if process.is_alive() and process.pid is not None:
            # SIGTERM ends the worker at once, inside papermill (worker.exit_worker: its
            # kernel files deleted, no other clean-up): nbclient does NOT shut its kernel
            # down. The kernel runs in a session of its own (jupyter_client), so no group
            # signal reaches it; it exits within about a second by itself, when ipykernel's
            # parent poller sees that its parent (JPY_PARENT_PID, the worker) is gone.
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)


def segment_headline(plan: RunPlan, segment: Segment) -> dict[str, Any]:
    """Headline figures of one segment, or the error that stopped them (never raises)."""
    from salesnb.engine import segments as seg
    from salesnb.metrics.headline_figures import headline

    try:
        data = seg.select(plan.dataset, segment.by, segment.value,
                          plan.params.get("period_start"), plan.params.get("period_end"))
        return {"figures": headline(data), "error": None}
    except Exception as exc:  # one segment's figures must not stop the run; the index says why
        message = str(exc) if isinstance(exc, SalesnbError) else f"{type(exc).__name__}: {exc}"
        return {"figures": None, "error": redact(message, plan.secrets)}



def by_segment(plan: RunPlan, results: list[NotebookResult],
                headlines: dict[str, dict[str, Any]]) -> list[SegmentReport]:
    """The results as one :class:`SegmentReport` per segment, notebooks in suite order."""
    order = {nb.stem: i for i, nb in enumerate(plan.notebooks)}
    reports = []
    for segment in plan.segments:
        mine = sorted((r for r in results if r.segment == segment.folder),
                      key=lambda r: order[r.notebook])
        headline = headlines[segment.folder]
        reports.append(SegmentReport(segment, headline["figures"], headline["error"], mine))
    return reports

