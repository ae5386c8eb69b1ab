"""Batch reports: run the notebook suite with papermill for every segment, in parallel.

Three modules share the job: :mod:`salesnb.report_plan` (segments, notebooks, parameters),
:mod:`salesnb.notebook_worker` (one notebook in a worker process) and this one (the pool,
headline figures, manifests, the index and publishing the run).

A run is planned first (:func:`plan_run`: load the data, find the segments and
notebooks, check every ``--param``), so mistakes surface before any notebook
starts. :func:`execute` then runs one task per segment x notebook in a pool of
worker processes (each calls ``papermill.execute_notebook`` in-process, so a
worker imports papermill once) and publishes the run::

    reports/<name>.partial/           while running: never looks complete
        <segment>/NN_name.ipynb       executed notebook (secrets masked)
        <segment>/NN_name.html        leadership HTML: no code, self-contained
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

Secrets (:mod:`salesnb.redaction`): every password found in a URL parameter
(``--data``, ``--param``) is masked in every file written and every message
printed. The executed notebook never touches the disk unmasked: papermill
writes it to memory, the worker masks it and only then saves it. Before the
run is published every file is searched for the passwords once more; a run
with a leak is not published.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from salesnb.errors import SalesnbError
from salesnb.notebook_worker import (
    DEFAULT_TIMEOUT,
    NotebookResult,
    NotebookTask,
    _init_worker,
    _record_failure,
    run_task,
    write_atomic,
)
from salesnb.paths import PROJECT_DIR
from salesnb.redaction import Secrets, leaking_files, masked, redact
from salesnb.report_plan import (
    ALL_SEGMENT,
    NOTEBOOKS_DIR,
    PARTIAL_SUFFIX,
    RUNNER_PARAMETERS,
    RunPlan,
    Segment,
    _run_name,
    declared_parameters,
    find_notebooks,
    parse_param,
    plan_run,
    plan_segments,
)

VERSIONED_PACKAGES = ("salesnb", "pandas", "numpy", "statsmodels", "ibis-framework", "duckdb",
                      "matplotlib", "seaborn", "papermill", "nbconvert", "ipykernel")
ID_COLUMNS = (("deals", "deal_id"), ("deals", "customer_id"), ("reps", "rep_id"))
"""Row-level identifiers that must never appear in a leadership HTML."""
MIN_NUMERIC_ID = 6
"""Ids without a letter are checked only from this many characters (see ``checked_ids``)."""

__all__ = [  # the planning and worker API stays importable from here
    "ALL_SEGMENT", "NOTEBOOKS_DIR", "PARTIAL_SUFFIX", "RUNNER_PARAMETERS", "NotebookResult",
    "NotebookTask",
    "RunPlan", "RunResult", "Segment", "SegmentReport", "checked_ids", "declared_parameters",
    "execute", "find_notebooks", "git_revision", "ids_shown", "package_versions",
    "parse_param", "plan_run", "plan_segments", "run_task", "write_atomic",
]


@dataclass
class SegmentReport:
    """One segment of a finished run: headline figures and its notebooks' results."""

    segment: Segment
    headline: dict[str, Any] | None
    headline_error: str | None
    results: list[NotebookResult]

    @property
    def failed(self) -> list[NotebookResult]:
        """The notebooks that failed in this segment."""
        return [r for r in self.results if not r.ok]


@dataclass
class RunResult:
    """A finished run: where it is and what happened to every notebook."""

    plan: RunPlan
    folder: Path
    segments: list[SegmentReport]
    duration_s: float

    @property
    def failed(self) -> list[NotebookResult]:
        """Every failed notebook, all segments."""
        return [r for s in self.segments for r in s.failed]

    @property
    def index(self) -> Path:
        """The run's ``index.html``."""
        return self.folder / "index.html"

    def summary(self) -> str:
        """A few lines for the terminal: counts, failures, where the index is."""
        total = sum(len(s.results) for s in self.segments)
        lines = [f"{total - len(self.failed)} of {total} notebooks ok in "
                 f"{len(self.segments)} segment(s), {self.duration_s:.1f} s"]
        for r in self.failed:
            cell = (r.failing_cell or {}).get("cell_index")
            where = f" (cell {cell})" if cell is not None else ""
            error = r.error or {"name": "Error", "message": ""}
            lines.append(f"  FAILED {r.segment}/{r.notebook}{where}: {error['name']}: "
                         f"{_first_line(error['message'])}")
        return "\n".join(lines)


