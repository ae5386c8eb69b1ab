"""``salesnb map FOLDER``: propose a commented mapping from the headers and a sample of every
export in a folder.

Each file (``.csv``/``.tsv``/``.txt``, ``.xlsx``/``.xlsm`` sheets, ``.parquet``) is sampled
(its first rows), every column profiled (:mod:`salesnb.io.propose_guess`) and every file scored
against every canonical table of :data:`salesnb.io.schema.TABLES`
(:mod:`salesnb.io.propose_tables`). The result is a mapping a person checks and edits:
alternatives, values seen and anything uncertain are YAML comments (``# TODO``), and
``salesnb validate`` then says what remains.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from salesnb.errors import SalesnbError, SourceError
from salesnb.io.capabilities import ANALYSES
from salesnb.io.propose_guess import (
    TOTAL_WORDS,
    header_score,
    parse_date,
    profile_column,
    words,
)
from salesnb.io.propose_tables import CONFIDENT, Guess, Source, TableProposal, choose_tables
from salesnb.io.schema import TABLES
from salesnb.io.values import MISSING_TOKENS

__all__ = ["Guess", "MappingExistsError", "Proposal", "TableProposal", "propose_mapping"]

SAMPLE_ROWS = 2000
SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel",
            ".parquet": "parquet", ".pq": "parquet"}


class MappingExistsError(SalesnbError, FileExistsError):
    """:meth:`Proposal.write` refuses to overwrite a file (a :class:`FileExistsError` too)."""


@dataclass
class Proposal:
    """A proposed mapping: per table guesses, what is missing for which analysis, the YAML."""

    folder: Path
    tables: dict[str, TableProposal]
    missing: list[str]
    yaml: str
    files: list[str] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        """Write the YAML to ``path``, a new file: an existing file is never overwritten.

        Parameters
        ----------
        path : str or pathlib.Path
            The new mapping file.

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        MappingExistsError
            If ``path`` exists (a :class:`~salesnb.errors.SalesnbError` and a
            :class:`FileExistsError`).
        """
        path = Path(path)
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(self.yaml)
        except FileExistsError:
            raise MappingExistsError(f"{path} exists; salesnb map never overwrites a mapping: "
                                  "give another --out FILE or move it away") from None
        return path


def propose_mapping(folder: str | Path) -> Proposal:
    """Propose a commented mapping for the exports in ``folder``.

    Parameters
    ----------
    folder : str or pathlib.Path
        A folder of exports (``.csv``, ``.tsv``, ``.xlsx``, ``.parquet``).

    Returns
    -------
    Proposal
        ``.tables`` (canonical table -> :class:`TableProposal`), ``.missing`` (plain sentences:
        which analysis needs which table or field), ``.yaml`` (the mapping text) and
        ``.write(path)``.

    Raises
    ------
    SourceError
        If ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"{folder} is not a folder.\n    hint: give the folder that holds "
                          "the exports (.csv, .tsv, .xlsx, .parquet).")
    sources, files = read_sources(folder)
    sources += [s for s in (unpivoted(s) for s in sources) if s is not None]
    snapshot = snapshot_date(sources)
    tables = choose_tables(sources, snapshot)
    missing = missing_analyses(tables)
    return Proposal(folder, tables, missing, render(folder, tables, missing, files), files)


def read_sources(folder: Path) -> tuple[list[Source], list[str]]:
    """Sample every readable export in ``folder``; also return one line per file for comments."""
    sources: list[Source] = []
    lines = []
    for path in sorted(folder.iterdir()):
        kind = SUFFIXES.get(path.suffix.lower())
        if not path.is_file() or kind is None or path.name.startswith((".", "~$")):
            continue
        try:
            found = _read_file(path, kind)
        except Exception as exc:  # an unreadable file is reported, never fatal
            lines.append(f"{path.name}: not read ({type(exc).__name__}: {exc})")
            continue
        sources += found
        lines += [f"{s.label}: {s.rows} rows sampled, {len(s.profiles)} columns"
                  + "".join(f"; {n}" for n in s.notes) for s in found]
    return sources, lines


