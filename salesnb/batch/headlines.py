"""Headline facts a notebook hands to the run index, read from its executed outputs.

The leadership brief displays one output of the MIME type :data:`HEADLINE_MIME` whose data
is a JSON object of plain facts (``segment``, ``period``, ``currency``, ``blended_cac``,
``new_customers``, ``total_cost``, ``style_answer``, ``budget_move``; any may be missing or
null)::

    IPython.display.display({HEADLINE_MIME: {...}}, raw=True)

The leadership HTML drops that output silently (:func:`is_headline_only`); after the
notebook ran, :func:`headline_facts` reads it from the executed notebook into the segment's
manifest, and the index compares the segments with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADLINE_MIME = "application/vnd.salesnb.headline+json"
MAX_TEXT = 600
"""Characters kept of one text fact (a headline is a sentence, not a report)."""


def is_headline_only(output: Any) -> bool:
    """Whether a notebook output carries nothing but headline facts (shown nowhere).

    Parameters
    ----------
    output
        One output of a code cell (a mapping with ``output_type`` and ``data``).

    Returns
    -------
    bool
        True for a ``display_data``/``execute_result`` whose only data is
        :data:`HEADLINE_MIME` (a ``text/plain`` beside it counts as nothing to show).
    """
    if output.get("output_type") not in ("display_data", "execute_result"):
        return False
    mimes = set(output.get("data", {}))
    return HEADLINE_MIME in mimes and mimes <= {HEADLINE_MIME, "text/plain"}


def headline_facts(notebook: Any) -> dict[str, Any] | None:
    """The headline facts an executed notebook displayed (the last such output wins).

    Parameters
    ----------
    notebook
        An executed notebook (``nbformat`` node or the equivalent dict).

    Returns
    -------
    dict or None
        The facts: keys are text, values text (shortened to :data:`MAX_TEXT`), numbers,
        booleans or None; anything nested is left out. None when the notebook displayed no
        headline facts, or their data is not a JSON object.
    """
    found: dict[str, Any] | None = None
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.get("output_type") in ("display_data", "execute_result") and \
                    HEADLINE_MIME in data:
                facts = _facts(data[HEADLINE_MIME])
                if facts is not None:
                    found = facts
    return found


def read_headline_facts(path: str | Path) -> dict[str, Any] | None:
    """The headline facts of an executed ``.ipynb`` file (see :func:`headline_facts`).

    Parameters
    ----------
    path
        The executed notebook.

    Returns
    -------
    dict or None
        The facts, or None when the file has none or cannot be read as a notebook.
    """
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return headline_facts(notebook) if isinstance(notebook, dict) else None


def _facts(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str | list):  # JSON data stored as text
        try:
            value = json.loads("".join(value) if isinstance(value, list) else value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    facts: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, str):
            facts[str(key)] = item[:MAX_TEXT]
        elif item is None or isinstance(item, bool | int | float):
            facts[str(key)] = item
    return facts
