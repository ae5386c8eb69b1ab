"""Headless Chromium opens the run's index.html and a report: no console errors, nothing loaded
from the network, charts and findings rendered. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.test_reports import finished_run

pytestmark = pytest.mark.slow  # headless Chromium on real reports

ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND"]  # nothing may come from the network
EXTERNAL = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=\"(?:https?:)?//",
                      re.IGNORECASE)


@pytest.fixture
def run_folder(small_demo, tmp_path_factory) -> Path:
    return finished_run(small_demo, tmp_path_factory)[3]


def open_page(binary: str, page: Path, profile: Path, screenshot: Path | None = None
              ) -> tuple[str, list[str]]:
    """Load ``page`` headless; returns the rendered DOM and the console messages logged."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dumped = _chromium(binary, profile, "--dump-dom", page.as_uri())
    if screenshot is not None:
        _chromium(binary, profile, "--window-size=1200,1400", f"--screenshot={screenshot}",
                  page.as_uri())
    console = [line for line in dumped.stderr.splitlines() if ":CONSOLE" in line]
    return dumped.stdout, console


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([binary, *HEADLESS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_console_check_sees_errors(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('boom'); missingFunction();"
                    "</script></body></html>")
    _, console = open_page(chromium, page, tmp_path / "profile")
    assert any("boom" in line for line in console)
    assert any("Uncaught ReferenceError" in line for line in console)


def test_index_renders_every_segment_and_marks_failures(chromium, run_folder, tmp_path):
    dom, console = open_page(chromium, run_folder / "index.html", tmp_path / "profile",
                             ARTIFACTS / "report-index.png")
    assert console == []
    assert not EXTERNAL.search(dom)
    for region in ("East", "West"):
        assert f"region = {region}" in dom
    assert dom.count("<strong>FAILED</strong>") == 2
    assert _is_png(ARTIFACTS / "report-index.png")


def test_report_renders_charts_and_findings_offline(chromium, run_folder, tmp_path):
    dom, console = open_page(chromium, run_folder / "east" / "01_overview.html",
                             tmp_path / "profile", ARTIFACTS / "report-east-overview.png")
    assert console == []
    assert not EXTERNAL.search(dom)
    assert re.search(r"<img [^>]*src=\"data:image/png;base64,", dom), "the chart is missing"
    assert re.search(r"Finding: \d+ teams won \d+ deals", dom), "the finding is missing"
    assert "segments.select" not in dom, "code must not show in the leadership report"
    assert "data-scripted" not in dom and "<title>scripted" not in dom, "a script ran"
    assert _is_png(ARTIFACTS / "report-east-overview.png")


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_marketing_mix_page_from_totals_renders_for_leaders(chromium, tmp_path):
    """`salesnb report` on weekly totals (no deals): the default suite is the mix notebook
    alone; the index shows its headline, the page its charts and no code."""
    from salesnb.cli import main
    from salesnb.synthetic import mix_demo

    mix_demo.generate(out=tmp_path / "totals", seed=2, years=2)
    code = main(["report", "--data", str(tmp_path / "totals"), "--out", str(tmp_path),
                 "--name", "mix", "--jobs", "1", "--no-progress", "--param", "n_boot=40"])
    assert code == 0
    run = tmp_path / "mix"
    assert sorted(p.name for p in (run / "all").glob("*.html")) == ["07_marketing_mix.html"]
    index, console = open_page(chromium, run / "index.html", tmp_path / "profile")
    assert console == [] and "no headline" not in index
    page, console = open_page(chromium, run / "all" / "07_marketing_mix.html",
                              tmp_path / "profile", ARTIFACTS / "marketing-mix.png")
    assert console == [] and not EXTERNAL.search(page)
    assert "Average cost per customer of each tactic" in page
    assert "totals over time: 104 weeks" in page
    assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", page)) == 3
    assert "totals_input" not in page and "salesnb report --notebooks" not in page
    assert "For analysts" not in page, "analyst tables stay in the notebook"
    assert _is_png(ARTIFACTS / "marketing-mix.png")
