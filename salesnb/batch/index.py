"""The run-level ``index.html``: every segment, its headline figures, links, failures marked.

From the top: "Start here" (each segment's leadership brief, its methods page and PDF), the
headline findings of every segment side by side (the facts the brief displayed, see
:mod:`salesnb.batch.headlines`), then every segment's figures and pages. Money columns name
the run's currency; a failure is told in plain words (:func:`plain_failure`: what did not
finish and why in one line, no exception names, no tracebacks; the manifest and the executed
notebook keep the technical record).

Rendered from the run's ``manifest.json`` data alone (Jinja2, ``templates/index.html.j2``,
autoescaped), so a finished run's index can be rendered again from its folder
(:func:`rerender_index`). Self-contained: inline CSS, no script, nothing from the network,
so it opens from a file share or an e-mail attachment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from salesnb.errors import SalesnbError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
BRIEF = "00_leadership_brief"
"""The notebook a reader starts with (the index links it first)."""
PAGE_NAMES = {BRIEF: "leadership brief", "01_data_quality": "data quality page",
              "02_cac_overview": "cost per customer overview", "03_tactics": "tactics page",
              "04_leadership": "leadership page", "05_drivers_model": "drivers model page",
              "06_response_curves_budget": "response curves and budget page",
              "07_marketing_mix": "marketing-mix page"}
"""How the index names a notebook in a sentence (others: their name without the number)."""
PLAIN_REASONS = {"KeyError": "something it looks up is missing",
                 "ZeroDivisionError": "a division by zero",
                 "MemoryError": "it ran out of memory",
                 "CellTimeout": "it ran longer than the time limit"}
"""The reason given for an error whose message alone says too little."""
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning|"
                               r"Exit|Interrupt|Timeout|Pool)\s*:\s*")


def environment():
    """The Jinja2 environment of salesnb's HTML pages (templates/, autoescaping on)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def index_html(run: dict[str, Any]) -> str:
    """Render the run's index page from its manifest.

    Parameters
    ----------
    run
        The run manifest as written to ``manifest.json`` (``run``, ``created``,
        ``duration_s``, ``input``, ``git``, ``segments`` with their ``results``); values
        must already be masked.

    Returns
    -------
    str
        A complete HTML document.
    """
    results = [r for segment in run["segments"] for r in segment["results"]]
    failed = sum(r["status"] != "ok" for r in results)
    verdict = (f"{failed} of {len(results)} notebooks FAILED" if failed
               else f"all {len(results)} notebooks ok")
    revision = (run.get("git") or {}).get("revision")
    segments = run["segments"]
    briefs = [(s, _brief(s)) for s in segments]
    has_briefs = any(brief is not None for _, brief in briefs)
    return environment().get_template("index.html.j2").render(
        run=run, status="failed" if failed else "ok", verdict=verdict, revision=revision,
        currency=run.get("currency") or "USD", briefs=briefs if has_briefs else [],
        compare=has_briefs or any(s.get("facts") for s in segments),
        pdf_note=run.get("pdf_note"), plain_failure=plain_failure, plain_line=plain_line,
        money=_money, link_name=link_name)


def plain_failure(result: dict[str, Any], segment: dict[str, Any]) -> str:
    """A failed notebook of a segment in plain words, for readers of the index.

    Parameters
    ----------
    result
        The notebook's entry in the run manifest (``notebook``, ``error``).
    segment
        Its segment's entry (``results``: the other notebooks).

    Returns
    -------
    str
        E.g. "The leadership brief did not finish: no spend in the period. The other pages
        of this segment are fine."; no exception name, one line of the message.
    """
    error = result.get("error") or {}
    reason = plain_line(error.get("message") or "")
    known = PLAIN_REASONS.get(str(error.get("name")))
    if known and not reason:
        reason = known
    elif known and error.get("name") == "KeyError":
        reason = f"{known} ({reason})"
    sentence = (f"The {page_name(result['notebook'])} did not finish: "
                f"{reason or 'it stopped with an error'}")
    sentence += "" if sentence.endswith((".", "!", "?")) else "."
    others = [r for r in segment.get("results", []) if r is not result]
    failed = sum(r.get("status") != "ok" for r in others)
    if others and not failed:
        sentence += " The other pages of this segment are fine."
    elif failed:
        sentence += (f" {failed} other page{'s' if failed > 1 else ''} of this segment "
                     "did not finish either.")
    return sentence


def plain_line(text: str) -> str:
    """The first line of ``text`` without a leading exception name (``ValueError: ``)."""
    lines = (text or "").strip().splitlines()
    return _EXCEPTION_PREFIX.sub("", lines[0].strip()) if lines else ""


def page_name(notebook: str) -> str:
    """How a sentence names a notebook: "leadership brief", "tactics page"."""
    if notebook in PAGE_NAMES:
        return PAGE_NAMES[notebook]
    name = notebook[3:] if notebook[:2].isdigit() and notebook[2:3] == "_" else notebook
    return f"{name.replace('_', ' ')} page"


def link_name(notebook: str) -> str:
    """How the index's links name a notebook: "Leadership brief", "Tactics"."""
    name = page_name(notebook).removesuffix(" page")
    return name[:1].upper() + name[1:]


def _brief(segment: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in segment.get("results", []) if r.get("notebook") == BRIEF), None)


def _money(value: Any) -> str:
    """A money amount for a table cell ("4,859"), "-" when missing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    return f"{value:,.0f}"


def rerender_index(run_folder: str | Path) -> Path:
    """Render ``index.html`` of a finished run again from its ``manifest.json``.

    Parameters
    ----------
    run_folder
        A published run folder (``reports/<name>``).

    Returns
    -------
    Path
        The index written.

    Raises
    ------
    SalesnbError
        The folder has no readable ``manifest.json``.
    """
    folder = Path(run_folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SalesnbError(f"cannot read {folder / 'manifest.json'}: {exc}\n    hint: give "
                           "the folder of a finished run (reports/<name>).") from None
    target = folder / "index.html"
    target.write_text(index_html(manifest), encoding="utf-8")
    return target
