"""The Salesforce-style example (data/examples/salesforce) loads, and loads correctly.

Every expectation is computed here from the raw files (csv/openpyxl and small
parsers written out in this file), never from salesnb, so a wrong translation
in salesnb or in the example's mapping makes a test fail.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

import salesnb
from salesnb import DataCleaningWarning, ValidationError

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "salesforce"
DATA_FILES = ("opportunities.csv", "marketing_costs.xlsx", "hr_people.xlsx")

LEADER_TITLES = {"VP Sales", "Director of Sales", "Regional Sales Manager", "Head of Sales",
                 "Sales Director", "Area Sales Manager"}
REP_TITLES = {"Account Executive", "Sales Development Rep"}
LEAD_SOURCES = {"Customer Referral": "referrals", "Partner": "partners", "Email Campaign": "email",
                "Webinar": "webinars", "Cold Call": "outbound_calls",
                "Web - Paid Search": "paid_search", "Trade Show": "events"}
INVOLVEMENT = {"Hands-on": "hands_on", "Very hands-on": "hands_on",
               "Delegates most things": "delegating", "Delegates to team leads": "delegating",
               "Mix of both": "hybrid"}
MONTHS = {name: i for i, name in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}


# --- independent readers of the raw files -------------------------------------------------------

def _opportunity_rows() -> tuple[list[str], list[list[str]]]:
    text = (EXAMPLE / "opportunities.csv").read_bytes().decode("cp1252")
    header, *rows = csv.reader(io.StringIO(text))
    return header, rows


def _sheet(file: str, sheet: str) -> list[dict]:
    workbook = openpyxl.load_workbook(EXAMPLE / file, read_only=True, data_only=True)
    rows = list(workbook[sheet].iter_rows(values_only=True))
    workbook.close()
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]
            if any(v not in (None, "") for v in row)]


def _opportunities() -> list[dict]:
    """Data rows only: without blank lines and the 'Total' footer."""
    header, rows = _opportunity_rows()
    return [dict(zip(header, row, strict=True)) for row in rows
            if any(cell.strip() for cell in row) and row[0] != "Total"]


def _us_money(text: str) -> float:
    assert text.startswith("$"), text
    return float(text[1:].replace(",", ""))


def _eu_money(text: str) -> float:
    assert text.endswith(" €"), text
    return float(text[:-2].replace(".", "").replace(",", "."))


def _us_date(text: str) -> pd.Timestamp:
    month, day, year = (int(part) for part in text.split("/"))
    return pd.Timestamp(year, month, day)


def _month(text: str) -> pd.Timestamp:
    name, year = text.split()
    return pd.Timestamp(int(year), MONTHS[name], 1)


def _style(score: int) -> str:
    """The survey's own key: 1-2 autocratic, 3-5 consultative, 6-7 collaborative."""
    assert 1 <= score <= 7
    return "autocratic" if score <= 2 else "consultative" if score <= 5 else "collaborative"


def _id(value) -> str:
    return str(int(value)) if isinstance(value, int | float) else str(value).strip()


# --- the loaded example ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loaded():
    with pytest.warns(DataCleaningWarning) as record:
        dataset = salesnb.load(EXAMPLE)
    notes = [str(w.message) for w in record if issubclass(w.category, DataCleaningWarning)]
    return dataset, notes


@pytest.fixture(scope="module")
def people() -> list[dict]:
    return _sheet("hr_people.xlsx", "People")


