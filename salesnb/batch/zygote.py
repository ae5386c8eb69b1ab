"""Kernels forked from a process that has already imported the notebooks' libraries.

Importing pandas, matplotlib, seaborn, statsmodels, Ibis and salesnb costs a new kernel about
4.5 s of CPU, every notebook: on two cores that is most of a report run. A *zygote* pays it
once per worker: a small Python process (``python -m salesnb.batch.zygote``) imports
:data:`salesnb.batch.kernels.WARM_UP_MODULES` and ipykernel, then waits. To start a kernel the
worker sends it the kernel's command line, folder and environment (one JSON line on its
standard input); the zygote forks, and the child becomes the kernel (ipykernel's own
``launch_new_instance`` with the connection file jupyter_client wrote), with every module
already in memory. The zygote answers with the child's process id and reaps children that
end.

For jupyter_client the kernel is an ordinary one: :class:`ForkProvisioner` is its local
provisioner with only the launch replaced, and :class:`ForkedProcess` gives it the
``Popen`` methods it uses (poll, wait, signals) for a process it did not start itself. The
zygote ends with its standard input (the worker gone) and by ``PR_SET_PDEATHSIG``; a kernel
whose zygote is gone ends by ipykernel's parent poller, as a kernel whose parent died does.

Nothing is shared between notebooks: each kernel is a fresh copy of the zygote, which never
runs notebook code.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

LAUNCHER = ["-m", "ipykernel_launcher"]
"""How the kernel spec starts a kernel; any other command is launched as usual."""


WARM_UP_MODULES = ("matplotlib.pyplot", "pandas", "seaborn", "statsmodels.api", "ibis",
                   "IPython.display", "salesnb.engine.segments", "salesnb.metrics",
                   "salesnb.models",
                   "salesnb.curves.fitting", "salesnb.report.brief", "salesnb.report.plots",
                   "salesnb.report.narrative", "salesnb.report.tables")
"""What the notebooks import: imported once by the zygote (and again, for free, by a kernel)."""
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """On Linux, have the operating system send this process SIGTERM when its parent dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def main() -> None:
    """The zygote: import once, then fork one kernel per request until stdin closes."""
    die_with_parent()
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import importlib

    for module in (*WARM_UP_MODULES, "ipykernel.kernelapp", "matplotlib_inline.backend_inline"):
        with contextlib.suppress(Exception):  # a missing extra only costs its import later
            importlib.import_module(module)
    signal.signal(signal.SIGCHLD, _reap)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _become_kernel(request)
        print(json.dumps({"pid": pid}), flush=True)
    os._exit(0)


def _reap(number: int, frame: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _become_kernel(request: dict[str, Any]) -> None:
    """In the forked child: a session of its own, the kernel's folder and environment, run."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):
            os.dup2(devnull, fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        zygote = str(os.getppid())
        os.environ["JPY_PARENT_PID"] = zygote
        # ipykernel read JPY_PARENT_PID when the zygote imported it: say it again, so that the
        # kernel's parent poller ends the kernel when the zygote (and so its worker) is gone
        sys.argv = ["ipykernel_launcher", *request["argv"], f"--IPKernelApp.parent_handle={zygote}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except BaseException:  # the kernel's own errors are on its stderr; the child never returns
        code = 1
    finally:
        os._exit(code)


class Zygote:
    """The worker's handle on its zygote process (started on first use)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._ready = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the zygote importing, without waiting for it (a worker does it first thing)."""
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "salesnb.batch.zygote"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, bufsize=1)
            self._ready = False

    def fork(self, argv: list[str], cwd: str, env: dict[str, str]) -> int:
        """A new kernel process running ``ipykernel_launcher argv``; its process id."""
        with self._lock:
            process = self._started()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps({"argv": argv, "cwd": cwd, "env": env}) + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
        if not answer:
            self._process = None
            raise RuntimeError("the kernel zygote ended; a new one starts with the next kernel")
        return int(json.loads(answer)["pid"])

    def _started(self) -> subprocess.Popen[str]:
        self.start()
        assert self._process is not None and self._process.stdout is not None
        if not self._ready:
            if "ready" not in self._process.stdout.readline():
                raise RuntimeError("the kernel zygote did not start")
            self._ready = True
        return self._process

    def close(self) -> None:
        """End the zygote (its kernels end with it, by their parent poller)."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(OSError):
                assert self._process.stdin is not None
                self._process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
            if self._process.poll() is None:
                self._process.kill()
        self._process = None


class ForkedProcess:
    """The ``Popen`` methods jupyter_client uses, for a kernel forked by the zygote."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        import psutil

        self.pid = pid
        self._process = psutil.Process(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """None while the kernel runs, else an exit code (1: unknown, it was not our child)."""
        import psutil

        if self.returncode is None:
            try:
                if self._process.status() == psutil.STATUS_ZOMBIE:
                    self.returncode = 1
            except psutil.NoSuchProcess:
                self.returncode = 1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end."""
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            self._process.wait(timeout)
        self.returncode = 1 if self.returncode is None else self.returncode
        return self.returncode

    def send_signal(self, number: int) -> None:
        """Send a signal, unless the kernel is gone already."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, number)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching ``ipykernel_launcher`` by a fork."""

    zygote: Zygote | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Fork the kernel from the zygote (any other command: launched as usual)."""
        if self.zygote is None or cmd[1:3] != LAUNCHER:
            return await super().launch_kernel(cmd, **kwargs)
        env = {k: str(v) for k, v in (kwargs.get("env") or os.environ).items()}
        cwd = str(kwargs.get("cwd") or os.getcwd())
        forked = ForkedProcess(self.zygote.fork(cmd[3:], cwd, env))
        self.process = forked  # type: ignore[assignment]  # the Popen methods it uses
        self.pid = self.pgid = forked.pid  # the kernel leads a session of its own
        self.cwd = cwd
        return self.connection_info


if __name__ == "__main__":
    main()
