"""The boundary, class by class: strict dates, non-finite numbers, headers, corrupt and
nested files, mapping types, inapplicable options, encodings, line endings, sources outside
the data folder, read-only databases and queries.

Each bad case reuses the harness of :mod:`tests.test_bad_inputs` (one mutation of the valid
base dataset; ``salesnb validate`` in-process: exit 1, the named file, column, rows and
hint, no traceback, nothing written, and the library's error class). The controls after
them are inputs that look odd but are right: they must load, with a note where something
was assumed.
"""

from __future__ import annotations

import sqlite3
import time
import warnings
from pathlib import Path

import pytest

import salesnb
from salesnb import DataCleaningWarning, MappingError, SourceError, ValidationError
from salesnb.cli import main
from tests.test_bad_inputs import (
    LEADERS,
    TEAMS,
    Case,
    chain,
    check_bad_input,
    edit,
    load_elsewhere,
    make_base,
    write,
)


def in_mapping(old: str, new: str):
    return edit("mapping.yml", old, new)


def table_option(table: str, option: str):
    """Add one option line under ``tables.<table>.source``."""
    return in_mapping(f"    source: {table}.csv\n", f"    source: {table}.csv\n    {option}\n")


def as_parquet(name: str, **override):
    """Replace spend.csv by spend.parquet holding the same rows (columns overridable)."""

    def mutate(folder: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {"period": pa.array(["2024-01", "2024-01", "2024-02", "2024-02"]),
                   "team_id": pa.array(["T1", "T2", "T1", "T2"]),
                   "tactic": pa.array(["email", "events", "email", "referrals"]),
                   "cost": pa.array([1200.5, 800.0, 1100.0, 300.0]),
                   "programme": pa.array(["Spring push", "Expo", "Spring push", "Friends"]),
                   "strategy": pa.array(["Inbound", "Outbound", "Inbound", "Inbound"])}
        columns.update({k: v() for k, v in override.items()})
        table = pa.Table.from_arrays(list(columns.values()),
                                     names=[k.rstrip("_") for k in columns])  # cost_ = cost
        pq.write_table(table, folder / name)
        (folder / "spend.csv").unlink()
        in_mapping("source: spend.csv", f"source: {name}")(folder)

    return mutate


def _floats(*values):
    import pyarrow as pa
    return lambda: pa.array(list(values))


def _lists():
    import pyarrow as pa
    return pa.array([["a"], ["b"], [], ["c"]])


def _records():
    import pyarrow as pa
    return pa.array([{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4}])


def _maps():
    import pyarrow as pa
    return pa.array([[("k", 1)], [("k", 2)], [], [("k", 3)]], type=pa.map_(pa.string(),
                                                                           pa.int64()))


def cut_parquet(folder: Path) -> None:
    """spend.parquet cut in half, as an interrupted download leaves it."""
    as_parquet("spend.parquet")(folder)
    path = folder / "spend.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def symlink_out(folder: Path) -> None:
    """teams.csv is a symbolic link to a file outside the data folder."""
    outside = folder.parent / "elsewhere.csv"
    outside.write_text(TEAMS, encoding="utf-8")
    (folder / "teams.csv").unlink()
    (folder / "teams.csv").symlink_to(outside)


def xlsx_with_header(header: list[str]):
    def mutate(folder: Path) -> None:
        import openpyxl

        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(header)
        for line in LEADERS.splitlines()[1:]:
            sheet.append(line.split(","))
        workbook.save(folder / "leaders.xlsx")
        in_mapping("source: leaders.csv", "source: leaders.xlsx")(folder)

    return mutate


def sqlite_url(name: str):
    """Validate ``sqlite:///<folder>/<name>`` (no such file) instead of the folder."""
    return lambda folder: f"sqlite:///{folder / name}"


def query(sql: str):
    return in_mapping("    source: teams.csv\n", f"    query: \"{sql}\"\n")


LEADER_HEADER = LEADERS.splitlines()[0].split(",")
BOMB = "version: 1\n" + "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
    for i in range(8)) + "tables: *i\n"

