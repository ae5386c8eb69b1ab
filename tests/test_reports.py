"""Batch reports (`salesnb report`): isolation of failures, manifests, index, secrets, atomicity.

One real run (2 regions x 2 fixture notebooks, one of which fails in its cell 3) is shared by
the module; nothing of salesnb is mocked.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import salesnb
from salesnb import batch, segments
from salesnb.cli import main
from salesnb.errors import SalesnbError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
OVERVIEW, FAILS = FIXTURES / "01_overview.ipynb", FIXTURES / "02_fails.ipynb"
PASSWORD = "s3cret-pw-42"
DB_URL = f"postgresql://analyst:{PASSWORD}@localhost:5432/sales"
REGIONS = ("East", "West")


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run `salesnb ...` in-process; returns exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


_RUNS: dict[str, tuple[int, str, str, Path]] = {}


def finished_run(small_demo: Path, tmp_path_factory) -> tuple[int, str, str, Path]:
    """A finished run with a failing notebook: (exit code, stdout, stderr, run folder).

    Made once per test session (tests/test_browser.py opens the same run).
    """
    key = str(small_demo)
    if key not in _RUNS:
        out = tmp_path_factory.mktemp("reports")
        code, stdout, stderr = run_cli(
            "report", "--data", key, "--by", "region", "--segments", ",".join(REGIONS),
            "--notebooks", str(OVERVIEW), str(FAILS), "--param", f"db_url={DB_URL}",
            "--jobs", "2", "--out", str(out), "--name", "batch-test")
        _RUNS[key] = code, stdout, stderr, out / "batch-test"
    return _RUNS[key]


@pytest.fixture
def run(small_demo, tmp_path_factory):
    return finished_run(small_demo, tmp_path_factory)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_failing_notebook_fails_the_command_with_a_summary(run):
    code, stdout, _, folder = run
    assert code == 1
    for region in ("east", "west"):
        assert f"FAILED {region}/02_fails (cell 3): ValueError: planted failure" in stdout
    assert f"index: {folder / 'index.html'}" in stdout


def test_the_other_notebooks_complete_and_the_folder_is_complete(run):
    _, _, _, folder = run
    assert sorted(p.name for p in folder.parent.iterdir()) == ["batch-test"]  # no .partial
    assert {p.name for p in folder.iterdir()} == {"east", "west", "index.html", "manifest.json"}
    for region in ("east", "west"):
        files = {p.name for p in (folder / region).iterdir()}
        assert files == {"01_overview.ipynb", "01_overview.html", "02_fails.ipynb",
                         "02_fails.html", "manifest.json"}
        html = (folder / region / "01_overview.html").read_text()
        assert "Finding:" in html and "data:image/png;base64," in html
        assert "import salesnb" not in html, "the leadership HTML must not show code"


def test_manifests_record_parameters_status_failing_cell_and_error(run, small_demo):
    _, _, _, folder = run
    data = salesnb.load(small_demo)
    for region in REGIONS:
        record = manifest(folder / region.lower())
        assert record["input"]["fingerprint"] == data.fingerprint
        assert record["segment"] | {"by": "region", "value": region} == record["segment"]
        assert record["versions"]["papermill"] and record["versions"]["salesnb"]
        assert set(record["git"]) == {"revision", "dirty"}
        ok, failed = record["notebooks"]
        assert ok["status"] == "ok" and ok["error"] is None and ok["duration_s"] > 0
        assert ok["parameters"]["segment"] == region
        assert ok["parameters"]["data"] == str(Path(small_demo).resolve())
        assert failed["status"] == "failed"
        assert failed["failing_cell"]["cell_index"] == 3
        assert failed["error"] == {"name": "ValueError",
                                   "message": "planted failure for the batch tests"}
        assert "db_url" not in failed["parameters"], "only declared parameters are passed"
    assert manifest(folder)["status"] == "failed"


def test_index_lists_segments_with_headlines_and_marks_failures(run, small_demo):
    _, _, _, folder = run
    page = (folder / "index.html").read_text()
    data = salesnb.load(small_demo)
    for region in REGIONS:
        figures = segments.headline(segments.select(data, "region", region))
        assert f"region = {region}" in page
        assert f"{figures['total_cost']:,.0f}" in page
        assert f"{figures['new_customers']:,}" in page
        assert f'href="{region.lower()}/01_overview.html"' in page
    assert page.count("<strong>FAILED</strong>") == 2
    assert "ValueError: planted failure for the batch tests" in page
    assert "2 of 4 notebooks FAILED" in page


def test_passwords_never_reach_any_output(run):
    code, stdout, stderr, folder = run
    texts = [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
    assert len(texts) == 12
    assert not [t for t in texts if PASSWORD in t]
    assert PASSWORD not in stdout + stderr
    assert "postgresql://analyst:***@localhost:5432/sales" in manifest(folder)["parameters"][
        "db_url"]
    assert "Database: postgresql://analyst:***@" in (folder / "east" / "01_overview.html"
                                                      ).read_text()


def test_an_existing_run_is_never_overwritten(run, small_demo):
    _, _, _, folder = run
    before = _snapshot(folder)
    code, _, stderr = run_cli("report", "--data", str(small_demo), "--notebooks", str(OVERVIEW),
                              "--out", str(folder.parent), "--name", "batch-test")
    assert code == 1 and "already exists" in stderr
    assert _snapshot(folder) == before


def test_unknown_param_is_refused_before_running(small_demo, tmp_path):
    code, _, stderr = run_cli("report", "--data", str(small_demo), "--notebooks", str(OVERVIEW),
                              str(FAILS), "--param", "colour=blue", "--out", str(tmp_path))
    assert code == 1
    assert "colour" in stderr and "valid: db_url, pause, period_end, period_start" in stderr
    assert list(tmp_path.iterdir()) == []


def test_runner_owned_and_malformed_params_are_refused():
    with pytest.raises(SalesnbError, match="--by"):
        batch.plan_run("unused", params={"segment": "East"}, notebooks=[OVERVIEW])
    with pytest.raises(SalesnbError, match="key=value"):
        batch.parse_param("no equals sign")


@pytest.mark.parametrize(("text", "value"), [
    ("n=3", 3), ("x=0.5", 0.5), ("flag=true", True), ("flag=False", False), ("v=None", None),
    ("v=null", None), ("month=2024-07", "2024-07"), ("name=North East", "North East"),
    ("items=[1, 2]", [1, 2]), ("q='quoted'", "quoted"),
])
def test_param_values_are_literals(text, value):
    assert batch.parse_param(text)[1] == value


def test_secrets_are_found_in_urls_raw_and_decoded():
    found = batch.secrets_in(["postgresql://u:p%40ss@h/db", "plain text", 3, None])
    assert set(found) == {"p%40ss", "p@ss"}
    assert batch.redact({"a": ["x p@ss y"]}, found) == {"a": ["x *** y"]}


def test_notebooks_are_picked_by_name_number_or_path(tmp_path):
    for name in ("01_overview", "02_fails"):
        (tmp_path / f"{name}.ipynb").write_text(OVERVIEW.read_text())
    assert batch.find_notebooks(None, tmp_path) == sorted(tmp_path.glob("*.ipynb"))
    assert batch.find_notebooks(["fails", "01"], tmp_path) == [
        tmp_path / "02_fails.ipynb", tmp_path / "01_overview.ipynb"]
    with pytest.raises(SalesnbError, match="available: 01_overview, 02_fails"):
        batch.find_notebooks(["summary"], tmp_path)


def test_ctrl_c_leaves_no_complete_looking_folder_and_no_kernel(small_demo, tmp_path):
    command = [sys.executable, "-m", "salesnb.cli", "report", "--data", str(small_demo),
               "--notebooks", str(OVERVIEW), "--param", "pause=120", "--jobs", "1",
               "--out", str(tmp_path), "--name", "interrupted"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _processes_inside(tmp_path), timeout=60)  # a kernel is running
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert list(tmp_path.iterdir()) == []
    _wait_for(lambda: not _processes_inside(tmp_path), timeout=15)


def _processes_inside(folder: Path) -> list[int]:
    """Processes whose working directory is inside ``folder`` (kernels run in segment folders)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "cwd").startswith(str(folder)):
                    found.append(int(entry.name))
    return found


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.2)


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
