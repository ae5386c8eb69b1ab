"""The run index: Start here, headline findings compared across segments, currency, plain
failures; headline facts read from an executed notebook.
"""

from __future__ import annotations

import json
import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from salesnb.batch.headlines import (
    HEADLINE_MIME,
    headline_facts,
    is_headline_only,
    read_headline_facts,
)
from salesnb.batch.html import notebook_to_html
from salesnb.batch.index import index_html, plain_failure, plain_line

FACTS = {"segment": "region = North", "period": "2024-01 to 2025-12", "currency": "USD",
         "blended_cac": 4859.0, "new_customers": 8475, "total_cost": 41178475.0,
         "style_answer": "Collaborative leaders win customers about 17% cheaper than "
                         "consultative ones (likely between 3% and 29%).",
         "budget_move": "Move about 450k USD a month from events to referrals: about 213 "
                        "more customers a month."}
TRACEBACK = ("ValueError: no spend in the period 2024-01 to 2024-03\nTraceback (most recent "
             "call last):\n  File \"x.py\", line 3")


def _result(notebook: str, status: str = "ok", **fields) -> dict:
    record = {"notebook": notebook, "status": status, "html": None, "ipynb": f"{notebook}.ipynb",
              "failing_cell": None, "error": None}
    if status == "ok":
        record["html"] = f"{notebook}.html"
    return record | fields


def _manifest() -> dict:
    north = [_result("00_leadership_brief", methods_html="00_leadership_brief_methods.html",
                     pdf="00_leadership_brief.pdf"), _result("01_data_quality")]
    south = [_result("00_leadership_brief", "failed", failing_cell={"cell_index": 7},
                     error={"name": "ValueError", "message": TRACEBACK}),
             _result("01_data_quality")]
    headline = {"total_cost": 41178475.0, "new_customers": 8475, "blended_cac": 4859.0}
    return {
        "run": "r1", "created": "2026-12-01T10:00:00", "duration_s": 31.0, "status": "failed",
        "currency": "EUR", "pdf_note": None, "git": {"revision": None},
        "input": {"source": "/data/demo", "fingerprint": "ab" * 32},
        "segments": [
            {"folder": "north", "label": "region = North", "status": "ok",
             "headline": headline, "headline_error": None, "facts": FACTS, "results": north},
            {"folder": "south", "label": "region = South", "status": "failed",
             "headline": headline, "headline_error": None, "facts": None, "results": south}]}


