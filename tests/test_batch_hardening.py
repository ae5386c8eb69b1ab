"""A hardened boundary for batch reports: the id guard, sanitised leadership HTML, batch faults.

- The id guard reads a page as a reader sees it (HTML unescaped, tags and images removed),
  covers deal, customer, lead, rep and leader ids and names, and is linear (one token-set
  pass and one Aho-Corasick pass, whatever the number of ids).
- Leadership HTML carries no active content from any cell or output (nbconvert's
  SanitizeHTML, bleach), while tables, salesnb's classes and base64 charts survive.
- Batch faults: workers and kernels end with their parent (even SIGKILL), no kernel
  connection file outlives a run, an --out that is a file, read-only or full is refused with
  a plain message and exit 1 and leaves nothing half-written, a taken --name is refused before
  any data is loaded.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import html
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import salesnb
from salesnb import batch
from salesnb.batch import guards, publish, worker
from salesnb.batch.html import notebook_to_html, sanitize_html
from salesnb.batch.plan import RunPlan
from salesnb.batch.worker import NotebookResult
from salesnb.cli import main
from salesnb.errors import SalesnbError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
OVERVIEW = FIXTURES / "01_overview.ipynb"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
       "rkJggg==")


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------------------------
# 5. The id guard: exact (as a reader sees the page), complete (ids and names), linear
# ---------------------------------------------------------------------------------------------

MARKUP_IDS = ["A&B Ltd", "R<7>", 'Say "Hi" GmbH', "O'Brien & Sons", "x>y-123456", "AT&T"]


@pytest.mark.parametrize("value", MARKUP_IDS)
@pytest.mark.parametrize("escape", [
    lambda v: html.escape(v),                                   # &amp; &lt; &gt; &quot; &#x27;
    lambda v: html.escape(v, quote=False),
    lambda v: "".join(c if c.isalnum() else f"&#{ord(c)};" for c in v),  # &#38; &#60; ...
    lambda v: v.replace(" ", "\n  "),                          # wrapped over lines
])
def test_ids_with_markup_characters_are_found_where_the_page_shows_them_escaped(value, escape):
    ids = guards.checked_ids([value, "D7"])
    page = f"<table><tr><td>{escape(value)}</td><td>12</td></tr></table>"
    assert guards.ids_shown(page, ids) == [value]
    # ... but only as whole words
    assert guards.ids_shown(f"<p>x{html.escape(value)}x</p>", ids) == []


@pytest.mark.parametrize(("page", "shown"), [
    ("<td>CUST-<b>0042</b></td>", ["CUST-0042"]),                # inline tags do not split
    ("<p><span>Anna</span> <em>Smith</em> won</p>", ["Anna Smith"]),
    ("<td>A&amp;<i>B</i> Ltd</td>", ["A&B Ltd"]),
    ("<td>D7</td><td>x</td>", ["D7"]),                           # cells are words apart
    ("<p>D7<br>x</p>", ["D7"]),
    ("<td>D7x</td><td>CUST-0042-1</td>", []),
    ("<p>Anna<br>Smith</p>", ["Anna Smith"]),                    # read as one name still
    ("<p>Anna-Smith and Anna Smiths</p>", []),
    ('<img alt="chart of D7" src="data:image/png;base64,RDc=">', ["D7"]),  # alt text is read
    ("<style>.D7 {color: red}</style><script>var CUST = 'CUST-0042'</script>", []),
    ('<img src="data:image/png;base64,AAAD7AAA/D7/123456+CUST-0042">', []),
])
def test_ids_split_by_tags_are_found_as_a_reader_sees_them(page, shown):
    ids = guards.checked_ids(["D7", "CUST-0042", "Anna Smith", "A&B Ltd"])
    assert guards.ids_shown(page, ids) == shown


def test_punctuation_at_the_edges_of_an_id_must_fit_the_text():
    ids = guards.checked_ids(["#123456", "x.y.", "(A1)", "a.b-17"])
    assert guards.ids_shown("<p>#123456 and (A1)</p>", ids) == ["#123456", "(A1)"]
    assert guards.ids_shown("<p>x#123456 (A1)x x.y.z</p>", ids) == []
    assert guards.ids_shown("<p>end: x.y.</p>", ids) == ["x.y."]
    assert guards.ids_shown("<p>a.b-17</p>", ids) == ["a.b-17"]
    assert guards.ids_shown("<p>a.b-170 za.b-17</p>", ids) == []


def test_a_page_without_ids_shows_none(small_demo):
    data = salesnb.load(small_demo)
    ids = guards.dataset_ids(data)
    assert len(ids) > 100
    page = notebook_to_html(_report_notebook(data), "CAC overview", "all data | run r1")
    assert guards.ids_shown(page, ids) == []


def _report_notebook(data) -> nbformat.NotebookNode:
    """A notebook like the suite's: findings, formatted aggregates, a chart, a failed step."""
    from salesnb import metrics
    from salesnb.report import narrative

    cac = narrative.formatted(metrics.cac(data, by=["tactic"]), money_columns=("spend",))
    styles = metrics.cac(data, by=["decision_style"])
    return new_notebook(cells=[
        new_markdown_cell("# CAC overview\n\n- Email sequences cost x0.85 of outbound calls."),
        _shown({"text/html": cac.to_html(), "text/plain": "styler"}),
        _shown({"text/html": styles.to_html(), "text/plain": "frame"}),
        _shown({"image/png": PNG, "text/plain": "<Figure>"}),
        new_code_cell("x", outputs=[new_output("error", ename="ValueError",
                                               evalue="too few teams", traceback=[])]),
    ])


