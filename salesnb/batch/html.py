"""Executed notebook -> standalone leadership HTML: no code, no prompts, no active content,
nothing from the network.

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
  widget and plotly/vega JSON, ...); an SVG beside a PNG or JPEG of the same figure;
  HTML outputs built on :data:`INTERACTIVE_TAGS` (``<script>``, ``<iframe>``: a plotly or
  bokeh figure is an empty box without them). An output left with nothing to show becomes
  a one-line note pointing to the notebook;
- headline facts for the run index (:data:`salesnb.batch.headlines.HEADLINE_MIME`),
  silently.

Everything left that can carry markup is sanitised by nbconvert's own sanitiser,
:class:`nbconvert.preprocessors.sanitize.SanitizeHTML` (bleach), with salesnb's allow-lists:
markdown cells and ``text/markdown`` outputs *after* they are rendered to HTML (sanitising markdown
source would break quotes and code spans), ``text/html`` outputs and ``image/svg+xml``
outputs (which the page also shows as ``<img>``, where an SVG cannot run anything). Kept:
text, headings, lists, tables (pandas and Styler tables, their ids and classes, salesnb's
``salesnb-*`` classes), images with ``data:image/`` sources, links to ``http(s):``,
``mailto:``, ``#anchors`` and sibling pages (a bare file name ``page.html`` or
``page.html#part``, :data:`SIBLING_PAGE`: no folder, no scheme), inline styles of
:data:`CSS_PROPERTIES` without functions (no ``url()``, no ``expression()``). Removed:
every other tag (its text stays, except that of ``<script>``, ``<style>`` and the like,
removed whole), every ``on...`` handler and every other attribute, comments.

The executed ``.ipynb`` beside the HTML keeps all of it for analysts.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import nbformat

from salesnb.batch.headlines import HEADLINE_MIME, is_headline_only

TEMPLATE_NAME = "leadership.html.j2"
"""In ``templates/``: nbconvert's ``lab`` template without its CDN scripts."""
REMOVE_CELL_TAGS = {"remove", "remove_cell", "remove-cell", "parameters", "injected-parameters",
                    "papermill-error-cell-tag"}
REMOVE_OUTPUT_TAGS = {"remove_output", "remove-output"}
ALLOWED_MIME_TYPES = ("text/markdown", "text/plain", "text/html", "image/png", "image/jpeg",
                      "image/svg+xml")
"""Output data kept in a leadership page (markup only sanitised)."""
INTERACTIVE_TAGS = frozenset({"script", "iframe", "object", "embed", "applet", "frame"})
"""An HTML output using one of these is interactive or embedded: replaced by a note."""
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "applet", "frame", "frameset", "noembed",
    "noframes", "noscript", "template", "title", "head", "xmp", "math", "foreignObject",
    "foreignobject"})
"""Elements removed with everything inside them (their text is code or fallback)."""
HTML_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr"})
"""Tags kept in markdown and HTML output (text, tables, images, links)."""
SVG_TAGS = frozenset({
    "svg", "g", "defs", "symbol", "use", "path", "rect", "circle", "ellipse", "line",
    "polyline", "polygon", "text", "tspan", "textPath", "clipPath", "mask", "marker",
    "pattern", "linearGradient", "radialGradient", "stop", "desc", "image"})
"""Tags kept in ``image/svg+xml`` outputs (no animation, no scripts, no foreign objects)."""
GLOBAL_ATTRIBUTES = frozenset({"class", "id", "title", "lang", "dir", "style", "role",
                               "aria-label", "aria-hidden"})
TAG_ATTRIBUTES = {
    "a": {"href", "name"}, "img": {"src", "alt", "width", "height"}, "ol": {"start", "type"},
    "td": {"colspan", "rowspan", "headers", "align", "valign"},
    "th": {"colspan", "rowspan", "headers", "scope", "align", "valign"},
    "table": {"border", "summary"}, "col": {"span", "width"}, "colgroup": {"span", "width"},
    "time": {"datetime"}, "details": {"open"}}
SVG_ATTRIBUTES = frozenset({
    "xmlns", "version", "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx",
    "cy", "r", "rx", "ry", "d", "points", "transform", "fill", "fill-opacity", "fill-rule",
    "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-dasharray",
    "stroke-dashoffset", "stroke-opacity", "stroke-miterlimit", "opacity", "clip-path",
    "clip-rule", "clipPathUnits", "mask", "marker-start", "marker-mid", "marker-end",
    "preserveAspectRatio", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "dx", "dy", "offset", "stop-color", "stop-opacity",
    "gradientUnits", "gradientTransform", "patternUnits", "patternTransform", "markerWidth",
    "markerHeight", "refX", "refY", "orient", "href", "xlink:href", "style", "class", "id"})