def execute(plan: RunPlan, jobs: int = 1, progress: bool | None = None,
            timeout: float | None = DEFAULT_TIMEOUT) -> RunResult:
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
    _reserve_partial(plan)
    partial = plan.partial_folder
    try:
        reports = _run_all(plan, _tasks(plan, timeout), jobs, progress)
        duration = round(time.perf_counter() - started, 3)
        _write_outputs(plan, reports, duration)
        _refuse_leaks(plan)
    except KeyboardInterrupt:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except Exception as exc:
        if not isinstance(exc, SalesnbError):
            exc.add_note(f"salesnb: the unfinished run is left in {partial}")
        raise
    _publish_run(plan)
    return RunResult(plan, plan.folder, reports, duration)


def _reserve_partial(plan: RunPlan, attempts: int = 20) -> None:
    """Create ``plan.partial_folder``; a taken default name moves on to the next free one."""
    plan.root.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        try:
            plan.partial_folder.mkdir()
        except FileExistsError:
            if not plan.default_name:
                raise SalesnbError(
                    f"{plan.partial_folder} exists: another run is writing it, or an "
                    "interrupted run left it behind (then delete it).") from None
        else:
            if not plan.folder.exists():
                return
            plan.partial_folder.rmdir()  # a run of that name was published meanwhile
            if not plan.default_name:
                raise SalesnbError(f"run folder {plan.folder} already exists and is never "
                                   "overwritten; choose another --name.")
        plan.name = _run_name(plan.root, None)
    raise SalesnbError(f"no free run name in {plan.root} after {attempts} attempts; "
                       "choose one with --name.")


def _refuse_leaks(plan: RunPlan) -> None:
    """Last check before publishing: no file of the run shows a password."""
    if not plan.secrets:
        return
    files = sorted(p for p in plan.partial_folder.rglob("*") if p.is_file())
    leaking = leaking_files(files, plan.secrets)
    if not leaking:
        return
    for path in leaking:
        path.unlink()
    names = ", ".join(str(p.relative_to(plan.partial_folder)) for p in leaking)
    raise SalesnbError(f"not published: {len(leaking)} file(s) would show a password ({names}); "
                       f"they were deleted, the rest of the run is in {plan.partial_folder}.")


def _tasks(plan: RunPlan, timeout: float | None = DEFAULT_TIMEOUT) -> list[NotebookTask]:
    tasks = []
    fingerprint = plan.dataset.fingerprint[:12]
    for segment in plan.segments:
        folder = plan.partial_folder / segment.folder
        folder.mkdir()
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


