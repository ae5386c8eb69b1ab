"""Planning a batch report run: segments, notebooks and parameters, checked before anything runs.

:func:`plan_run` finds the notebooks, reads the parameters each notebook declares and refuses
a ``--param`` no notebook declares, checks the reports folder and the run name, and only then
loads the data once and finds the segments (``--by``), so every mistake surfaces before the
first kernel starts, and a mistake that needs no data before the data is loaded.
:mod:`salesnb.batch.run` then runs the plan.
"""

from __future__ import annotations

import ast
import errno
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from salesnb.batch.redaction import Secrets, find_secrets
from salesnb.errors import SalesnbError
from salesnb.paths import NOTEBOOKS_DIR
from salesnb.secrets import mask_urls_in_text

REPORTS_DIR = Path("reports")
"""Default reports folder: ``reports/`` of the current working directory."""
NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"
RUNNER_PARAMETERS = ("data", "mapping", "segment_by", "segment", "period_start", "period_end")
"""Parameters the runner sets itself (when a notebook declares them)."""
ALL_SEGMENT = "all"
PARTIAL_SUFFIX = ".partial"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Segment:
    """One slice of the data a report is made for (``by=None``: the whole dataset)."""

    folder: str
    by: str | None = None
    value: str | None = None

    @property
    def label(self) -> str:
        """How the segment is named to readers, e.g. ``region = North``."""
        return "All teams" if self.by is None else f"{self.by} = {self.value}"


@dataclass
class RunPlan:
    """Everything decided before a run starts (see :func:`plan_run`)."""

    name: str
    root: Path
    data: str = field(repr=False)  # may be a database URL with its password
    mapping: str | None
    by: str | None
    segments: list[Segment]
    notebooks: list[Path]
    declared: dict[Path, set[str]]
    params: dict[str, Any]
    dataset: Any = field(repr=False)
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    default_name: bool = False
    """True when the name is a timestamp the runner chose (it may pick the next one)."""

    @property
    def folder(self) -> Path:
        """Where the finished run is published."""
        return self.root / self.name

    @property
    def partial_folder(self) -> Path:
        """Where the run is written while it is not finished."""
        return self.root / (self.name + PARTIAL_SUFFIX)

    def notebook_parameters(self, notebook: Path, segment: Segment) -> dict[str, Any]:
        """The parameters one notebook gets for one segment: only those it declares."""
        values = {"data": self.data, "mapping": self.mapping, "segment_by": segment.by,
                  "segment": segment.value, "period_start": self.params.get("period_start"),
                  "period_end": self.params.get("period_end"), **self.params}
        return {k: v for k, v in values.items() if k in self.declared[notebook]}


def plan_run(data: str | Path, mapping: str | Path | None = None, by: str | None = None,
             params: dict[str, Any] | None = None,
             notebooks: Sequence[str | Path] | None = None,
             out: str | Path = REPORTS_DIR, name: str | None = None,
             only: Sequence[str] | None = None, include_all: bool = False,
             say: Callable[[str], None] | None = None) -> RunPlan:
    """Load the data and decide the run: segments, notebooks, parameters, folder.

    Parameters
    ----------
    data, mapping
        The data source (folder, file or database URL) and its mapping file.
    by
        Segment column (``region``, ``segment``, ``industry``, ``team``/``team_id``,
        ``leader``/``leader_id``); None: one segment ``all``.
    params
        Extra notebook parameters (``--param key=value``); ``period_start`` and
        ``period_end`` (``"YYYY-MM"``) also restrict the headline figures.
    notebooks
        Names (``01_overview``, ``overview``, ``01``) or paths; default: every
        ``notebooks/NN_*.ipynb``.
    out, name
        Reports folder and run name (default: a timestamp, made unique).
    only
        Restrict ``by`` segments to these values.
    include_all
        With ``by``: also run the whole dataset as segment ``all``.
    say
        Called with a line of progress when the data takes long to prepare (the one scan
        of data kept in the engine).

    Raises
    ------
    SalesnbError
        Bad data, unknown segment values, a parameter no notebook declares,
        a run name already taken, a reports folder that cannot be written, and every
        other mistake found before running. Everything that needs no data (notebooks,
        parameters, ``by``, the folder and the name) is checked before the data is loaded.
    """
    from salesnb.engine import segments as seg

    params = dict(params or {})
    _refuse_runner_keys(params)
    paths = find_notebooks(notebooks)
    declared = {path: declared_parameters(path) for path in paths}
    _check_params(params, declared)
    column = seg.resolve_by(by)
    root = Path(out).resolve()
    check_output_folder(root)
    planned = run_name(root, name)  # a taken name or a bad folder costs no loading
    data_text = _absolute_source(data)
    mapping_text = str(Path(mapping).resolve()) if mapping is not None else None
    dataset = seg.open_source(data_text, mapping_text, say=say)  # the notebooks reuse it
    paths = notebooks_for(dataset, paths, explicit=bool(notebooks))
    declared = {path: declared[path] for path in paths}
    seg.select(dataset, start=params.get("period_start"), end=params.get("period_end"))
    return RunPlan(name=planned, root=root, data=data_text, mapping=mapping_text,
                   by=column, segments=plan_segments(dataset, by, only, include_all),
                   notebooks=paths, declared=declared, params=params, dataset=dataset,
                   secrets=find_secrets([data_text, *params.values()]),
                   default_name=name is None)