def test_row_counts_match_the_files_minus_export_debris(loaded, people):
    dataset, notes = loaded
    _, raw_rows = _opportunity_rows()
    blank = sum(1 for row in raw_rows if not any(cell.strip() for cell in row))
    total = sum(1 for row in raw_rows if row and row[0] == "Total")
    assert (blank, total) == (1, 1), "the example report should end with a blank + Total row"
    assert len(dataset.deals) == len(raw_rows) - blank - total == len(_opportunities())
    assert 200 <= len(dataset.deals) <= 600

    costs = _sheet("marketing_costs.xlsx", "Costs")
    cost_totals = sum(1 for row in costs if row["Month"] == "Total")
    assert cost_totals == 1
    assert len(dataset.spend) == len(costs) - cost_totals

    leaders = [p for p in people if p["Job Title"] in LEADER_TITLES]
    reps = [p for p in people if p["Job Title"] in REP_TITLES]
    assert len(people) > len(leaders) + len(reps), "the sheet should hold non-sales rows too"
    assert len(dataset.leaders) == len(dataset.teams) == len(leaders)
    assert len(dataset.reps) == len(reps)

    assert f"deals: dropped {blank} blank row(s) from {EXAMPLE / 'opportunities.csv'}" in notes
    assert f"deals: dropped {total} 'Total' row(s) from {EXAMPLE / 'opportunities.csv'}" in notes
    assert any(n.startswith(f"spend: dropped {cost_totals} 'Total' row(s)") and "Costs" in n
               for n in notes)
    assert dataset.provenance["deals"].rows_dropped == {"blank": blank, "'Total'": total}


def test_leaders_keep_titles_and_get_styles_from_the_survey(loaded, people):
    dataset, _ = loaded
    leaders = dataset.leaders.set_index("leader_id")
    rows = {_id(p["Employee ID"]): p for p in people if p["Job Title"] in LEADER_TITLES}
    assert set(leaders.index) == set(rows)
    assert (leaders["role"] == "sales leader").all()
    for leader_id, row in rows.items():
        leader = leaders.loc[leader_id]
        assert leader["title"] == row["Job Title"]
        assert leader["decision_style"] == _style(int(row["Decision Score (1-7)"]))
        assert leader["involvement"] == INVOLVEMENT[row["Involvement"]]
        assert leader["admin_share"] == pytest.approx(int(row["Admin Time"].rstrip("%")) / 100)
        assert leader["recognition"] == (row["Recognition Program"] == "Y")
        assert leader["industry_years"] == row["Years in Industry"]
    assert set(leaders["decision_style"]) == {"autocratic", "consultative", "collaborative"}


def test_teams_reps_and_ids_agree_across_the_three_files(loaded, people):
    dataset, _ = loaded
    leader_rows = [p for p in people if p["Job Title"] in LEADER_TITLES]
    teams = dataset.teams.set_index("team_id")
    assert sorted(teams.index) == sorted(p["Team"] for p in leader_rows)  # one leader per team
    for row in leader_rows:
        assert teams.loc[row["Team"], "leader_id"] == _id(row["Employee ID"])
        assert teams.loc[row["Team"], "region"] == row["Region"]

    reps = dataset.reps.set_index("rep_id")
    for row in (p for p in people if p["Job Title"] in REP_TITLES):
        rep = reps.loc[_id(row["Employee ID"])]
        assert rep["team_id"] == row["Team"]
        assert rep["hire_date"] == pd.Timestamp(row["Hire Date"])
        exit_date = row["Termination Date"]
        assert pd.isna(rep["exit_date"]) if exit_date is None else \
            rep["exit_date"] == pd.Timestamp(exit_date)
    assert reps["exit_date"].notna().any(), "the example should show former employees"

    # numeric Employee IDs in Excel and text owner ids in the CSV must be the same ids
    owners = {row["Opportunity Owner ID"] for row in _opportunities()}
    assert owners <= set(reps.index)
    assert set(dataset.deals["rep_id"]) == owners
    assert set(dataset.deals["team_id"]) <= set(teams.index)
    assert set(dataset.spend["team_id"]) == set(teams.index)


def test_deals_values_are_read_exactly(loaded):
    dataset, _ = loaded
    deals = dataset.deals.set_index("deal_id")
    rows = _opportunities()
    assert set(deals.index) == {row["Opportunity ID"] for row in rows}
    outcome = {"Closed Won": "won", "Closed Lost": "lost"}
    for row in rows:
        deal = deals.loc[row["Opportunity ID"]]
        assert deal["amount"] == _us_money(row["Amount"])
        assert deal["close_date"] == _us_date(row["Close Date"])
        assert deal["created_date"] == _us_date(row["Created Date"])
        assert deal["tactic"] == LEAD_SOURCES[row["Lead Source"]]
        assert deal["outcome"] == outcome.get(row["Stage"], "open")
        assert deal["customer_id"] == row["Account ID"]
    known = [row for row in rows if row["Amount"] == "$1,234.50"]
    assert len(known) == 1
    assert deals.loc[known[0]["Opportunity ID"], "amount"] == 1234.5
    assert {"won", "lost", "open"} == set(deals["outcome"])
    assert len(set(deals["tactic"])) == len(LEAD_SOURCES)


