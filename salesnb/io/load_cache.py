"""Loading through the cache: the validated data of unchanged files is read once, not per notebook.

:func:`load_reused` is :func:`salesnb.io.loading.load` with its result kept in the cache
(:mod:`salesnb.cache`), under a key made of the bytes of every file it may read: every file in
the data folder (or the workbook/database file and the files its mapping names) and the
mapping file. A changed byte anywhere is a new key. Data that cannot be fingerprinted this
way is loaded fresh every time: a database server (its rows change without notice) and a
mapping that reads files outside the data folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from salesnb.cache import cached
from salesnb.io.sources import OUTSIDE_DATA_VARIABLE, is_database_url

if TYPE_CHECKING:
    from salesnb.io.dataset import Dataset

_CHUNK = 1 << 20


def load_reused(source: str | Path, mapping: str | Path | None = None) -> Dataset:
    """:func:`salesnb.io.loading.load`, reusing an earlier load of the same bytes.

    Parameters
    ----------
    source, mapping
        As for :func:`salesnb.io.loading.load`.

    Returns
    -------
    Dataset
        Equal to a fresh load (the loading warnings are raised again on reuse).
    """
    from salesnb.io.loading import load

    fingerprint = source_fingerprint(source, mapping)
    if fingerprint is None:
        return load(source, mapping=mapping)
    return cached("load", {"files": fingerprint, "source": str(source)},
                  lambda: load(source, mapping=mapping))


def source_fingerprint(source: str | Path, mapping: str | Path | None = None) -> str | None:
    """SHA-256 over every file a load of ``source`` may read, or None when that is unknowable.

    None for a database URL, a missing source or mapping, and while files outside the data
    folder are allowed (``SALESNB_ALLOW_OUTSIDE_DATA=1``): those loads are never reused.
    """
    text = str(source)
    if is_database_url(text) or os.environ.get(OUTSIDE_DATA_VARIABLE, "") == "1":
        return None
    path = Path(text)
    if path.is_dir():
        folder, files = path, _files_under(path)
    elif path.is_file():
        folder, files = path.parent, [path]
    else:
        return None
    mapping_file = Path(mapping) if mapping is not None else folder / "mapping.yml"
    sources = _table_sources(mapping_file) if mapping_file.is_file() else None
    if sources is None or any(is_database_url(s) for s in sources):
        return None
    if not path.is_dir():  # a workbook or database file: and the files its mapping names
        files += [p for p in (folder / s for s in sources) if p.is_file()]
    digest = hashlib.sha256()
    for file in sorted({*files, mapping_file}):
        digest.update(str(file.resolve()).encode())
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _files_under(folder: Path) -> list[Path]:
    """Regular files below ``folder``, hidden files and folders left out."""
    return [p for p in folder.rglob("*") if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def _table_sources(mapping_file: Path) -> list[str]:
    """The ``source:`` of every table of the mapping (none when it cannot be read: the load
    itself then reports the mapping's problem).
    """
    from salesnb.errors import SalesnbError
    from salesnb.io.mapping import read_mapping

    try:
        spec = read_mapping(mapping_file)
    except SalesnbError:
        return []
    return [t.source for t in spec.tables.values() if t.source]