def _rows(page: str, table_class: str) -> list[list[str]]:
    table = page.split(f'<table class="{table_class}">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)] for row in rows]


def test_the_index_compares_segments_starts_with_the_briefs_and_explains_failures():
    page = index_html(_manifest())
    start = page.split("<h2>Start here</h2>", 1)[1].split("<h2>", 1)[0]
    assert 'href="north/00_leadership_brief.html"' in start
    assert 'href="north/00_leadership_brief_methods.html">methods</a>' in start
    assert 'href="north/00_leadership_brief.pdf">PDF</a>' in start
    assert "region = South: did not finish" in start and "south/00_leadership_brief" not in start
    assert _rows(page, "compare") == [
        ["Segment", "Cost per customer (EUR)", "Leadership style", "Top budget move"],
        ["region = North", "4,859", FACTS["style_answer"], FACTS["budget_move"]],
        ["region = South", "-", "-", "-"]]
    assert "Total cost (EUR)" in page and page.count("Cost per customer (EUR)") == 2
    assert ("The leadership brief did not finish: no spend in the period 2024-01 to 2024-03. "
            "The other pages of this segment are fine.") in page
    assert "ValueError" not in page and "Traceback" not in page and "x.py" not in page


def test_failures_are_told_in_plain_words_without_exception_names():
    segment = {"results": [_result("03_tactics", "failed", error={
        "name": "KeyError", "message": "'tactic'"}), _result("04_leadership", "failed", error={
            "name": "BrokenProcessPool", "message": "the worker process died"})]}
    first, second = segment["results"]
    assert plain_failure(first, segment) == ("The tactics page did not finish: something it "
                                             "looks up is missing ('tactic'). 1 other page of "
                                             "this segment did not finish either.")
    assert plain_failure(second, segment).startswith(
        "The leadership page did not finish: the worker process died.")
    alone = {"results": [_result("09_custom_view", "failed", error={"name": "X", "message": ""})]}
    assert plain_failure(alone["results"][0], alone) == \
        "The custom view page did not finish: it stopped with an error."
    assert plain_line("salesnb.errors.SalesnbError: no deals.\n    hint: map them") == "no deals."
    assert plain_line("Error in the mapping: x") == "Error in the mapping: x"
    page = index_html(_manifest() | {"segments": [_manifest()["segments"][0] | {
        "status": "failed", "results": [second]}]})
    assert "BrokenProcessPool" not in page and "the worker process died" in page


def test_the_index_says_when_no_pdf_was_made_and_renders_older_manifests():
    manifest = _manifest() | {"pdf_note": "PDF: not made, no Chromium on this machine"}
    assert "PDF: not made, no Chromium on this machine" in index_html(manifest)
    old = _manifest()
    for key in ("currency", "pdf_note"):
        del old[key]
    for segment in old["segments"]:
        del segment["facts"]
        segment["results"] = [{k: v for k, v in r.items() if k not in ("methods_html", "pdf")}
                              for r in segment["results"]]
    page = index_html(old)
    assert "Cost per customer (USD)" in page and "Start here" in page
    assert "methods</a>" not in page and "PDF" not in page


def test_headline_facts_are_read_from_an_executed_notebook(tmp_path):
    notebook = new_notebook(cells=[
        new_markdown_cell("# Brief"),
        new_code_cell("x", outputs=[new_output("stream", name="stdout", text="hello\n")]),
        new_code_cell("display(facts)", outputs=[
            new_output("display_data", data={HEADLINE_MIME: FACTS | {"nested": {"a": 1}}})])])
    path = tmp_path / "00_leadership_brief.ipynb"
    nbformat.write(notebook, path)
    assert read_headline_facts(path) == FACTS, "scalars kept, nested values left out"
    assert headline_facts(nbformat.read(path, as_version=4)) == FACTS
    as_text = new_notebook(cells=[new_code_cell("d", outputs=[new_output(
        "display_data", data={HEADLINE_MIME: json.dumps({"blended_cac": None})})])])
    assert headline_facts(as_text) == {"blended_cac": None}
    assert headline_facts(new_notebook(cells=[new_markdown_cell("none")])) is None
    assert read_headline_facts(tmp_path / "missing.ipynb") is None


def test_the_headline_output_is_dropped_silently_from_the_html():
    output = new_output("display_data", data={HEADLINE_MIME: FACTS})
    assert is_headline_only(output)
    with_text = new_output("display_data", data={HEADLINE_MIME: FACTS, "text/plain": "{...}"})
    notebook = new_notebook(cells=[new_markdown_cell("Findings below."),
                                   new_code_cell("a", outputs=[output]),
                                   new_code_cell("b", outputs=[with_text])])
    body = notebook_to_html(notebook, "Brief").split("<body", 1)[1]
    assert "Findings below." in body
    assert "interactive output" not in body and "salesnb-meta" not in body
    assert "Collaborative" not in body and "{...}" not in body and "4859" not in body


def test_the_index_names_pages_in_words_not_file_names():
    page = index_html(_manifest())
    every = page.split("<h2>Every segment</h2>", 1)[1] if "<h2>Every segment</h2>" in page \
        else page
    assert '<a href="north/01_data_quality.html">Data quality</a>' in every
    assert '<a href="north/00_leadership_brief.html">Leadership brief</a>' in every
    assert ">01_data_quality<" not in page and ">00_leadership_brief<" not in page
