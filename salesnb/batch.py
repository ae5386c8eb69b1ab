"""Batch reports: run the notebook suite with papermill for every segment, in parallel.

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

import ast
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
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from salesnb.errors import SalesnbError
from salesnb.paths import PROJECT_DIR, REPORTS_DIR
from salesnb.redaction import (
    Secrets,
    find_leaks,
    find_secrets,
    leaking_files,
    masked,
    notebook_leaks,
    redact,
)

NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"
RUNNER_PARAMETERS = ("data", "mapping", "segment_by", "segment", "period_start", "period_end")
"""Parameters the runner sets itself (when a notebook declares them)."""
ALL_SEGMENT = "all"
KERNEL_NAME = "python3"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]  # no start-up warnings on the terminal
MEMORY_SCHEME = "salesnb-memory://"
PARTIAL_SUFFIX = ".partial"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
VERSIONED_PACKAGES = ("salesnb", "pandas", "numpy", "statsmodels", "ibis-framework", "duckdb",
                      "matplotlib", "seaborn", "papermill", "nbconvert", "ipykernel")
ID_COLUMNS = (("deals", "deal_id"), ("deals", "customer_id"), ("reps", "rep_id"))
"""Row-level identifiers that must never appear in a leadership HTML."""
MIN_NUMERIC_ID = 6
"""Ids without a letter are checked only from this many characters (see ``checked_ids``)."""
DEFAULT_TIMEOUT = 1800
"""Seconds a notebook cell may run before the notebook is stopped and recorded as failed."""


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Segment:
    """One slice of the data a report is made for (``by=None``: the whole dataset)."""

    folder: str
    by: str | None = None
    value: str | None = None

    @property
    def label(self) -> str:
        """How the segment is named to readers, e.g. ``region = North``."""
        return "all data" if self.by is None else f"{self.by} = {self.value}"


@dataclass
class RunPlan:
    """Everything decided before a run starts (see :func:`plan_run`)."""

    name: str
    root: Path
    data: str
    mapping: str | None
    by: str | None
    segments: list[Segment]
    notebooks: list[Path]
    declared: dict[Path, set[str]]
    params: dict[str, Any]
    dataset: Any = field(repr=False)
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    default_name: bool = False
    """True when the name is a timestamp the runner chose (it may pick the next one)."""

    @property
    def folder(self) -> Path:
        """Where the finished run is published."""
        return self.root / self.name

    @property
    def partial_folder(self) -> Path:
        """Where the run is written while it is not finished."""
        return self.root / (self.name + PARTIAL_SUFFIX)

    def notebook_parameters(self, notebook: Path, segment: Segment) -> dict[str, Any]:
        """The parameters one notebook gets for one segment: only those it declares."""
        values = {"data": self.data, "mapping": self.mapping, "segment_by": segment.by,
                  "segment": segment.value, "period_start": self.params.get("period_start"),
                  "period_end": self.params.get("period_end"), **self.params}
        return {k: v for k, v in values.items() if k in self.declared[notebook]}


def plan_run(data: str | Path, mapping: str | Path | None = None, by: str | None = None,
             params: dict[str, Any] | None = None,
             notebooks: Sequence[str | Path] | None = None,
             out: str | Path = REPORTS_DIR, name: str | None = None,
             only: Sequence[str] | None = None, include_all: bool = False) -> RunPlan:
    """Load the data and decide the run: segments, notebooks, parameters, folder.

    Parameters
    ----------
    data, mapping
        The data source (folder, file or database URL) and its mapping file.
    by
        Segment column (``region``, ``segment``, ``industry``, ``team``/``team_id``,
        ``leader``/``leader_id``); None: one segment ``all``.
    params
        Extra notebook parameters (``--param key=value``); ``period_start`` and
        ``period_end`` (``"YYYY-MM"``) also restrict the headline figures.
    notebooks
        Names (``01_overview``, ``overview``, ``01``) or paths; default: every
        ``notebooks/NN_*.ipynb``.
    out, name
        Reports folder and run name (default: a timestamp, made unique).
    only
        Restrict ``by`` segments to these values.
    include_all
        With ``by``: also run the whole dataset as segment ``all``.

    Raises
    ------
    SalesnbError
        Bad data, unknown segment values, a parameter no notebook declares,
        a run name already taken, and every other mistake found before running.
    """
    import salesnb
    from salesnb import segments as seg

    params = dict(params or {})
    _refuse_runner_keys(params)
    paths = find_notebooks(notebooks)
    declared = {path: declared_parameters(path) for path in paths}
    _check_params(params, declared)
    data_text = _absolute_source(data)
    mapping_text = str(Path(mapping).resolve()) if mapping is not None else None
    dataset = salesnb.load(data_text, mapping=mapping_text)
    seg.select(dataset, start=params.get("period_start"), end=params.get("period_end"))
    root = Path(out).resolve()
    return RunPlan(name=_run_name(root, name), root=root, data=data_text, mapping=mapping_text,
                   by=seg.resolve_by(by), segments=plan_segments(dataset, by, only, include_all),
                   notebooks=paths, declared=declared, params=params, dataset=dataset,
                   secrets=find_secrets([data_text, *params.values()]),
                   default_name=name is None)


def plan_segments(dataset: Any, by: str | None, only: Sequence[str] | None = None,
                  include_all: bool = False) -> list[Segment]:
    """The segments of a run, each with a unique, safe folder name.

    No ``by``: one segment ``all``. With ``by``: one per distinct value (or per
    value in ``only``), preceded by ``all`` when ``include_all``.
    """
    from salesnb import segments as seg

    if by is None:
        return [Segment(ALL_SEGMENT)]
    column = seg.resolve_by(by)
    values = seg.segment_values(dataset, column)
    if only:
        unknown = [v for v in only if v not in values]
        if unknown:
            raise SalesnbError(f"no {column} {', '.join(map(repr, unknown))} in the data; "
                               f"valid values: {', '.join(values)}.")
        values = [v for v in values if v in only]
    taken = {ALL_SEGMENT} if include_all else set()
    segments = [Segment(ALL_SEGMENT)] if include_all else []
    for value in values:
        folder = _unique(seg.slug(value), taken)
        taken.add(folder)
        segments.append(Segment(folder, column, value))
    return segments


def find_notebooks(selection: Sequence[str | Path] | None = None,
                   folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks to run: the default suite or the named/pathed subset, in order.

    A selection entry that names an existing ``.ipynb`` file is used as is;
    otherwise it matches a suite notebook by stem (``01_overview``), by name
    without the number (``overview``) or by number (``01``).
    """
    suite = sorted(folder.glob(NOTEBOOK_PATTERN))
    if not selection:
        if not suite:
            raise SalesnbError(f"no notebooks found in {folder} (expected {NOTEBOOK_PATTERN}).")
        return suite
    return [_find_one(str(entry), suite, folder) for entry in selection]


