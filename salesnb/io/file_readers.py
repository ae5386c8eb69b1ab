"""Reading export files as they are: CSV (any delimiter and line ending), Parquet, Excel.

Nothing here interprets values; a reader returns the source columns as exported, with the
row numbers a user would see when opening the file in a spreadsheet (header = row 1; a
quoted cell spanning lines is still one row). Whatever makes a file unusable as a table is
a :class:`SourceProblem` naming the file: it is not a table (a folder, a corrupt workbook
or Parquet file), it cannot be decoded, a column is named twice in its header, or a
mapped column holds lists or records instead of values. Files are only opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from salesnb.errors import Problem

if TYPE_CHECKING:
    import pandas as pd

    from salesnb.io.mapping import TableSpec

FILE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
                 ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel"}
DELIMITERS = ",;\t|"
"""The delimiters a CSV file may use when the mapping does not say (detected in this order)."""
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class SourceProblem(Exception):
    """A table's source cannot be read; carries the :class:`Problem` to report."""

    def __init__(self, problem: Problem):
        super().__init__(problem.describe())
        self.problem = problem


@dataclass
class RawTable:
    """A source table as exported, before any value is interpreted."""

    frame: pd.DataFrame
    label: str
    first_row: int
    digest: str
    notes: tuple[str, ...] = ()
    """What was assumed while reading it (an encoding other than UTF-8), for the user."""


def digest(data: bytes) -> str:
    """The SHA-256 of a source's bytes (for the dataset fingerprint)."""
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path, spec: TableSpec) -> RawTable:
    """Read one export file by its suffix (see :data:`FILE_SUFFIXES`).

    Raises
    ------
    SourceProblem
        The file cannot be read as a table (see the module docstring).
    """
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    readers = {"csv": read_csv, "parquet": read_parquet, "excel": read_excel}
    if kind is None:
        raise SourceProblem(Problem(
            spec.table, f"cannot read files of type {path.suffix!r}", source=str(path),
            hint="use .csv, .parquet, .xlsx or a database (.duckdb, .sqlite or a URL)."))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceProblem(Problem(spec.table, f"cannot open the file: {exc.strerror}",
                                    source=str(path),
                                    hint="check the file's permissions; export it again")
                            ) from None
    return readers[kind](path, data, spec)


