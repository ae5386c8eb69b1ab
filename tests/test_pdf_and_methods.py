"""The brief's methods appendix as a page of its own, sibling links, and the brief as PDF.

Unit tests on notebooks built with nbformat, then one tiny real run (a fixture brief with
``appendix`` cells and a headline output) with Chromium, and one with a PATH lacking it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from salesnb import batch
from salesnb.batch import pdf
from salesnb.batch.headlines import HEADLINE_MIME
from salesnb.batch.html import notebook_to_html, sanitize_html
from salesnb.batch.split import back_link, methods_page, split_appendix
from salesnb.batch.worker import NotebookResult
from tests.conftest import require

METHODS = "00_leadership_brief_methods.html"
FACTS = {"segment": "all data", "currency": "USD", "blended_cac": 4859.0,
         "style_answer": "Collaborative leaders win customers about 17% cheaper.",
         "budget_move": "Move about 450k USD a month from events to referrals."}


def _appendix(cell):
    cell.metadata["tags"] = ["appendix"]
    return cell


def _executed_brief() -> nbformat.NotebookNode:
    """An executed brief: normal cells, a headline output and two ``appendix`` cells."""
    return new_notebook(cells=[
        new_markdown_cell(f"# Leadership brief\n\nSee the [methods appendix]({METHODS})."),
        new_code_cell("print(1)", outputs=[
            new_output("stream", name="stdout", text="MAIN FINDING 42\n")]),
        new_code_cell("display(facts)", outputs=[
            new_output("display_data", data={HEADLINE_MIME: FACTS})]),
        _appendix(new_markdown_cell("## How it was measured\n\nAPPENDIX TEXT: bootstrap.")),
        _appendix(new_code_cell("print(2)", outputs=[
            new_output("stream", name="stdout", text="APPENDIX OUTPUT\n")])),
    ])


def test_appendix_cells_are_split_off_in_order_and_the_rest_is_kept():
    notebook = _executed_brief()
    main, appendix = split_appendix(notebook)
    assert [c.source for c in main.cells] == [c.source for c in notebook.cells[:3]]
    assert [c.source for c in appendix.cells] == [c.source for c in notebook.cells[3:]]
    assert len(notebook.cells) == 5, "the notebook itself is not modified"
    plain = new_notebook(cells=[new_markdown_cell("no appendix")])
    assert split_appendix(plain) == (plain, None)
    assert methods_page("00_leadership_brief") == METHODS


def test_the_main_page_lacks_the_appendix_and_the_methods_page_has_it():
    main, appendix = split_appendix(_executed_brief())
    page = notebook_to_html(main, "Leadership brief | all data", "all data | run r1")
    methods = notebook_to_html(appendix, "Methods appendix | all data", "all data | run r1")
    assert "MAIN FINDING 42" in page and f'href="{METHODS}"' in page
    assert "APPENDIX TEXT" not in page and "APPENDIX OUTPUT" not in page
    assert "APPENDIX TEXT" in methods and "APPENDIX OUTPUT" in methods
    assert "MAIN FINDING 42" not in methods
    assert "<title>Methods appendix | all data</title>" in methods


@pytest.mark.parametrize("href", [METHODS, "01_data_quality.html#coverage", "a-b.c_d.html"])
def test_a_link_to_a_sibling_page_survives_sanitising(href):
    assert sanitize_html(f'<a href="{href}">x</a>') == f'<a href="{href}">x</a>'


@pytest.mark.parametrize("href", [
    "javascript:alert(1)", " javascript:x.html", "../x.html", "/etc/x.html", "..html",
    "sub/x.html", "x.html/../../y.html", "file:///etc/x.html", "//evil.example/x.html",
    "x.htm", "x.html?a=1", "x.html#a b", "data:text/html,x.html", "\\\\host\\x.html"])
def test_other_relative_and_active_links_still_do_not(href):
    cleaned = sanitize_html(f'<a href="{href}">x</a>')
    assert "href" not in cleaned and ">x</a>" in cleaned


def test_links_in_markdown_cells_are_sanitised_the_same_way():
    notebook = new_notebook(cells=[new_markdown_cell(
        f"[ok]({METHODS}) [up](../x.html) [root](/etc/x.html) [js](javascript:alert(1))")])
    body = notebook_to_html(notebook, "t").split("<body", 1)[1]
    assert f'<a href="{METHODS}">ok</a>' in body
    assert "../x.html" not in body and "/etc/x.html" not in body and "javascript" not in body


def test_make_pdfs_reports_a_turned_off_run_and_makes_nothing(tmp_path):
    result = NotebookResult("00_leadership_brief", "all", "ok", 1.0, {},
                            html="00_leadership_brief.html")
    assert pdf.make_pdfs(tmp_path, [result], enabled=False) == pdf.TURNED_OFF
    assert result.pdf is None and not list(tmp_path.rglob("*.pdf"))
    other = NotebookResult("01_data_quality", "all", "ok", 1.0, {}, html="01_data_quality.html")
    assert pdf.make_pdfs(tmp_path, [other]) is None, "no brief: no PDF due, nothing to say"


def test_the_print_copy_appends_the_methods_page_and_links_inside_the_document(tmp_path):
    main, appendix = split_appendix(_executed_brief())
    (tmp_path / "00_leadership_brief.html").write_text(notebook_to_html(main, "Brief").replace(
        "</main>", '<a href="01_data_quality.html#x">quality</a> '
                   '<a href="https://example.org/">site</a></main>'))
    (tmp_path / METHODS).write_text(notebook_to_html(
        back_link(appendix, "00_leadership_brief.html", "Brief"), "Methods appendix"))
    copy = pdf.print_copy(tmp_path, "00_leadership_brief.html", METHODS)
    assert copy.count("<body") == 1 and copy.count("</html>") == 1
    assert copy.index("MAIN FINDING 42") < copy.index(
        f'<section id="{pdf.METHODS_ANCHOR}" style="break-before: page">') < copy.index(
        "APPENDIX TEXT")
    assert f'href="#{pdf.METHODS_ANCHOR}"' in copy and f'href="{METHODS}"' not in copy
    assert "<a>quality</a>" in copy and '<a href="https://example.org/">site</a>' in copy
    assert ".salesnb-back { display: none; }</style></head>" in copy
    assert '<p class="salesnb-back">Back to <a>Brief</a>.</p>' in copy, "kept by the sanitiser"
    alone = pdf.print_copy(tmp_path, "00_leadership_brief.html")
    assert "APPENDIX TEXT" not in alone and pdf.METHODS_ANCHOR not in alone
    assert f'href="{METHODS}"' not in alone, "a link to a page not in the PDF loses its target"


def _fake_browser(folder: Path, script: str) -> str:
    path = folder / "chromium"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_a_browser_that_hangs_or_prints_nothing_leaves_no_pdf(tmp_path):
    page = tmp_path / "00_leadership_brief.html"
    page.write_text("<html><body>x</body></html>")
    target = tmp_path / "00_leadership_brief.pdf"
    hangs = _fake_browser(tmp_path, "sleep 30")
    assert pdf.print_pdf(page, target, hangs, timeout=1) == "Chromium took longer than 1 s"
    silent = _fake_browser(tmp_path, "exit 0")
    assert "could not print" in (pdf.print_pdf(page, target, silent) or "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "00_leadership_brief.html", "chromium"], "no PDF, no temporary file"


# ---------------------------------------------------------------------------------------------
# A tiny real run: a fixture brief, with and without Chromium
# ---------------------------------------------------------------------------------------------

BRIEF_SOURCE = f"""\
from IPython.display import display
display({{"{HEADLINE_MIME}": {{"segment": str(segment), "currency": currency,
          "blended_cac": 4859.0, "style_answer": "Collaborative leaders are cheaper.",
          "budget_move": None}}}}, raw=True)
