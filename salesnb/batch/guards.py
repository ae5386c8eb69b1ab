"""The row-level guard: a leadership page that shows deal, customer or rep ids is withheld."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from salesnb.batch.plan import RunPlan
from salesnb.batch.worker import NotebookResult, record_failure

ID_COLUMNS = (("deals", "deal_id"), ("deals", "customer_id"), ("reps", "rep_id"))
"""Row-level identifiers that must never appear in a leadership HTML."""
MIN_NUMERIC_ID = 6
"""Ids without a letter are checked only from this many characters (see ``checked_ids``)."""


def checked_ids(values: Iterable[Any]) -> set[str]:
    """The ids worth looking for in a page: those with a letter or >= MIN_NUMERIC_ID chars.

    Float-looking ids (``12345678.0``, from a column read as float) are
    normalised to ``12345678``. Short numbers (``12``) are skipped: they match
    page numbers, counts and years, and would fail every report.
    """
    ids = set()
    for value in values:
        text = str(value).strip()
        if re.fullmatch(r"-?\d+\.0+", text):
            text = text.split(".")[0]
        if text and (re.search(r"[^\W\d_]", text) or len(text) >= MIN_NUMERIC_ID):
            ids.add(text)
    return ids


def ids_shown(page: str, ids: set[str]) -> list[str]:
    """The ``ids`` that stand as whole words in ``page`` (base64 images not searched).

    A heuristic guard, not a proof: an id must appear exactly, delimited by
    characters other than letters, digits, ``_`` and ``-``; an id formatted
    differently (``1,234,567``), split across cells or inside an image is not
    found, and a long number that is also a figure is reported.
    """
    text = re.sub(r"data:[\w.+\-]+/[\w.+\-]+;base64,[A-Za-z0-9+/=\n]+", " ", page)
    tokens = set(re.findall(r"[\w-]+", text))
    shown = ids & tokens
    for value in ids - tokens:
        if re.search(r"[^\w-]", value) and re.search(
                rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            shown.add(value)  # an id with other characters (a dot, a slash) cannot be a token
    return sorted(shown)


def flag_row_level_ids(plan: RunPlan, results: list[NotebookResult]) -> None:
    """Fail (and unpublish) any leadership HTML that shows deal, customer or rep ids.

    A heuristic guard (see :func:`checked_ids` and :func:`ids_shown`), meant to
    catch a notebook that prints a table of deals, not to prove a page clean.
    """
    ids: set[str] = set()
    for table, column in ID_COLUMNS:
        if table in plan.dataset and column in plan.dataset.tables[table]:
            ids |= checked_ids(plan.dataset.tables[table][column].dropna())
    for result in results:
        if not result.html:
            continue
        page = plan.partial_folder / result.segment / result.html
        shown = ids_shown(page.read_text("utf-8"), ids)
        if shown:
            page.unlink()
            result.html = None
            record_failure(result, "RowLevelDataError",
                            "the leadership HTML shows row-level ids (e.g. "
                            f"{', '.join(shown[:3])}); show aggregates only", plan.secrets)