def read_csv(path: Path, data: bytes, spec: TableSpec) -> RawTable:
    """A CSV/TSV export, every value as text (any line ending: LF, CRLF or CR)."""
    import pandas as pd

    if not data.strip():
        raise SourceProblem(Problem(spec.table, "the file is empty", source=str(path),
                                    hint="export the table again; it should have a header row."))
    text, notes = decode(data, path, spec)
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Mac exports end lines in \r
    delimiter = spec.delimiter or ("\t" if path.suffix.lower() == ".tsv" else
                                   sniff_delimiter(text))
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            sep=delimiter, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise SourceProblem(Problem(spec.table, f"not a readable CSV file: {exc}",
                                    source=str(path),
                                    hint="check the delimiter (tables.X.delimiter) and quoting."),
                            ) from None
    check_header(header, str(path), spec)
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame, str(path), first_row=2, digest=digest(data), notes=notes)


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text among :data:`DELIMITERS` (a comma when it cannot tell,
    e.g. for a file of one column).
    """
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def decode(data: bytes, path: Path, spec: TableSpec) -> tuple[str, tuple[str, ...]]:
    """The file's text in the mapping's encoding (UTF-8 by default), and any note.

    A UTF-8 byte-order mark is skipped. A UTF-16 byte-order mark (Excel's "Unicode text")
    is the one fallback: the file is read as UTF-16, with a note saying so. Anything else
    that is not valid in the encoding is a problem naming the byte and its line.
    """
    skipped = 0
    encoding = spec.encoding
    notes: tuple[str, ...] = ()
    default = encoding.lower().replace("-", "").replace("_", "") == "utf8"
    if default and data.startswith(codecs.BOM_UTF8):
        skipped = len(codecs.BOM_UTF8)  # tolerate the byte-order mark Excel writes
    elif default and data.startswith(_UTF16_BOMS):
        encoding = "utf-16"
        notes = (f"{path.name} read as UTF-16 (it starts with a UTF-16 byte-order mark)",)
    try:
        return data[skipped:].decode(encoding), notes
    except LookupError:
        raise SourceProblem(Problem(spec.table, f"unknown encoding {encoding!r}",
                                    source=str(path),
                                    hint="use a Python codec name such as cp1252 or latin-1."),
                            ) from None
    except UnicodeDecodeError as exc:
        position = exc.start + skipped
        line = data.count(b"\n", 0, position) + 1
        raise SourceProblem(Problem(
            spec.table,
            f"cannot decode as {encoding}: byte 0x{data[position]:02x} at byte "
            f"position {position} (line {line})",
            source=str(path), rows=(line,),
            hint=f"the file was probably saved by Excel in another encoding; set "
                 f"tables.{spec.table}.encoding (for example cp1252) in the mapping.")) from None


def check_header(names: list, label: str, spec: TableSpec) -> None:
    """Refuse a header that names a column twice (after trimming spaces).

    pandas would rename the second ``cost`` to ``cost.1`` and the mapping would silently
    read the first; which one the export meant cannot be known.
    """
    trimmed = ["" if name is None else str(name).strip() for name in names]
    twice = sorted(name for name, count in Counter(trimmed).items() if count > 1 and name)
    if twice:
        positions = {name: [i + 1 for i, n in enumerate(trimmed) if n == name] for name in twice}
        listing = "; ".join(f"{name!r} (columns {', '.join(map(str, where))})"
                            for name, where in positions.items())
        raise SourceProblem(Problem(
            spec.table, f"the header names a column twice: {listing}", source=label,
            column=twice[0], hint="rename one of them in the export (spaces around a name "
                                  "do not count), then map the one you mean"))


def read_parquet(path: Path, data: bytes, spec: TableSpec) -> RawTable:
    """A Parquet file; lists and records are refused in mapped columns, dropped elsewhere."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(pa.BufferReader(data))
        check_header(schema.names, str(path), spec)
        table = pq.read_table(pa.BufferReader(data))
    except SourceProblem:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        raise SourceProblem(Problem(spec.table, f"not a readable Parquet file: {exc}",
                                    source=str(path),
                                    hint="export the table again; the file may be cut short"),
                            ) from None
    nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
    wanted = set(spec.raw_columns)
    mapped = [name for name in nested if name in wanted]
    if mapped:
        raise SourceProblem(Problem(
            spec.table, f"column {mapped[0]!r} holds lists or records, not single values",
            source=str(path), column=mapped[0],
            hint="flatten it in the export (one value per cell), or map another column"))
    frame = table.drop_columns(nested).to_pandas()
    return RawTable(frame, str(path), first_row=1, digest=digest(data))


def read_excel(path: Path, data: bytes, spec: TableSpec) -> RawTable:
    """One sheet of a workbook (the first, unless the mapping names one)."""
    import openpyxl
    import pandas as pd

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        sheets = workbook.sheetnames
        sheet = spec.sheet or sheets[0]
        header = (next(workbook[sheet].iter_rows(max_row=1, values_only=True), ())
                  if sheet in sheets else ())
        workbook.close()
    except Exception as exc:
        raise SourceProblem(Problem(spec.table, f"not a readable .xlsx workbook: {exc}",
                                    source=str(path),
                                    hint="save it again from Excel as .xlsx")) from None
    if sheet not in sheets:
        raise SourceProblem(Problem(
            spec.table, f"the workbook has no sheet named {sheet!r}", source=str(path),
            hint=f"set tables.{spec.table}.sheet to one of {sheets}."))
    label = f"{path} [sheet {sheet}]"
    check_header(list(header), label, spec)
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object,
                              engine="openpyxl")
    except Exception as exc:
        raise SourceProblem(Problem(spec.table, f"cannot read the sheet: {exc}", source=label,
                                    hint="save it again from Excel as .xlsx")) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame, label, first_row=2, digest=digest(data + sheet.encode()))
