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
on. Ctrl-C stops the workers (their kernels are shut down) and deletes the
``.partial`` folder; a crash leaves only a ``.partial`` folder. An existing run
folder is never overwritten.

Secrets: every password found in a URL parameter (``--data``, ``--param``) is
replaced by ``***`` in every file written and every message printed. The
executed notebook never touches the disk unmasked: papermill writes it to
memory, the worker masks it and only then saves it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from salesnb.errors import SalesnbError
from salesnb.paths import PROJECT_DIR, REPORTS_DIR

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
    secrets: tuple[str, ...] = field(default=(), repr=False)

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
                   secrets=secrets_in([data_text, *params.values()]))


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


# --------------------------------------------------------------------------- secrets


def secrets_in(values: Iterable[Any]) -> tuple[str, ...]:
    """Passwords found in URL-like strings among ``values`` (raw and %-decoded forms)."""
    found: set[str] = set()
    for value in values:
        if not isinstance(value, str) or "://" not in value:
            continue
        userinfo = urlsplit(value).netloc.rpartition("@")[0]
        if ":" in userinfo:
            raw = userinfo.split(":", 1)[1]
            found |= {raw, unquote(raw)} - {""}
    return tuple(sorted(found, key=len, reverse=True))


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (text or nested lists/dicts of it) with every secret replaced by ``***``."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, secrets) for v in value)
    return value


def masked(value: Any, secrets: Sequence[str]) -> Any:
    """A parameter value safe to show: URLs masked (``mask_url``), then secrets redacted."""
    from salesnb.sources import mask_url

    if isinstance(value, str) and "://" in value:
        value = mask_url(value)
    return redact(value, secrets)


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class NotebookTask:
    """One notebook to run for one segment (what a worker process receives)."""

    notebook: Path
    segment: str
    folder: Path
    parameters: dict[str, Any]
    secrets: tuple[str, ...]
    title: str
    subtitle: str


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


def _init_worker() -> None:
    """Run in each worker: own process group (Ctrl-C reaches only the parent), quiet kernels."""
    from papermill.iorw import papermill_io

    os.setpgrp()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # kernels' debugger notice
    papermill_io.register(MEMORY_SCHEME, _MemoryHandler())


