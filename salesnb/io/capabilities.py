"""What a dataset can support: each analysis's needs, and one plain sentence when unmet.

Every notebook section and every model asks :func:`lacks` before it runs; when the data does
not have what an analysis needs, the report shows the sentence (what is missing and what to
map) instead of failing, and the rest of the report runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd


class HasTables(Protocol):
    """Anything with canonical tables by name (a :class:`~salesnb.io.dataset.Dataset`)."""

    tables: dict[str, pd.DataFrame]

    def rows(self, table: str) -> int:
        """Rows of ``table``, 0 when it is absent (row-level tables may live in an engine)."""


@dataclass(frozen=True)
class Needs:
    """What one analysis needs: tables, (table, field) pairs with two or more distinct values
    where ``varied``, a minimum number of teams, and what to tell the user otherwise.
    """

    what: str
    tables: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    varied: tuple[tuple[str, str], ...] = ()
    min_teams: int = 1
    hint: str = ""


ANALYSES: dict[str, Needs] = {
    "cac": Needs("Cost per customer", tables=("spend",),
                 hint="map a marketing or tactic cost table (period, team, tactic, cost)"),
    "models": Needs("What tactics and leadership do to cost per customer",
                    tables=("spend",), min_teams=2,
                    hint="map a spend table covering at least two teams"),
    "curves": Needs("Response curves and the budget split", tables=("spend",), min_teams=3,
                    hint="map spend per team and tactic for at least three teams"),
    "style": Needs("Cost per customer by leadership style", tables=("spend", "leaders"),
                   varied=(("leaders", "decision_style"),),
                   hint="map the leaders' decision style (e.g. a 1-7 survey score with "
                        "ranges:) for leaders of more than one style"),
    "involvement": Needs("Cost per customer by leader involvement", tables=("spend", "leaders"),
                         varied=(("leaders", "involvement"),),
                         hint="map leaders.involvement"),
    "recognition": Needs("Cost per customer by recognition", tables=("spend", "leaders"),
                         varied=(("leaders", "recognition"),),
                         hint="map leaders.recognition (yes/no)"),
    "people": Needs("Rep attrition", tables=("reps",),
                    hint="map a reps table (rep, team, hire date, exit date)"),
    "people_by_style": Needs("Rep attrition by leadership style", tables=("reps", "leaders"),
                             varied=(("leaders", "decision_style"),),
                             hint="map reps and the leaders' decision style"),
    "attrition_cost": Needs("What rep attrition costs per customer", tables=("reps",),
                            fields=(("reps", "annual_cost"),),
                            hint="map reps.annual_cost (salary or loaded cost per year)"),
    "style_changes": Needs("Style changes as natural experiments",
                           tables=("spend", "leaders", "style_changes"),
                           varied=(("leaders", "decision_style"),),
                           hint="map style_changes (leader, date, new style)"),
    "attribution": Needs("Multi-touch attribution", tables=("touches",),
                         hint="map a touches table (deal, date, tactic)"),
    "conversion": Needs("Lead conversion", tables=("leads",),
                        hint="map a leads table (lead id, created date, source)"),
    "mix": Needs("Cost per customer from totals over time (the marketing-mix model)",
                  tables=("totals", "totals_spend"),
                  hint="map totals (the outcome per week or month) and totals_spend (spend "
                       "per tactic and period); see docs/mapping.md"),
    "team_ranking": Needs("A ranking of teams", min_teams=2,
                          hint="individuals are not ranked on leadership pages (their "
                               "results stay in the analysts' notebooks)"),
}


def lacks(dataset: HasTables, analysis: str) -> str | None:
    """Why ``dataset`` cannot support ``analysis``, as one plain sentence (None: it can).

    Parameters
    ----------
    dataset
        A loaded dataset (or a segment of one).
    analysis
        A key of :data:`ANALYSES` (``"cac"``, ``"style"``, ``"people"``, ...).

    Returns
    -------
    str or None
        E.g. "Cost per customer is not shown: the data has no spend table; map a marketing
        or tactic cost table (period, team, tactic, cost)."
    """
    needs = ANALYSES[analysis]
    tables = dataset.tables
    missing = [t for t in needs.tables if dataset.rows(t) == 0]
    if missing:
        return _sentence(needs, f"the data has no {_listed(missing)} table")
    absent = [f"{t}.{f}" for t, f in needs.fields
              if f not in tables[t] or tables[t][f].isna().all()]
    if absent:
        return _sentence(needs, f"the data has no {_listed(absent)}")
    flat = [f"{t}.{f}" for t, f in needs.varied
            if f not in tables[t] or tables[t][f].dropna().nunique() < 2]
    if flat:
        return _sentence(needs, f"{_listed(flat)} has fewer than two values in the data")
    if needs.min_teams <= 1:
        return None
    if analysis == "team_ranking" and "teams" in tables and _teams_are_people(dataset):
        return _sentence(needs, "every team here is one person (a rep, or the leader it is "
                                "named after)")
    teams = tables["spend"]["team_id"].nunique() if "spend" in tables else \
        tables["teams"]["team_id"].nunique() if "teams" in tables else 0
    if teams < needs.min_teams:
        return _sentence(needs, f"it needs at least {needs.min_teams} teams and the data has "
                                f"{teams}")
    return None


def _teams_are_people(dataset: HasTables) -> bool:
    """True when teams are people: team ids are rep ids or leader ids (a team named after its
    manager), or every team has one rep. Ranking such teams ranks individuals.
    """
    tables = dataset.tables
    team_ids = set(tables["teams"]["team_id"])
    if "leader_id" in tables["teams"] and team_ids <= set(tables["teams"]["leader_id"]):
        return True
    if "reps" not in tables:
        return False
    reps = tables["reps"]
    return team_ids <= set(reps["rep_id"]) or bool(reps.groupby("team_id").size().max() <= 1)


def _sentence(needs: Needs, reason: str) -> str:
    return f"{needs.what} is not shown: {reason}; {needs.hint}."


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
