"""Results computed once and reused: a folder of pickles keyed by everything they depend on.

Every notebook of a segment needs the same loaded data, model suite, curves and budget. Each
notebook runs in a kernel of its own, so the results are shared through files: :func:`cached`
returns the stored result when one exists for the key, else computes it, stores it and
returns it. The key is a SHA-256 over

- what the caller says the result depends on (the data fingerprint and the segment and
  period selected, the parameters), and
- the code: every source file of salesnb (so an edited checkout recomputes, whatever its
  version number says) and the versions of the libraries the results come from.

A change of any of them is a new key, so a stale result is never returned; old entries just
stay until ``salesnb cache clear``. Warnings raised while computing are stored with the
result and raised again on every reuse, so a notebook shows the same output warm or cold.

Concurrency: two processes asking for the same key at once (two kernels of one segment) are
serialised by an exclusive lock on the key (``fcntl.flock``, released by the kernel if the
process dies), so the second one waits and then reads what the first one wrote; the entry is
written to a temporary file and renamed, so a reader never sees half a file. An entry that
cannot be read (truncated, from an incompatible library) is deleted, recomputed and a
:class:`salesnb.errors.SalesnbWarning` says so. A cache that cannot be written (read-only
folder, disk full) only costs the reuse: the result is returned and a warning says why.

Why pickles and not ``joblib.Memory``: the key here is the data fingerprint computed at load
time, so nothing hashes the tables again; joblib hashes the arguments (the whole dataset,
unless told to ignore it, and then it does not know the data) and has no lock across
processes, so two kernels of one segment would both fit the same models. The folder, its
lock and its atomic write are one short module of the standard library.

The folder is ``$SALESNB_CACHE_DIR``, else ``$XDG_CACHE_HOME/salesnb``, else
``~/.cache/salesnb``; ``SALESNB_CACHE_DIR=off`` turns the cache off. Opening a notebook in
JupyterLab uses the same folder as a batch run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from salesnb.errors import SalesnbWarning
from salesnb.paths import PACKAGE_DIR

T = TypeVar("T")

CACHE_ENV = "SALESNB_CACHE_DIR"
OFF = "off"
LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "pyarrow", "duckdb", "ibis-framework")
"""Libraries whose version is part of every key (their numbers end up in the results)."""
PACKAGE = PACKAGE_DIR


@dataclass
class CacheStats:
    """What :func:`cached` did in this process (``salesnb.cache.stats``): tests count on it."""

    hits: int = 0
    misses: int = 0
    unreadable: int = 0

    def reset(self) -> None:
        """Start counting again from zero."""
        self.hits = self.misses = self.unreadable = 0


stats = CacheStats()


def cache_folder() -> Path | None:
    """The cache folder now in use, or None when the cache is off (``SALESNB_CACHE_DIR=off``)."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() == OFF:
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "salesnb"


@functools.lru_cache(maxsize=4)
def code_fingerprint(package: Path = PACKAGE) -> str:
    """SHA-256 over the source files of ``package`` (salesnb's own: its version is in
    ``__init__.py``), the Python version and the versions of :data:`LIBRARIES`.
    """
    digest = hashlib.sha256(f"python {sys.version_info[:2]}".encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    for library in LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{library} {metadata.version(library)}".encode())
    return digest.hexdigest()


def key_of(kind: str, depends_on: dict[str, Any]) -> str:
    """The key of a result of ``kind`` that depends on ``depends_on`` (JSON-able values)."""
    text = json.dumps({"kind": kind, "code": code_fingerprint(), **depends_on},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cached(kind: str, depends_on: dict[str, Any], compute: Callable[[], T]) -> T:
    """The stored result for this key, else ``compute()`` (stored for next time).

    Parameters
    ----------
    kind
        What is computed, e.g. ``"model_suite"``: one sub-folder per kind.
    depends_on
        Everything besides salesnb's code the result depends on: data fingerprint, selection,
        parameters. Values must be JSON-able (others are used as ``str(value)``).
    compute
        Computes the result when it is not stored; it must be picklable to be stored.

    Returns
    -------
    The result, computed now or earlier (warnings raised while computing it are raised again).
    """
    folder = cache_folder()
    if folder is None:
        return compute()
    path = folder / kind / f"{key_of(kind, depends_on)}.pickle"
    stored = _read(path)
    if stored is None:
        with locked(path):
            stored = _read(path)  # another process may have written it while we waited
            if stored is None:
                stats.misses += 1
                stored = _computed(compute)
                _write(path, stored)
                return _replayed(stored)
    stats.hits += 1
    return _replayed(stored)


def clear() -> int:
    """Delete the cache folder's entries; returns how many were deleted."""
    folder = cache_folder()
    if folder is None or not folder.is_dir():
        return 0
    entries = sum(1 for _ in folder.rglob("*.pickle"))
    shutil.rmtree(folder, ignore_errors=True)
    return entries


def _computed(compute: Callable[[], Any]) -> tuple[Any, list[tuple[Any, ...]]]:
    """``compute()`` and the warnings it raised (to be raised again, as they were)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = compute()
    raised = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
    return value, list(dict.fromkeys(raised))  # once per message and place, as by default


def _replayed(stored: tuple[Any, list[tuple[Any, ...]]]) -> Any:
    value, raised = stored
    for message, category, filename, lineno in raised:
        warnings.warn_explicit(message, category, filename, lineno)
    return value


def _read(path: Path) -> tuple[Any, list[tuple[Any, ...]]] | None:
    """The stored entry, or None when absent; an unreadable entry is deleted (a warning)."""
    try:
        with path.open("rb") as handle:
            stored = pickle.load(handle)
        if isinstance(stored, tuple) and len(stored) == 2:
            return stored
        raise ValueError("not a salesnb cache entry")
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated file, library changed under it: recompute
        stats.unreadable += 1
        with contextlib.suppress(OSError):
            path.unlink()
        warnings.warn(f"salesnb cache: the stored result {path} could not be read "
                      f"({type(exc).__name__}); it was deleted and is recomputed.",
                      SalesnbWarning, stacklevel=3)
        return None


def _write(path: Path, stored: tuple[Any, list[tuple[Any, ...]]]) -> None:
    """Store an entry atomically; a failure only warns (the result is still returned)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("wb") as handle:
            pickle.dump(stored, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except Exception as exc:  # read-only folder, disk full, an unpicklable result
        with contextlib.suppress(OSError):
            temp.unlink()
        warnings.warn(f"salesnb cache: the result could not be stored in {path.parent} "
                      f"({type(exc).__name__}: {exc}); it will be computed again next time. "
                      f"Set {CACHE_ENV} to a writable folder, or to 'off'.",
                      SalesnbWarning, stacklevel=3)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s key (no lock where the folder cannot be made)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115 (held until the end)
    except OSError:
        yield
        return
    try:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: concurrent writers are still safe, only wasteful
            pass
        yield
    finally:
        handle.close()  # closing releases the lock