def run_task(task: NotebookTask) -> NotebookResult:
    """Execute one notebook with papermill, then save it (masked) and its HTML.

    Runs in a worker process; never raises for a notebook's own failure.
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
            request_save_on_cell_execute=False, extra_arguments=KERNEL_ARGUMENTS)
    except PapermillExecutionError as exc:
        _record_failure(result, exc.ename, exc.evalue, task.secrets)
    except Exception as exc:  # kernel died, timeout, bad notebook: still a per-notebook failure
        _record_failure(result, type(exc).__name__, str(exc), task.secrets)
    text = _MemoryHandler.store.pop(key, None)
    if text is not None:
        _publish(task, result, text)
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def _record_failure(result: NotebookResult, name: str, message: str,
                    secrets: Sequence[str]) -> None:
    result.status = "failed"
    result.error = {"name": name, "message": redact(_strip_ansi(message), secrets)}


def _publish(task: NotebookTask, result: NotebookResult, text: str) -> None:
    import nbformat

    from salesnb.html_report import notebook_to_html

    notebook = nbformat.from_dict(redact(nbformat.reads(text, as_version=4), task.secrets))
    if result.status == "failed":
        result.failing_cell = failing_cell(notebook)
    result.ipynb = task.notebook.name
    write_atomic(task.folder / result.ipynb, nbformat.writes(notebook))
    try:
        page = notebook_to_html(notebook, task.title, task.subtitle)
    except Exception as exc:  # a broken output must not hide the other reports
        if result.ok:
            _record_failure(result, type(exc).__name__, f"HTML export: {exc}", task.secrets)
        return
    result.html = task.notebook.stem + ".html"
    write_atomic(task.folder / result.html, page)


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


def execute(plan: RunPlan, jobs: int = 1, progress: bool | None = None) -> RunResult:
    """Run a planned batch and publish it as ``plan.folder``.

    Parameters
    ----------
    plan
        From :func:`plan_run`.
    jobs
        Worker processes (each runs one notebook at a time).
    progress
        Show a progress bar on stderr; None: only when stderr is a terminal.

    Returns
    -------
    RunResult
        Check ``.failed``; the folder is complete either way.

    Raises
    ------
    KeyboardInterrupt
        After stopping the workers and deleting the ``.partial`` folder.
    """
    started = time.perf_counter()
    partial = plan.partial_folder
    plan.root.mkdir(parents=True, exist_ok=True)
    partial.mkdir()
    try:
        reports = _run_all(plan, _tasks(plan), jobs, progress)
        duration = round(time.perf_counter() - started, 3)
        _write_outputs(plan, reports, duration)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _publish_run(plan)
    return RunResult(plan, plan.folder, reports, duration)


def _tasks(plan: RunPlan) -> list[NotebookTask]:
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
                subtitle=f"{segment.label} | run {plan.name} | data fingerprint {fingerprint}"))
    return tasks


def _title(notebook: Path) -> str:
    return notebook.stem[3:].replace("_", " ").capitalize() if notebook.stem[:2].isdigit() \
        else notebook.stem.replace("_", " ")


def _run_all(plan: RunPlan, tasks: list[NotebookTask], jobs: int,
             progress: bool | None) -> list[SegmentReport]:
    import multiprocessing

    from tqdm.auto import tqdm

    results: list[NotebookResult] = []
    bar = tqdm(total=len(tasks), desc=f"report {plan.name}", unit="nb", file=sys.stderr,
               disable=None if progress is None else not progress)
    executor = ProcessPoolExecutor(max_workers=max(1, jobs), initializer=_init_worker,
                                   mp_context=multiprocessing.get_context("spawn"))
    try:
        futures: list[Future] = [executor.submit(run_task, task) for task in tasks]
        headlines = {s.folder: _headline(plan, s) for s in plan.segments}
        for future in as_completed(futures):
            results.append(future.result())
            failed = sum(not r.ok for r in results)
            bar.set_postfix(ok=len(results) - failed, failed=failed, refresh=False)
            bar.update()
    except BaseException:
        _stop_workers(executor)
        raise
    finally:
        bar.close()
    executor.shutdown()
    _flag_row_level_ids(plan, results)
    return _by_segment(plan, results, headlines)


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    """Cancel queued notebooks, ask running workers to stop, kill those that do not."""
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # SIGTERM: nbclient shuts the worker's kernel down
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():  # its kernel exits by itself when its parent is gone
            process.kill()
            process.join(5)


def _headline(plan: RunPlan, segment: Segment) -> dict[str, Any]:
    from salesnb import segments as seg

    try:
        data = seg.select(plan.dataset, segment.by, segment.value,
                          plan.params.get("period_start"), plan.params.get("period_end"))
        return {"figures": seg.headline(data), "error": None}
    except SalesnbError as exc:
        return {"figures": None, "error": redact(str(exc), plan.secrets)}


def _flag_row_level_ids(plan: RunPlan, results: list[NotebookResult]) -> None:
    """Fail (and unpublish) any leadership HTML that shows deal, customer or rep ids."""
    ids: set[str] = set()
    for table, column in ID_COLUMNS:
        if table in plan.dataset and column in plan.dataset.tables[table]:
            ids |= {str(v) for v in plan.dataset.tables[table][column].dropna()}
    for result in results:
        if not result.html:
            continue
        page = plan.partial_folder / result.segment / result.html
        shown = sorted(ids.intersection(re.findall(r"[\w-]+", page.read_text("utf-8"))))
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


def _write_json(path: Path, payload: dict[str, Any], secrets: Sequence[str]) -> None:
    write_atomic(path, json.dumps(redact(payload, secrets), indent=2, default=str) + "\n")


def _publish_run(plan: RunPlan) -> None:
    if plan.folder.exists():
        raise SalesnbError(f"run folder {plan.folder} appeared while running; this run is "
                           f"left in {plan.partial_folder}.")
    os.rename(plan.partial_folder, plan.folder)


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
