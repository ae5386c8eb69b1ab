"""The leadership brief of every demo segment, as `salesnb report` renders it and a VP of Sales
opens it: no statistical jargon, no code, no raw warnings or ids; the style question answered
in a sentence that follows the model; the methods appendix on its own page. Screenshots of
the brief, the appendix and the index go to tests/artifacts/."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.test_brief_text import _direction
from tests.test_browser import ARTIFACTS, EXTERNAL, _is_png, open_page

pytestmark = pytest.mark.slow  # five briefs (the demo and its four regions), then Chromium

FORBIDDEN_TERMS = (
    "Holm", "binomial", "Poisson", "bootstrap", "Webb", "NB2", "alpha", "lambda", "p-value",
    "95% CI", "confidence interval", "cluster", "MixedLM", "OLS", "log-CAC", "hazard ratio",
    "Cox", "permutation", "jackknife", "CV3", "sandwich", "dispersion", "standard error",
    "max-T", "DiD", "statsmodels", "pandas", "seaborn", "numpy", "scipy", "DataFrame",
    "Traceback", "Warning", "converge", "overflow", "mle_retvals", "NaN", "None", "inf ",
    "undefined", "CAC")
"""Words a leader's page never shows (statistics, libraries, raw warnings, code values)."""
FORBIDDEN_PATTERNS = {
    "scientific notation": r"\d(?:\.\d+)?[eE][+-]?\d",
    "a Python list or dict": r"\[\s*'|'\s*\]|\{\s*'",
    "an underscore in a label": r"[A-Za-z]_[A-Za-z]",
    "a model term": r"[a-z]=[A-Za-z]",
    "a team, leader or rep id": r"\b[TLR]\d{2,}\b",
    "a p-value": r"\bp\s*[=<>]",
}


@pytest.fixture(scope="module")
def brief_run(tmp_path_factory) -> Path:
    """The brief of the whole demo and of each region, rendered by `salesnb report`."""
    from salesnb.cli import main
    from salesnb.paths import DEMO_DIR

    out = tmp_path_factory.mktemp("leaders")
    code = main(["report", "--data", str(DEMO_DIR), "--by", "region", "--include-all",
                 "--notebooks", "00_leadership_brief", "--out", str(out), "--name", "briefs",
                 "--jobs", "2", "--no-progress"])
    assert code == 0
    return out / "briefs"


def _text(page: Path) -> str:
    """The page's visible text (tags, styles and image data removed)."""
    markup = page.read_text(encoding="utf-8")
    markup = re.sub(r"<(style|script|head)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def _briefs(run: Path) -> list[Path]:
    pages = sorted(run.glob("*/00_leadership_brief.html"))
    assert len(pages) == 5, pages  # the whole demo and four regions
    return pages


def test_no_leader_page_shows_jargon_code_or_raw_warnings(brief_run):
    problems = []
    for page in _briefs(brief_run):
        text = _text(page)
        problems += [f"{page.parent.name}: {term!r}" for term in FORBIDDEN_TERMS if term in text]
        for what, pattern in FORBIDDEN_PATTERNS.items():
            problems += [f"{page.parent.name}: {what}: {m.group(0)!r}"
                         for m in re.finditer(pattern, text)]
    assert problems == []


def test_the_vocabulary_check_catches_what_it_forbids(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<p>negative binomial, p = 0.03, 3.2e+06, ['partners'], T36, "
                    "decision_style=autocratic</p>", encoding="utf-8")
    text = _text(page)
    assert "binomial" in text
    caught = {what for what, pattern in FORBIDDEN_PATTERNS.items() if re.search(pattern, text)}
    assert caught == set(FORBIDDEN_PATTERNS)


def test_each_brief_answers_in_order_with_money_and_a_style_sentence(brief_run):
    headings = ["What a customer costs", "Which tactics win customers cheapest",
                "Which leadership style is best here", "What to do next",
                "What the people side costs", "How sure we are"]
    for page in _briefs(brief_run):
        text = _text(page)
        found = [text.find(h) for h in headings]
        assert -1 not in found and found == sorted(found), (page, found)
        assert re.search(r"\d{4}-\d\d to \d{4}-\d\d \(\d+ months\) · data up to", text)
        assert "money in USD" in text and text.count(" USD") >= 5
        style = text[found[2]:found[3]]
        assert re.search(r"leaders win customers|cannot be told|No leadership style", style)
    whole = _text(brief_run / "all" / "00_leadership_brief.html")
    assert _direction(whole, "autocratic") == "dearer"  # planted x1.25, stated (beats shuffles)


def test_the_methods_appendix_is_its_own_page_linked_from_the_brief(brief_run, chromium,
                                                                      tmp_path):
    brief = brief_run / "all" / "00_leadership_brief.html"
    appendix = brief.with_name("00_leadership_brief_methods.html")
    assert 'href="00_leadership_brief_methods.html"' in brief.read_text(encoding="utf-8")
    text = _text(appendix)
    assert "Methods appendix" in text and "What it means for trusting the result" in text
    assert "Methods appendix" not in _text(brief).split("How sure we are")[0]
    dom, console = open_page(chromium, appendix, tmp_path / "profile",
                             ARTIFACTS / "methods-appendix.png")
    assert console == [] and not EXTERNAL.search(dom)
    assert _is_png(ARTIFACTS / "methods-appendix.png")


def test_the_brief_and_index_render_in_a_browser(brief_run, chromium, tmp_path):
    page = brief_run / "all" / "00_leadership_brief.html"
    dom, console = open_page(chromium, page, tmp_path / "profile",
                             ARTIFACTS / "leadership-brief.png")
    assert console == [] and not EXTERNAL.search(dom)
    assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", dom)) >= 4
    assert "segments.open_data" not in dom and "salesnb report --notebooks" not in dom
    assert _is_png(ARTIFACTS / "leadership-brief.png")
    dom, console = open_page(chromium, brief_run / "index.html", tmp_path / "profile",
                             ARTIFACTS / "run-index.png")
    assert console == [] and "Start here" in dom
    assert _is_png(ARTIFACTS / "run-index.png")
