"""Cleaned tables kept on disk: a DuckDB file per data fingerprint, cleaned and checked once.

A report on engine data runs each notebook in a kernel of its own. Scanning the raw files in
every kernel would clean and validate 50M deals 35 times, so :func:`stored_engine` does it
once: :func:`salesnb.engine.scanning.scan` into a DuckDB *file* of the cache folder
(:mod:`salesnb.cache`), with every table kept and the deals' ``new_customer`` flag decided on
the whole data (a segment must not count a returning customer as new). Every kernel then
opens the file read-only; DuckDB lets many processes read one file at once.

The key is the files' bytes and the mapping (:func:`salesnb.io.load_cache.source_fingerprint`)
and salesnb's code, as for the pickled results; an exclusive lock on the key makes racing
kernels build it once, and the file is built under a temporary name, then renamed, so an
interrupted build leaves nothing a later run would read. Data without such a fingerprint (a
database server, the cache switched off) is scanned in memory by each caller.

Why a DuckDB file and not Parquet: the kernels query it with the same SQL engine, with no
second copy of the rows in memory, and one file per dataset is one thing to clear.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from salesnb.engine.connection import Engine, default_connection, table_names
from salesnb.engine.lazy_validation import UNREAD_PREFIX
from salesnb.errors import SalesnbError
from salesnb.io.schema import NEW_CUSTOMER_FLAG
from salesnb.io.sources import is_database_url
from salesnb.secrets import mask_url, mask_urls_in_text, text_secrets

if TYPE_CHECKING:
    import ibis.expr.types as ir

STORE_FOLDER = "engine"
"""Subfolder of the cache folder holding one ``<key>.duckdb`` per dataset."""

CANONICAL_PREFIX = "canonical_"
"""The stored tables' prefix: ``canonical_deals``... (a raw table may be called ``deals``)."""
RAW_DATABASE = "salesnb_source"
"""What a DuckDB source file is attached as while its store is built."""

_OPEN: dict[Path, Engine] = {}  # one read-only connection per file and process (DuckDB allows one)


def stored_engine(source: str | Path, mapping: str | Path | None = None,
                  say: Callable[[str], None] | None = None) -> tuple[Engine, str]:
    """The validated canonical tables of ``source``, cleaned once per fingerprint.

    Parameters
    ----------
    source
        A folder of Parquet/CSV exports, a DuckDB file or a database URL (PostgreSQL...).
    mapping
        Its mapping file (default ``mapping.yml`` in the folder, or next to the file).
    say
        Told in a line when the files are scanned into a new store, and how long it took.

    Returns
    -------
    (Engine, str)
        The tables (deals carry ``new_customer``) and the data fingerprint: the files' and
        mapping's SHA-256, or ``"scan:<random>"`` when the data is scanned in memory.

    Raises
    ------
    MappingError, SourceError, ValidationError
        As :func:`salesnb.scan`.
    """
    import uuid

    from salesnb.cache import cache_folder, key_of, locked
    from salesnb.io.load_cache import source_fingerprint

    mapping = mapping if mapping is not None or is_database_url(str(source)) else \
        _default_mapping(Path(source))
    fingerprint = source_fingerprint(source, mapping)
    folder = cache_folder()
    if fingerprint is None or folder is None:  # a database server, or no cache: every time
        return with_new_customers(_scanned(source, mapping)), f"scan:{uuid.uuid4().hex}"
    key = key_of("engine-store", {"files": fingerprint, "source": str(source)})
    path = folder / STORE_FOLDER / f"{key}.duckdb"
    if path not in _OPEN:
        with locked(path):
            if not path.is_file():
                started = time.perf_counter()
                if say is not None:
                    say(f"cleaning and checking {source} once into the engine store "
                        f"{path.parent} (later runs on the same files reuse it)...")
                _build(path, source, mapping)
                if say is not None:
                    say(f"engine store ready in {time.perf_counter() - started:.0f} s")
        _OPEN[path] = _opened(path)
    return _OPEN[path], fingerprint