def _shown(data: dict) -> nbformat.NotebookNode:
    return new_code_cell("x", outputs=[new_output("display_data", data=data)])


def test_the_guard_covers_ids_of_every_table_and_names_but_not_titles(small_demo):
    data = salesnb.load(small_demo)
    leaders, reps = data.tables["leaders"], data.tables["reps"]
    leaders["leader_name"] = [f"Leader Person {i}" for i in range(len(leaders))]
    reps["name"] = [f"Rep O'Neil-{i}" for i in range(len(reps))]
    ids = guards.dataset_ids(data)
    assert set(data.tables["deals"]["deal_id"]) <= ids
    assert set(data.tables["reps"]["rep_id"]) <= ids
    assert set(leaders["leader_id"]) <= ids and set(data.tables["teams"]["leader_id"]) <= ids
    assert {"Leader Person 0", "Rep O'Neil-0"} <= ids
    assert not set(leaders["title"]) & ids, "a job title is a grouping, not an identity"
    assert not {"North", "East"} & ids
    customers = data.tables["deals"]["customer_id"].dropna()
    assert set(guards.checked_ids(customers)) <= ids


def test_the_guard_covers_leads_when_the_data_has_them():
    import pandas as pd

    class Data:
        tables = {"leads": pd.DataFrame({"lead_id": ["LEAD-1", "LEAD-2"],
                                         "owner_name": ["Kim Li", None]}),
                  "deals": pd.DataFrame({"deal_id": ["D1"], "customer_id": [123456789.0]})}

        def __contains__(self, table):
            return table in self.tables

    assert guards.dataset_ids(Data()) == {"LEAD-1", "LEAD-2", "Kim Li", "D1", "123456789"}


def test_short_numeric_ids_are_not_checked_and_names_are_normalised():
    assert guards.checked_ids([12345, "2024", 7.0, " Anna   Smith ", "---"]) == {"Anna Smith"}
    assert guards.checked_ids(["Cafe\u0301 Ltd"]) == {"Caf\u00e9 Ltd"}  # NFC, as pages show


def _reference(text: str, ids: set[str]) -> set[str]:
    """The guard's definition, one regex per id (slow, obviously right)."""
    return {value for value in ids
            if re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text)}


@settings(max_examples=300, deadline=None)
@given(ids=st.sets(st.text("ab-&. <", min_size=1, max_size=6), max_size=8),
       text=st.text("ab-&. <x", max_size=40))
