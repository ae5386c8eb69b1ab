"""Batch reports (`salesnb report`): isolation of failures, manifests, index, secrets, atomicity.

One real run (2 regions x 2 fixture notebooks, one of which fails in its cell 3) is shared by
the module; nothing of salesnb is mocked.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import salesnb
from salesnb import batch, metrics, segments
from salesnb.batch import guards, pool, publish
from salesnb.cli import main
from salesnb.errors import SalesnbError
from salesnb.metrics import headline_figures

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
OVERVIEW, FAILS = FIXTURES / "01_overview.ipynb", FIXTURES / "02_fails.ipynb"
PASSWORD = 's3c&r<e"t-42'  # needs HTML and JSON escaping
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


@pytest.mark.slow
def test_a_failing_notebook_fails_the_command_with_a_summary(run):
    code, stdout, _, folder = run
    assert code == 1
    for region in ("east", "west"):
        assert f"FAILED {region}/02_fails (cell 3): ValueError: planted failure" in stdout
    assert f"index: {folder / 'index.html'}" in stdout


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_index_lists_segments_with_headlines_and_marks_failures(run, small_demo):
    _, _, _, folder = run
    page = (folder / "index.html").read_text()
    data = salesnb.load(small_demo)
    for region in REGIONS:
        figures = metrics.headline(segments.select(data, "region", region))
        assert f"region = {region}" in page
        assert f"{figures['total_cost']:,.0f}" in page
        assert f"{figures['new_customers']:,}" in page
        assert f'href="{region.lower()}/01_overview.html"' in page
    assert page.count("<strong>FAILED</strong>") == 2
    assert "The fails page did not finish: planted failure for the batch tests." in page
    assert "ValueError" not in page, "the index names failures in words, not exception classes"
    assert "2 of 4 notebooks FAILED" in page


@pytest.mark.slow
def test_passwords_never_reach_any_output(run):
    code, stdout, stderr, folder = run
    texts = [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
    assert len(texts) == 12
    forms = {PASSWORD, html.escape(PASSWORD), html.escape(PASSWORD, quote=False),
             PASSWORD.replace('"', "&#34;").replace("&", "&amp;").replace("<", "&lt;"),
             json.dumps(PASSWORD)[1:-1], html.escape(json.dumps(PASSWORD))[6:-6],
             "t-42"}  # its end, in whatever escaping
    assert not [(form, t[:80]) for t in texts for form in forms if form in t]
    assert not [form for form in forms if form in stdout + stderr]
    page = (folder / "east" / "01_overview.html").read_text()
    assert "<p>***</p>" in page  # the password shown HTML-escaped, masked
    assert re.search(r'<pre>\{(&quot;|")pw(&quot;|"): (&quot;|")\*\*\*', page)  # JSON-escaped
    assert "postgresql://analyst:***@localhost:5432/sales" in manifest(folder)["parameters"][
        "db_url"]
    assert "Database: postgresql://analyst:***@" in (folder / "east" / "01_overview.html"
                                                      ).read_text()


@pytest.mark.slow
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
    assert "colour" in stderr
    assert "valid: db_url, kill_worker, pause, period_end, period_start" in stderr
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


@pytest.mark.slow
def test_leadership_html_keeps_no_script(run):
    _, _, _, folder = run
    for page in folder.glob("*/*.html"):
        assert "<script" not in page.read_text().lower(), page
    page = (folder / "east" / "01_overview.html").read_text()
    assert page.count("An interactive output is left out of this page") == 2


def test_notebooks_are_picked_by_name_number_or_path(tmp_path):
    for name in ("01_overview", "02_fails"):
        (tmp_path / f"{name}.ipynb").write_text(OVERVIEW.read_text())
    assert batch.find_notebooks(None, tmp_path) == sorted(tmp_path.glob("*.ipynb"))
    assert batch.find_notebooks(["fails", "01"], tmp_path) == [
        tmp_path / "02_fails.ipynb", tmp_path / "01_overview.ipynb"]
    with pytest.raises(SalesnbError, match="available: 01_overview, 02_fails"):
        batch.find_notebooks(["summary"], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_leaves_no_complete_looking_folder_and_no_kernel(
        small_demo, tmp_path, number):
    command = [sys.executable, "-m", "salesnb.cli", "report", "--data", str(small_demo),
               "--notebooks", str(OVERVIEW), "--param", "pause=120", "--jobs", "1",
               "--out", str(tmp_path), "--name", "interrupted"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _processes_inside(tmp_path), timeout=60)  # a kernel is running
        process.send_signal(number)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + number, stderr
    assert f"interrupted ({signal.Signals(number).name})" in stderr
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


@pytest.mark.slow
def test_a_dead_worker_fails_its_notebooks_and_the_run_is_still_published(small_demo, tmp_path):
    code, stdout, _ = run_cli(
        "report", "--data", str(small_demo), "--by", "region", "--segments", ",".join(REGIONS),
        "--notebooks", str(OVERVIEW), "--param", "kill_worker=true", "--jobs", "1",
        "--out", str(tmp_path), "--name", "dead-worker", "--no-progress")
    folder = tmp_path / "dead-worker"
    assert code == 1 and (folder / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["dead-worker"]
    for region in ("east", "west"):
        (result,) = manifest(folder / region)["notebooks"]
        assert result["status"] == "failed"
        assert result["error"]["name"] == "BrokenProcessPool"
        assert "worker process running the notebooks died" in result["error"]["message"]
        assert f"FAILED {region}/01_overview: BrokenProcessPool" in stdout
    index = (folder / "index.html").read_text()
    assert "worker process running the notebooks died" in index
    assert "BrokenProcessPool" not in index
    _wait_for(lambda: not _processes_inside(tmp_path), timeout=15)


@pytest.mark.slow
def test_a_cell_running_past_the_timeout_fails_its_notebook(small_demo, tmp_path):
    started = time.monotonic()
    code, stdout, _ = run_cli(
        "report", "--data", str(small_demo), "--notebooks", str(OVERVIEW), "--param", "pause=120",
        "--timeout", "3", "--jobs", "1", "--out", str(tmp_path), "--name", "slow")
    assert time.monotonic() - started < 60
    assert code == 1
    (result,) = manifest(tmp_path / "slow" / "all")["notebooks"]
    assert result["status"] == "failed"
    assert result["error"]["name"] == "CellTimeout"
    assert "longer than the timeout of 3 s" in result["error"]["message"]
    assert "FAILED all/01_overview" in stdout and "CellTimeout" in stdout
    _wait_for(lambda: not _processes_inside(tmp_path), timeout=15)


def _empty_plan(small_demo, out: Path, name: str | None = None) -> batch.RunPlan:
    """A planned run without notebooks: exercises the runner's own steps in a second."""
    plan = batch.plan_run(small_demo, by="region", notebooks=[OVERVIEW], out=out, name=name)
    plan.notebooks = []
    return plan