DATES = [
    Case("date_trailing_garbage", edit("deals.csv", "2024-02-10,lost", "2024-02-10garbage,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "2024-02-10garbage")),
    Case("date_extra_digit", edit("deals.csv", "2024-02-10,lost", "2024-02-101,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "2024-02-101")),
    Case("date_single_digit_day", edit("deals.csv", "2024-02-10,lost", "2024-02-1,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "2024-02-1'")),
    Case("date_hour_25", edit("deals.csv", "2024-02-10,lost", "2024-02-10 25:00,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "25:00")),
    Case("date_us_slashes_without_format",
         edit("deals.csv", "2024-02-10,lost", "02/10/2024,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "02/10/2024",
                           "date_format")),
    Case("date_iso_against_declared_format",
         chain(in_mapping("      close_date: close_date\n",
                          "      close_date: {column: close_date, date_format: '%d/%m/%Y'}\n"),
               edit("deals.csv", "2024-02-10,lost", "10/02/2024,lost")),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 2, 4, 5, 6)",
                           "2024-01-20")),
    Case("date_format_bad_directive",
         in_mapping("      close_date: close_date\n",
                    "      close_date: {column: close_date, date_format: '%Q'}\n"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 2, 3, 4, 5, 6)")),
    Case("date_far_future", edit("deals.csv", "2024-02-10,lost", "2500-02-10,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "2500-02-10",
                           "1678-2261")),
    Case("date_year_3000", edit("deals.csv", "2024-02-10,lost", "3000-02-10,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "3000-02-10")),
    Case("date_year_1600", edit("reps.csv", "R1,T1,2022-03-01", "R1,T1,1600-03-01"),
         ValidationError, ("reps.csv", "column 'hire_date'", "(rows 2)", "1600-03-01")),
    Case("date_9999_required", edit("touches.csv", "D3,2024-01-03", "D3,9999-12-31"),
         ValidationError, ("touches.csv", "column 'touch_date'", "(rows 3)", "9999-12-31",
                           "no date", "required")),
    Case("date_9999_style_change", edit("style_changes.csv", "L1,2024-02-01", "L1,9999-12-31"),
         ValidationError, ("style_changes.csv", "column 'effective_date'", "(rows 2)",
                           "9999-12-31")),
    Case("period_month_13", edit("spend.csv", "2024-02,T2,referrals", "2024-13,T2,referrals"),
         ValidationError, ("spend.csv", "column 'period'", "(rows 5)", "2024-13")),
    Case("period_month_00", edit("spend.csv", "2024-02,T2,referrals", "2024-00,T2,referrals"),
         ValidationError, ("spend.csv", "column 'period'", "(rows 5)", "2024-00")),
    Case("period_one_digit_month", edit("spend.csv", "2024-02,T2,referrals",
                                        "2024-2,T2,referrals"),
         ValidationError, ("spend.csv", "column 'period'", "(rows 5)", "2024-2")),
    Case("period_trailing_garbage", edit("spend.csv", "2024-02,T2,referrals",
                                         "2024-02x,T2,referrals"),
         ValidationError, ("spend.csv", "column 'period'", "(rows 5)", "2024-02x")),
    Case("date_text_month", edit("deals.csv", "2024-02-10,lost", "10 Feb 2024,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "10 Feb 2024")),
    Case("created_date_garbage", edit("deals.csv", "R1,2024-01-05", "R1,2024-01-05x"),
         ValidationError, ("deals.csv", "column 'created_date'", "(rows 2)", "2024-01-05x")),
    Case("exit_date_garbage", edit("reps.csv", "2021-06-15,2024-06-30", "2021-06-15,2024-06-3O"),
         ValidationError, ("reps.csv", "column 'exit_date'", "(rows 3)", "2024-06-3O")),
    Case("touch_date_year_2500", edit("touches.csv", "D3,2024-01-03", "D3,2500-01-03"),
         ValidationError, ("touches.csv", "column 'touch_date'", "(rows 3)", "1678-2261")),
    Case("effective_date_garbage", edit("style_changes.csv", "L1,2024-02-01",
                                        "L1,2024-02-01 noon"),
         ValidationError, ("style_changes.csv", "column 'effective_date'", "(rows 2)")),
    Case("period_year_only", edit("spend.csv", "2024-02,T2,referrals", "2024,T2,referrals"),
         ValidationError, ("spend.csv", "column 'period'", "(rows 5)", "'2024'")),
]

NUMBERS = [
    Case("csv_inf_cost", edit("spend.csv", "T2,events,800,", "T2,events,inf,"),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 3)", "'inf'")),
    Case("csv_minus_infinity", edit("spend.csv", "T2,events,800,", "T2,events,-Infinity,"),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 3)", "-Infinity")),
    Case("csv_overflowing_amount",
         edit("deals.csv", "won,R1,2024-01-05,5000", "won,R1,2024-01-05,1" + "0" * 400),
         ValidationError, ("deals.csv", "column 'amount'", "(rows 2)")),
    Case("csv_exponent_amount", edit("deals.csv", "won,R1,2024-01-05,5000",
                                     "won,R1,2024-01-05,1e400"),
         ValidationError, ("deals.csv", "column 'amount'", "(rows 2)", "1e400")),
    Case("csv_nan_word_in_required_cost", edit("spend.csv", "T2,events,800,", "T2,events,nan,"),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 3)", "required")),
    Case("parquet_inf_cost", as_parquet("spend.parquet", cost=_floats(1200.5, float("inf"),
                                                                      1100.0, 300.0)),
         ValidationError, ("spend.parquet", "column 'cost'", "(rows 2)")),
    Case("parquet_minus_inf_cost", as_parquet("spend.parquet", cost=_floats(
        1200.5, 800.0, float("-inf"), 300.0)),
         ValidationError, ("spend.parquet", "column 'cost'", "(rows 3)")),
    Case("parquet_nan_in_required_cost", as_parquet("spend.parquet", cost=_floats(
        1200.5, 800.0, float("nan"), 300.0)),
         ValidationError, ("spend.parquet", "column 'cost'", "(rows 3)", "required")),
]

HEADERS_AND_FILES = [
    Case("header_column_twice", edit("spend.csv", "programme,strategy", "cost,strategy"),
         ValidationError, ("spend.csv", "twice", "'cost' (columns 4, 5)", "rename")),
    Case("header_twice_after_trimming", edit("spend.csv", "programme,strategy",
                                             "cost ,strategy"),
         ValidationError, ("spend.csv", "twice", "'cost'", "spaces")),
    Case("header_twice_in_deals", edit("deals.csv", "amount,customer_id", "amount, amount"),
         ValidationError, ("deals.csv", "twice", "'amount' (columns 8, 9)")),
    Case("header_twice_in_teams", edit("teams.csv", "segment,industry", "team_id,industry"),
         ValidationError, ("teams.csv", "twice", "'team_id' (columns 1, 4)")),
    Case("header_twice_after_a_tab", edit("spend.csv", "programme,strategy",
                                          "\tcost,strategy"),
         ValidationError, ("spend.csv", "twice", "'cost'")),
    Case("header_twice_in_xlsx", xlsx_with_header([*LEADER_HEADER[:-1], "title"]),
         ValidationError, ("leaders.xlsx", "twice", "'title' (columns 2, 8)")),
    Case("header_twice_in_parquet", as_parquet("spend.parquet", cost_=_floats(1., 2., 3., 4.)),
         ValidationError, ("spend.parquet", "twice", "'cost'")),
    Case("source_is_a_folder", chain(lambda f: (f / "touches.csv").unlink(),
                                     lambda f: (f / "touches.csv").mkdir()),
         ValidationError, ("touches.csv", "not found")),
    Case("corrupt_xlsx", chain(write("leaders.xlsx", b"PK\x03\x04garbage"),
                               in_mapping("source: leaders.csv", "source: leaders.xlsx")),
         ValidationError, ("leaders.xlsx", "not a readable .xlsx", "save it again")),
    Case("csv_renamed_to_xlsx", chain(write("leaders.xlsx", LEADERS),
                                      in_mapping("source: leaders.csv", "source: leaders.xlsx")),
         ValidationError, ("leaders.xlsx", "not a readable .xlsx")),
    Case("corrupt_parquet", chain(write("spend.parquet", b"PAR1garbagePAR1"),
                                  in_mapping("source: spend.csv", "source: spend.parquet")),
         ValidationError, ("spend.parquet", "not a readable Parquet file")),
    Case("empty_parquet", chain(write("spend.parquet", b""),
                                in_mapping("source: spend.csv", "source: spend.parquet")),
         ValidationError, ("spend.parquet", "not a readable Parquet file")),
    Case("truncated_parquet", cut_parquet,
         ValidationError, ("spend.parquet", "not a readable Parquet file", "cut short")),
    Case("parquet_list_column", as_parquet("spend.parquet", programme=_lists),
         ValidationError, ("spend.parquet", "'programme'", "lists or records", "flatten")),
    Case("parquet_list_in_team_id", as_parquet("spend.parquet", team_id=_lists),
         ValidationError, ("spend.parquet", "'team_id'", "lists or records")),
    Case("parquet_struct_column", as_parquet("spend.parquet", programme=_records),
         ValidationError, ("spend.parquet", "'programme'", "lists or records")),
    Case("parquet_map_column", as_parquet("spend.parquet", strategy=_maps),
         ValidationError, ("spend.parquet", "'strategy'", "lists or records")),
    Case("utf8_broken_in_header", write("teams.csv", b"team_id,leader\xff_id,region,segment,"
                                                     b"industry\nT1,L1,N,SMB,Software\n"),
         ValidationError, ("teams.csv", "0xff", "line 1", "encoding")),
    Case("declared_utf16_but_utf8", table_option("teams", "encoding: utf-16"),
         ValidationError, ("teams.csv", "utf-16")),
    Case("skip_footer_larger_than_table", table_option("teams", "skip_footer: 5"),
         ValidationError, ("teams.csv", "skip_footer: 5", "all 2 data row(s)")),
    Case("skip_footer_equal_to_table", table_option("teams", "skip_footer: 2"),
         ValidationError, ("teams.csv", "skip_footer: 2", "all 2 data row(s)")),
]

MAPPING_TYPES = [
    Case("yaml_tables_list", write("mapping.yml", "version: 1\ntables: [spend, deals]\n"),
         MappingError, ("mapping.yml", "tables")),
    Case("yaml_column_number", in_mapping("      cost: cost\n", "      cost: 5\n"),
         MappingError, ("mapping.yml", "cost")),
    Case("yaml_tactics_string", in_mapping("tactics: [email, events, referrals, outbound_calls]",
                                           "tactics: email"),
         MappingError, ("mapping.yml", "tactics")),
    Case("yaml_version_unknown", in_mapping("version: 1\n", "version: 7\n"),
         MappingError, ("mapping.yml", "version", "7")),
    Case("yaml_version_text", in_mapping("version: 1\n", "version: one\n"),
         MappingError, ("mapping.yml", "version", "one")),
    Case("yaml_source_list", in_mapping("source: spend.csv", "source: [spend.csv]"),
         MappingError, ("mapping.yml", "spend", "source")),
    Case("yaml_source_number", in_mapping("source: teams.csv", "source: 5"),
         MappingError, ("mapping.yml", "teams", "source")),
    Case("yaml_columns_list", in_mapping(
        "      deal_id: deal_id\n      touch_date: touch_date\n      tactic: tactic\n",
        "      - deal_id\n      - touch_date\n      - tactic\n"),
         MappingError, ("mapping.yml", "touches", "columns")),
    Case("yaml_encoding_number", table_option("teams", "encoding: 5"),
         MappingError, ("mapping.yml", "teams", "encoding")),
    Case("yaml_skip_footer_text", table_option("teams", "skip_footer: two"),
         MappingError, ("mapping.yml", "teams", "skip_footer")),
    Case("yaml_skip_footer_negative", table_option("teams", "skip_footer: -1"),
         MappingError, ("mapping.yml", "teams", "skip_footer")),
    Case("yaml_top_level_list", write("mapping.yml", "- version: 1\n"),
         MappingError, ("mapping.yml",)),
    Case("yaml_top_level_scalar", write("mapping.yml", "hello\n"),
         MappingError, ("mapping.yml",)),
    Case("yaml_alias_bomb", write("mapping.yml", BOMB),
         MappingError, ("mapping.yml", "alias")),
    Case("yaml_where_string", table_option("touches", "where: tactic"),
         MappingError, ("mapping.yml", "touches", "where")),
    Case("yaml_number_style_unknown",
         in_mapping("      cost: cost\n", "      cost: {column: cost, number: klingon}\n"),
         MappingError, ("mapping.yml", "cost", "klingon")),
    Case("sheet_on_csv", table_option("teams", "sheet: Teams"),
         MappingError, ("mapping.yml", "teams", "sheet")),
    Case("encoding_on_parquet", chain(as_parquet("spend.parquet"),
                                      in_mapping("    source: spend.parquet\n",
                                                 "    source: spend.parquet\n"
                                                 "    encoding: cp1252\n")),
         MappingError, ("mapping.yml", "spend", "encoding")),
    Case("delimiter_on_xlsx", chain(write("leaders.xlsx", b""),
                                    in_mapping("    source: leaders.csv\n",
                                               "    source: leaders.xlsx\n    delimiter: ';'\n")),
         MappingError, ("mapping.yml", "leaders", "delimiter")),
]

OUTSIDE_AND_DATABASES = [
    Case("source_parent_folder", in_mapping("source: teams.csv", "source: ../secret.csv"),
         ValidationError, ("tables.teams.source", "outside the data folder",
                           "--allow-outside-data")),
    Case("source_absolute_path", in_mapping("source: teams.csv", "source: /etc/passwd"),
         ValidationError, ("tables.teams.source", "outside the data folder")),
    Case("source_dot_dot_inside_name", in_mapping("source: teams.csv",
                                                  "source: ./../data/../../etc/hostname"),
         ValidationError, ("tables.teams.source", "outside the data folder")),
    Case("source_symlink_leading_out", symlink_out,
         ValidationError, ("tables.teams.source", "outside the data folder")),
    Case("query_copy_to_file", query("COPY (SELECT 1) TO 'written.csv'"),
         ValidationError, ("teams", "one SELECT statement")),
    Case("query_two_statements", query("SELECT * FROM 'teams.csv'; SELECT 1"),
         ValidationError, ("teams", "one SELECT statement")),
    Case("query_changes_a_setting", query("SET enable_external_access = true"),
         ValidationError, ("teams", "one SELECT statement")),
    Case("query_reads_another_file", query("SELECT * FROM read_csv('/etc/passwd')"),
         ValidationError, ("teams", "the query failed", "/etc/passwd")),
    Case("query_attaches_a_database", query("ATTACH 'new.duckdb' AS other"),
         ValidationError, ("teams", "one SELECT statement")),
    Case("query_creates_a_table", query("CREATE TABLE t AS SELECT * FROM 'teams.csv'"),
         ValidationError, ("teams", "one SELECT statement")),
    Case("sqlite_url_without_file", lambda folder: "sqlite://",
         SourceError, ("sqlite://", "does not exist")),
    Case("sqlite_file_missing", sqlite_url("missing.sqlite"),
         SourceError, ("missing.sqlite", "does not exist")),
    Case("duckdb_file_missing", load_elsewhere("missing.duckdb"),
         SourceError, ("missing.duckdb", "does not exist")),
]

CASES = DATES + NUMBERS + HEADERS_AND_FILES + MAPPING_TYPES + OUTSIDE_AND_DATABASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_boundary_case_fails_clearly(tmp_path, case, capsys, monkeypatch):
    monkeypatch.delenv("SALESNB_ALLOW_OUTSIDE_DATA", raising=False)
    check_bad_input(tmp_path, case, capsys, monkeypatch)


def test_the_corpus_has_at_least_130_cases():
    from tests.test_bad_inputs import CASES as FIRST

    ids = [c.id for c in FIRST + CASES]
    assert len(ids) >= 130 and len(set(ids)) == len(ids)


# --------------------------------------------------------------------------- controls


def _loaded(folder: Path, **kwargs) -> tuple[salesnb.Dataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataCleaningWarning)
        data = salesnb.load(folder, **kwargs)
    return data, [str(w.message) for w in caught if w.category is DataCleaningWarning]


@pytest.mark.parametrize("ending", ["\r\n", "\r", "mixed"])
def test_every_line_ending_loads_the_same(tmp_path, ending):
    folder = make_base(tmp_path)
    expected = salesnb.load(folder).deals
    for name in ("deals.csv", "spend.csv", "teams.csv"):
        path = folder / name
        text = path.read_bytes()
        if ending == "mixed":
            lines = text.split(b"\n")
            text = b"".join(line + (b"\r\n" if i % 2 else b"\n")
                            for i, line in enumerate(lines[:-1]))
        else:
            text = text.replace(b"\n", ending.encode())
        path.write_bytes(text)
    assert salesnb.load(folder).deals.equals(expected)


def test_a_9999_end_date_reads_as_no_date_with_a_note(tmp_path):
    folder = make_base(tmp_path)
    edit("reps.csv", "2021-06-15,2024-06-30", "2021-06-15,9999-12-31")(folder)
    data, notes = _loaded(folder)
    assert data.reps["exit_date"].isna().sum() == 3
    assert any("9999" in n and "no date" in n and "rows 3" in n for n in notes), notes


def test_timestamps_with_zones_keep_the_date_as_written(tmp_path):
    folder = make_base(tmp_path)
    edit("deals.csv", "2024-02-10,lost", "2024-02-10T23:30:00-05:00,lost")(folder)
    edit("deals.csv", "2024-01-25,won", "2024-01-25T00:15:00.000+0000,won")(folder)
    edit("deals.csv", "2024-01-20,won", "2024-01-20 08:00:00Z,won")(folder)
    deals = salesnb.load(folder).deals.set_index("deal_id")["close_date"]
    assert deals["D2"] == pd_timestamp("2024-02-10 23:30")
    assert deals["D3"] == pd_timestamp("2024-01-25 00:15")
    assert deals["D1"] == pd_timestamp("2024-01-20 08:00")


def test_zoned_and_far_dated_parquet_timestamps(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = make_base(tmp_path)
    zone = pa.timestamp("us", tz="America/New_York")
    hires = pa.array([dt.datetime(2022, 3, 1, 5), dt.datetime(2021, 6, 15, 4),
                      dt.datetime(2023, 1, 10, 5)], zone)
    exits = pa.array([None, dt.datetime(9999, 12, 31), None], pa.timestamp("us"))
    pq.write_table(pa.table({"rep_id": ["R1", "R2", "R3"], "team_id": ["T1", "T2", "T2"],
                             "hire_date": hires, "exit_date": exits,
                             "annual_cost": [60000.0, 65000.0, 58000.0]}),
                   folder / "reps.parquet")
    in_mapping("source: reps.csv", "source: reps.parquet")(folder)
    data, notes = _loaded(folder)
    assert data.reps["hire_date"].tolist() == [pd_timestamp(d) for d in (
        "2022-03-01", "2021-06-15", "2023-01-10")]  # midnight in New York (EST, EDT)
    assert data.reps["exit_date"].isna().all() and any("9999" in n for n in notes)


def test_a_utf16_export_is_read_with_a_note(tmp_path):
    folder = make_base(tmp_path)
    (folder / "teams.csv").write_bytes(TEAMS.replace("South", "Münster").encode("utf-16"))
    data, notes = _loaded(folder)
    assert data.teams["region"].tolist() == ["North", "Münster"]
    assert any("UTF-16" in n and "teams.csv" in n for n in notes), notes


def test_touches_after_their_deal_closed_are_left_out_and_counted(tmp_path):
    folder = make_base(tmp_path)
    edit("touches.csv", "D1,2024-01-06,email", "D1,2024-03-06,email")(folder)
    data, notes = _loaded(folder)
    assert data.touches["deal_id"].tolist() == ["D3"]
    assert any("left out 1 touch" in n and "rows 2" in n for n in notes), notes


def test_an_unmapped_list_column_in_parquet_is_ignored(tmp_path):
    folder = make_base(tmp_path)
    as_parquet("spend.parquet", tags=_lists)(folder)
    assert salesnb.load(folder).spend["cost"].sum() == pytest.approx(3400.5)


def test_a_file_outside_the_data_folder_loads_only_when_allowed_and_is_never_quoted(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SALESNB_ALLOW_OUTSIDE_DATA", raising=False)
    folder = make_base(tmp_path)
    secret_value = "Z9-private-value"
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "teams.csv").write_text(
        TEAMS.replace("T2,L2,South", f"T2,{secret_value},South"), encoding="utf-8")
    in_mapping("source: teams.csv", "source: ../shared/teams.csv")(folder)
    with pytest.raises(ValidationError, match="outside the data folder"):
        salesnb.load(folder)
    with pytest.raises(ValidationError) as info:  # allowed: read, but its values not quoted
        salesnb.load(folder, allow_outside_data=True)
    assert secret_value not in str(info.value) and "not shown" in str(info.value)
    monkeypatch.setenv("SALESNB_ALLOW_OUTSIDE_DATA", "0")  # restored after the test
    assert main(["validate", str(folder), "--allow-outside-data"]) == 1
    assert secret_value not in capsys.readouterr().err


def test_an_allowed_outside_file_loads(tmp_path, monkeypatch):
    monkeypatch.delenv("SALESNB_ALLOW_OUTSIDE_DATA", raising=False)
    folder = make_base(tmp_path)
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    in_mapping("source: teams.csv", f"source: {tmp_path / 'teams.csv'}")(folder)
    assert salesnb.load(folder, allow_outside_data=True).teams["team_id"].tolist() == ["T1",
                                                                                       "T2"]


def test_a_query_reads_the_data_folder_files_by_name(tmp_path):
    folder = make_base(tmp_path)
    query("SELECT * FROM 'teams.csv' WHERE team_id <> 'T9'")(folder)
    assert salesnb.load(folder).teams["team_id"].tolist() == ["T1", "T2"]


def test_a_sqlite_database_is_opened_read_only(tmp_path):
    database = tmp_path / "crm.sqlite"
    with sqlite3.connect(database) as con:
        con.execute("CREATE TABLE teams (team_id TEXT, leader_id TEXT)")
        con.execute("INSERT INTO teams VALUES ('T1', 'L1')")
    before = database.read_bytes()
    from salesnb.io.sources import DataLocation

    location = DataLocation(f"sqlite:///{database}")
    with location.engine().connect() as con, pytest.raises(Exception, match="not authorized"):
        import sqlalchemy

        con.execute(sqlalchemy.text("INSERT INTO teams VALUES ('T2', 'L2')"))
    location.close()
    assert database.read_bytes() == before and not (tmp_path / "crm.sqlite-journal").exists()


def test_the_alias_bomb_is_refused_fast_with_a_short_message(tmp_path):
    path = tmp_path / "mapping.yml"
    path.write_text(BOMB, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(MappingError) as info:
        salesnb.io.mapping.read_mapping(path)
    assert time.perf_counter() - started < 2 and len(str(info.value)) < 4000


def pd_timestamp(text: str):
    import pandas as pd
    return pd.Timestamp(text)


WRITING_QUERIES = {
    "duckdb": ["COPY (SELECT 1) TO '{folder}/written.csv'", "ATTACH '{folder}/new.duckdb'",
               "CREATE TABLE x AS SELECT 1", "SELECT * FROM read_csv('/etc/hostname')"],
    "sqlite": ["ATTACH '{folder}/new.sqlite' AS n", "VACUUM INTO '{folder}/copy.sqlite'",
               "CREATE TABLE x (a)", "INSERT INTO teams VALUES ('T9', 'L9')"],
}


@pytest.mark.parametrize(("kind", "statement"), [
    (kind, statement) for kind, statements in WRITING_QUERIES.items()
    for statement in statements])
def test_a_database_source_cannot_be_written_through_a_query(tmp_path, capsys, kind,
                                                               statement):
    import duckdb

    folder = tmp_path / "db"
    folder.mkdir()
    database = folder / f"crm.{kind}"
    con = duckdb.connect(str(database)) if kind == "duckdb" else sqlite3.connect(database)
    con.execute("CREATE TABLE teams (team_id TEXT, leader_id TEXT)")
    con.execute("INSERT INTO teams VALUES ('T1', 'L1')")
    con.commit()
    con.close()
    sql = statement.format(folder=folder).replace("'", "''")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "version: 1\ntables:\n  teams:\n    query: '" + sql + "'\n    columns:\n"
        "      team_id: team_id\n      leader_id: leader_id\n  deals:\n    source: teams\n"
        "    columns: {deal_id: team_id, team_id: team_id, tactic: {constant: email},"
        " outcome: {constant: won}}\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["validate", str(database), "--mapping", str(mapping)]) == 1
    err = capsys.readouterr().err
    assert "cannot read from the database" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_date_format_with_a_zone_keeps_each_date_as_written(tmp_path):
    folder = make_base(tmp_path)
    in_mapping("      close_date: close_date\n",
               "      close_date: {column: close_date, date_format: '%Y-%m-%d %H:%M %z'}\n"
               )(folder)
    for day, zone in (("2024-01-20", "+0200"), ("2024-02-10", "-0500"), ("2024-01-25", "+0000"),
                      ("2024-02-20", "+0100"), ("2024-02-28", "+0530")):
        edit("deals.csv", f"{day},", f"{day} 23:30 {zone},")(folder)
    dates = salesnb.load(folder).deals["close_date"]
    assert (dates.dt.strftime("%H:%M") == "23:30").all()
    assert dates.dt.strftime("%Y-%m-%d").tolist() == ["2024-01-20", "2024-02-10", "2024-01-25",
                                                       "2024-02-20", "2024-02-28"]