def test_the_one_pass_index_finds_exactly_what_one_regex_per_id_finds(ids, text):
    text = " ".join(text.split())
    ids = {" ".join(v.split()) for v in ids} - {""}
    ids = {v for v in ids if re.search(r"[\w-]", v)}
    assert guards.IdIndex(ids).shown(text) == _reference(text, ids)


def test_a_page_is_checked_against_250000_ids_in_under_2_seconds():
    ids = {f"OPP-2024-{i:07d}" for i in range(200_000)}
    ids |= {f"Account {i} & Sons (UK)" for i in range(30_000)}
    ids |= {f"rep.{i}@sales.example.com" for i in range(20_000)}
    index = guards.IdIndex(ids)
    rows = "".join(f"<tr><td>Account {i} &amp; Sons</td><td>{i * 17:,}</td><td>x{i}x</td></tr>"
                   for i in range(8000))
    page = f"<html><body><table>{rows}</table><p>rep.77@sales.example.com</p></body></html>"
    assert len(page) > 400_000
    started = time.perf_counter()
    shown = index.shown(guards.visible_text(page))
    assert time.perf_counter() - started < 2.0
    assert shown == {"rep.77@sales.example.com"}


def test_ids_sharing_long_prefixes_take_linear_time():
    """A trie walked from every word would take (page x longest id) steps here."""
    ids = {"a " * k + "b" for k in range(1, 400)}
    index = guards.IdIndex(ids)
    text = "a " * 150_000 + "b"
    started = time.perf_counter()
    shown = index.shown(text.strip())
    assert time.perf_counter() - started < 2.0
    assert shown == {v.strip() for v in ids}  # every one ends at the last word


def _fake_plan(small_demo, tmp_path, by: str | None = None) -> RunPlan:
    plan = batch.plan_run(small_demo, by=by, notebooks=[OVERVIEW], out=tmp_path, name="guarded")
    plan.partial_folder.mkdir()
    return plan


def _page(plan: RunPlan, segment: str, body: str) -> NotebookResult:
    folder = plan.partial_folder / segment
    folder.mkdir(exist_ok=True)
    (folder / "01_overview.html").write_text(f"<html><body>{body}</body></html>")
    return NotebookResult("01_overview", segment, "ok", 1.0, {}, html="01_overview.html")


def test_pages_showing_ids_are_withheld_and_a_leaders_page_may_show_its_own_id(
        small_demo, tmp_path):
    plan = _fake_plan(small_demo, tmp_path, by="leader")
    own, other = plan.segments[0], plan.segments[1]
    deal = plan.dataset.tables["deals"]["deal_id"].iloc[0]
    results = [_page(plan, own.folder, f"<p>leader_id = {own.value}</p>"),
               _page(plan, other.folder, f"<p>leader_id = {other.value}; see {own.value}</p>"),
               _page(plan, plan.segments[2].folder, f"<td>{deal}</td>")]
    guards.flag_row_level_ids(plan, results)
    kept, leaked_leader, leaked_deal = results
    assert kept.ok and (plan.partial_folder / own.folder / "01_overview.html").is_file()
    for result, shown in ((leaked_leader, own.value), (leaked_deal, deal)):
        assert result.status == "failed" and result.html is None
        assert result.error["name"] == "RowLevelDataError" and shown in result.error["message"]
        assert not (plan.partial_folder / result.segment / "01_overview.html").exists()


# ---------------------------------------------------------------------------------------------
# 6. Leadership HTML: no active content from any cell or output (nbconvert's SanitizeHTML)
# ---------------------------------------------------------------------------------------------

