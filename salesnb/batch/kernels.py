"""Kernels off the critical path: the next notebook's kernel starts while the current one runs.

Each worker process (:mod:`salesnb.batch.worker`) runs its notebooks one after another. A
:class:`KernelPool` keeps one kernel ahead: when a notebook takes a kernel, the pool starts
the next one at once. On Linux a kernel is a fork of the worker's zygote, which imported the
notebooks' libraries once (:mod:`salesnb.batch.zygote`: 0.3 s instead of about 5 s of
imports per kernel); every kernel then runs :data:`WARM_UP` silently (no output, no history,
no names left behind). Every kernel runs one notebook and is then killed
(``shutdown_kernel="immediate"``: nothing waits for a polite shutdown), so no notebook sees
another's state. ``SALESNB_KERNEL_FORK=0`` starts kernels the usual way (a new Python each),
``SALESNB_KERNEL_AHEAD=0`` only when a notebook needs one.

The notebook runs through papermill as before: :class:`PooledEngine` is papermill's own
nbclient engine, given the pool's kernel instead of starting one (papermill and nbclient
accept a kernel manager for this), so parameters, the error banner, cell metadata and
outputs are papermill's. A kernel found dead when taken (killed, out of memory) is replaced
by a new one; a kernel that dies during a notebook fails that notebook only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from salesnb.batch.zygote import WARM_UP_MODULES, ForkProvisioner, Zygote

ENGINE_NAME = "salesnb-pool"
INLINE = "module://matplotlib_inline.backend_inline"
WARM_UP = (f"for _salesnb_module in {WARM_UP_MODULES!r}:\n"
           "    __import__('importlib').import_module(_salesnb_module)\n"
           "del _salesnb_module\n"
           "from IPython.core.pylabtools import activate_matplotlib as _salesnb_activate\n"
           "from matplotlib_inline.backend_inline import configure_inline_support as _salesnb_c\n"
           f"_salesnb_activate({INLINE!r})\n"
           f"_salesnb_c(get_ipython(), {INLINE!r})\n"
           "del _salesnb_activate, _salesnb_c\n")
"""What a kernel runs before its notebook: the imports (in a forked kernel they are done
already) and what the inline backend does when a kernel imports it (in a forked kernel it
was imported before there was a kernel: figures would show as text, not images)."""
AHEAD_ENV = "SALESNB_KERNEL_AHEAD"
"""``0``: start each notebook's kernel when the notebook starts, not ahead."""
FORK_ENV = "SALESNB_KERNEL_FORK"
"""``0``: start each kernel as a new process, not as a fork of the zygote (Linux only)."""
READY_TIMEOUT = 120.0
"""Seconds a kernel may take to start and run :data:`WARM_UP`."""


class _Spare:
    """A started kernel and the warm-up request it is (probably still) running."""

    def __init__(self, kernel_name: str, extra_arguments: list[str], zygote: Zygote | None):
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_client.manager import AsyncKernelManager

        # nbclient needs the asynchronous manager: with the blocking one its cell timeout is
        # never raised (measured: a 3 s timeout let a 20 s cell finish)
        self.manager = AsyncKernelManager(kernel_name=kernel_name)
        if zygote is not None:
            self.manager.kernel_id = str(uuid.uuid4())
            provisioner = ForkProvisioner(kernel_id=self.manager.kernel_id,
                                          kernel_spec=self.manager.kernel_spec,
                                          parent=self.manager)
            provisioner.zygote = zygote
            self.manager.provisioner = provisioner
        run_sync(self.manager.start_kernel)(extra_arguments=list(extra_arguments))
        self.client = BlockingKernelClient()
        self.client.load_connection_info(self.manager.get_connection_info())
        self.client.start_channels()
        self.request = self.client.execute(WARM_UP, silent=True, store_history=False)

    def ready(self, cwd: Path, timeout: float = READY_TIMEOUT) -> bool:
        """Wait for the warm-up, move the kernel to ``cwd``; False when the kernel is unusable."""
        try:
            if not self._alive() or not self._replied(self.request, timeout):
                return False
            move = self.client.execute(f"__import__('os').chdir({str(cwd)!r})", silent=True,
                                       store_history=False)
            return self._replied(move, timeout) and self._alive()
        except Exception:  # a kernel that cannot answer is replaced, never used
            return False
        finally:
            self.client.stop_channels()

    def _replied(self, request: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive():
                return False
            with contextlib.suppress(Exception):  # queue.Empty: ask again
                reply = self.client.get_shell_msg(timeout=1.0)
                if reply["parent_header"].get("msg_id") == request:
                    return bool(reply["content"].get("status") == "ok")
        return False

    def _alive(self) -> bool:
        return bool(run_sync(self.manager.is_alive)())

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        kill_kernel(self.manager)


def kill_kernel(manager: Any) -> None:
    """Kill a pool kernel at once (no polite shutdown), if it still runs."""
    with contextlib.suppress(Exception):
        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)


