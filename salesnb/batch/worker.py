"""One notebook run inside a worker process: papermill in memory, secrets masked, then saved.

:func:`run_task` executes one notebook for one segment with ``papermill.execute_notebook``
(in-process: the worker imports papermill once), keeps the executed notebook in memory until
its passwords are masked, writes it and its leadership HTML atomically (cells tagged
``appendix`` on a methods page of their own, :mod:`salesnb.batch.split`), reads the headline
facts it displayed (:mod:`salesnb.batch.headlines`) and returns a :class:`NotebookResult`
(status, duration, failing cell, error, pages, facts) instead of raising.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesnb.batch.redaction import Secrets, find_leaks, masked, notebook_leaks, redact

KERNEL_NAME = "python3"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]  # no start-up warnings on the terminal
MEMORY_SCHEME = "salesnb-memory://"
DEFAULT_TIMEOUT = 1800
"""Seconds a notebook cell may run before the notebook is stopped and recorded as failed."""


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
    methods_html: str | None = None
    """The methods page (cells tagged ``appendix``), beside ``html``."""
    pdf: str | None = None
    """The page printed to PDF, its methods page after it (:mod:`salesnb.batch.pdf`)."""
    facts: dict[str, Any] | None = None
    """Headline facts the notebook displayed for the run index."""

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
WORKER_PID_ENV = "SALESNB_WORKER_PID"
"""The worker's process id, in its kernels' environment (their parent is the kernel zygote)."""
PARENT_POLL_S = 1.0
"""How often a worker checks that the process that started it is alive (the fallback)."""
_runtime: dict[str, Path] = {}


def init_worker(threads: int | None = None, runtime_dir: str | None = None,
                parent_pid: int | None = None) -> None:
    """Run in each worker: own process group (Ctrl-C reaches only the parent), quiet kernels,
    kernel files in a folder of its own, and an exit when the parent dies.

    Parameters
    ----------
    threads
        BLAS/OpenMP threads for the worker and its kernels (inherited through the
        environment), so that parallel notebooks do not each start one thread per CPU and
        fight over them. None: the environment decides.
    runtime_dir
        The run's folder for kernel connection files (``kernel-*.json``, ``tmp*.json``: they
        hold the kernel's ports and key); the worker keeps its own below it (as
        ``JUPYTER_RUNTIME_DIR`` and its temporary folder, where jupyter_client writes them)
        and deletes it when it is stopped.
    parent_pid
        The process that runs the pool (default: the worker's parent now). When it dies,
        even by SIGKILL, the worker exits (:func:`follow_parent`) and its kernel with it
        (ipykernel ends a kernel whose parent is gone).
    """
    os.setpgrp()
    if threads is not None:
        for variable in THREAD_VARIABLES:
            os.environ[variable] = str(threads)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # kernels' debugger notice
    os.environ[WORKER_PID_ENV] = str(os.getpid())
    if runtime_dir is not None:
        own = Path(runtime_dir) / f"worker-{os.getpid()}"
        own.mkdir(parents=True, exist_ok=True)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(own)
        tempfile.tempdir = str(own)  # jupyter_client writes connection files with mkstemp
        _runtime["own"], _runtime["run"] = own, Path(runtime_dir)
    signal.signal(signal.SIGTERM, _stopped)
    register_memory_io()
    _register_kernel_pool()
    follow_parent(parent_pid if parent_pid is not None else os.getppid())


def _register_kernel_pool() -> None:
    """Run the notebooks in pre-started kernels (:mod:`salesnb.batch.kernels`); the kernel
    waiting ahead is killed when the worker ends normally (a stopped worker kills it with
    every other child, :func:`kill_kernels`).
    """
    from multiprocessing.util import Finalize

    from salesnb.batch.kernels import pool_for_this_process

    pool = pool_for_this_process(KERNEL_NAME, KERNEL_ARGUMENTS)
    Finalize(pool, pool.close, exitpriority=10)
    if pool.zygote is not None:
        pool.zygote.start()  # imports while the worker imports papermill


def register_memory_io() -> None:
    """Let papermill write output notebooks to memory (``salesnb-memory://`` paths), which
    :func:`run_task` needs; done by :func:`init_worker` in every worker.
    """
    from papermill.iorw import papermill_io

    papermill_io.register(MEMORY_SCHEME, _MemoryHandler())


def follow_parent(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """End this process (see :func:`exit_worker`) as soon as ``parent_pid`` is gone.

    Two mechanisms: on Linux the kernel sends SIGTERM when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``, handled by :func:`init_worker`'s handler); everywhere a
    daemon thread checks every ``poll_s`` seconds that the worker's parent is still
    ``parent_pid`` (an orphan is adopted by another process). A parent that died before
    this call is caught by the first check.

    The death signal follows the parent *thread* that started the worker: the pool starts
    its workers from the thread that submits the notebooks (``ProcessPoolExecutor`` with
    ``spawn``), which waits for them; a worker started from a thread that ends early would
    be stopped with it.
    """
    from salesnb.batch.zygote import die_with_parent

    die_with_parent()
    if os.getppid() != parent_pid:
        exit_worker()

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        exit_worker()

    threading.Thread(target=watch, name="salesnb-parent-watch", daemon=True).start()


def _stopped(number: int, frame: object) -> None:
    exit_worker(128 + number)


def exit_worker(code: int = 1) -> None:
    """Leave the worker at once: its kernels killed, their files deleted, no Python clean-up.

    Used when the pool stops the worker (SIGTERM) or its parent is gone. The kernels go
    first (:func:`kill_kernels`): a kernel still starting up writes its connection file
    after the worker has deleted it, and ipykernel's own exit when its parent is gone
    (``os._exit``) leaves that file behind. Nothing waits for nbclient's kernel shutdown,
    which needs the event loop this signal interrupts.
    """
    kill_kernels()
    own, run = _runtime.get("own"), _runtime.get("run")
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)
    if run is not None:
        with contextlib.suppress(OSError):
            run.rmdir()  # the last worker out removes the run's folder (if the pool cannot)
    os._exit(code)


def kill_kernels() -> None:
    """SIGKILL every process this worker started, with the process group each leads.

    jupyter_client starts each kernel in a session of its own (``start_new_session``), so
    the kernel's process group holds whatever the kernel started in turn. psutil lists the
    children on every platform (it is already installed with ipykernel).
    """
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(OSError):
                if hasattr(os, "killpg") and os.getpgid(child.pid) == child.pid:
                    os.killpg(child.pid, signal.SIGKILL)
                else:
                    child.kill()


def run_task(task: NotebookTask) -> NotebookResult:
    """Execute one notebook with papermill, then save it (masked) and its HTML.

    Runs in a worker process; never raises for a notebook's own failure. A cell
    running longer than ``task.timeout`` seconds stops the notebook (its kernel
    is shut down) and is recorded as a ``CellTimeout`` failure.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from salesnb.batch.kernels import ENGINE_NAME, register_engine

    register_engine()  # also when called outside a worker (tests, a single notebook)

    started = time.perf_counter()
    key = f"{MEMORY_SCHEME}{task.segment}/{task.notebook.name}"
    result = NotebookResult(task.notebook.stem, task.segment, "ok", 0.0,
                            {k: masked(v, task.secrets) for k, v in task.parameters.items()})
    try:
        papermill.execute_notebook(
            str(task.notebook), key, parameters=task.parameters, kernel_name=KERNEL_NAME,
            cwd=str(task.folder), progress_bar=False, log_output=False,
            request_save_on_cell_execute=False, extra_arguments=KERNEL_ARGUMENTS,
            execution_timeout=task.timeout, engine_name=ENGINE_NAME)
    except PapermillExecutionError as exc:
        record_failure(result, exc.ename, exc.evalue, task.secrets)
    except TimeoutError as exc:  # nbclient's CellTimeoutError: the kernel has been shut down
        preview = re.search(r"-{5,}\n(.*?)\n", str(exc))  # nbclient shows the cell's source
        where = f" (the cell starting {preview.group(1).strip()!r})" if preview else ""
        record_failure(result, "CellTimeout",
                        f"a cell ran longer than the timeout of {task.timeout:g} s "
                        f"(--timeout){where}; the notebook was stopped there and not saved",
                        task.secrets)
    except Exception as exc:  # kernel died, timeout, bad notebook: still a per-notebook failure
        record_failure(result, type(exc).__name__, str(exc), task.secrets)
    text = _MemoryHandler.store.pop(key, None)
    if text is not None:
        _publish(task, result, text)
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def record_failure(result: NotebookResult, name: str, message: str,
                    secrets: Secrets) -> None:
    """Mark ``result`` failed with an error name and a masked, ANSI-free message."""
    result.status = "failed"
    result.error = {"name": name, "message": redact(_strip_ansi(message), secrets)}


def _publish(task: NotebookTask, result: NotebookResult, text: str) -> None:
    import nbformat

    from salesnb.batch.headlines import headline_facts
    from salesnb.batch.html import notebook_to_html
    from salesnb.batch.split import METHODS_TITLE, back_link, methods_page, split_appendix

    notebook = nbformat.from_dict(redact(nbformat.reads(text, as_version=4), task.secrets))
    if result.status == "failed":
        result.failing_cell = failing_cell(notebook)
    if notebook_leaks(notebook, task.secrets):  # redaction missed a form: write nothing of it
        _leak_failure(result, "notebook", task.secrets)
        return
    if not _saved(task, result, task.notebook.name, nbformat.writes(notebook)):
        return
    result.ipynb = task.notebook.name
    result.facts = headline_facts(notebook)
    main, appendix = split_appendix(notebook)
    html_name = task.notebook.stem + ".html"
    name, *label = task.title.split(" | ", 1)  # "Leadership brief | region = North"
    try:
        page = notebook_to_html(main, task.title, task.subtitle)
        methods = None if appendix is None else notebook_to_html(
            back_link(appendix, html_name, name), " | ".join([METHODS_TITLE, *label]),
            task.subtitle)
    except Exception as exc:  # a broken output must not hide the other reports
        if result.ok:
            record_failure(result, type(exc).__name__, f"HTML export: {exc}", task.secrets)
        return
    if not _page_saved(task, result, html_name, page):
        return  # no methods page without the page it belongs to
    result.html = html_name
    if methods is not None and _page_saved(task, result, methods_page(task.notebook.stem),
                                           methods):
        result.methods_html = methods_page(task.notebook.stem)


def _page_saved(task: NotebookTask, result: NotebookResult, name: str, page: str) -> bool:
    """Write one leadership page unless it would show a password."""
    if find_leaks(page, task.secrets):
        _leak_failure(result, "leadership HTML", task.secrets)
        return False
    return _saved(task, result, name, page)


def _saved(task: NotebookTask, result: NotebookResult, name: str, text: str) -> bool:
    """Write one output file; a file-system failure (disk full) fails the notebook."""
    try:
        write_atomic(task.folder / name, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        record_failure(result, "OutputWriteError",
                       f"{name} could not be written in {task.folder} ({reason}); it was "
                       "not saved", task.secrets)
        return False
    return True


def _leak_failure(result: NotebookResult, what: str, secrets: Secrets) -> None:
    if result.ok:
        record_failure(result, "SecretLeakError",
                        f"the {what} would show a password; it was not written", secrets)


def failing_cell(notebook: Any) -> dict[str, Any] | None:
    """Where an executed notebook failed: cell position in the *source* notebook (0-based),
    execution count and the first line of its code.
    """
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
    """Write a text file so that it is either absent or complete (temp file + rename).

    Raises
    ------
    OSError
        The file could not be written (then neither it nor the temporary file exists).
    """
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except BaseException:  # disk full, interrupted: no half-written file stays behind
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