HOSTILE = {
    "img onerror": '<img src=x onerror="alert(1)">',
    "javascript link": '<a href="javascript:alert(1)">click</a>',
    "obfuscated link": '<a href=" JaVa&#x09;ScRiPt&#58;alert(1)">click</a>',
    "markdown link": "[click](javascript:alert(1))",
    "data link": '<a href="data:text/html;base64,PHNjcmlwdD4=">click</a>',
    "svg onload": '<svg onload="alert(1)"><circle r="3"/></svg>',
    "iframe": '<iframe src="https://evil.example/" srcdoc="<script>alert(1)</script>"></iframe>',
    "style expression": "<style>body { width: expression(alert(1)); }</style>",
    "style url": '<div style="background: url(javascript:alert(1)); width: expression(1)">d'
                 "</div>",
    "script": "<script>alert(1)</script>",
    "object": '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    "form": '<form action="https://evil.example/"><button formaction="javascript:alert(1)">'
            "b</button></form>",
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "base and link": '<base href="https://evil.example/"><link rel="stylesheet" '
                     'href="https://evil.example/x.css">',
    "math": '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">m'
            "</maction></math>",
    "remote image": '<img src="https://evil.example/pixel.png">',
    "noscript": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
}
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "style", "link", "meta", "base",
                  "form", "button", "svg", "math", "maction", "noscript", "frame"}


def _hostile_notebook(payload: str, where: str) -> nbformat.NotebookNode:
    safe = "Kept finding: x0.85."
    if where == "markdown cell":
        cells = [new_markdown_cell(f"{safe}\n\n{payload}")]
    else:
        mime = {"text/markdown output": "text/markdown", "text/html output": "text/html"}[where]
        cells = [_shown({mime: f"<p>{safe}</p>{payload}" if mime == "text/html"
                        else f"{safe}\n\n{payload}", "text/plain": "x"})]
    return new_notebook(cells=cells)


def _body_elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every element of the page's <body> with its attributes."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Parser(HTMLParser):
        inside = False

        def handle_starttag(self, tag, attrs):
            self.inside = self.inside or tag == "body"
            if self.inside:
                found.append((tag, dict(attrs)))

    Parser().feed(page)
    return found


def _assert_inert(page: str) -> None:
    """No element, handler, link or style in the page's body can run or load anything."""
    for tag, attrs in _body_elements(page):
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs.items():
            text = re.sub(r"\s", "", html.unescape(value or "")).lower()
            assert not name.startswith("on"), (tag, name)
            assert name not in ("action", "formaction", "srcdoc", "data"), (tag, name)
            if name in ("href", "src"):
                assert text.startswith(("#", "https://example.org", "data:image/")), (tag, value)
            assert "javascript:" not in text and "expression(" not in text, (tag, name, value)
            assert "url(" not in text or name != "style", (tag, value)


INTERACTIVE = {"iframe", "object", "script"}
"""Payloads that make an HTML output interactive: it is replaced by a note."""


@pytest.mark.parametrize("where", ["markdown cell", "text/markdown output", "text/html output"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_no_active_content_survives_in_any_cell_or_output(name, where):
    page = notebook_to_html(_hostile_notebook(HOSTILE[name], where), "t")
    _assert_inert(page)
    shown = guards.visible_text(page[page.index("<body"):])
    if where == "text/html output" and name in INTERACTIVE:
        assert "An interactive output is left out of this page" in shown
    else:
        assert "Kept finding: x0.85." in shown
    if name in ("script", "style expression", "iframe"):
        assert "alert(" not in shown and "expression(" not in shown, "the code is gone too"


def test_svg_outputs_are_sanitised_and_stay_images():
    import xml.etree.ElementTree as ET

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2, 3], [1, 3, 2], "o-")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    chart = buffer.getvalue()
    hostile = ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)'
               '</script><a href="javascript:alert(1)"><rect width="5" height="5"/></a>'
               '<foreignObject><iframe src="https://evil.example/"/></foreignObject>'
               '<animate attributeName="href" to="javascript:alert(1)"/>'
               '<image href="https://evil.example/x.png"/></svg>')
    page = notebook_to_html(new_notebook(cells=[
        _shown({"image/svg+xml": chart, "text/plain": "<Figure>"}),
        _shown({"image/svg+xml": hostile, "text/plain": "<Figure>"})]), "t")
    _assert_inert(page)
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(images) == 2
    drawn, cleaned = (base64.b64decode(image).decode() for image in images)
    assert len(ET.fromstring(drawn).findall(".//{http://www.w3.org/2000/svg}path")) > 5
    assert '<rect width="5" height="5"' in cleaned
    for needle in ("onload", "script", "javascript", "foreignObject", "animate", "evil"):
        assert needle not in cleaned, needle
    assert "onload" not in sanitize_html(hostile, svg=True)