def test_a_failing_headline_is_recorded_for_its_segment(small_demo, tmp_path, monkeypatch):
    plan = _empty_plan(small_demo, tmp_path)

    def broken(data):
        raise ZeroDivisionError("planted bug in headline")

    monkeypatch.setattr(headline_figures, "headline", broken)
    headline = pool.segment_headline(plan, plan.segments[0])
    assert headline == {"figures": None,
                        "error": "ZeroDivisionError: planted bug in headline"}


def test_an_unexpected_error_keeps_the_partial_folder_and_says_where(small_demo, tmp_path,
                                                                     monkeypatch):
    from salesnb.batch import index as index_page

    plan = _empty_plan(small_demo, tmp_path, "index-bug")

    def broken(run):
        raise RuntimeError("planted bug in index_html")

    monkeypatch.setattr(index_page, "index_html", broken)
    with pytest.raises(RuntimeError, match="planted bug") as caught:
        batch.execute(plan, progress=False)
    assert plan.partial_folder.is_dir() and (plan.partial_folder / "manifest.json").is_file()
    assert not plan.folder.exists()
    assert any(str(plan.partial_folder) in note for note in caught.value.__notes__)


def test_a_taken_default_name_moves_on_and_a_taken_given_name_is_refused(small_demo, tmp_path):
    plan = _empty_plan(small_demo, tmp_path)
    first = plan.name
    plan.partial_folder.mkdir()  # another run took the same second's name meanwhile
    result = batch.execute(plan, progress=False)
    assert result.folder.name != first and result.folder.is_dir()
    assert (tmp_path / (first + batch.PARTIAL_SUFFIX)).is_dir()

    plan = _empty_plan(small_demo, tmp_path, "given")
    plan.partial_folder.mkdir()
    with pytest.raises(SalesnbError, match="another run is writing it"):
        batch.execute(plan, progress=False)
    assert list(plan.partial_folder.iterdir()) == []


def test_publishing_never_replaces_an_existing_empty_folder(small_demo, tmp_path):
    plan = _empty_plan(small_demo, tmp_path, "race")
    plan.partial_folder.mkdir()
    (plan.partial_folder / "index.html").write_text("mine")
    plan.folder.mkdir()  # appeared while running (os.rename would replace it silently)
    with pytest.raises(SalesnbError, match="appeared while running"):
        publish.publish_run(plan)
    assert (plan.partial_folder / "index.html").read_text() == "mine"
    assert list(plan.folder.iterdir()) == []


def test_a_leak_found_before_publishing_stops_the_run(small_demo, tmp_path):
    plan = batch.plan_run(small_demo, notebooks=[OVERVIEW], out=tmp_path, name="leak",
                          params={"db_url": DB_URL})
    plan.partial_folder.mkdir()
    (plan.partial_folder / "ok.html").write_text("<p>postgresql://analyst:***@localhost</p>")
    (plan.partial_folder / "bad.html").write_text(f"<p>{html.escape(PASSWORD)}</p>")
    with pytest.raises(SalesnbError, match=r"not published: 1 file\(s\) .*bad.html"):
        publish.refuse_leaks(plan)
    assert [p.name for p in plan.partial_folder.iterdir()] == ["ok.html"]