def _read_file(path: Path, kind: str) -> list[Source]:
    import pandas as pd

    if kind == "parquet":
        import pyarrow.parquet as pq

        batch = next(pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_ROWS), None)
        frames = [(None, batch.to_pandas() if batch is not None else pd.DataFrame())]
        return [_source(path.name, s, f, {}, []) for s, f in frames]
    if kind == "excel":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        names = book.sheetnames
        book.close()
        found = []
        for sheet in names:
            frame = pd.read_excel(path, sheet_name=sheet, dtype=object, nrows=SAMPLE_ROWS)
            if frame.shape[1] >= 2:
                found.append(_source(path.name, sheet, frame, {}, []))
        return found
    data = path.read_bytes()
    options: dict[str, Any] = {}
    notes = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        options["encoding"] = "cp1252"
        notes.append("not UTF-8: read as cp1252 (Excel on Windows); check accented letters")
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=header.count)  # the header names no delimiter, usually
    if delimiter not in (",", "\t"):
        options["delimiter"] = delimiter
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                        nrows=SAMPLE_ROWS, skip_blank_lines=False)
    footer = _footer(text, delimiter, frame.shape[1])
    if footer:
        options["skip_footer"] = footer
        notes.append(f"the last {footer} row(s) are a report footer")
    return [_source(path.name, None, frame, options, notes)]


def _source(name: str, sheet: str | None, frame, options: dict, notes: list[str]) -> Source:
    """Profile a sample; blank and "Total" rows are left out, as loading drops them."""
    frame.columns = [str(c).strip() for c in frame.columns]
    text = frame.astype(str).apply(lambda c: c.str.strip().str.casefold())
    blank = (text.isin(MISSING_TOKENS) | frame.isna()).all(axis=1)
    total = text.isin(TOTAL_WORDS).any(axis=1) & ~blank
    if blank.any() or total.any():
        notes = [*notes, f"{int(blank.sum())} blank and {int(total.sum())} 'Total' row(s): "
                 "dropped when loaded"]
    frame = frame[~(blank | total)]
    profiles = {c: profile_column(c, frame[c].tolist()) for c in frame.columns
                if c and not c.startswith("Unnamed:")}
    return Source(name, sheet, profiles, len(frame), options, notes, frame=frame)


def _footer(text: str, delimiter: str, width: int) -> int:
    """Trailing rows with a single filled cell that is not a total (copyright lines...)."""
    rows = list(csv.reader(text.rstrip("\r\n").splitlines()[-20:], delimiter=delimiter))
    footer = 0
    for count, row in enumerate(reversed(rows), start=1):
        filled = [c.strip() for c in row if c.strip()]
        if len(filled) > 1 or width < 3:
            break
        if filled and filled[0].casefold() not in {"total", "totals", "grand total"}:
            footer = count
    return footer


def unpivoted(src: Source) -> Source | None:
    """A wide cost table (a date column and several numeric channel columns) as long rows of
    ``Channel`` and ``Cost`` (for ``spend`` only), or None.
    """
    fields = {f.name for t in TABLES.values() for f in t.fields if f.kind == "number"}
    wide = [c for c, p in src.profiles.items() if p.number and not p.boolean
            and words(c) not in (["total"], ["sum"], ["id"])
            and max(header_score(c, f) for f in fields) < CONFIDENT]
    if len(wide) < 2 or not any(p.date for p in src.profiles.values()):
        return None
    names_to = "Channel" if "Channel" not in src.profiles else "Channel (unpivoted)"
    values_to = "Cost" if "Cost" not in src.profiles else "Cost (unpivoted)"
    kept = {c: p for c, p in src.profiles.items() if c not in wide}
    kept[names_to] = profile_column(names_to, [c for c in wide for _ in range(src.rows)])
    kept[values_to] = profile_column(values_to, [v for c in wide for v in src.profiles[c].values])
    options = {**src.options, "unpivot": {"columns": wide, "names_to": names_to,
                                          "values_to": values_to}}
    notes = [f"wide table: {len(wide)} numeric columns become rows of {names_to} and {values_to}"]
    return Source(src.file, src.sheet, kept, src.rows, options, notes, only="spend")


