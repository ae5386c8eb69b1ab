"""Human labels and colours: one vocabulary for every page and chart.

Model terms (``decision_style=autocratic``, ``years10``), column names (``program_cac``) and
category values (``outbound_calls``, ``hands_on``) are code; a leader reads "autocratic
leaders", "10 more years in the industry", "program cost per customer", "outbound calls",
"hands-on". Everything shown to a reader goes through :func:`term_label`,
:func:`column_label` or :func:`value_label`.

Colours are fixed per name (:func:`colour_for`), so a style or a tactic has the same colour
on every page and in every segment, whatever else the chart shows.
"""

from __future__ import annotations

import re
import zlib

__all__ = ["COLUMN_LABELS", "STYLE_COLOURS", "TACTIC_COLOURS", "TRAIT_LABELS", "colour_for",
           "colours_for", "column_label", "term_label", "value_label"]

TRAIT_LABELS = {
    "years10": "10 more years in the industry",
    "admin10": "10 more points of time on admin",
    "training10": "10 more hours of training a year",
    "recognition": "recognises reps",
}
"""Continuous and yes/no leader traits of the models, as a leader says them."""

VALUE_LABELS = {"hands_on": "hands-on", "paid_search": "paid search",
                "outbound_calls": "outbound calls", "smb": "SMB"}

COLUMN_LABELS = {
    "program_cac": "Program cost per customer",
    "program_cac_low": "Program cost per customer, low",
    "program_cac_high": "Program cost per customer, high",
    "loaded_cac": "Cost per customer incl. people",
    "blended_cac": "Cost per customer incl. people",
    "new_customers": "New customers",
    "spend": "Tactic spend",
    "people_cost": "People cost",
    "total_cost": "Tactic spend and people cost",
    "current_spend": "Monthly spend now",
    "new_spend": "Suggested monthly spend",
    "change": "Change",
    "estimate": "Estimate",
    "ci_low": "Low (95%)",
    "ci_high": "High (95%)",
    "decision_style": "Decision style",
    "involvement": "Involvement",
    "tactic": "Tactic",
    "team_id": "Team",
    "leader_id": "Leader",
    "rep_id": "Rep",
    "win_rate": "Win rate",
    "cycle_days": "Days to close",
    "marginal_cac_before": "Next customer costs now",
    "marginal_cac_after": "Next customer costs after",
    "customers_before": "Customers a month now",
    "customers_after": "Customers a month after",
    "turnover_cost_per_customer": "Cost of replacing leavers per customer",
    "replacement_cost": "Cost of replacing leavers",
    "exits": "Reps who left",
}
"""Column names of salesnb's tables as a report header shows them."""

STYLE_COLOURS = {"autocratic": "#c44e52", "consultative": "#4c72b0",
                 "collaborative": "#55a868"}
"""The three decision styles keep these colours everywhere."""
TACTIC_COLOURS = {"referrals": "#dd8452", "partners": "#8172b3", "email": "#64b5cd",
                  "webinars": "#ccb974", "outbound_calls": "#937860", "paid_search": "#da8bc3",
                  "events": "#2a7f7f"}
"""Common tactics keep these colours: none is a style's colour, so a chart of tactics never
looks like a chart of styles."""
PALETTE = ("#dd8452", "#8172b3", "#64b5cd", "#ccb974", "#937860", "#da8bc3", "#2a7f7f",
           "#b07aa1", "#9c755f", "#76b7b2")
"""Everything else, chosen by name: seaborn's "deep" and tableau's muted colours, without
the styles' red, blue and green and without the neutral grey."""


def value_label(value: object) -> str:
    """A category value as a reader says it: ``"outbound_calls"`` -> ``"outbound calls"``."""
    text = str(value)
    return VALUE_LABELS.get(text.lower(), text.replace("_", " "))


def column_label(column: str) -> str:
    """A table column as a report header shows it: ``"program_cac"`` ->
    ``"Program cost per customer"``; unknown names lose their underscores and are capitalised.
    """
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    text = re.sub(r"\bcac\b", "cost per customer", str(column).replace("_", " "))
    return text[:1].upper() + text[1:]


def term_label(term: str, references: dict[str, str] | None = None,
               versus: bool = True) -> str:
    """A model term in words: ``"decision_style=autocratic"`` -> ``"Autocratic leaders (vs
    consultative)"``, ``"years10"`` -> ``"10 more years in the industry"``,
    ``"tactic=events:decision_style=collaborative"`` -> ``"Events under collaborative
    leaders"``.

    Parameters
    ----------
    term
        A term of a salesnb effects table.
    references
        The reference level of each categorical (``suite.references``), named as "(vs ...)".
    versus
        False: leave the "(vs ...)" out (chart labels whose reference line names it).

    Returns
    -------
    str
    """
    references = references or {}
    parts = dict(part.partition("=")[::2] for part in term.split(":"))
    if len(parts) == 2 and {"tactic", "decision_style"} <= set(parts):
        return (f"{value_label(parts['tactic']).capitalize()} under "
                f"{value_label(parts['decision_style'])} leaders")
    name, value = next(iter(parts.items()))
    if not value:
        return TRAIT_LABELS.get(name, value_label(name)).capitalize()
    against = f" (vs {value_label(references[name])})" if versus and name in references else ""
    if name in ("decision_style", "involvement"):
        return f"{value_label(value).capitalize()} leaders{against}"
    if name in ("region", "segment", "industry"):
        return f"{name.capitalize()} {value_label(value)}{against}"
    return f"{value_label(value).capitalize()}{against}"


def colour_for(name: object) -> str:
    """The colour of a style, tactic or other category, the same on every page."""
    key = str(name).lower()
    if key in STYLE_COLOURS:
        return STYLE_COLOURS[key]
    if key.replace(" ", "_") in TACTIC_COLOURS:
        return TACTIC_COLOURS[key.replace(" ", "_")]
    return PALETTE[zlib.crc32(key.encode()) % len(PALETTE)]


def colours_for(names: list) -> list[str]:
    """:func:`colour_for` of each name (names sharing a colour in one chart keep it: the
    colour follows the name, not its position).
    """
    return [colour_for(name) for name in names]
