"""Segments of a dataset: the slices a batch report runs for (a region, a team, a period).

``select`` returns a *new* :class:`~salesnb.dataset.Dataset` whose tables are
consistently restricted: the teams in the segment, their leaders, the spend,
deals and reps of those teams, the style changes of those leaders and the
touches of those deals. Provenance, fingerprint and source are kept, so a
segment's report still names the exact inputs it was built from. Notebooks call
``select(data, by=segment_by, value=segment, start=period_start, end=period_end)``
through :mod:`salesnb.engine.segments`, which also selects in a dataset whose deals stay in
the engine.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.io.dataset import Dataset

SEGMENT_COLUMNS = ("region", "segment", "industry", "team_id", "leader_id")
"""Columns of the ``teams`` table a report can be segmented by."""

ALIASES = {"team": "team_id", "leader": "leader_id"}
"""Short spellings accepted for ``by`` (``--by team`` means ``team_id``)."""

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def resolve_by(by: str | None) -> str | None:
    """The canonical segment column for ``by`` (aliases resolved), or None.

    Raises
    ------
    SalesnbError
        ``by`` is not a segment column; the message lists the valid ones.
    """
    if by is None:
        return None
    column = ALIASES.get(by, by)
    if column not in SEGMENT_COLUMNS:
        valid = ", ".join([*SEGMENT_COLUMNS, *ALIASES])
        raise SalesnbError(f"cannot segment by {by!r}; valid choices: {valid}.")
    return column


def segment_values(dataset: Dataset, by: str) -> list[str]:
    """The distinct values of a segment column, as sorted strings (missing values left out).

    Parameters
    ----------
    dataset
        A loaded dataset.
    by
        One of :data:`SEGMENT_COLUMNS` (or an alias such as ``team``).

    Returns
    -------
    list of str
        One entry per segment, e.g. ``["East", "North", "South", "West"]``.
    """
    column = resolve_by(by)
    if "deals" not in dataset:
        raise SalesnbError(_TOTALS_SEGMENTS.format(by=by))
    teams = dataset.tables["teams"]
    if column not in teams:
        raise SalesnbError(f"cannot segment by {by!r}: the teams table has no {column!r} column "
                           "(map it in the mapping file).")
    return sorted({str(v) for v in teams[column].dropna()})


def select(dataset: Dataset, by: str | None = None, value: object = None,
           start: str | None = None, end: str | None = None) -> Dataset:
    """A new dataset restricted to one segment and/or a range of months.

    Parameters
    ----------
    dataset
        A loaded dataset (not modified).
    by, value
        Keep the teams whose ``by`` column equals ``value`` (compared as text),
        e.g. ``by="region", value="North"``. ``by=None`` or ``value=None``:
        every team.
    start, end
        ``"YYYY-MM"`` months, inclusive; either may be None (open-ended). They
        filter ``spend.period`` and ``deals.close_date`` by month (deals
        without a close date are left out when a range is given).

    Returns
    -------
    Dataset
        Same provenance, fingerprint and source; filtered tables; a note
        saying what was selected.

    Raises
    ------
    SalesnbError
        Unknown ``by``, a ``value`` not in the data, a malformed month or an
        empty range; the message names the valid options.
    """
    tables = dict(dataset.tables)
    notes = list(dataset.notes)
    column = resolve_by(by)
    if "deals" not in tables:
        return _select_totals(dataset, column, value, start, end)
    if (column is not None and value is not None) or start is not None or end is not None:
        tables["deals"] = with_new_customer_flag(tables["deals"])
    if column is not None and value is not None:
        tables = restrict_to_teams(tables, teams_matching(dataset, column, value))
        notes.append(f"segment: {column} = {value}")
    if start is not None or end is not None:
        tables = _restrict_to_months(tables, month_of(start, "start"), month_of(end, "end"))
        notes.append(f"period: {start or 'first month'} to {end or 'last month'}")
    return replace(dataset, tables=tables, notes=notes)


def with_new_customer_flag(deals: pd.DataFrame) -> pd.DataFrame:
    """Deals with ``new_customer`` set on the *whole* table: True for each customer's first
    won deal (earliest close date, then deal id; no customer id: the deal is its own
    customer), so a segment or period never counts a returning customer as new again.
    """
    from salesnb.io.schema import NEW_CUSTOMER_FLAG

    if NEW_CUSTOMER_FLAG in deals:
        return deals
    deals = deals.reset_index(drop=True)
    won = deals[deals["outcome"] == "won"]
    customer = (won["customer_id"].astype(object).where(won["customer_id"].notna(),
                                                        won["deal_id"])
                if "customer_id" in won else won["deal_id"])
    ordered = won.assign(_customer=customer).sort_values(["close_date", "deal_id"])
    first = ordered.index[~ordered["_customer"].duplicated()]
    return deals.assign(**{NEW_CUSTOMER_FLAG: deals.index.isin(first)})


def slug(value: object) -> str:
    """A safe folder name for a segment value: lower case letters, digits, ``-`` and ``_``."""
    text = re.sub(r"[^a-z0-9_]+", "-", str(value).strip().lower()).strip("-_")
    return text or "blank"


def teams_matching(dataset: Dataset, column: str, value: object) -> pd.DataFrame:
    """The rows of the teams table whose ``column`` equals ``value`` (compared as text).

    Raises
    ------
    SalesnbError
        ``value`` is not in the data; the message lists the valid values.
    """
    teams = dataset.tables["teams"]
    valid = segment_values(dataset, column)
    if str(value) not in valid:
        raise SalesnbError(f"no {column} {str(value)!r} in the data; valid values: "
                           f"{', '.join(valid)}.")
    return teams[teams[column].astype("string") == str(value)]


TEAM_KEYED = (("leaders", "leader_id"), ("style_changes", "leader_id"),
              ("style_periods", "leader_id"), ("spend", "team_id"), ("deals", "team_id"),
              ("reps", "team_id"))
"""Tables restricted to a segment's teams: by the key, a leader id or a team id."""