CSS_PROPERTIES = frozenset({
    "text-align", "vertical-align", "white-space", "font-weight", "font-style", "font-size",
    "color", "background-color", "border-collapse", "width", "height", "text-decoration",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-linecap", "stroke-linejoin",
    "stroke-opacity", "stroke-width", "opacity"})
"""Inline style properties kept (values with functions such as ``url()`` are dropped)."""
LINK_SCHEMES = ("http:", "https:", "mailto:")
SIBLING_PAGE = re.compile(r"^[A-Za-z0-9_.-]+\.html(#[A-Za-z0-9_-]+)?$")
"""A relative link kept: a page in the same folder (``00_leadership_brief_methods.html``)."""
IMAGE_SOURCE = "data:image/"

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
    exporter = _exporter_class()(
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


def sanitize_html(markup: str, svg: bool = False) -> str:
    """``markup`` with every active or unknown element and attribute removed (bleach).

    Parameters
    ----------
    markup
        An HTML fragment (rendered markdown, a ``text/html`` output) or, with ``svg``, an
        SVG document.
    svg
        Use the SVG allow-lists (:data:`SVG_TAGS`, :data:`SVG_ATTRIBUTES`).

    Returns
    -------
    str
        The fragment with only the allowed tags and attributes (see the module docstring).
    """
    return _sanitizer().sanitize_svg(markup) if svg else _sanitizer().sanitize_html_tags(markup)


@lru_cache(maxsize=1)
def _sanitizer() -> Any:
    """The SanitizeHTML of nbconvert with salesnb's allow-lists, CSS and content removal."""
    import bleach
    from bleach.css_sanitizer import CSSSanitizer
    from bleach.html5lib_shim import Filter
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    class NoFunctionsCSS(CSSSanitizer):
        """bleach's CSS sanitizer, also dropping declarations whose value has a function."""

        def sanitize_css(self, style: str) -> str:
            import tinycss2

            kept = []
            for item in tinycss2.parse_declaration_list(style, skip_comments=True,
                                                         skip_whitespace=True):
                if (item.type == "declaration" and item.lower_name in CSS_PROPERTIES
                        and not _has_function(item.value)):
                    kept.append(f"{item.lower_name}: {tinycss2.serialize(item.value).strip()}")
            return "; ".join(kept)

    class DropContent(Filter):
        """Drops the elements of :data:`DROPPED_WITH_CONTENT` with everything inside."""

        def __iter__(self):
            depth = 0
            for token in super().__iter__():
                name = token.get("name")
                if token["type"] in ("StartTag", "EndTag", "EmptyTag") and \
                        name in DROPPED_WITH_CONTENT:
                    depth += {"StartTag": 1, "EndTag": -1}.get(token["type"], 0)
                    depth = max(depth, 0)
                elif not depth:
                    yield token

    css = NoFunctionsCSS()
    # the dropped elements must pass bleach's allow-list to reach DropContent whole
    html_cleaner = bleach.Cleaner(
        tags=HTML_TAGS | DROPPED_WITH_CONTENT, attributes=_html_attribute, strip=True,
        strip_comments=True, protocols={"http", "https", "mailto", "data"},
        css_sanitizer=css, filters=[DropContent])
    svg_cleaner = bleach.Cleaner(
        tags=SVG_TAGS | DROPPED_WITH_CONTENT, attributes=_svg_attribute, strip=True,
        strip_comments=True, protocols={"data"}, css_sanitizer=css, filters=[DropContent])

    class LeadershipSanitizer(SanitizeHTML):
        """SanitizeHTML for code outputs: HTML and SVG cleaned, other data left alone."""

        def sanitize_html_tags(self, html_str: str) -> str:
            return str(html_cleaner.clean(_text(html_str)))

        def sanitize_svg(self, svg_str: str) -> str:
            return str(svg_cleaner.clean(_text(svg_str)))

        def sanitize_code_outputs(self, outputs: list[Any]) -> list[Any]:
            for output in outputs:
                if "image/svg+xml" in output.get("data", {}):
                    output.data["image/svg+xml"] = self.sanitize_svg(
                        output.data["image/svg+xml"])
            return list(super().sanitize_code_outputs(outputs))

    return LeadershipSanitizer(
        safe_output_keys={"metadata", "text/plain", "image/png", "image/jpeg", "image/svg+xml",
                          "text/markdown"},  # markdown: after rendering (see markdown2html)
        sanitized_output_types={"text/html"})


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _has_function(tokens: list[Any]) -> bool:
    """Whether CSS value tokens hold a function or a URL (``url()``, ``expression()``)."""
    for token in tokens:
        if token.type in ("function", "url") or (
                token.type in ("() block", "[] block", "{} block")
                and _has_function(token.content)):
            return True
    return False


def _uri(value: str) -> str:
    """A URI as browsers read it: no whitespace or control characters, lower case."""
    return re.sub(r"[\x00-\x20\x7f-\xa0\s`]+", "", value).lower()


def _html_attribute(tag: str, name: str, value: str) -> bool:
    if name == "href":
        uri = _uri(value)
        return tag == "a" and (uri.startswith(LINK_SCHEMES) or uri.startswith("#")
                               or _sibling(value))
    if name == "src":
        return tag == "img" and _uri(value).startswith(IMAGE_SOURCE)
    return name in GLOBAL_ATTRIBUTES or name in TAG_ATTRIBUTES.get(tag, ())


def _sibling(value: str) -> bool:
    """A link to a page in the same folder: a bare ``name.html`` (``..`` is no name)."""
    name = value.strip()
    return bool(SIBLING_PAGE.match(name)) and not name.startswith("..")


def _svg_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("href", "xlink:href"):
        uri = _uri(value)
        return uri.startswith("#") or (tag == "image" and uri.startswith(IMAGE_SOURCE))
    return name in SVG_ATTRIBUTES or name.startswith("xmlns")


@lru_cache(maxsize=1)
def _exporter_class() -> Any:
    """The HTMLExporter of nbconvert, its markdown rendering sanitised (:func:`sanitize_html`).

    The ``lab`` template renders markdown cells and ``text/markdown`` outputs through the
    exporter's ``markdown2html`` filter, so sanitising its result covers both.
    """
    import jinja2
    from nbconvert import HTMLExporter

    class LeadershipExporter(HTMLExporter):
        @jinja2.pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            return sanitize_html(super().markdown2html(context, source))

    return LeadershipExporter


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
        if tags & REMOVE_CELL_TAGS or cell.cell_type not in ("markdown", "code"):
            continue
        if cell.cell_type == "code":
            if tags & REMOVE_OUTPUT_TAGS:
                cell.outputs = []
            outputs = [_allowed(_plain(out)) for out in cell.get("outputs", []) if _shown(out)]
            cell.outputs = _sanitizer().sanitize_code_outputs(outputs)
            if not cell.outputs:
                continue  # a code cell without output would only leave an empty box
        cells.append(cell)
    nb.cells = cells
    return nb


def _has_error(notebook: nbformat.NotebookNode) -> bool:
    return any(out.get("output_type") == "error"
               for cell in notebook.cells for out in cell.get("outputs", []))


def _shown(output: nbformat.NotebookNode) -> bool:
    if is_headline_only(output):  # facts for the run index, nothing to show
        return False
    return not (output.get("output_type") == "stream" and output.get("name") == "stderr")


def _allowed(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A rich output with only the allowed, non-interactive MIME types (or a note)."""
    output.pop("svg_filename", None)  # file references would load from outside the page
    output.get("metadata", {}).pop("filenames", None)
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output
    data = {mime: value for mime, value in output.get("data", {}).items()
            if mime != HEADLINE_MIME}
    kept = {mime: value for mime, value in data.items() if mime in ALLOWED_MIME_TYPES}
    if "image/svg+xml" in kept and ({"image/png", "image/jpeg"} & set(kept)):
        del kept["image/svg+xml"]  # the bitmap shows the same figure
    if "text/html" in kept and _tags(_text(kept["text/html"])) & INTERACTIVE_TAGS:
        del kept["text/html"]
    rich = set(data) - {"text/plain"}
    if rich and not (set(kept) - {"text/plain"}):  # e.g. plotly: its text/plain is a repr
        kept = {"text/html": str(_parts().omitted())}
    output.data = kept
    return output


class _TagNames(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)


def _tags(markup: str) -> set[str]:
    """The names of the elements in an HTML fragment."""
    parser = _TagNames()
    parser.feed(markup)
    parser.close()
    return parser.names


def _plain(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """An error output as one readable line instead of a coloured traceback."""
    if output.get("output_type") != "error":
        return output
    line = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    return nbformat.v4.new_output(
        "display_data",
        data={"text/html": str(_parts().step_failed(line)), "text/plain": line})
