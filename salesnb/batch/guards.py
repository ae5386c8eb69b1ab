"""The row-level guard: a leadership page that shows deal, customer, lead, rep or leader ids
(or rep and leader names) is withheld.

The guard reads a page as a reader sees it (:func:`visible_text`: tags and images removed,
entities such as ``&amp;`` decoded, whitespace collapsed) and looks for every checked id
(:func:`checked_ids`) as a whole word, in one pass over the page (:class:`IdIndex`):

- an id made of word characters only (letters, digits, ``_`` and ``-``: ``D000123``,
  ``CUST-0042``) is one *token*; the page's tokens are put in a set and intersected with
  the set of such ids;
- every other id (``A&B Ltd``, ``a.b-17``, ``Anna Smith``, ``R<7>``) is a short sequence
  of word runs and the punctuation between them; these sequences go into one Aho-Corasick
  automaton whose alphabet is the *runs* of the text, so the page's runs are read once.

Both passes take time linear in the size of the page plus the number of matches, and
building the index takes time linear in the total length of the ids; nothing is done per id
and per page. ``benchmarks/guard_bench.py`` measures it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from typing import Any

from salesnb.batch.plan import RunPlan
from salesnb.batch.worker import NotebookResult, record_failure

ID_COLUMNS = (("deals", "deal_id"), ("deals", "customer_id"), ("deals", "rep_id"),
              ("deals", "lead_id"), ("leads", "lead_id"), ("leads", "rep_id"),
              ("leads", "deal_id"), ("reps", "rep_id"), ("teams", "leader_id"),
              ("leaders", "leader_id"), ("style_changes", "leader_id"), ("touches", "deal_id"))
"""Row-level identifiers that must never appear in a leadership HTML."""
NAME_TABLES = ("leaders", "reps", "deals", "leads")
"""Tables whose name-like columns (:data:`NAME_COLUMN`) are checked like ids."""
NAME_COLUMN = re.compile(
    r"(?:(?:rep|leader|owner|manager|customer|account|contact|person|employee|full|first"
    r"|last|display)_?)?name")
"""Column names holding people's or customers' names (``name``, ``rep_name``, ``full_name``);
``title`` (a leader's job title) and team names are groupings, not identities."""
MIN_NUMERIC_ID = 6
"""Ids without a letter are checked only from this many characters (see ``checked_ids``)."""
SEGMENT_COLUMNS_CHECKED = ("leader_id",)
"""Segment columns whose value is an id: a page made for that segment may show its own id."""

_RUNS = re.compile(r"[\w-]+|[^\w-]+")
_WORD = re.compile(r"[\w-]+")
_FLOAT_ID = re.compile(r"-?\d+\.0+")
_LETTER = re.compile(r"[^\W\d_]")
_INLINE_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "ins", "kbd", "mark", "nobr", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
    "time", "tt", "u", "var", "wbr"})
"""Tags a browser renders inside the running text: no word break where they open or close."""
_HIDDEN_TAGS = frozenset({"script", "style", "template"})
_TEXT_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")


def checked_ids(values: Iterable[Any]) -> set[str]:
    """The ids worth looking for in a page: those with a letter or >= MIN_NUMERIC_ID chars.

    Values are normalised as a page shows them: stripped, inner whitespace collapsed to one
    space, Unicode in NFC form; float-looking ids (``12345678.0``, from a column read as
    float) become ``12345678``.

    Ids without a letter and shorter than :data:`MIN_NUMERIC_ID` characters (``12``,
    ``2024``, ``31337``) are NOT checked: every report shows such numbers as counts, years,
    page numbers and amounts, so a 5-digit deal id would match some figure on nearly every
    page and withhold it. The price: short numeric ids are not guarded. Ids without any
    word character (``---``) cannot stand as a word and are skipped too.
    """
    ids = set()
    for value in values:
        text = unicodedata.normalize("NFC", " ".join(str(value).split()))
        if _FLOAT_ID.fullmatch(text):
            text = text.split(".")[0]
        if text and _WORD.search(text) and (_LETTER.search(text)
                                             or len(text) >= MIN_NUMERIC_ID):
            ids.add(text)
    return ids