def test_tables_charts_and_salesnb_classes_survive_sanitising():
    import pandas as pd

    from salesnb.report import narrative

    frame = pd.DataFrame({"tactic": ["email", "events"], "spend": [1234.5, 99.0]})
    styler = narrative.formatted(frame, money_columns=("spend",))
    notebook = new_notebook(cells=[
        new_markdown_cell("# Overview\n\n> quoted & kept\n\nIn code: `a < b`.\n\n"
                          "| tactic | CAC |\n|:--|--:|\n| email | 1,234 |\n\n"
                          f"![a chart](data:image/png;base64,{PNG})\n\n"
                          "[methods](https://example.org/methods)"),
        _shown({"text/html": styler.to_html(), "text/plain": "styler"}),
        _shown({"text/html": frame._repr_html_(), "text/plain": "frame"}),
        _shown({"image/png": PNG, "image/svg+xml": "<svg onload='x()'></svg>",
                "text/plain": "<Figure>"}),
        _shown({"text/markdown": "- **Email** is cheapest", "text/plain": "md"}),
        new_code_cell("x", outputs=[new_output("error", ename="ValueError", evalue="bad <x>",
                                               traceback=[])]),
    ])
    page = notebook_to_html(notebook, "Overview", "all data | run r1")
    _assert_inert(page)
    body = page[page.index("<body"):]
    assert '<p class="salesnb-meta">all data | run r1</p>' in body
    assert 'class="salesnb-error"' in body and "ValueError: bad &lt;x&gt;" in body
    assert "<blockquote>" in body and "quoted &amp; kept" in body
    assert "<code>a &lt; b</code>" in body
    assert body.count("<table") == 3 and 'class="dataframe"' in body and "1,234" in body
    assert '<th style="text-align: left">tactic</th>' in body
    assert re.search(r'<table id="T_\w+">', body), "Styler tables keep their ids"
    assert body.count(f"data:image/png;base64,{PNG}") == 2  # the output and the markdown image
    assert "data:image/svg+xml" not in body, "the PNG beside it is shown instead"
    assert '<a href="https://example.org/methods">methods</a>' in body
    assert "<strong>Email</strong> is cheapest" in body


# ---------------------------------------------------------------------------------------------
# 7. Batch faults: parent death, kernel files, output folders, a taken name
# ---------------------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        import psutil
    except ImportError:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children...)."""
    try:
        import psutil
    except ImportError:
        parents: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    parents.setdefault(ppid, []).append(int(entry.name))
        found, todo = set(), [pid]
        while todo:
            for child in parents.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def _processes_inside(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "cwd").startswith(str(folder)):
                    found.append(int(entry.name))
    return found


def _wait_for(condition, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


def _connection_files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*.json")]


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="reads processes from /proc (Linux)")


@pytest.mark.slow
@needs_proc
def test_killing_the_parent_ends_workers_and_kernels_and_leaves_no_kernel_files(
        small_demo, tmp_path):
    runtime, temp, out = tmp_path / "runtime", tmp_path / "tmp", tmp_path / "out"
    temp.mkdir()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "TMPDIR": str(temp)}
    command = [sys.executable, "-m", "salesnb.cli", "report", "--data", str(small_demo),
               "--by", "region", "--segments", "East,West", "--notebooks", str(OVERVIEW),
               "--param", "pause=120", "--jobs", "2", "--out", str(out), "--name", "killed"]
    parent = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(_processes_inside(out)) >= 2, timeout=120)  # both kernels run
        time.sleep(1)
        family = _descendants(parent.pid)
        kernels = set(_processes_inside(out))
        assert kernels <= family and len(family) >= 4  # 2 workers, 2 kernels (+ tracker)
        assert _connection_files(runtime, temp), "the kernels' connection files"
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        took = _wait_for(lambda: not any(_alive(pid) for pid in family), timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert took < 10
    assert _connection_files(runtime, temp) == []
    assert not (out / "killed").exists()


_ORPHAN = textwrap.dedent("""\
    import ctypes, os, subprocess, sys, time
    child = '''
    import ctypes, os, sys, time
    from salesnb.batch import worker
    worker.init_worker(None, sys.argv[1], os.getppid())
    if sys.argv[2] == "watchdog-only":  # switch the Linux death signal off again
        ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)
    open(os.path.join(sys.argv[1], "ready"), "w").close()
    time.sleep(120)
    '''
    worker = subprocess.Popen([sys.executable, "-c", child, sys.argv[1], sys.argv[2]])
    print(worker.pid, flush=True)
    time.sleep(120)
