"""The kernel pool: forked, pre-warmed kernels that behave as papermill's own."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import nbformat
import papermill
import psutil
import pytest
from jupyter_client.blocking import BlockingKernelClient
from nbformat.v4 import new_code_cell, new_notebook

from salesnb.batch import kernels, worker
from salesnb.batch.redaction import Secrets

pytestmark = pytest.mark.slow

CELLS = ["x = 1  # parameters", "import os\nprint('value', x * 2)",
         "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])\nplt.show()",
         "x + 40"]


def _notebook(path: Path, cells=CELLS) -> Path:
    notebook = new_notebook(cells=[new_code_cell(c) for c in cells])
    notebook.cells[0].metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)
    return path


def _outputs(notebook) -> list:
    kept = []
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            output = dict(output)
            if "data" in output:  # the figure's bytes may differ by a pixel: keep the types
                output["data"] = sorted(output["data"])
            outputs.append(output)
        kept.append((cell.get("execution_count"), cell.source, outputs))
    return kept


def test_a_pooled_kernel_runs_a_notebook_as_papermill_does(tmp_path):
    source = _notebook(tmp_path / "in.ipynb")
    kernels.register_engine()
    runs = {}
    for engine in (None, kernels.ENGINE_NAME):
        out = tmp_path / f"out-{engine}.ipynb"
        papermill.execute_notebook(str(source), str(out), parameters={"x": 5},
                                   kernel_name="python3", progress_bar=False,
                                   engine_name=engine, cwd=str(tmp_path))
        runs[engine] = nbformat.read(out, as_version=4)
    plain, pooled = (_outputs(runs[e]) for e in (None, kernels.ENGINE_NAME))
    assert pooled == plain
    assert "injected-parameters" in runs[kernels.ENGINE_NAME].cells[1].metadata["tags"]
    assert pooled[2][2][0]["text"] == "value 10\n"  # the injected parameter is used
    assert [c[0] for c in pooled] == [1, 2, 3, 4, 5]  # the warm-up left no execution count
    assert pooled[3][2][0]["data"] == ["image/png", "text/plain"]


def test_a_failing_cell_gets_papermills_error_banner(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    source = _notebook(tmp_path / "in.ipynb", ["x = 1", "raise ValueError('planted')"])
    kernels.register_engine()
    out = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError, match="planted"):
        papermill.execute_notebook(str(source), str(out), kernel_name="python3",
                                   progress_bar=False, engine_name=kernels.ENGINE_NAME)
    executed = nbformat.read(out, as_version=4)
    assert "papermill-error-cell-tag" in executed.cells[0].metadata.get("tags", [])


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "started"])
def test_kernels_are_warm_and_a_dead_one_is_replaced(tmp_path, fork):
    pool = kernels.KernelPool(worker.KERNEL_NAME, worker.KERNEL_ARGUMENTS, fork=fork)
    try:
        first = pool.take(tmp_path)
        kernels.kill_kernel(first)
        spare = pool.spare_pid
        assert spare is not None and pool.started == 2
        os.kill(spare, signal.SIGKILL)
        _wait_for(lambda: not psutil.pid_exists(spare) or psutil.Process(spare).status()
                  == psutil.STATUS_ZOMBIE)
        started = time.perf_counter()
        printed: list[str] = []
        second = pool.take(tmp_path)
        assert pool.replaced == 1
        client = BlockingKernelClient()
        client.load_connection_info(second.get_connection_info())
        client.start_channels()
        client.wait_for_ready(30)
        reply = client.execute_interactive(
            "import os, sys; print(os.getcwd(), 'pandas' in sys.modules)", timeout=30,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok"
        assert "".join(printed).split() == [str(tmp_path), "True"]  # forked warm, moved
        client.stop_channels()
        kernels.kill_kernel(second)
        assert time.perf_counter() - started < 30
    finally:
        zygote = pool.zygote._process if pool.zygote else None
        pool.close()
    if fork:
        assert zygote is not None and zygote.poll() is not None, "the zygote outlived its pool"


def test_a_kernel_that_dies_fails_its_notebook_and_the_next_one_runs(tmp_path):
    dies = _notebook(tmp_path / "dies.ipynb",
                     ["x = 1", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"])
    works = _notebook(tmp_path / "works.ipynb")
    results = []
    for notebook in (dies, works):
        folder = tmp_path / notebook.stem
        folder.mkdir()
        task = worker.NotebookTask(notebook=notebook, segment="all", folder=folder,
                                   parameters={}, secrets=Secrets(), title=notebook.stem,
                                   subtitle="all", timeout=120)
        worker.register_memory_io()
        results.append(worker.run_task(task))
    assert results[0].status == "failed" and "Dead" in results[0].error["name"]
    assert results[1].ok, results[1].error


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