def with_new_customers(engine: Engine) -> Engine:
    """``engine`` with its deals flagged ``new_customer`` on the whole data (lazy)."""
    import ibis

    deals = engine["deals"]
    if NEW_CUSTOMER_FLAG in deals.columns:
        return engine
    first = first_wins(deals).select("deal_id").mutate(**{NEW_CUSTOMER_FLAG: ibis.literal(True)})
    flagged = deals.left_join(first, "deal_id").drop("deal_id_right")
    flagged = flagged.mutate(**{NEW_CUSTOMER_FLAG: flagged[NEW_CUSTOMER_FLAG].fill_null(False)})
    return Engine(engine.con, dict(engine.tables, deals=flagged))


def first_wins(deals: ir.Table) -> ir.Table:
    """Each customer's first won deal (earliest close date, then deal id; a deal without a
    customer id is its own customer). The window runs over won deals only.
    """
    import ibis

    won = deals.filter(deals.outcome == "won")
    customer = won.customer_id if "customer_id" in won.columns else won.deal_id
    won = won.mutate(customer_key=ibis.coalesce(customer, won.deal_id))
    order = ibis.window(group_by=won.customer_key, order_by=[won.close_date, won.deal_id])
    ranked = won.mutate(win_rank=ibis.row_number().over(order))
    return ranked.filter(ranked.win_rank == 0).drop("win_rank", "customer_key")


def _default_mapping(source: Path) -> Path:
    return source / "mapping.yml" if source.is_dir() else source.parent / "mapping.yml"


def _scanned(source: str | Path, mapping: str | Path | None, con=None) -> Engine:
    """:func:`salesnb.scan` of a folder, a DuckDB file or a database URL; with ``con`` (a
    store being built) the cleaned tables are kept in ``con``.
    """
    from salesnb.engine.scanning import scan

    text = str(source)
    if is_database_url(text):
        return scan(_connected(text), mapping)
    if Path(text).is_dir():
        return scan(text, mapping, con=con, keep=con is not None)
    if con is None:
        return scan(default_connection(database=text, read_only=True), mapping)
    # a DuckDB file: its tables attached read-only, seen through views of the same names
    con.raw_sql(f"ATTACH {_quoted(text)} AS {RAW_DATABASE} (READ_ONLY)")
    raw = [name for (name,) in con.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?",
        [RAW_DATABASE]).fetchall()]
    for name in raw:
        con.raw_sql(f'CREATE VIEW "{name}" AS SELECT * FROM {RAW_DATABASE}."{name}"')
    return scan(con, mapping, keep=True)


def _connected(url: str):
    """An Ibis connection to ``url``; a refusal becomes an error in words, the URL's
    credentials masked (drivers print them: psycopg shows the whole conninfo).
    """
    import ibis

    try:
        return ibis.connect(url)
    except Exception as exc:  # every driver raises its own errors
        reason = mask_urls_in_text(str(exc).strip().splitlines()[0], text_secrets([url]))
        raise SalesnbError(f"cannot connect to the database {mask_url(url)}: {reason}. Hint: "
                           "check the URL, the credentials and that the server is "
                           "running.") from None


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _build(path: Path, source: str | Path, mapping: str | Path | None) -> None:
    """Scan ``source`` into a new DuckDB file at ``path`` (built aside, then renamed)."""
    temp = path.with_name(f".{path.stem}.{os.getpid()}.building")
    temp.unlink(missing_ok=True)
    con = default_connection(database=temp)
    try:
        raw = set(table_names(con))
        engine = with_new_customers(_scanned(source, mapping, con=con))
        for name, table in engine.tables.items():
            con.create_table(f"{CANONICAL_PREFIX}{name}", table.drop(
                *[c for c in table.columns if c.startswith(UNREAD_PREFIX)]))
        for name in table_names(con):
            if name.startswith("salesnb_kept_"):
                con.drop_table(name)
            elif not name.startswith(CANONICAL_PREFIX) and name not in raw:
                con.raw_sql(f'DROP VIEW "{name}"')
        if RAW_DATABASE in {d for (d,) in con.con.execute(
                "SELECT database_name FROM duckdb_databases()").fetchall()}:
            con.raw_sql(f"DETACH {RAW_DATABASE}")
        con.raw_sql("CHECKPOINT")
        con.disconnect()
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            con.disconnect()
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise


def _opened(path: Path) -> Engine:
    con = default_connection(database=path, read_only=True)
    return Engine(con, {name.removeprefix(CANONICAL_PREFIX): con.table(name)
                        for name in table_names(con) if name.startswith(CANONICAL_PREFIX)})

