"""Executed notebook -> standalone leadership HTML: no code, no prompts, nothing from the network.

nbconvert's ``lab`` template is used for its styling, with every block that
loads scripts from a CDN (require.js, MathJax, Mermaid, widgets) emptied, so
the page opens offline, from a file or an e-mail attachment, without console
errors. Images stay embedded (matplotlib's PNG outputs are base64 data URIs).
For readers without code, the export also drops

- every cell's input (code), so ``remove_input`` tags need nothing more;
- cells tagged ``remove`` (whole cell) and outputs of cells tagged ``remove_output``;
- stderr streams (warnings, logging), raw cells and the papermill parameter cells;
- tracebacks: an error output becomes one plain line "ErrorName: message";
- every output type outside :data:`ALLOWED_MIME_TYPES` (``application/javascript``,
  widget and plotly/vega JSON, ...), and HTML or SVG with active content
  (``<script>``, ``<iframe>``, ``on...=`` handlers, ``javascript:`` links): an
  output left with nothing to show becomes a one-line note pointing to the
  notebook. ``<script>`` blocks in markdown cells are removed.

The executed ``.ipynb`` beside the HTML keeps all of it for analysts.
"""

from __future__ import annotations

import copy
import re

import nbformat

TEMPLATE_NAME = "leadership.html.j2"
"""In ``templates/``: nbconvert's ``lab`` template without its CDN scripts."""
REMOVE_CELL_TAGS = {"remove", "remove_cell", "remove-cell", "parameters", "injected-parameters",
                    "papermill-error-cell-tag"}
REMOVE_OUTPUT_TAGS = {"remove_output", "remove-output"}
ALLOWED_MIME_TYPES = ("text/markdown", "text/plain", "text/html", "image/png", "image/jpeg",
                      "image/svg+xml")
"""Output data kept in a leadership page (HTML and SVG only without active content)."""
ACTIVE_CONTENT = re.compile(
    r"<\s*(?:script|iframe|object|embed)\b|<[^>]*\son[a-z]+\s*=|javascript:", re.IGNORECASE)
SCRIPT_BLOCK = re.compile(r"<script\b.*?(?:</script\s*>|$)", re.IGNORECASE | re.DOTALL)

def notebook_to_html(notebook: nbformat.NotebookNode, title: str, subtitle: str = "") -> str:
    """Render an executed notebook as a self-contained HTML page without code.

    Parameters
    ----------
    notebook
        The executed notebook (not modified).
    title
        The page title (``<title>`` and a heading line).
    subtitle
        One line under the title, e.g. the segment and the data fingerprint.

    Returns
    -------
    str
        The HTML document.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab", template_file=TEMPLATE_NAME, extra_loaders=[_template_loader()],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True)
    cleaned = _for_leadership(notebook)
    if _has_error(notebook):
        cleaned.cells.insert(0, nbformat.v4.new_markdown_cell(
            str(_parts().incomplete())))
    if subtitle:
        cleaned.cells.insert(0, nbformat.v4.new_markdown_cell(
            str(_parts().subtitle(subtitle))))
    body, _ = exporter.from_notebook_node(cleaned, resources={"metadata": {"name": title}})
    return body


def _parts():
    """The macros of ``templates/parts.html.j2`` (subtitle, incomplete, step_failed, omitted)."""
    from salesnb.batch.index import environment

    return environment().get_template("parts.html.j2").module


def _template_loader():
    import jinja2

    from salesnb.batch.index import TEMPLATES_DIR

    return jinja2.FileSystemLoader(TEMPLATES_DIR)


def _for_leadership(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook with code-only material removed (see the module docstring)."""
    nb = copy.deepcopy(notebook)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_CELL_TAGS or cell.cell_type == "raw":
            continue
        if cell.cell_type == "markdown" and "<script" in cell.source.lower():
            cell.source = SCRIPT_BLOCK.sub("", cell.source)
        if cell.cell_type == "code":
            if tags & REMOVE_OUTPUT_TAGS:
                cell.outputs = []
            cell.outputs = [_allowed(_plain(out)) for out in cell.get("outputs", [])
                            if _shown(out)]
            if not cell.outputs:
                continue  # a code cell without output would only leave an empty box
        cells.append(cell)
    nb.cells = cells
    return nb


def _has_error(notebook: nbformat.NotebookNode) -> bool:
    return any(out.get("output_type") == "error"
               for cell in notebook.cells for out in cell.get("outputs", []))


def _shown(output: nbformat.NotebookNode) -> bool:
    return not (output.get("output_type") == "stream" and output.get("name") == "stderr")


def _allowed(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A rich output with only the allowed, inactive MIME types (or a note if none is left)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output
    data = output.get("data", {})
    kept = {mime: value for mime, value in data.items()
            if mime in ALLOWED_MIME_TYPES and not _active(mime, value)}
    rich = set(data) - {"text/plain"}
    if rich and not (set(kept) - {"text/plain"}):  # e.g. plotly: its text/plain is a repr
        kept = {"text/html": str(_parts().omitted())}
    output.data = kept
    return output


def _active(mime: str, value: object) -> bool:
    if mime not in ("text/html", "image/svg+xml"):
        return False
    text = "".join(value) if isinstance(value, list) else str(value)
    return bool(ACTIVE_CONTENT.search(text))


def _plain(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """An error output as one readable line instead of a coloured traceback."""
    if output.get("output_type") != "error":
        return output
    line = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    return nbformat.v4.new_output(
        "display_data",
        data={"text/html": str(_parts().step_failed(line)), "text/plain": line})