print("MAIN FINDING 42")
"""


def _brief_notebook(folder: Path) -> Path:
    parameters = new_code_cell('data = None\nmapping = None\nsegment_by = None\nsegment = None\n'
                               'currency = "USD"')
    parameters.metadata["tags"] = ["parameters"]
    notebook = new_notebook(cells=[
        new_markdown_cell(f"# Leadership brief\n\nHow: [methods appendix]({METHODS})."),
        parameters, new_code_cell(BRIEF_SOURCE),
        _appendix(new_markdown_cell("## Methods\n\nAPPENDIX TEXT: bootstrap intervals.")),
        _appendix(new_code_cell('print("APPENDIX OUTPUT")'))])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = folder / "00_leadership_brief.ipynb"
    nbformat.write(notebook, path)
    return path


def _tiny_run(small_demo: Path, tmp_path: Path, name: str, **options) -> batch.RunResult:
    plan = batch.plan_run(small_demo, notebooks=[_brief_notebook(tmp_path)],
                          out=tmp_path / "reports", name=name, params={"currency": "EUR"})
    return batch.execute(plan, jobs=1, progress=False, **options)


@pytest.mark.slow
def test_a_tiny_run_prints_the_brief_to_pdf_inside_the_partial_folder(
        small_demo, tmp_path, monkeypatch):
    require(pdf.find_browser() is not None, "Chromium is not installed")
    printed: list[Path] = []
    real = pdf.print_pdf

    def spy(page, target, browser, timeout=pdf.PDF_TIMEOUT_S):
        printed.append(target)
        assert ".partial" in target.parent.parent.name, "PDFs are made before publishing"
        return real(page, target, browser, timeout)

    monkeypatch.setattr(pdf, "print_pdf", spy)
    result = _tiny_run(small_demo, tmp_path, "with-pdf")
    assert not result.failed and result.pdf_note is None
    folder = result.folder / "all"
    assert [p.name for p in printed] == ["00_leadership_brief.pdf"]
    document = (folder / "00_leadership_brief.pdf").read_bytes()
    assert document[:4] == b"%PDF"
    assert b".partial" not in document and b"file:" not in document, \
        "no link into the unpublished folder"
    assert sorted(p.name for p in folder.iterdir()) == [
        "00_leadership_brief.html", "00_leadership_brief.ipynb", "00_leadership_brief.pdf",
        METHODS, "manifest.json"], "no print copy or temporary file is left"
    main = (folder / "00_leadership_brief.html").read_text()
    methods = (folder / METHODS).read_text()
    assert "MAIN FINDING 42" in main and f'href="{METHODS}"' in main
    assert "APPENDIX TEXT" not in main and "APPENDIX OUTPUT" not in main
    assert "APPENDIX TEXT" in methods and "APPENDIX OUTPUT" in methods
    assert 'href="00_leadership_brief.html"' in methods, "the methods page links back"
    assert "<title>Methods appendix | All teams</title>" in methods
    assert HEADLINE_MIME not in main and "interactive output" not in main
    (notebook,) = json.loads((folder / "manifest.json").read_text())["notebooks"]
    assert notebook["methods_html"] == METHODS
    assert notebook["pdf"] == "00_leadership_brief.pdf"
    assert notebook["facts"]["currency"] == "EUR" and notebook["facts"]["budget_move"] is None
    run = json.loads((result.folder / "manifest.json").read_text())
    assert run["currency"] == "EUR" and run["pdf_note"] is None
    assert run["segments"][0]["facts"]["blended_cac"] == 4859.0
    index = result.index.read_text()
    assert "Start here" in index and 'href="all/00_leadership_brief.pdf"' in index
    assert f'href="all/{METHODS}"' in index and "Cost per customer (EUR)" in index
    assert "Collaborative leaders are cheaper." in index and "PDF: not made" not in index


def _path_without_browsers(folder: Path) -> str:
    """A PATH of one folder linking every program on PATH except the Chromium browsers."""
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name not in pdf.BROWSERS and not target.exists():
                target.symlink_to(entry.path)
    return str(folder)


@pytest.mark.slow
def test_without_chromium_on_path_the_run_succeeds_and_says_pdf_not_made(
        small_demo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", _path_without_browsers(tmp_path / "bin"))
    assert pdf.find_browser() is None
    result = _tiny_run(small_demo, tmp_path, "no-pdf")
    assert not result.failed and result.pdf_note == pdf.NO_BROWSER
    assert not list(result.folder.rglob("*.pdf"))
    assert result.summary().splitlines()[-1] == "PDF: not made, no Chromium on this machine"
    index = result.index.read_text()
    assert "PDF: not made, no Chromium on this machine" in index
    assert (result.folder / "all" / METHODS).is_file(), "the methods page is made regardless"
    assert json.loads((result.folder / "manifest.json").read_text())["pdf_note"] == \
        pdf.NO_BROWSER