def check_output_folder(root: Path) -> None:
    """Refuse a reports folder (``--out``) that cannot hold a run, before anything is loaded.

    ``root`` (or, when it does not exist yet, its nearest existing parent, where it will be
    created) must be a folder in which a file can really be created: a write probe, not
    ``os.access``, so that a read-only file system, a full disk or a pseudo file system
    (``/proc``, ``/sys``) is found even for root, whom permission bits do not stop.

    Raises
    ------
    SalesnbError
        ``root`` or a parent is a file, or no file can be created there.
    """
    existing = root
    while not _exists(existing) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "is" if existing == root else f"cannot be created: {existing} is"
        raise SalesnbError(f"the reports folder {root} {where} a file, not a folder; "
                           "choose another --out.")
    try:
        handle, probe = tempfile.mkstemp(prefix=".salesnb-write-test-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise output_error(exc, root) from None


def output_error(exc: OSError, folder: Path, doing: str = "write the reports") -> SalesnbError:
    """A plain error for a file-system failure while writing into ``folder``."""
    reasons = {errno.ENOSPC: "no space is left on its device (disk full)",
               errno.EDQUOT: "the disk quota is used up",
               errno.EROFS: "it is on a read-only file system",
               errno.EACCES: "there is no permission to write there",
               errno.EPERM: "there is no permission to write there",
               errno.ENOTDIR: "a part of its path is a file, not a folder",
               errno.EEXIST: "a file of that name is in the way"}
    reason = reasons.get(exc.errno or 0) or \
        f"files cannot be created there ({exc.strerror or exc})"
    return SalesnbError(f"cannot {doing} in {folder}: {reason}; choose another --out or "
                        "free the folder.")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. no permission to look: treated as there, the probe says more
        return True


def plan_segments(dataset: Any, by: str | None, only: Sequence[str] | None = None,
                  include_all: bool = False) -> list[Segment]:
    """The segments of a run, each with a unique, safe folder name.

    No ``by``: one segment ``all``. With ``by``: one per distinct value (or per
    value in ``only``), preceded by ``all`` when ``include_all``.
    """
    from salesnb.io import segments as seg

    if by is None:
        return [Segment(ALL_SEGMENT)]
    column = seg.resolve_by(by) or by
    values = seg.segment_values(dataset, column)
    if only:
        unknown = [v for v in only if v not in values]
        if unknown:
            raise SalesnbError(f"no {column} {', '.join(map(repr, unknown))} in the data; "
                               f"valid values: {', '.join(values)}.")
        values = [v for v in values if v in only]
    taken = {ALL_SEGMENT} if include_all else set()
    segments = [Segment(ALL_SEGMENT)] if include_all else []
    for value in values:
        folder = _unique(seg.slug(value), taken)
        taken.add(folder)
        segments.append(Segment(folder, column, value))
    return segments


def find_notebooks(selection: Sequence[str | Path] | None = None,
                   folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks to run: the default suite or the named/pathed subset, in order.

    A selection entry that names an existing ``.ipynb`` file is used as is;
    otherwise it matches a suite notebook by stem (``01_overview``), by name
    without the number (``overview``) or by number (``01``).
    """
    suite = sorted(folder.glob(NOTEBOOK_PATTERN))
    if not selection:
        if not suite:
            raise SalesnbError(f"no notebooks found in {folder} (expected {NOTEBOOK_PATTERN}).")
        return suite
    return [_find_one(str(entry), suite, folder) for entry in selection]


def notebook_inputs(notebook: Path) -> tuple[str, ...]:
    """The kinds of data a notebook runs on (``salesnb: inputs:`` in its metadata):
    ``deals`` (deal-level exports, the default) and/or ``totals`` (totals over time). The
    default suite runs, on each dataset, the notebooks for the kinds it has.
    """
    import json

    try:
        metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return ("deals",)
    inputs = metadata.get("salesnb", {}).get("inputs") or ["deals"]
    return tuple(str(item) for item in inputs)


def notebooks_for(dataset: Any, paths: list[Path], explicit: bool) -> list[Path]:
    """The notebooks that can run on ``dataset``: those whose inputs (:func:`notebook_inputs`)
    the data has: ``deals`` (deal-level exports) and/or ``totals`` (totals over time).

    Raises
    ------
    SalesnbError
        When a named notebook needs data of a kind the dataset lacks, or no notebook of the
        suite can run on it.
    """
    kinds = {kind for kind, table in (("deals", "deals"), ("totals", "totals"))
             if table in dataset}
    usable = [p for p in paths if kinds & set(notebook_inputs(p))]
    refused = [p for p in paths if p not in usable]
    if (explicit and refused) or not usable:
        wanted = sorted({kind for p in refused for kind in notebook_inputs(p)})
        have = "totals over time (no deals)" if kinds == {"totals"} else "deal-level data " \
            "(no totals over time)"
        raise SalesnbError(
            f"{', '.join(p.stem for p in refused)} need {' or '.join(wanted)}, and this data "
            f"is {have}.\n    hint: " + (
                "run the marketing-mix notebook (--notebooks 07_marketing_mix), or map deals "
                "and teams." if kinds == {"totals"} else
                "map totals and totals_spend for the marketing-mix notebook (docs/mapping.md)"
                ", or leave it out of --notebooks."))
    return usable


def declared_parameters(notebook: Path) -> set[str]:
    """Names in the notebook's ``parameters`` cell (empty when it has none)."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value); the value read as a literal (number, bool, None, text).

    Python and YAML spellings both work: ``3``, ``0.5``, ``true``/``True``,
    ``none``/``None``/``null``, ``[1, 2]``, ``'quoted'``; anything else is text.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise SalesnbError(f"--param {mask_urls_in_text(text)!r} is not key=value (key a "
                           "Python name).")
    return key, _literal(raw.strip())


def _literal(raw: str) -> Any:
    words = {"true": True, "false": False, "none": None, "null": None, "~": None}
    if raw.lower() in words:
        return words[raw.lower()]
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


def _refuse_runner_keys(params: dict[str, Any]) -> None:
    owned = {"data": "--data", "mapping": "--mapping", "segment_by": "--by",
             "segment": "--by/--segments"}
    for key, option in owned.items():
        if key in params:
            raise SalesnbError(f"--param {key}=... is set by the runner; use {option}.")


def _check_params(params: dict[str, Any], declared: dict[Path, set[str]]) -> None:
    valid = set().union(*declared.values()) - {"data", "mapping", "segment_by", "segment"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise SalesnbError(
            f"no selected notebook declares the parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(valid)) or 'none'}.")


def _find_one(entry: str, suite: list[Path], folder: Path) -> Path:
    path = Path(entry)
    if path.suffix == ".ipynb" or "/" in entry:
        if not path.is_file():
            raise SalesnbError(f"notebook {entry} does not exist.")
        return path.resolve()
    matches = [nb for nb in suite if entry in (nb.stem, nb.stem[3:], nb.stem[:2])]
    if len(matches) != 1:
        names = ", ".join(nb.stem for nb in suite) or f"none in {folder}"
        problem = "matches several notebooks" if matches else "matches no notebook"
        raise SalesnbError(f"--notebooks {entry!r} {problem}; available: {names}.")
    return matches[0]


def _absolute_source(data: str | Path) -> str:
    from salesnb.io.sources import is_database_url

    text = str(data)
    return text if is_database_url(text) else str(Path(text).resolve())


def run_name(root: Path, name: str | None) -> str:
    """A safe, unused run folder name (default: a timestamp); refuses a taken one."""
    if name is None:
        stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
        name = _unique(stamp, {p.name.removesuffix(PARTIAL_SUFFIX) for p in _entries(root)})
    if not SAFE_NAME.match(name) or name.endswith(PARTIAL_SUFFIX):
        raise SalesnbError(f"run name {name!r} is not a safe folder name (letters, digits, "
                           f". _ -; not ending in {PARTIAL_SUFFIX}).")
    if (root / name).exists():
        raise SalesnbError(f"run folder {root / name} already exists and is never overwritten; "
                           "choose another --name.")
    if (root / (name + PARTIAL_SUFFIX)).exists():
        raise SalesnbError(f"{root / (name + PARTIAL_SUFFIX)} exists: another run is writing it, "
                           "or an interrupted run left it behind (then delete it).")
    return name


def _entries(root: Path) -> list[Path]:
    return list(root.iterdir()) if root.is_dir() else []


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in taken:
        candidate, counter = f"{name}-{counter}", counter + 1
    return candidate