def _run_all(plan: RunPlan, tasks: list[NotebookTask], jobs: int,
             progress: bool | None) -> list[SegmentReport]:
    from tqdm.auto import tqdm

    results: list[NotebookResult] = []
    bar = tqdm(total=len(tasks), desc=f"report {plan.name}", unit="nb", file=sys.stderr,
               disable=None if progress is None else not progress)
    others = set(multiprocessing.active_children())  # not ours to stop (see _stop_workers)
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    executor = ProcessPoolExecutor(max_workers=max(1, jobs), initializer=_init_worker,
                                   initargs=(threads,),
                                   mp_context=multiprocessing.get_context("spawn"))
    try:
        futures: dict[Future, NotebookTask] = {executor.submit(run_task, task): task
                                               for task in tasks}
        headlines = {s.folder: _headline(plan, s) for s in plan.segments}
        for future in as_completed(futures):
            results.append(_result_of(future, futures[future]))
            failed = sum(not r.ok for r in results)
            bar.set_postfix(ok=len(results) - failed, failed=failed, refresh=False)
            bar.update()
    except BaseException:
        _stop_workers(executor, others)
        raise
    finally:
        bar.close()
    executor.shutdown()
    _flag_row_level_ids(plan, results)
    return _by_segment(plan, results, headlines)


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
        _record_failure(result, type(exc).__name__, message, task.secrets)
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
        if process.is_alive():
            # SIGTERM ends the worker at once, inside papermill, with no Python clean-up:
            # nbclient does NOT shut its kernel down. The kernel runs in a session of its
            # own (jupyter_client), so no group signal reaches it; it exits within about a
            # second by itself, when ipykernel's parent poller sees that its parent
            # (JPY_PARENT_PID, the worker) is gone.
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)


def _headline(plan: RunPlan, segment: Segment) -> dict[str, Any]:
    from salesnb import segments as seg

    try:
        data = seg.select(plan.dataset, segment.by, segment.value,
                          plan.params.get("period_start"), plan.params.get("period_end"))
        return {"figures": seg.headline(data), "error": None}
    except Exception as exc:  # one segment's figures must not stop the run; the index says why
        message = str(exc) if isinstance(exc, SalesnbError) else f"{type(exc).__name__}: {exc}"
        return {"figures": None, "error": redact(message, plan.secrets)}


def checked_ids(values: Iterable[Any]) -> set[str]:
    """The ids worth looking for in a page: those with a letter or >= MIN_NUMERIC_ID chars.

    Float-looking ids (``12345678.0``, from a column read as float) are
    normalised to ``12345678``. Short numbers (``12``) are skipped: they match
    page numbers, counts and years, and would fail every report.
    """
    ids = set()
    for value in values:
        text = str(value).strip()
        if re.fullmatch(r"-?\d+\.0+", text):
            text = text.split(".")[0]
        if text and (re.search(r"[^\W\d_]", text) or len(text) >= MIN_NUMERIC_ID):
            ids.add(text)
    return ids