@pytest.mark.parametrize(("values", "checked"), [
    ([12, 7, 2024, 3.0], set()),                                  # page numbers, years
    ([123456, 1234567.0, "12345678.0"], {"123456", "1234567", "12345678"}),
    (["D1", "CUST-0042", "r7"], {"D1", "CUST-0042", "r7"}),      # a letter: always checked
])
def test_only_distinctive_ids_are_checked(values, checked):
    assert guards.checked_ids(values) == checked


def test_ids_are_found_as_whole_words_only():
    ids = guards.checked_ids([12, 2024, 123456, "D7", "CUST-0042", "a.b-17"])
    page = ("<p>Page 12 of 2024; total 1234567; deal D70 and D7-x; CUST-0042.</p>"
            '<img src="data:image/png;base64,AAAD7AAA/D7/123456"> a.b-17')
    assert guards.ids_shown(page, ids) == ["CUST-0042", "a.b-17"]
    assert guards.ids_shown("<td>123456</td>", ids) == ["123456"]


def test_leadership_html_keeps_only_inactive_allowed_outputs():
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from salesnb.batch.html import notebook_to_html

    def shown(data):
        return new_code_cell("x", outputs=[new_output("display_data", data=data)])

    notebook = new_notebook(cells=[
        new_markdown_cell("Kept text<script>alert(1)</script>"),
        shown({"application/vnd.plotly.v1+json": {}, "text/html": "<div>plot</div><script>"
               "Plotly.newPlot()</script>", "text/plain": "Figure({...})"}),
        shown({"image/svg+xml": '<svg onload="alert(1)"></svg>', "image/png": "iVBORw0KGgo=",
               "text/plain": "<Figure>"}),
        shown({"text/html": "<table><tr><td>kept table</td></tr></table>",
               "text/plain": "table"}),
        nbformat.v4.new_raw_cell("<script>raw()</script>"),
    ])
    page = notebook_to_html(notebook, "t")
    assert "<script" not in page.lower() and "onload" not in page and "Figure(" not in page
    assert "Kept text" in page and "kept table" in page
    assert "data:image/png;base64,iVBORw0KGgo=" in page
    assert page.count("An interactive output is left out of this page") == 1


def test_publishing_claims_the_name_before_renaming(small_demo, tmp_path, monkeypatch):
    plan = _empty_plan(small_demo, tmp_path, "race2")
    plan.partial_folder.mkdir()
    (plan.partial_folder / "index.html").write_text("mine")
    real_rename, others = os.rename, []

    def racing_rename(source, target):  # another run publishes the same name just now
        with contextlib.suppress(FileExistsError):
            os.mkdir(target)
            others.append(target)
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", racing_rename)
    publish.publish_run(plan)
    assert others == [], "the other run got the name too, and this rename replaced its folder"
    assert (plan.folder / "index.html").read_text() == "mine"


@pytest.mark.slow
def test_the_index_is_rendered_again_from_the_manifest_alone(run):
    _, _, _, folder = run
    published = (folder / "index.html").read_text()
    (folder / "index.html").unlink()
    from salesnb.batch.index import rerender_index

    assert rerender_index(folder).read_text() == published


def test_the_index_escapes_every_value_from_the_manifest():
    from salesnb.batch.index import index_html

    hostile = '<script>alert("x")</script>'
    manifest = {
        "run": "r1", "created": "2026-12-01T10:00:00", "duration_s": 3.2, "status": "failed",
        "input": {"source": hostile, "fingerprint": "ab" * 32}, "git": {"revision": None},
        "segments": [{
            "folder": "north", "label": f"region = {hostile}", "status": "failed",
            "headline": {"total_cost": 1234567.8, "new_customers": 1200, "blended_cac": None},
            "headline_error": None,
            "results": [
                {"notebook": "01_data_quality", "status": "ok", "html": "01_data_quality.html",
                 "ipynb": "01_data_quality.ipynb", "failing_cell": None, "error": None},
                {"notebook": "02_cac", "status": "failed", "html": None, "ipynb": "02_cac.ipynb",
                 "failing_cell": {"cell_index": 4},
                 "error": {"name": "ValueError", "message": f"bad {hostile}\nsecond line"}}]}]}
    page = index_html(manifest)
    assert "<script" not in page and page.count("&lt;script&gt;") == 3
    assert "1 of 2 notebooks FAILED" in page and "in cell 4" in page and "second line" not in page
    assert "1,234,568" in page and "undefined (no customers)" in page
    assert 'href="north/01_data_quality.html"' in page and 'href="north/02_cac.ipynb"' in page
