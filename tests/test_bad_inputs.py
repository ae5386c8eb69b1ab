"""Bad inputs: every typical mistake in exports and mappings fails with a plain, precise message.

Each case is one small mutation of a hand-written valid dataset (so row numbers are
predictable: CSV line numbers, header = line 1). A case names the error class and the
substrings the message must contain: the source file, the source column, the exact
row numbers and an example of the bad value, wherever they apply. Every case runs
``salesnb validate`` in-process (exit 1, same substrings, no traceback) while a spy records
what ``salesnb.load`` raised (error class, message, number of problems), and must leave the
data folder byte-for-byte unchanged. Two cases also run as a real subprocess. Typical export
debris (``Total`` rows, blank rows, exact duplicates) is dropped with a counting warning.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import salesnb
import salesnb.io.loading
from salesnb import DataCleaningWarning, MappingError, SalesnbWarning, SourceError, ValidationError
from salesnb.cli import main

# --------------------------------------------------------------------------- base dataset
# Line numbers are in the comments: header = line 1.

SPEND = """\
period,team_id,tactic,cost,programme,strategy
2024-01,T1,email,1200.50,Spring push,Inbound
2024-01,T2,events,800,Expo,Outbound
2024-02,T1,email,1100,Spring push,Inbound
2024-02,T2,referrals,300,Friends,Inbound
"""  # lines 2-5

DEALS = """\
deal_id,team_id,tactic,close_date,outcome,rep_id,created_date,amount,customer_id
D1,T1,email,2024-01-20,won,R1,2024-01-05,5000,C1
D2,T1,email,2024-02-10,lost,R1,2024-01-15,3000,C2
D3,T2,events,2024-01-25,won,R2,2024-01-02,7000,C3
D4,T2,referrals,2024-02-20,open,R3,2024-02-01,,
D5,T2,events,2024-02-28,won,R2,2024-02-03,4500,C4
"""  # lines 2-6

TEAMS = """\
team_id,leader_id,region,segment,industry
T1,L1,North,SMB,Software
T2,L2,South,Enterprise,Retail
"""

LEADERS = """\
leader_id,title,decision_style,involvement,industry_years,admin_share,training_hours,recognition
L1,VP Sales,autocratic,hands_on,12,0.3,40,yes
L2,Regional Manager,collaborative,delegating,5,0.25,20,no
"""

REPS = """\
rep_id,team_id,hire_date,exit_date,annual_cost
R1,T1,2022-03-01,,60000
R2,T2,2021-06-15,2024-06-30,65000
R3,T2,2023-01-10,,58000
"""

STYLE_CHANGES = """\
leader_id,effective_date,decision_style,involvement
L1,2024-02-01,consultative,hybrid
"""

TOUCHES = """\
deal_id,touch_date,tactic
D1,2024-01-06,email
D3,2024-01-03,events
"""

MAPPING = """\
# mapping for the bad-input tests: canonical column names, closed tactic vocabulary
version: 1
tactics: [email, events, referrals, outbound_calls]
tables:
  spend:
    source: spend.csv
    columns:
      period: period
      team_id: team_id
      tactic: tactic
      cost: cost
      programme: programme
      strategy: strategy
  deals:
    source: deals.csv
    columns:
      deal_id: deal_id
      team_id: team_id
      tactic: tactic
      close_date: close_date
      outcome: outcome
      rep_id: rep_id
      created_date: created_date
      amount: amount
      customer_id: customer_id
  teams:
    source: teams.csv
    columns:
      team_id: team_id
      leader_id: leader_id
      region: region
      segment: segment
      industry: industry
  leaders:
    source: leaders.csv
    columns:
      leader_id: leader_id
      title: title
      decision_style: decision_style
      involvement: involvement
      industry_years: industry_years
      admin_share: admin_share
      training_hours: training_hours
      recognition: recognition
  style_changes:
    source: style_changes.csv
    columns:
      leader_id: leader_id
      effective_date: effective_date
      decision_style: decision_style
      involvement: involvement
  reps:
    source: reps.csv
    columns:
      rep_id: rep_id
      team_id: team_id
      hire_date: hire_date
      exit_date: exit_date
      annual_cost: annual_cost
  touches:
    source: touches.csv
    columns:
      deal_id: deal_id
      touch_date: touch_date
      tactic: tactic
