"""A notebook's methods appendix as a page of its own.

Cells tagged :data:`APPENDIX_TAG` (the how and why: methods, assumptions, definitions) are
left out of a notebook's leadership page and published as ``<stem>_methods.html`` beside it
(:func:`methods_page`), which opens with a link back to the page. A notebook links to it
with a relative markdown link, e.g. ``[methods appendix](00_leadership_brief_methods.html)``
(the sanitiser keeps links to sibling pages, see :mod:`salesnb.batch.html`).
"""

from __future__ import annotations

import copy
from typing import Any

APPENDIX_TAG = "appendix"
METHODS_TITLE = "Methods appendix"
METHODS_SUFFIX = "_methods"
BACK_LINK_CLASS = "salesnb-back"
"""The class of the methods page's link back (left out of the brief's PDF)."""


def split_appendix(notebook: Any) -> tuple[Any, Any | None]:
    """The notebook without its appendix cells, and the appendix as a notebook of its own.

    Parameters
    ----------
    notebook
        An executed notebook (``nbformat`` node; not modified).

    Returns
    -------
    tuple
        ``(main, appendix)``: copies with the same metadata; ``appendix`` holds the cells
        tagged :data:`APPENDIX_TAG` in their order, and is None when there are none (then
        ``main`` is the notebook itself, not a copy).
    """
    tagged = [_is_appendix(cell) for cell in notebook.cells]
    if not any(tagged):
        return notebook, None
    main, appendix = copy.deepcopy(notebook), copy.deepcopy(notebook)
    main.cells = [c for c, t in zip(main.cells, tagged, strict=True) if not t]
    appendix.cells = [c for c, t in zip(appendix.cells, tagged, strict=True) if t]
    return main, appendix


def methods_page(stem: str) -> str:
    """The file name of a notebook's methods page: ``00_leadership_brief_methods.html``."""
    return f"{stem}{METHODS_SUFFIX}.html"


def back_link(appendix: Any, page: str, title: str) -> Any:
    """The appendix notebook with a first line linking back to ``page`` (modified in place).

    Parameters
    ----------
    appendix
        From :func:`split_appendix`.
    page
        The main page's file name (a sibling in the same folder).
    title
        How the main page is named in the link text.

    Returns
    -------
    nbformat.NotebookNode
        ``appendix``.
    """
    import html

    import nbformat

    appendix.cells.insert(0, nbformat.v4.new_markdown_cell(
        f'<p class="{BACK_LINK_CLASS}">Back to <a href="{html.escape(page)}">'
        f"{html.escape(title)}</a>.</p>"))
    return appendix


def _is_appendix(cell: Any) -> bool:
    return APPENDIX_TAG in cell.get("metadata", {}).get("tags", [])