def test_costs_and_months_are_read_exactly(loaded):
    dataset, _ = loaded
    spend = dataset.spend.set_index(["period", "team_id", "tactic"])
    rows = [row for row in _sheet("marketing_costs.xlsx", "Costs") if row["Month"] != "Total"]
    for row in rows:
        key = (_month(row["Month"]), row["Team"], LEAD_SOURCES[row["Channel"]])
        assert spend.loc[key, "cost"] == pytest.approx(_eu_money(row["Cost (EUR)"]), abs=1e-9)
        assert spend.loc[key, "programme"] == row["Campaign"]
    known = [row for row in rows if row["Cost (EUR)"] == "1.234,50 €"]
    assert len(known) == 1
    key = (_month(known[0]["Month"]), known[0]["Team"], LEAD_SOURCES[known[0]["Channel"]])
    assert spend.loc[key, "cost"] == 1234.5

    january = dataset.spend.loc[dataset.spend["period"] == pd.Timestamp("2024-01-01")]
    assert len(january) == sum(1 for row in rows if row["Month"] == "Jan 2024") > 0
    assert (dataset.spend["period"].dt.day == 1).all()


def test_cp1252_account_name_round_trips(loaded):
    dataset, _ = loaded
    raw = (EXAMPLE / "opportunities.csv").read_bytes()
    assert "Müller GmbH".encode("cp1252") in raw
    assert "Müller GmbH".encode() not in raw  # really cp1252, not UTF-8
    row = next(r for r in _opportunities() if r["Account Name"] == "Müller GmbH")
    deal = dataset.deals.set_index("deal_id").loc[row["Opportunity ID"]]
    assert deal["customer_id"] == row["Account ID"]


def _copy_example(tmp_path: Path, edit) -> Path:
    for name in DATA_FILES:
        shutil.copy(EXAMPLE / name, tmp_path / name)
    mapping = yaml.safe_load((EXAMPLE / "mapping.yml").read_text(encoding="utf-8"))
    edit(mapping["tables"])
    (tmp_path / "mapping.yml").write_text(yaml.safe_dump(mapping, sort_keys=False,
                                                         allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_without_the_encoding_option_loading_fails_clearly(tmp_path):
    folder = _copy_example(tmp_path, lambda tables: tables["deals"].pop("encoding"))
    raw = (folder / "opportunities.csv").read_bytes()
    position = next(i for i, byte in enumerate(raw) if byte >= 0x80)
    with pytest.raises(ValidationError) as caught:
        salesnb.load(folder)
    message = str(caught.value)
    assert "opportunities.csv" in message
    assert f"byte position {position}" in message
    assert "encoding" in message
    assert [p.table for p in caught.value.problems] == ["deals"]


def test_without_the_sheet_option_the_notes_sheet_is_read_and_rejected(tmp_path):
    folder = _copy_example(tmp_path, lambda tables: tables["spend"].pop("sheet"))
    with pytest.raises(ValidationError) as caught:
        salesnb.load(folder)
    problems = caught.value.problems
    assert {p.table for p in problems} == {"spend"}
    assert all("Notes" in p.source for p in problems)
    assert {p.column for p in problems} >= {"Month", "Cost (EUR)"}


def test_builder_reproduces_the_committed_files(tmp_path):
    """If this fails after a change to salesnb.demo, rerun build_example.py and commit."""
    spec = importlib.util.spec_from_file_location("build_example", EXAMPLE / "build_example.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    written = builder.build(tmp_path)
    assert sorted(p.name for p in written.values()) == sorted(DATA_FILES)
    for name in DATA_FILES:
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name
    size = sum((EXAMPLE / name).stat().st_size for name in DATA_FILES)
    assert size < 300_000


def test_excel_hire_dates_are_real_dates(people):
    assert all(isinstance(p["Hire Date"], datetime) for p in people)