class KernelPool:
    """One kernel ready ahead in this process (see the module docstring).

    Parameters
    ----------
    kernel_name, extra_arguments
        The kernel spec and its arguments (as papermill would start it).
    ahead
        Start the next kernel as soon as one is taken (False: start each when needed).
    """

    def __init__(self, kernel_name: str, extra_arguments: list[str], ahead: bool = True,
                 fork: bool = True):
        self.kernel_name = kernel_name
        self.extra_arguments = list(extra_arguments)
        self.ahead = ahead
        self.zygote = Zygote() if fork else None
        self.started = 0
        """Kernels started so far (tests count replacements with it)."""
        self.replaced = 0
        """Kernels found unusable when taken, and replaced."""
        self._spare: _Spare | None = None

    def _start(self) -> _Spare:
        self.started += 1
        return _Spare(self.kernel_name, self.extra_arguments, self.zygote)

    def take(self, cwd: Path) -> Any:
        """A started, warmed-up kernel manager whose kernel works in ``cwd``.

        Raises
        ------
        RuntimeError
            Two kernels in a row could not start (the notebook fails with this message).
        """
        for _attempt in range(2):
            spare = self._spare if self._spare is not None else self._start()
            self._spare = None
            if spare.ready(cwd):
                if self.ahead:
                    self._spare = self._start()
                return spare.manager
            spare.kill()
            self.replaced += 1
        raise RuntimeError(f"the kernel {self.kernel_name!r} did not start or answer within "
                           f"{READY_TIMEOUT:g} s, twice; is it installed (jupyter kernelspec "
                           "list)?")

    @property
    def spare_pid(self) -> int | None:
        """The process id of the kernel waiting ahead, if any (tests kill it)."""
        if self._spare is None:
            return None
        provisioner = self._spare.manager.provisioner
        process = getattr(provisioner, "process", None)
        return None if process is None else int(process.pid)

    def close(self) -> None:
        """Kill the kernel waiting ahead (at the end of the worker)."""
        if self._spare is not None:
            self._spare.kill()
            self._spare = None
        if self.zygote is not None:
            self.zygote.close()


_pools: dict[int, KernelPool] = {}


def pool_for_this_process(kernel_name: str, extra_arguments: list[str]) -> KernelPool:
    """The pool of the calling process (made on first use; a forked child makes its own)."""
    pool = _pools.get(os.getpid())
    if pool is None:
        ahead = os.environ.get(AHEAD_ENV, "1") != "0"
        fork = sys.platform.startswith("linux") and os.environ.get(FORK_ENV, "1") != "0"
        pool = _pools[os.getpid()] = KernelPool(kernel_name, extra_arguments, ahead=ahead,
                                                fork=fork)
        atexit.register(pool.close)  # worker processes close it with multiprocessing's Finalize
    return pool


class PooledEngine(NBClientEngine):
    """Papermill's nbclient engine, with the kernel taken from this process's pool.

    Registered as ``salesnb-pool`` by :func:`register_engine`; the kernel is killed when the
    notebook ends (``shutdown_kernel="immediate"``), however it ends.
    """

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None,
                                 start_timeout: int = 60, execution_timeout: Any = None,
                                 **kwargs: Any) -> Any:
        """Execute ``nb_man``'s notebook as papermill does, in a kernel from the pool."""
        kwargs = remove_args(["input_path"], **kwargs)
        arguments = list(kwargs.pop("extra_arguments", []))
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs, timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout, kernel_name=kernel_name, log=logger,
            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
            extra_arguments=arguments)
        manager = pool_for_this_process(kernel_name, arguments).take(Path.cwd())
        client = PapermillNotebookClient(nb_man, km=manager, shutdown_kernel="immediate",
                                         **final_kwargs)
        try:
            return client.execute(cleanup_kc=True)
        finally:
            kill_kernel(manager)


def register_engine() -> None:
    """Make ``engine_name="salesnb-pool"`` available to ``papermill.execute_notebook``."""
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE_NAME, PooledEngine)  # a dict entry: repeating is harmless