def ids_shown(page: str, ids: set[str]) -> list[str]:
    """The ``ids`` that stand as whole words in ``page`` (base64 images not searched).

    A heuristic guard, not a proof: an id must appear exactly, delimited by
    characters other than letters, digits, ``_`` and ``-``; an id formatted
    differently (``1,234,567``), split across cells or inside an image is not
    found, and a long number that is also a figure is reported.
    """
    text = re.sub(r"data:[\w.+\-]+/[\w.+\-]+;base64,[A-Za-z0-9+/=\n]+", " ", page)
    tokens = set(re.findall(r"[\w-]+", text))
    shown = ids & tokens
    for value in ids - tokens:
        if re.search(r"[^\w-]", value) and re.search(
                rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            shown.add(value)  # an id with other characters (a dot, a slash) cannot be a token
    return sorted(shown)


def _flag_row_level_ids(plan: RunPlan, results: list[NotebookResult]) -> None:
    """Fail (and unpublish) any leadership HTML that shows deal, customer or rep ids.

    A heuristic guard (see :func:`checked_ids` and :func:`ids_shown`), meant to
    catch a notebook that prints a table of deals, not to prove a page clean.
    """
    ids: set[str] = set()
    for table, column in ID_COLUMNS:
        if table in plan.dataset and column in plan.dataset.tables[table]:
            ids |= checked_ids(plan.dataset.tables[table][column].dropna())
    for result in results:
        if not result.html:
            continue
        page = plan.partial_folder / result.segment / result.html
        shown = ids_shown(page.read_text("utf-8"), ids)
        if shown:
            page.unlink()
            result.html = None
            _record_failure(result, "RowLevelDataError",
                            "the leadership HTML shows row-level ids (e.g. "
                            f"{', '.join(shown[:3])}); show aggregates only", plan.secrets)


def _by_segment(plan: RunPlan, results: list[NotebookResult],
                headlines: dict[str, dict[str, Any]]) -> list[SegmentReport]:
    order = {nb.stem: i for i, nb in enumerate(plan.notebooks)}
    reports = []
    for segment in plan.segments:
        mine = sorted((r for r in results if r.segment == segment.folder),
                      key=lambda r: order[r.notebook])
        headline = headlines[segment.folder]
        reports.append(SegmentReport(segment, headline["figures"], headline["error"], mine))
    return reports


def _write_outputs(plan: RunPlan, reports: list[SegmentReport], duration: float) -> None:
    from salesnb.index_page import index_html

    context = _run_context(plan)
    for report in reports:
        entry = _segment_entry(report)
        del entry["results"]  # the full records follow
        manifest = {**context, "segment": entry,
                    "notebooks": [asdict(r) for r in report.results]}
        _write_json(plan.partial_folder / report.segment.folder / "manifest.json", manifest,
                    plan.secrets)
    run_manifest = {**context, "duration_s": duration,
                    "status": "failed" if any(r.failed for r in reports) else "ok",
                    "segments": [_segment_entry(r) for r in reports]}
    _write_json(plan.partial_folder / "manifest.json", run_manifest, plan.secrets)
    page = index_html(run_manifest, reports)
    write_atomic(plan.partial_folder / "index.html", redact(page, plan.secrets))


def _run_context(plan: RunPlan) -> dict[str, Any]:
    return {
        "run": plan.name,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "input": {"source": masked(plan.data, plan.secrets), "mapping": plan.mapping,
                  "fingerprint": plan.dataset.fingerprint},
        "segment_by": plan.by,
        "parameters": {k: masked(v, plan.secrets) for k, v in plan.params.items()},
        "suite": [str(nb) for nb in plan.notebooks],
        "versions": package_versions(),
        "git": git_revision(),
    }


def _segment_entry(report: SegmentReport) -> dict[str, Any]:
    return {"folder": report.segment.folder, "by": report.segment.by,
            "value": report.segment.value, "label": report.segment.label,
            "status": "failed" if report.failed else "ok",
            "headline": report.headline, "headline_error": report.headline_error,
            "failed_notebooks": [r.notebook for r in report.failed],
            "results": [{"notebook": r.notebook, "status": r.status, "html": r.html,
                         "ipynb": r.ipynb, "duration_s": r.duration_s,
                         "failing_cell": r.failing_cell, "error": r.error}
                        for r in report.results]}


def _write_json(path: Path, payload: dict[str, Any], secrets: Secrets) -> None:
    write_atomic(path, json.dumps(redact(payload, secrets), indent=2, default=str) + "\n")


def _publish_run(plan: RunPlan) -> None:
    """Rename ``.partial`` to the run folder, never over an existing one.

    ``os.rename`` silently replaces an existing *empty* directory, so the
    target is first created with ``mkdir`` (which fails if anything has that
    name) and only this run's own empty folder is then replaced.
    """
    try:
        plan.folder.mkdir()
    except FileExistsError:
        raise SalesnbError(f"run folder {plan.folder} appeared while running; this run is "
                           f"left in {plan.partial_folder}.") from None
    try:
        os.rename(plan.partial_folder, plan.folder)
    except OSError as exc:  # something wrote into the reserved folder meanwhile
        raise SalesnbError(f"could not publish {plan.folder} ({exc}); this run is left in "
                           f"{plan.partial_folder}.") from None


def package_versions() -> dict[str, str | None]:
    """Installed versions of salesnb and the packages a report's numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(folder: Path = PROJECT_DIR) -> dict[str, Any]:
    """The project's git commit and whether tracked files differ from it (None without git)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                                  text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if revision else None
    return {"revision": revision, "dirty": bool(status) if status is not None else None}


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""