def restrict_to_teams(tables: dict[str, pd.DataFrame], teams: pd.DataFrame
                      ) -> dict[str, pd.DataFrame]:
    """``tables`` restricted to ``teams`` (rows of the teams table), as :data:`TEAM_KEYED`."""
    kept = {"team_id": set(teams["team_id"]), "leader_id": set(teams["leader_id"])}
    out = dict(tables, teams=teams.reset_index(drop=True))
    for name, key in TEAM_KEYED:
        if name in out:
            out[name] = _keep(out[name], key, kept[key])
    return _restrict_touches(out)


_TOTALS_SEGMENTS = ("cannot segment totals over time by {by!r}: the markets are modelled "
                    "together (curves pooled, a baseline each).\n    hint: run without "
                    "--by; to model one market alone, map only its rows (where:).")


def _select_totals(dataset: Dataset, column: str | None, value: object, start: str | None,
                   end: str | None) -> Dataset:
    """:func:`select` for totals over time: a range of months; no segments."""
    if column is not None and value is not None:
        raise SalesnbError(_TOTALS_SEGMENTS.format(by=column))
    if start is None and end is None:
        return dataset
    first, last = month_of(start, "start"), month_of(end, "end")
    if first is not None and last is not None and first > last:
        raise SalesnbError(f"the period starts ({first}) after it ends ({last}).")
    tables = {name: frame[in_months(frame["period"], first, last)].reset_index(drop=True)
              if name in ("totals", "totals_spend") else frame
              for name, frame in dataset.tables.items()}
    if tables["totals"].empty:
        months = dataset.tables["totals"]["period"].dt.to_period("M")
        raise SalesnbError(f"no totals from {start or 'the start'} to {end or 'the end'}; the "
                           f"data covers {months.min()} to {months.max()}.")
    notes = [*dataset.notes, f"period: {start or 'first month'} to {end or 'last month'}"]
    return replace(dataset, tables=tables, notes=notes)


def _restrict_to_months(tables: dict[str, pd.DataFrame], start: pd.Period | None,
                        end: pd.Period | None) -> dict[str, pd.DataFrame]:
    if start is not None and end is not None and start > end:
        raise SalesnbError(f"the period starts ({start}) after it ends ({end}).")
    spend, deals = tables["spend"], tables["deals"]
    out = dict(tables, spend=spend[in_months(spend["period"], start, end)].reset_index(drop=True),
               deals=deals[in_months(deals["close_date"], start, end)].reset_index(drop=True))
    if out["spend"].empty and out["deals"].empty:
        months = spend["period"].dt.to_period("M")
        known = f"{months.min()} to {months.max()}" if len(months) else "none"
        raise SalesnbError(f"no spend and no deals from {start or 'the start'} to "
                           f"{end or 'the end'}; the data covers {known}.")
    return _restrict_touches(out)


def _restrict_touches(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    if "touches" in tables:
        tables["touches"] = _keep(tables["touches"], "deal_id", set(tables["deals"]["deal_id"]))
    return tables


def _keep(frame: pd.DataFrame, key: str, values: set) -> pd.DataFrame:
    return frame[frame[key].isin(values)].reset_index(drop=True)


def in_months(dates: pd.Series, start: pd.Period | None, end: pd.Period | None) -> pd.Series:
    """True for the dates in months ``start`` to ``end`` (inclusive; None: open-ended)."""
    months = dates.dt.to_period("M")
    keep = dates.notna()
    if start is not None:
        keep &= months >= start
    if end is not None:
        keep &= months <= end
    return keep.fillna(False).astype(bool)


def month_of(text: str | None, what: str) -> pd.Period | None:
    """The month ``text`` (``"YYYY-MM"``) names, None for None; ``what`` names it in errors."""
    if text is None:
        return None
    if not MONTH.match(str(text)):
        raise SalesnbError(f"period {what} {text!r} is not a month; write it as YYYY-MM "
                           "(e.g. 2024-03).")
    return pd.Period(str(text), freq="M")