class _TextExtractor(HTMLParser):
    """Collects the text of a page a reader sees (see :func:`visible_text`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        if tag not in _INLINE_TAGS:
            self.parts.append(" ")
        shown = [value for name, value in attrs if name in _TEXT_ATTRIBUTES and value]
        if shown and not self.hidden:  # alt text and tooltips are read too, as words apart
            self.parts.append(" " + " ".join(shown) + " ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:  # <script/> opens nothing
            self.parts.append(" ")
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS and self.hidden:
            self.hidden -= 1
        if tag not in _INLINE_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The text of an HTML page as a reader sees it.

    Tags are removed (with a word break at block-level tags such as ``<td>``, ``<p>`` and
    ``<br>``, none at inline ones such as ``<b>`` or ``<span>``), so are the contents of
    ``<script>`` and ``<style>`` and every attribute (base64 images included) except the
    ``alt``, ``title`` and ``aria-label`` texts; entities are decoded (``&amp;`` -> ``&``),
    whitespace is collapsed to single spaces and Unicode put in NFC form.
    """
    parser = _TextExtractor()
    parser.feed(page)
    parser.close()
    return unicodedata.normalize("NFC", " ".join("".join(parser.parts).split()))


class IdIndex:
    r"""Every checked id, indexed once, to find those a page shows in one pass.

    Parameters
    ----------
    ids
        Normalised ids, e.g. from :func:`checked_ids` (a whole word of the text each).

    Notes
    -----
    Text and ids are split into *runs*: maximal runs of word characters (``[\w-]+``) and
    of other characters. An id stands as a whole word where its runs equal consecutive runs
    of the text, except that punctuation it begins (ends) with may be the end (start) of a
    longer punctuation run of the text. Ids of one word run are looked up in a set of the
    text's words; the others' word-to-word parts (their *cores*) form an Aho-Corasick
    automaton over runs, and the punctuation around each core found is compared then.
    Building takes O(total length of the ids); :meth:`shown` takes O(page + matches).
    """

    def __init__(self, ids: Iterable[str]) -> None:
        self.words: set[str] = set()
        self._goto: list[dict[str, int]] = [{}]
        self._out: dict[int, list[tuple[str, str, str, int]]] = {}
        for value in ids:
            if _WORD.fullmatch(value):
                self.words.add(value)
            else:
                self._add(value)
        self._fail, self._link = self._links()

    def __len__(self) -> int:
        return len(self.words) + sum(len(out) for out in self._out.values())

    def _add(self, value: str) -> None:
        runs = _RUNS.findall(value)
        first = 0 if _WORD.match(runs[0]) else 1
        last = len(runs) - 1 if _WORD.match(runs[-1]) else len(runs) - 2
        if last < first:
            return  # no word character at all: it cannot stand as a word
        goto, node = self._goto, 0
        for run in runs[first:last + 1]:
            child = goto[node].get(run)
            if child is None:
                child = goto[node][run] = len(goto)
                goto.append({})
            node = child
        self._out.setdefault(node, []).append(
            (value, runs[0] if first else "", runs[-1] if last < len(runs) - 1 else "",
             last - first + 1))

    def _links(self) -> tuple[list[int], list[int]]:
        """Failure links (breadth first) and output links to the nearest node with ids."""
        goto, out = self._goto, self._out
        fail, link = [0] * len(goto), [0] * len(goto)
        queue = list(goto[0].values())
        for node in queue:
            for run, child in goto[node].items():
                fall = fail[node]
                while fall and run not in goto[fall]:
                    fall = fail[fall]
                target = fail[child] = goto[fall].get(run, 0)
                link[child] = target if target in out else link[target]
                queue.append(child)
        return fail, link

    def shown(self, text: str) -> set[str]:
        """The ids that stand as whole words in ``text`` (from :func:`visible_text`)."""
        runs = _RUNS.findall(text)
        found = self.words.intersection(runs)
        if len(self._goto) == 1:
            return found
        goto, fail, out, link = self._goto, self._fail, self._out, self._link
        node, last = 0, len(runs) - 1
        for end, run in enumerate(runs):
            while node and run not in goto[node]:
                node = fail[node]
            node = goto[node].get(run, 0)
            match = node if node in out else link[node]
            while match:
                for value, lead, trail, size in out[match]:
                    start = end - size + 1
                    if _fits(runs, start - 1, lead, 0, str.endswith) and \
                            _fits(runs, end + 1, trail, last, str.startswith):
                        found.add(value)
                match = link[match]
        return found