def snapshot_date(sources: list[Source]) -> str:
    """The latest date seen in any sample (the export's likely snapshot), else today."""
    latest: date | None = None
    for src in sources:
        for prof in src.profiles.values():
            fmt = prof.date.format if prof.date is not None else None
            for value in prof.values if prof.date is not None else ():
                day = parse_date(value, fmt)
                if day is not None and (latest is None or day > latest):
                    latest = day
    return (latest or date.today()).isoformat()


def missing_analyses(tables: dict[str, TableProposal]) -> list[str]:
    """Plain sentences: which analysis cannot run without which table or field.

    The analyses and their needs are :data:`salesnb.io.capabilities.ANALYSES`, the ones the
    reports check; a field counts as mapped when it is read from a column.

    Parameters
    ----------
    tables : dict of str to TableProposal
        The proposed tables.

    Returns
    -------
    list of str
        E.g. ``"Cost per customer needs spend: map a marketing or tactic cost table (period,
        team, tactic, cost)"``.
    """
    found = []
    for needs in ANALYSES.values():
        absent = [t for t in needs.tables if t not in tables]
        fields = [f"{t}.{f}" for t, f in (*needs.fields, *needs.varied) if t in tables
                  and getattr(tables[t].columns.get(f), "column", None) is None]
        if absent or fields:
            found.append(f"{needs.what} needs {_and(absent + fields)}: {needs.hint}")
    return found


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.removesuffix("\n").removesuffix("\n...").removesuffix("\n")


def _dump(key: str, value: Any, indent: int) -> list[str]:
    """``key: value``, a mapping holding collections in block style, the rest in flow style."""
    head = " " * indent + _flow(key) + ":"
    if isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
        return [head] + [line for k, v in value.items() for line in _dump(k, v, indent + 2)]
    return [f"{head} {_flow(value)}"]


def _comment(text: str, indent: int) -> str:
    return " " * indent + "# " + text.replace("\n", " ")


def render(folder: Path, tables: dict[str, TableProposal], missing: list[str],
           files: list[str]) -> str:
    """The commented mapping YAML for the proposed tables."""
    out = [f"# salesnb mapping proposed by `salesnb map {folder.name}` on {date.today()}.",
           "# Every line is a guess from the headers and the first rows: check each one, fix",
           "# the TODO lines, then run `salesnb validate` on the folder until it passes.",
           "# Reference: docs/mapping.md. Files read:"]
    out += [_comment(f"  {line}", 0) for line in files]
    if missing:
        out.append("#\n# Not possible yet with this mapping:")
        out += [_comment(f"  - {line}", 0) for line in missing]
    out += ["", "version: 1", "tables:"]
    for name, prop in tables.items():
        where = prop.source + (f" [sheet {prop.sheet}]" if prop.sheet else "")
        out += ["", _comment(f"{name}: from {where} (match {min(prop.score, 1):.2f})", 2),
                f"  {name}:"]
        out += [_comment(n, 4) for n in prop.notes]
        options: dict[str, Any] = {"source": prop.source}
        if prop.sheet:
            options["sheet"] = prop.sheet
        options.update(prop.options)
        out += [line for k, v in options.items() for line in _dump(k, v, 4)]
        out.append("    columns:")
        for fld in TABLES[name].field_names:
            guess = prop.columns.get(fld)
            if guess is None:
                continue
            out += [_comment(n, 6) for n in guess.notes]
            if guess.alternatives:
                out.append(_comment("alternatives: " + ", ".join(
                    f"{c} ({s:.2f})" for c, s in guess.alternatives), 6))
            if guess.column is None:
                out += _dump(fld, {"constant": guess.constant}, 6)
                continue
            entry = {"column": guess.column, **guess.options} if guess.options else guess.column
            out += _dump(fld, entry, 6)
        absent = [f for f in TABLES[name].field_names if f not in prop.columns]
        if absent:
            out.append(_comment(f"not found (optional): {', '.join(absent)}", 6))
        if prop.unused:
            out.append(_comment(f"columns not used: {', '.join(prop.unused)}", 6))
    return "\n".join(out) + "\n"