"""

BASE_FILES = {
    "spend.csv": SPEND, "deals.csv": DEALS, "teams.csv": TEAMS, "leaders.csv": LEADERS,
    "reps.csv": REPS, "style_changes.csv": STYLE_CHANGES, "touches.csv": TOUCHES,
    "mapping.yml": MAPPING,
}
BASE_ROWS = {"spend": 4, "deals": 5, "teams": 2, "leaders": 2, "reps": 3, "style_changes": 1,
             "touches": 2}


def make_base(root: Path) -> Path:
    """Write the valid base dataset into ``root / "data"`` and return that folder."""
    folder = root / "data"
    folder.mkdir()
    for name, text in BASE_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- mutations
# A mutation edits the base folder in place; it may return another path to load.

Mutation = Callable[[Path], "Path | None"]


def edit(name: str, old: str, new: str) -> Mutation:
    """Replace the one occurrence of ``old`` in file ``name`` by ``new``."""

    def mutate(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"test bug: {old!r} is not unique in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return mutate


def append(name: str, text: str) -> Mutation:
    def mutate(folder: Path) -> None:
        with (folder / name).open("a", encoding="utf-8") as fh:
            fh.write(text)

    return mutate


def write(name: str, data: str | bytes) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")

    return mutate


def remove(name: str) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / name).unlink()

    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(folder: Path) -> Path | None:
        target = None
        for m in mutations:
            target = m(folder) or target
        return target

    return mutate


def load_elsewhere(relative: str) -> Mutation:
    """Load ``folder / relative`` instead of the folder itself."""

    def mutate(folder: Path) -> Path:
        return folder / relative

    return mutate


def leaders_xlsx(sheet: str) -> Mutation:
    """Replace leaders.csv by leaders.xlsx holding the same rows on sheet ``sheet``."""

    def mutate(folder: Path) -> None:
        import openpyxl

        workbook = openpyxl.Workbook()
        ws = workbook.active
        ws.title = sheet
        for line in LEADERS.splitlines():
            ws.append([_cell(v) for v in line.split(",")])
        workbook.save(folder / "leaders.xlsx")
        (folder / "leaders.csv").unlink()

    return mutate


def _cell(value: str):
    try:
        return float(value)
    except ValueError:
        return value


# Non-UTF-8 teams.csv: "Münster" saved by Excel in cp1252 (ü = 0xfc), on line 3.
TEAMS_CP1252 = TEAMS.replace("South", "Münster").encode("cp1252")
CP1252_POSITION = TEAMS_CP1252.index(b"\xfc")

# The malformed-YAML case indents "    source: deals.csv" with a tab; its line number:
TAB_LINE = MAPPING.splitlines().index("    source: deals.csv") + 1
# The duplicate-key case repeats "programme:" on the line after the first one:
DUPLICATE_LINE = MAPPING.splitlines().index("      programme: programme") + 2

# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation
    error: type[Exception]
    expect: tuple[str, ...]
    count: int = 1
    """How many problems a ValidationError must list (each case plants one, unless said)."""


SEVERAL = chain(  # four independent problems in four files
    edit("spend.csv", "2024-01,T2,events,800,", "2024-01,T2,events,eight hundred,"),  # line 3
    edit("teams.csv", "T2,L2,South", "T2,L7,South"),  # line 3
    edit("reps.csv", "2021-06-15,2024-06-30", "2021-06-15,2020-06-30"),  # line 3
    edit("deals.csv", "D5,T2,events,2024-02-28,won", "D5,T2,events,2024-02-28,pending"),  # 6
)
SEVERAL_FOUND = {("spend.csv", "cost", (3,)), ("teams.csv", "leader_id", (3,)),
                 ("reps.csv", "exit_date", (3,)), ("deals.csv", "outcome", (6,))}

CASES = [
    # ---- values
    Case("text_in_cost", edit("spend.csv", "T2,events,800,", "T2,events,abc,"),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 3)", "'abc'")),
    Case("negative_cost", edit("spend.csv", "T2,events,800,", "T2,events,-800,"),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 3)", "-800", ">= 0")),
    Case("number_wrong_locale_us",
         chain(edit("mapping.yml", "      cost: cost\n",
                    "      cost: {column: cost, number: us}\n"),
               edit("spend.csv", "1200.50", '"1.234,50"')),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 2)", "'1.234,50'")),
    Case("number_wrong_locale_eu",
         chain(edit("mapping.yml", "      cost: cost\n",
                    "      cost: {column: cost, number: eu}\n"),
               edit("spend.csv", "1200.50", '"1,234.50"')),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 2)", "'1,234.50'")),
    Case("number_with_unit_suffix", edit("spend.csv", "1200.50", "1.5k"),
         ValidationError, ("spend.csv", "column 'cost'", "(rows 2)", "'1.5k'")),
    Case("unparseable_date", edit("deals.csv", "2024-02-10,lost", "next week,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "'next week'")),
    Case("date_day_month_swapped", edit("deals.csv", "2024-02-10,lost", "2024-31-01,lost"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "'2024-31-01'")),
    Case("date_out_of_range", edit("reps.csv", "R1,T1,2022-03-01", "R1,T1,1899-03-01"),
         ValidationError, ("reps.csv", "column 'hire_date'", "(rows 2)", "1899-03-01")),
    Case("close_before_created",
         edit("deals.csv", "2024-02-10,lost,R1,2024-01-15", "2024-02-10,lost,R1,2024-03-15"),
         ValidationError, ("deals.csv", "column 'close_date'", "(rows 3)", "created_date")),
    Case("exit_before_hire", edit("reps.csv", "2021-06-15,2024-06-30", "2021-06-15,2020-06-30"),
         ValidationError, ("reps.csv", "column 'exit_date'", "(rows 3)", "hire_date")),
    Case("required_value_empty", edit("deals.csv", "D3,T2,events", "D3,,events"),
         ValidationError, ("deals.csv", "column 'team_id'", "(rows 4)", "required")),
    Case("required_value_na_token", edit("spend.csv", "2024-02,T2,referrals", "N/A,T2,referrals"),
         ValidationError, ("spend.csv", "column 'period'", "(rows 5)", "required")),
    Case("outcome_not_allowed", edit("deals.csv", "2024-02-28,won", "2024-02-28,pending"),
         ValidationError, ("deals.csv", "column 'outcome'", "(rows 6)", "'pending'", "won")),
    Case("outcome_example_shows_source_spelling",
         edit("deals.csv", "2024-02-28,won", "2024-02-28,Closed Won"),
         ValidationError, ("deals.csv", "column 'outcome'", "(rows 6)", "'Closed Won'")),
    Case("decision_style_not_allowed", edit("leaders.csv", "collaborative", "dictatorial"),
         ValidationError, ("leaders.csv", "column 'decision_style'", "(rows 3)",
                           "'dictatorial'", "autocratic")),
    Case("admin_share_above_one", edit("leaders.csv", ",12,0.3,", ",12,35,"),
         ValidationError, ("leaders.csv", "column 'admin_share'", "(rows 2)", "35", "<= 1")),
    Case("bad_boolean", edit("leaders.csv", "20,no", "20,maybe"),
         ValidationError, ("leaders.csv", "column 'recognition'", "(rows 3)", "'maybe'")),
    Case("unknown_tactic", edit("deals.csv", "D4,T2,referrals", "D4,T2,webinar"),
         ValidationError, ("deals.csv", "column 'tactic'", "(rows 5)", "'webinar'")),
    Case("row_number_after_blank_line",
         chain(edit("deals.csv", "C2\nD3", "C2\n\nD3"),  # D3 moves to line 5
               edit("deals.csv", "2024-01-25,won", "2024-01-25,pending")),
         ValidationError, ("deals.csv", "column 'outcome'", "(rows 5)", "'pending'")),
    # ---- keys and references
    Case("dangling_team_in_deals", edit("deals.csv", "D5,T2", "D5,T9"),
         ValidationError, ("deals.csv", "column 'team_id'", "(rows 6)", "'T9'")),
    Case("dangling_leader_in_teams", edit("teams.csv", "T2,L2", "T2,L9"),
         ValidationError, ("teams.csv", "column 'leader_id'", "(rows 3)", "'L9'")),
    Case("dangling_rep_in_deals", edit("deals.csv", "open,R3", "open,R9"),
         ValidationError, ("deals.csv", "column 'rep_id'", "(rows 5)", "'R9'")),
    Case("dangling_deal_in_touches", edit("touches.csv", "D3,", "D99,"),
         ValidationError, ("touches.csv", "column 'deal_id'", "(rows 3)", "'D99'")),
    Case("duplicate_deal_id_differing", edit("deals.csv", "D5,T2", "D3,T2"),
         ValidationError, ("deals.csv", "deal_id", "(rows 4, 6)", "'D3'")),
    Case("duplicate_spend_key", append("spend.csv", "2024-01,T1,email,999,Other,Inbound\n"),
         ValidationError, ("spend.csv", "period, team_id, tactic", "(rows 2, 6)")),
    Case("duplicate_leader_id",
         append("leaders.csv", "L1,Director,consultative,hybrid,3,0.1,5,no\n"),
         ValidationError, ("leaders.csv", "leader_id", "(rows 2, 4)", "'L1'")),
    # ---- sources
    Case("missing_required_column_in_source",
         edit("spend.csv", "tactic,cost,programme", "tactic,Cost USD,programme"),
         ValidationError, ("spend.csv", "'cost'", "Cost USD")),
    Case("missing_column_lists_last_source_column",
         edit("touches.csv", "touch_date,tactic\n", "touch_date,Tactic Name\n"),
         ValidationError, ("touches.csv", "'tactic'", "Tactic Name")),
    Case("mapping_names_missing_column",
         edit("mapping.yml", "      cost: cost\n", "      cost: Cost_USD\n"),
         ValidationError, ("spend.csv", "'Cost_USD'")),
    Case("ragged_csv_row", edit("spend.csv", "800,Expo,Outbound", "800,Expo,Outbound,extra"),
         ValidationError, ("spend.csv", "line 3")),
    Case("empty_file", write("teams.csv", b""),
         ValidationError, ("teams.csv", "empty")),
    Case("header_only_file", write("spend.csv", SPEND.splitlines()[0] + "\n"),
         ValidationError, ("spend.csv", "no data rows")),
    Case("source_file_missing", remove("touches.csv"),
         ValidationError, ("touches.csv", "not found")),
    Case("xlsx_wrong_sheet",
         chain(leaders_xlsx("Export"),
               edit("mapping.yml", "    source: leaders.csv\n",
                    "    source: leaders.xlsx\n    sheet: leaders\n")),
         ValidationError, ("leaders.xlsx", "'leaders'", "Export")),
    Case("non_utf8_csv", write("teams.csv", TEAMS_CP1252),
         ValidationError, ("teams.csv", f"byte position {CP1252_POSITION}", "encoding",
                           "(rows 3)")),
    Case("non_utf8_csv_after_bom", write("teams.csv", b"\xef\xbb\xbf" + TEAMS_CP1252),
         ValidationError, ("teams.csv", f"byte position {CP1252_POSITION + 3}", "0xfc",
                           "encoding", "(rows 3)")),
    Case("unknown_encoding_name",
         edit("mapping.yml", "    source: teams.csv\n",
              "    source: teams.csv\n    encoding: klingon-8\n"),
         ValidationError, ("teams.csv", "'klingon-8'", "encoding")),
    Case("data_folder_missing", load_elsewhere("no-such-folder"),
         SourceError, ("no-such-folder", "does not exist")),
    # ---- mapping
    Case("mapping_file_missing", remove("mapping.yml"),
         MappingError, ("mapping.yml", "does not exist")),
    Case("mapping_malformed_yaml",
         edit("mapping.yml", "    source: deals.csv\n", "\tsource: deals.csv\n"),
         MappingError, ("mapping.yml", f"line {TAB_LINE}")),
    Case("mapping_empty", write("mapping.yml", ""),
         MappingError, ("mapping.yml", "tables")),
    Case("mapping_unknown_table",
         append("mapping.yml", "  opportunities:\n    source: deals.csv\n"
                               "    columns: {deal_id: deal_id}\n"),
         MappingError, ("mapping.yml", "'opportunities'")),
    Case("mapping_unknown_field", edit("mapping.yml", "      cost: cost\n", "      budget: cost\n"),
         MappingError, ("mapping.yml", "'budget'", "spend")),
    Case("mapping_required_field_unmapped", edit("mapping.yml", "      outcome: outcome\n", ""),
         MappingError, ("mapping.yml", "deals", "'outcome'")),
    Case("mapping_unknown_table_option",
         edit("mapping.yml", "    source: spend.csv\n",
              "    source: spend.csv\n    sheet_name: Spend\n"),
         MappingError, ("mapping.yml", "spend", "'sheet_name'")),
    Case("mapping_missing_core_table",  # deals and teams are core; leaders are optional
         edit("mapping.yml", MAPPING[MAPPING.index("  teams:"):MAPPING.index("  leaders:")], ""),
         MappingError, ("mapping.yml", "teams", "deals and teams are needed")),
    Case("mapping_not_utf8",
         write("mapping.yml", ("# Région Nord\n" + MAPPING).encode("cp1252")),
         MappingError, ("mapping.yml", "encoding")),
    Case("mapping_bad_where_regex",
         edit("mapping.yml", "    source: touches.csv\n",
              "    source: touches.csv\n    where: {column: tactic, matches: 'e[mail'}\n"),
         MappingError, ("mapping.yml", "touches", "'e[mail'")),
    Case("mapping_unparseable_date_range",
         edit("mapping.yml", "version: 1\n", "version: 1\ndate_range: [sometime, 2100-12-31]\n"),
         MappingError, ("mapping.yml", "date_range", "'sometime'")),
    Case("mapping_duplicate_key",
         edit("mapping.yml", "      programme: programme\n",
              "      programme: programme\n      programme: strategy\n"),
         MappingError, ("mapping.yml", "programme", f"line {DUPLICATE_LINE}")),
    # ---- all at once
    Case("several_problems_at_once", SEVERAL, ValidationError,
         ("4 problem(s)",
          "spend.csv", "column 'cost'", "'eight hundred'",
          "teams.csv", "column 'leader_id'", "'L7'",
          "reps.csv", "column 'exit_date'",
          "deals.csv", "column 'outcome'", "'pending'"), count=4),
    Case("reference_checked_even_if_target_has_a_bad_value",
         chain(edit("leaders.csv", "20,no", "20,maybe"), edit("teams.csv", "T2,L2", "T2,L7")),
         ValidationError, ("2 problem(s)", "leaders.csv", "column 'recognition'", "'maybe'",
                           "teams.csv", "column 'leader_id'", "'L7'"), count=2),
]
CASE_IDS = [c.id for c in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS)


def prepare(tmp_path: Path, case: Case) -> tuple[Path, Path]:
    """Build the base dataset, apply the case; return (data folder, path to load)."""
    folder = make_base(tmp_path)
    target = case.mutate(folder) or folder
    return folder, target


def assert_mentions(text: str, expected: tuple[str, ...], where: str) -> None:
    missing = [s for s in expected if s not in text]
    assert not missing, f"{where} lacks {missing}; it was:\n{text}"


# --------------------------------------------------------------------------- tests


def test_base_dataset_loads_cleanly(tmp_path):
    folder = make_base(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SalesnbWarning)
        data = salesnb.load(folder)
    assert {name: len(frame) for name, frame in data.tables.items()} == BASE_ROWS
    assert data.spend["cost"].tolist() == [1200.5, 800.0, 1100.0, 300.0]
    assert data.leaders["recognition"].tolist() == [True, False]
    assert data.notes == []


def test_base_dataset_validates_in_cli(tmp_path, capsys):
    folder = make_base(tmp_path)
    assert main(["validate", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "valid" in out
    assert "note:" not in err


@pytest.mark.parametrize(
    ("mutation", "check"),
    [
        (chain(edit("mapping.yml", "      cost: cost\n",
                    "      cost: {column: cost, number: eu}\n"),
               edit("spend.csv", "1200.50", '"1.234,50 €"')),
         lambda d: d.spend["cost"].iloc[0] == 1234.5),
        (edit("spend.csv", "1200.50", '"$1,200.50"'),
         lambda d: d.spend["cost"].iloc[0] == 1200.5),
        (chain(write("teams.csv", TEAMS_CP1252),
               edit("mapping.yml", "    source: teams.csv\n",
                    "    source: teams.csv\n    encoding: cp1252\n")),
         lambda d: d.teams["region"].iloc[1] == "Münster"),
        (chain(leaders_xlsx("Export"),
               edit("mapping.yml", "    source: leaders.csv\n",
                    "    source: leaders.xlsx\n    sheet: Export\n")),
         lambda d: d.leaders["leader_id"].tolist() == ["L1", "L2"]),
    ],
    ids=["eu_number_with_eu_option", "us_currency_string", "cp1252_with_encoding_option",
         "xlsx_right_sheet"],
)
def test_controls_that_should_load(tmp_path, mutation, check):
    """The fixes suggested by the error messages work (so the failures are for the right reason)."""
    folder = make_base(tmp_path)
    mutation(folder)
    assert check(salesnb.load(folder))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_fails_clearly(tmp_path, case, capsys, monkeypatch):
    check_bad_input(tmp_path, case, capsys, monkeypatch)


def check_bad_input(tmp_path: Path, case: Case, capsys, monkeypatch) -> None:
    """One real load per case, checked at both layers (this keeps the file fast).

    ``salesnb validate`` runs in-process; a spy on ``salesnb.io.loading.load`` (which is what
    ``salesnb.load`` is) records the exception the library raised, so the library's error
    class and message and the CLI's exit code and stderr are checked from the same load.
    """
    folder, target = prepare(tmp_path, case)
    before = snapshot(tmp_path)
    calls: list[tuple[tuple, dict, Exception | None]] = []
    real_load = salesnb.io.loading.load

    def spy(*args, **kwargs):
        try:
            result = real_load(*args, **kwargs)
        except Exception as exc:
            calls.append((args, kwargs, exc))
            raise
        calls.append((args, kwargs, None))
        return result

    monkeypatch.setattr(salesnb.io.loading, "load", spy)
    failures = []
    escaped = None
    try:
        code = main(["validate", str(target)])
    except SystemExit as exc:  # argparse or an explicit exit
        code = exc.code
    except Exception as exc:  # a bug: the real command would print a traceback
        code, escaped = None, exc
    out, err = capsys.readouterr()

    # the library: salesnb.load(target) raised the right error with the right message
    assert len(calls) == 1, f"{case.id}: the CLI called salesnb.io.loading.load {len(calls)} times"
    args, kwargs, exc = calls[0]
    assert str(args[0]) == str(target) and kwargs.get("mapping") is None, (
        f"{case.id}: the CLI called load{args}{kwargs}, not load({str(target)!r})")
    if exc is None:
        failures.append("salesnb.load accepted the bad input")
    elif not isinstance(exc, case.error):
        failures.append(f"salesnb.load raised {type(exc).__name__}, expected "
                        f"{case.error.__name__}: {exc}")
    else:
        missing = [s for s in case.expect if s not in str(exc)]
        if missing:
            failures.append(f"the {type(exc).__name__} message lacks {missing}:\n{exc}")
        if isinstance(exc, ValidationError) and len(exc.problems) != case.count:
            failures.append(f"expected {case.count} problem(s), got {len(exc.problems)}:\n{exc}")

    # the CLI: exit 1, the same key facts on stderr, no traceback
    if escaped is not None:
        failures.append(f"the CLI let {type(escaped).__name__} escape (a traceback): {escaped}")
    else:
        if code != 1:
            failures.append(f"CLI exit code {code}, expected 1; stdout:\n{out}")
        if "Traceback" in err:
            failures.append("CLI stderr shows a traceback")
        missing = [s for s in case.expect if s not in err]
        if missing:
            failures.append(f"CLI stderr lacks {missing}:\n{err}")

    # nothing written or modified
    if snapshot(tmp_path) != before:
        failures.append("the data folder was modified")
    if failures:
        pytest.fail(f"{case.id}:\n- " + "\n- ".join(failures), pytrace=False)


def test_validation_error_lists_problems_with_context(tmp_path):
    """The problems of one error are also available as data (file, column, rows)."""
    folder = make_base(tmp_path)
    SEVERAL(folder)
    with pytest.raises(ValidationError) as info:
        salesnb.load(folder)
    found = {(Path(p.source).name, p.column, tuple(p.rows)) for p in info.value.problems}
    assert found == SEVERAL_FOUND


@pytest.mark.slow
@pytest.mark.parametrize("case_id", ["several_problems_at_once", "mapping_malformed_yaml"])
def test_bad_input_fails_clearly_in_subprocess(tmp_path, case_id):
    case = CASES[CASE_IDS.index(case_id)]
    folder, target = prepare(tmp_path, case)
    before = snapshot(folder)
    result = subprocess.run([sys.executable, "-m", "salesnb.cli", "validate", str(target)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert_mentions(result.stderr, case.expect, f"{case_id}: subprocess stderr")
    assert snapshot(folder) == before


# --------------------------------------------------------------------------- export debris

DEBRIS = [
    pytest.param(append("spend.csv", "Total,,,3400.50,,\n"), "spend", ("dropped 1", "total"),
                 id="trailing_total_row"),
    pytest.param(chain(edit("deals.csv", "C2\nD3", "C2\n\nD3"), append("deals.csv", ",,,,,,,,\n")),
                 "deals", ("dropped 2", "blank"), id="blank_rows"),
    pytest.param(append("reps.csv", "R1,T1,2022-03-01,,60000\n"), "reps",
                 ("dropped 1", "duplicate"), id="exact_duplicate_row"),
]


@pytest.mark.parametrize(("mutation", "table", "expect"), DEBRIS)
def test_export_debris_is_dropped_with_a_counting_warning(tmp_path, mutation, table, expect):
    folder = make_base(tmp_path)
    mutation(folder)
    before = snapshot(tmp_path)
    with pytest.warns(DataCleaningWarning) as record:
        data = salesnb.load(folder)
    messages = [str(w.message) for w in record if issubclass(w.category, DataCleaningWarning)]
    assert len(messages) == 1, messages
    assert_mentions(messages[0].lower(), expect + (f"{table}.csv",), "the warning")
    assert {name: len(frame) for name, frame in data.tables.items()} == BASE_ROWS
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("mutation", "table", "expect"), DEBRIS)
def test_export_debris_is_noted_by_the_cli(tmp_path, capsys, mutation, table, expect):
    folder = make_base(tmp_path)
    mutation(folder)
    assert main(["validate", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "valid" in out
    assert_mentions(err.lower(), ("note:",) + expect + (f"{table}.csv",), "CLI stderr")


def test_all_debris_at_once_is_counted(tmp_path):
    folder = make_base(tmp_path)
    append("spend.csv", "\n2024-02,T2,referrals,300,Friends,Inbound\n,,,,,\nTotal,,,3400.50,,\n")(
        folder)
    with pytest.warns(DataCleaningWarning) as record:
        data = salesnb.load(folder)
    text = "\n".join(str(w.message) for w in record).lower()
    assert_mentions(text, ("dropped 2 blank", "dropped 1 'total'", "dropped 1 exact duplicate"),
                    "the warnings")
    assert len(data.spend) == BASE_ROWS["spend"]
    assert data.provenance["spend"].rows_read == 8
