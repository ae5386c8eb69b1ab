"""The run-level ``index.html``: every segment, its headline figures, links, failures marked.

Rendered from the run's ``manifest.json`` data alone (Jinja2, ``templates/index.html.j2``,
autoescaped), so a finished run's index can be rendered again from its folder
(:func:`rerender_index`). Self-contained: inline CSS, no script, nothing from the network,
so it opens from a file share or an e-mail attachment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salesnb.errors import SalesnbError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


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
    return environment().get_template("index.html.j2").render(
        run=run, status="failed" if failed else "ok", verdict=verdict, revision=revision)


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