""")


@pytest.mark.slow
@needs_proc
@pytest.mark.parametrize("mechanism", ["death-signal", "watchdog-only"])
def test_a_worker_exits_when_its_parent_is_killed(tmp_path, mechanism):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN, str(runtime), mechanism],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        _wait_for(lambda: (runtime / "ready").exists(), timeout=60)
        assert _alive(pid) and (runtime / f"worker-{pid}").is_dir()
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        took = _wait_for(lambda: not _alive(pid), timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
        with contextlib.suppress(ProcessLookupError, ValueError, NameError):
            os.kill(pid, signal.SIGKILL)
    assert took < (2 if mechanism == "death-signal" else 5)
    assert not (runtime / f"worker-{pid}").exists(), "the worker's kernel files are deleted"


_SLOW_KERNEL = textwrap.dedent("""\
    import os, subprocess, sys, time
    child = '''
    import os, subprocess, sys, time
    from salesnb.batch import worker
    worker.init_worker(None, sys.argv[1], os.getppid())
    own = os.environ["JUPYTER_RUNTIME_DIR"]
    # ipykernel, finding no connection file when it starts, creates the folder and writes one
    late = ("import os, sys, time; time.sleep(3); "
            "os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
            "open(sys.argv[1], 'w').write('{}')")
    kernel = subprocess.Popen([sys.executable, "-c", late, os.path.join(own, "kernel.json")],
                              start_new_session=True)  # as jupyter_client starts a kernel
    print(kernel.pid, flush=True)
    time.sleep(120)
    '''
    worker = subprocess.Popen([sys.executable, "-c", child, sys.argv[1]],
                              stdout=subprocess.PIPE, text=True)
    print(worker.pid, worker.stdout.readline().strip(), flush=True)
    time.sleep(120)
