"""Opening the data a notebook reports on, and its segments, for either kind of dataset.

:func:`open_data` is the first step of every notebook: it loads the data (the bundled demo by
default) and selects a segment and period. Data small enough for pandas is loaded through the
cache (:mod:`salesnb.io.load_cache`); data too large for it, a folder of Parquet/CSV exports,
stays in DuckDB (:class:`~salesnb.engine.engine_dataset.EngineDataset`, cleaned once per
fingerprint by :mod:`salesnb.engine.store`). Which one is the setting :data:`ENGINE_ENV`:

- ``auto`` (default): the engine when the deals are a Parquet file of at least
  :data:`ENGINE_MIN_DEALS` rows (its footer says so without reading it);
- ``on``: the engine for any folder of Parquet/CSV exports;
- ``off``: always pandas.

:func:`select` restricts either kind to a segment and period with the same rules
(:func:`salesnb.io.segments.select`); on the engine the filters are SQL and only the small
tables are filtered in pandas.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from salesnb.engine.connection import Engine
from salesnb.engine.engine_dataset import LARGE_TABLES, EngineDataset, TableProfile
from salesnb.errors import SalesnbError
from salesnb.io import segments as frames
from salesnb.io.dataset import Dataset
from salesnb.io.segments import (
    ALIASES,
    SEGMENT_COLUMNS,
    TEAM_KEYED,
    resolve_by,
    segment_values,
    slug,
    with_new_customer_flag,
)
from salesnb.io.sources import is_database_url
from salesnb.secrets import mask_url

__all__ = ["ALIASES", "ENGINE_ENV", "ENGINE_MIN_DEALS", "SEGMENT_COLUMNS", "open_data",
           "open_source", "resolve_by", "segment_values", "select", "slug", "uses_engine",
           "with_new_customer_flag"]

ENGINE_ENV = "SALESNB_ENGINE"
"""Setting: ``auto``, ``on`` or ``off`` (see the module's description)."""

ENGINE_MIN_DEALS = 2_000_000
"""Deal rows from which ``auto`` keeps the deals in the engine (pandas needs about 1 GB per
million deals of a wide CRM export while loading)."""

_CHOICES = ("auto", "on", "off")
DUCKDB_SUFFIXES = (".duckdb", ".ddb")
"""DuckDB database files the engine reads in place (``on`` only)."""


def open_data(data: str | Path | None = None, mapping: str | Path | None = None,
              by: str | None = None, value: object = None, start: str | None = None,
              end: str | None = None) -> Dataset:
    """Load and validate ``data`` (default: the bundled demo), then select a segment/period.

    Parameters
    ----------
    data, mapping
        As for :func:`salesnb.load`; a folder may stay in the engine (:data:`ENGINE_ENV`).
    by, value, start, end
        As for :func:`select`.

    Returns
    -------
    Dataset
        A pandas dataset, or an :class:`EngineDataset` whose deal rows stay in DuckDB.
    """
    from salesnb.paths import DEMO_DIR

    dataset = open_source(DEMO_DIR if data is None else data, mapping)
    return select(dataset, by=by, value=value, start=start, end=end)


def open_source(data: str | Path, mapping: str | Path | None = None,
                say: Callable[[str], None] | None = None) -> Dataset:
    """The whole validated dataset, loaded once per fingerprint (no segment selected).

    ``say`` is told, in a line, when data kept in the engine is first cleaned and checked.
    """
    from salesnb.engine.store import stored_engine
    from salesnb.io.load_cache import load_reused
    from salesnb.io.mapping import read_mapping

    if not uses_engine(data, mapping):
        return load_reused(data, mapping=mapping)
    engine, fingerprint = stored_engine(data, mapping, say=say)
    text = str(data)
    labels = {}
    if Path(text).is_dir():  # each table's file; a database's tables are named by the mapping
        spec = read_mapping(Path(mapping) if mapping is not None else Path(text) / "mapping.yml")
        labels = {name: str(Path(text) / table.source) for name, table in spec.tables.items()
                  if table.source}
    return EngineDataset.from_engine(engine, source=mask_url(text), fingerprint=fingerprint,
                                     labels=labels)


def uses_engine(data: str | Path, mapping: str | Path | None = None) -> bool:
    """Whether :func:`open_data` keeps ``data``'s deals in the engine (:data:`ENGINE_ENV`).

    Raises
    ------
    SalesnbError
        The setting is not one of auto/on/off, or is ``on`` for data that is not a folder.
    """
    setting = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if setting not in _CHOICES:
        raise SalesnbError(f"{ENGINE_ENV}={setting!r} is not a setting; use auto, on or off.")
    if setting == "off":
        return False
    path, text = Path(str(data)), str(data)
    if is_database_url(text) or (path.is_file() and path.suffix.lower() in DUCKDB_SUFFIXES):
        return setting == "on"  # counting a server's deals would cost a query per kernel
    if not path.is_dir():
        if setting == "on":
            raise SalesnbError(f"{ENGINE_ENV}=on keeps a folder of Parquet/CSV exports, a "
                               f"DuckDB file or a database in the engine; {mask_url(text)} is "
                               f"none of them.\n    hint: export the tables as Parquet files "
                               f"into a folder, or set {ENGINE_ENV}=auto.")
        return False
    return setting == "on" or _deal_rows(path, mapping) >= ENGINE_MIN_DEALS


def _deal_rows(folder: Path, mapping: str | Path | None) -> int:
    """Rows of the deals' Parquet file from its footer (0: not Parquet, or unreadable)."""
    import pyarrow.parquet as pq

    from salesnb.io.mapping import read_mapping

    try:
        spec = read_mapping(Path(mapping) if mapping is not None else folder / "mapping.yml")
        source = spec.tables["deals"].source if "deals" in spec.tables else None
        if not source or Path(source).suffix.lower() not in (".parquet", ".pq"):
            return 0
        return int(pq.ParquetFile(folder / source).metadata.num_rows)
    except (SalesnbError, OSError, ValueError):
        return 0  # loading reports the problem with the mapping or the file


def select(dataset: Dataset, by: str | None = None, value: object = None,
           start: str | None = None, end: str | None = None) -> Dataset:
    """:func:`salesnb.io.segments.select` for either kind of dataset.

    Raises
    ------
    SalesnbError
        As :func:`salesnb.io.segments.select`.
    """
    if not isinstance(dataset, EngineDataset):
        return frames.select(dataset, by=by, value=value, start=start, end=end)
    column = resolve_by(by)
    small, tables, notes = dict(dataset.tables), dict(dataset.engine.tables), list(dataset.notes)
    if column is not None and value is not None:
        teams = frames.teams_matching(dataset, column, value)
        small = frames.restrict_to_teams(small, teams)
        kept = {"team_id": list(teams["team_id"]), "leader_id": list(teams["leader_id"])}
        tables["teams"] = tables["teams"].filter(tables["teams"].team_id.isin(kept["team_id"]))
        for name, key in TEAM_KEYED:
            if name in tables:
                tables[name] = tables[name].filter(tables[name][key].isin(kept[key]))
        notes.append(f"segment: {column} = {value}")
    if start is not None or end is not None:
        first, last = frames.month_of(start, "start"), frames.month_of(end, "end")
        if first is not None and last is not None and first > last:
            raise SalesnbError(f"the period starts ({first}) after it ends ({last}).")
        if "spend" in small:
            spend = small["spend"]
            small["spend"] = spend[frames.in_months(spend["period"], first, last)
                                   ].reset_index(drop=True)
        for name, date in (("spend", "period"), ("deals", "close_date")):
            if name in tables:
                tables[name] = tables[name].filter(_within(tables[name][date], first, last))
        notes.append(f"period: {start or 'first month'} to {end or 'last month'}")
    if "touches" in tables:
        touches = tables["touches"]
        tables["touches"] = touches.filter(touches.deal_id.isin(tables["deals"].deal_id))
    profiles = {name: TableProfile.of(tables[name]) for name in LARGE_TABLES if name in tables}
    if start is not None or end is not None:
        _refuse_empty_period(small, profiles, dataset.months(), start, end)
    return replace(dataset, tables=small, engine=Engine(dataset.engine.con, tables),
                   profiles=profiles, notes=notes)


def _within(dates, first, last):
    """Dates (an Ibis column) in months ``first`` to ``last``; missing dates left out."""
    keep = dates.notnull()
    if first is not None:
        keep &= dates >= first.start_time
    if last is not None:
        keep &= dates < (last + 1).start_time
    return keep


def _refuse_empty_period(small, profiles, months, start, end) -> None:
    spend = small.get("spend")
    deals = profiles.get("deals")
    if (spend is None or spend.empty) and (deals is None or deals.rows == 0):
        known = f"{months.min():%Y-%m} to {months.max():%Y-%m}" if len(months) else "none"
        raise SalesnbError(f"no spend and no deals from {start or 'the start'} to "
                           f"{end or 'the end'}; the data covers {known}.")