def _fits(runs: list[str], index: int, part: str, edge: int,
          compare: Callable[[str, str], bool]) -> bool:
    """Whether the punctuation ``part`` of an id fits the text run at ``index``: the run
    begins (ends) with it, and is longer or is the text's first (last) run.
    """
    if not part:
        return True
    if index < 0 or index >= len(runs) or not compare(runs[index], part):
        return False
    return len(runs[index]) > len(part) or index == edge


def ids_shown(page: str, ids: set[str] | IdIndex) -> list[str]:
    """The ``ids`` that stand as whole words in the visible text of ``page``, sorted.

    A heuristic guard, not a proof: an id must appear exactly (after HTML unescaping and
    whitespace collapsing), delimited by characters other than letters, digits, ``_`` and
    ``-``; an id formatted differently (``1,234,567``) or inside an image is not found,
    and a long number that is also a figure is reported.

    Parameters
    ----------
    page
        An HTML page.
    ids
        Normalised ids (:func:`checked_ids`), or an :class:`IdIndex` of them (build it once
        to check many pages).

    Returns
    -------
    list of str
        The ids found.
    """
    index = ids if isinstance(ids, IdIndex) else IdIndex(ids)
    return sorted(index.shown(visible_text(page)))


def dataset_ids(dataset: Any) -> set[str]:
    """Every checked id and name of a dataset (:data:`ID_COLUMNS`, :data:`NAME_COLUMN`).

    Of a dataset whose row-level tables stay in the engine
    (:class:`salesnb.engine.engine_dataset.EngineDataset`), the ids of the tables in memory:
    reps, leaders and teams, not the millions of deal and customer ids.
    """
    columns = [pair for pair in ID_COLUMNS if pair[0] in dataset.tables]
    columns += [(table, str(column)) for table in NAME_TABLES if table in dataset.tables
                for column in dataset.tables[table].columns
                if NAME_COLUMN.fullmatch(str(column))]
    ids: set[str] = set()
    for table, column in columns:
        if column in dataset.tables[table]:
            ids |= checked_ids(dataset.tables[table][column].dropna().unique())
    return ids


def flag_row_level_ids(plan: RunPlan, results: list[NotebookResult]) -> None:
    """Fail (and unpublish) any leadership HTML that shows row-level ids or names.

    A heuristic guard (see :func:`checked_ids` and :class:`IdIndex`), meant to catch a
    notebook that prints a table of deals, not to prove a page clean. A page made for one
    leader (``--by leader``) may show that leader's own id.
    """
    pages = [(r, field) for r in results for field in ("html", "methods_html")
             if getattr(r, field)]
    if not pages:
        return
    index = IdIndex(dataset_ids(plan.dataset))
    own = {s.folder: checked_ids([s.value]) for s in plan.segments
           if s.by in SEGMENT_COLUMNS_CHECKED}
    for result, field in pages:
        page = plan.partial_folder / result.segment / str(getattr(result, field))
        shown = sorted(index.shown(visible_text(page.read_text("utf-8")))
                       - own.get(result.segment, set()))
        if shown:
            page.unlink()
            setattr(result, field, None)
            which = "methods page" if field == "methods_html" else "leadership HTML"
            if result.ok:
                record_failure(result, "RowLevelDataError",
                               f"the {which} shows row-level ids or names (e.g. "
                               f"{', '.join(shown[:3])}); show aggregates only", plan.secrets)