""")


@pytest.mark.slow
@needs_proc
def test_a_kernel_still_starting_when_the_parent_dies_is_killed_before_it_writes(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", _SLOW_KERNEL, str(runtime)],
                              stdout=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]  # worker, kernel
        assert len(pids) == 2 and _alive(pids[1])
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        _wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=10)
        time.sleep(4)  # past the moment the slow kernel would have written its file
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert _connection_files(runtime) == []


@pytest.fixture
def no_loading(monkeypatch):
    """Fails the test if the data is loaded."""
    from salesnb.io import loading

    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the data was loaded before the mistake was found")

    monkeypatch.setattr(loading, "load", spy)
    return calls


def test_a_taken_name_is_refused_before_any_data_is_loaded(small_demo, tmp_path, no_loading):
    (tmp_path / "q3-review").mkdir()
    (tmp_path / "q4-review.partial").mkdir()
    for name, problem in (("q3-review", "already exists"), ("q4-review", "another run")):
        with pytest.raises(SalesnbError, match=problem):
            batch.plan_run(small_demo, notebooks=[OVERVIEW], out=tmp_path, name=name)
        code, _, stderr = run_cli("report", "--data", str(small_demo), "--notebooks",
                                  str(OVERVIEW), "--out", str(tmp_path), "--name", name)
        assert code == 1 and problem in stderr and "Traceback" not in stderr
    assert no_loading == []


def _refused(small_demo, out: Path, problem: str) -> str:
    code, stdout, stderr = run_cli("report", "--data", str(small_demo), "--notebooks",
                                   str(OVERVIEW), "--out", str(out), "--name", "r1")
    assert code == 1, stderr
    (error,) = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert problem in error, stderr
    assert "Traceback" not in stderr and stdout == ""
    return stderr


def test_an_out_that_is_a_file_is_refused_before_loading(small_demo, tmp_path, no_loading):
    (tmp_path / "reports").write_text("not a folder")
    _refused(small_demo, tmp_path / "reports", "is a file, not a folder")
    _refused(small_demo, tmp_path / "reports" / "q3", "is a file, not a folder")
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]
    assert no_loading == []


@needs_proc
@pytest.mark.parametrize("out", ["/proc/salesnb-reports", "/proc", "/sys/salesnb-reports"])
def test_an_out_where_nothing_can_be_written_is_refused_before_loading(
        small_demo, out, no_loading):
    # pseudo file systems refuse new files even to root, whom permission bits do not stop
    stderr = _refused(small_demo, Path(out), f"cannot write the reports in {out}")
    assert not Path(out, "r1.partial").exists() and no_loading == []
    assert "choose another --out" in stderr


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders (see the /proc and /sys test)")
def test_a_read_only_folder_is_refused(small_demo, tmp_path, no_loading):
    folder = tmp_path / "reports"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        _refused(small_demo, folder, "no permission to write")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def _disk_full(monkeypatch, after: int = 10) -> None:
    """Every text file write fails like a full disk, after writing ``after`` characters."""
    def write_text(self, data, *args, **kwargs):
        with open(self, "w", encoding="utf-8") as handle:
            handle.write(data[:after])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", write_text)


def _empty_plan(small_demo, out: Path, name: str) -> RunPlan:
    plan = batch.plan_run(small_demo, by="region", notebooks=[OVERVIEW], out=out, name=name)
    plan.notebooks = []
    return plan


def test_a_full_disk_while_writing_the_run_leaves_nothing_half_written(
        small_demo, tmp_path, monkeypatch):
    plan = _empty_plan(small_demo, tmp_path, "full")
    _disk_full(monkeypatch)
    with pytest.raises(SalesnbError, match="no space is left on its device") as caught:
        batch.execute(plan, progress=False)
    assert list(tmp_path.iterdir()) == [], "neither the run nor its .partial folder is left"
    assert any("nothing was published" in note for note in caught.value.__notes__)


def test_a_full_disk_while_reserving_exits_1_with_a_plain_message(
        small_demo, tmp_path, monkeypatch):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name.endswith(batch.PARTIAL_SUFFIX):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    _refused(small_demo, tmp_path, "no space is left on its device (disk full)")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_making_segment_folders_removes_the_run(
        small_demo, tmp_path, monkeypatch):
    from salesnb.batch import pool

    plan = _empty_plan(small_demo, tmp_path, "full-segments")
    publish.reserve_partial(plan)
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.parent == plan.partial_folder and self.name != "east":
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(SalesnbError, match="disk quota"):
        pool.make_tasks(plan)
    assert list(tmp_path.iterdir()) == []


def test_a_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    _disk_full(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        worker.write_atomic(target, "{" + " " * 1000 + "}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_notebook_whose_files_cannot_be_written_fails_alone(small_demo, tmp_path, monkeypatch):
    worker.register_memory_io()
    folder = tmp_path / "all"
    folder.mkdir()
    task = worker.NotebookTask(
        notebook=OVERVIEW, segment="all", folder=folder,
        parameters={"data": str(small_demo)}, secrets=batch.plan_run(
            small_demo, notebooks=[OVERVIEW], out=tmp_path, name="w").secrets,
        title="Overview", subtitle="all data")

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(worker, "write_atomic", full)
    result = worker.run_task(task)
    assert result.status == "failed" and result.ipynb is None and result.html is None
    assert result.error["name"] == "OutputWriteError"
    assert "No space left on device" in result.error["message"]
    assert list(folder.iterdir()) == []