def declared_parameters(notebook: Path) -> set[str]:
    """Names in the notebook's ``parameters`` cell (empty when it has none)."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value); the value read as a literal (number, bool, None, text).

    Python and YAML spellings both work: ``3``, ``0.5``, ``true``/``True``,
    ``none``/``None``/``null``, ``[1, 2]``, ``'quoted'``; anything else is text.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise SalesnbError(f"--param {text!r} is not key=value (key a Python name).")
    return key, _literal(raw.strip())


def _literal(raw: str) -> Any:
    words = {"true": True, "false": False, "none": None, "null": None, "~": None}
    if raw.lower() in words:
        return words[raw.lower()]
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


def _refuse_runner_keys(params: dict[str, Any]) -> None:
    owned = {"data": "--data", "mapping": "--mapping", "segment_by": "--by",
             "segment": "--by/--segments"}
    for key, option in owned.items():
        if key in params:
            raise SalesnbError(f"--param {key}=... is set by the runner; use {option}.")


def _check_params(params: dict[str, Any], declared: dict[Path, set[str]]) -> None:
    valid = set().union(*declared.values()) - {"data", "mapping", "segment_by", "segment"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise SalesnbError(
            f"no selected notebook declares the parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(valid)) or 'none'}.")


def _find_one(entry: str, suite: list[Path], folder: Path) -> Path:
    path = Path(entry)
    if path.suffix == ".ipynb" or "/" in entry:
        if not path.is_file():
            raise SalesnbError(f"notebook {entry} does not exist.")
        return path.resolve()
    matches = [nb for nb in suite if entry in (nb.stem, nb.stem[3:], nb.stem[:2])]
    if len(matches) != 1:
        names = ", ".join(nb.stem for nb in suite) or f"none in {folder}"
        problem = "matches several notebooks" if matches else "matches no notebook"
        raise SalesnbError(f"--notebooks {entry!r} {problem}; available: {names}.")
    return matches[0]


def _absolute_source(data: str | Path) -> str:
    from salesnb.sources import is_database_url

    text = str(data)
    return text if is_database_url(text) else str(Path(text).resolve())


def _run_name(root: Path, name: str | None) -> str:
    if name is None:
        stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
        name = _unique(stamp, {p.name.removesuffix(PARTIAL_SUFFIX) for p in _entries(root)})
    if not SAFE_NAME.match(name) or name.endswith(PARTIAL_SUFFIX):
        raise SalesnbError(f"run name {name!r} is not a safe folder name (letters, digits, "
                           f". _ -; not ending in {PARTIAL_SUFFIX}).")
    if (root / name).exists():
        raise SalesnbError(f"run folder {root / name} already exists and is never overwritten; "
                           "choose another --name.")
    if (root / (name + PARTIAL_SUFFIX)).exists():
        raise SalesnbError(f"{root / (name + PARTIAL_SUFFIX)} exists: another run is writing it, "
                           "or an interrupted run left it behind (then delete it).")
    return name


def _entries(root: Path) -> list[Path]:
    return list(root.iterdir()) if root.is_dir() else []


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in taken:
        candidate, counter = f"{name}-{counter}", counter + 1
    return candidate


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class NotebookTask:
    """One notebook to run for one segment (what a worker process receives)."""

    notebook: Path
    segment: str
    folder: Path
    parameters: dict[str, Any]
    secrets: Secrets
    title: str
    subtitle: str
    timeout: float | None = DEFAULT_TIMEOUT


@dataclass
class NotebookResult:
    """What happened to one notebook of one segment (a row of the manifest)."""

    notebook: str
    segment: str
    status: str
    duration_s: float
    parameters: dict[str, Any]
    ipynb: str | None = None
    html: str | None = None
    failing_cell: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        """True when the notebook ran through and its HTML was written."""
        return self.status == "ok"


class _MemoryHandler:
    """A papermill I/O handler keeping output notebooks in memory, keyed by path."""

    store: dict[str, str] = {}

    def read(self, path: str) -> str:
        return self.store[path]

    def write(self, buf: str, path: str) -> None:
        self.store[path] = buf

    def listdir(self, path: str) -> list[str]:
        return sorted(self.store)

    def pretty_path(self, path: str) -> str:
        return path


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _init_worker(threads: int | None = None) -> None:
    """Run in each worker: own process group (Ctrl-C reaches only the parent), quiet kernels.

    ``threads``: BLAS/OpenMP threads for the worker's kernels (inherited through
    the environment, unless already set), so that parallel notebooks do not
    each start one thread per CPU and fight over them.
    """
    from papermill.iorw import papermill_io

    os.setpgrp()
    if threads is not None:
        for variable in THREAD_VARIABLES:
            os.environ.setdefault(variable, str(threads))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # kernels' debugger notice
    papermill_io.register(MEMORY_SCHEME, _MemoryHandler())


def run_task(task: NotebookTask) -> NotebookResult:
    """Execute one notebook with papermill, then save it (masked) and its HTML.

    Runs in a worker process; never raises for a notebook's own failure. A cell
    running longer than ``task.timeout`` seconds stops the notebook (its kernel
    is shut down) and is recorded as a ``CellTimeout`` failure.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    key = f"{MEMORY_SCHEME}{task.segment}/{task.notebook.name}"
    result = NotebookResult(task.notebook.stem, task.segment, "ok", 0.0,
                            {k: masked(v, task.secrets) for k, v in task.parameters.items()})
    try:
        papermill.execute_notebook(
            str(task.notebook), key, parameters=task.parameters, kernel_name=KERNEL_NAME,
            cwd=str(task.folder), progress_bar=False, log_output=False,
            request_save_on_cell_execute=False, extra_arguments=KERNEL_ARGUMENTS,
            execution_timeout=task.timeout)
    except PapermillExecutionError as exc:
        _record_failure(result, exc.ename, exc.evalue, task.secrets)
    except TimeoutError as exc:  # nbclient's CellTimeoutError: the kernel has been shut down
        preview = re.search(r"-{5,}\n(.*?)\n", str(exc))  # nbclient shows the cell's source
        where = f" (the cell starting {preview.group(1).strip()!r})" if preview else ""
        _record_failure(result, "CellTimeout",
                        f"a cell ran longer than the timeout of {task.timeout:g} s "
                        f"(--timeout){where}; the notebook was stopped there and not saved",
                        task.secrets)
    except Exception as exc:  # kernel died, timeout, bad notebook: still a per-notebook failure
        _record_failure(result, type(exc).__name__, str(exc), task.secrets)
    text = _MemoryHandler.store.pop(key, None)
    if text is not None:
        _publish(task, result, text)
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def _record_failure(result: NotebookResult, name: str, message: str,
                    secrets: Secrets) -> None:
    result.status = "failed"
    result.error = {"name": name, "message": redact(_strip_ansi(message), secrets)}


def _publish(task: NotebookTask, result: NotebookResult, text: str) -> None:
    import nbformat

    from salesnb.html_report import notebook_to_html

    notebook = nbformat.from_dict(redact(nbformat.reads(text, as_version=4), task.secrets))
    if result.status == "failed":
        result.failing_cell = failing_cell(notebook)
    if notebook_leaks(notebook, task.secrets):  # redaction missed a form: write nothing of it
        _leak_failure(result, "notebook", task.secrets)
        return
    result.ipynb = task.notebook.name
    write_atomic(task.folder / result.ipynb, nbformat.writes(notebook))
    try:
        page = notebook_to_html(notebook, task.title, task.subtitle)
    except Exception as exc:  # a broken output must not hide the other reports
        if result.ok:
            _record_failure(result, type(exc).__name__, f"HTML export: {exc}", task.secrets)
        return
    if find_leaks(page, task.secrets):
        _leak_failure(result, "leadership HTML", task.secrets)
        return
    result.html = task.notebook.stem + ".html"
    write_atomic(task.folder / result.html, page)


def _leak_failure(result: NotebookResult, what: str, secrets: Secrets) -> None:
    if result.ok:
        _record_failure(result, "SecretLeakError",
                        f"the {what} would show a password; it was not written", secrets)


def failing_cell(notebook: Any) -> dict[str, Any] | None:
    """Where an executed notebook failed: cell position in the *source* notebook (0-based),
    execution count and the first line of its code."""
    index = 0
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            continue
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            return {"cell_index": index, "execution_count": cell.get("execution_count"),
                    "source_first_line": first_line}
        index += 1
    return None


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def write_atomic(path: Path, text: str) -> None:
    """Write a text file so that it is either absent or complete (temp file + rename)."""
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


# --------------------------------------------------------------------------- run


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
