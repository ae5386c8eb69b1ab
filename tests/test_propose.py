"""`salesnb map FOLDER` (salesnb.io.propose): a proposed mapping from the headers and a sample.

Two kinds of test:

- On every export-shaped fixture (tests/fixtures/exports/<shape>/, each with a hand-written
  mapping.yml), the proposal must name the hand mapping's source column for at least 80% of the
  fields the hand mapping reads from a column, its YAML must parse, and after the few edits a
  person has to make (the ones no sample can tell, listed in EDITS) it must load.
- Unit tests on small raw files written here: date formats, number styles, percent scale, wide
  tables, weekly periods, lookups, distinct, categories, encodings, write() never overwriting.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import salesnb
from salesnb.errors import SalesnbError, SourceError, ValidationError
from salesnb.io.mapping import parse_mapping, read_mapping
from salesnb.io.propose import Proposal, propose_mapping
from salesnb.io.propose_guess import detect_date_format, detect_number
from salesnb.io.schema import TABLES

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"
SHAPES = ("crm_pipeline", "lead_funnel", "weekly_costs", "hr_snapshot", "one_rep_teams")
MIN_ACCURACY = 0.8

# What a person must still write after `salesnb map`: facts no sample shows (the team's name
# for a one-team export, the tactic of deals without a lead, which HR rows are the sales
# staff). Each edit is (table, field or None for a table option, key, value).
EDITS = {
    "crm_pipeline": [],
    "one_rep_teams": [],
    "lead_funnel": [("deals", "tactic", "default", "Sales-sourced")],
    "weekly_costs": [(t, "team_id", "constant", "Inside Sales") for t in
                     ("spend", "deals", "teams")],
    "hr_snapshot": [(t, None, "where", {"column": "JobRole",
                                        "matches": "^(Sales Executive|Sales Representative)$"})
                    for t in ("teams", "leaders", "reps")],
}


def _hand_columns(mapping: dict) -> dict[tuple[str, str], str]:
    """(table, field) -> source column, for every field the hand mapping reads from a column."""
    found = {}
    for table, spec in mapping["tables"].items():
        for name, col in spec["columns"].items():
            column = col if isinstance(col, str) else col.get("column")
            if column is not None:
                found[(table, name)] = str(column)
    return found


def _shape(name: str) -> Path:
    folder = EXPORTS / name
    if not (folder / "mapping.yml").is_file():
        pytest.fail(f"fixture {folder} (with its hand-written mapping.yml) is missing")
    return folder


@pytest.fixture(scope="module")
def proposals() -> dict[str, Proposal]:
    return {}


def _proposal(proposals: dict, name: str) -> Proposal:
    if name not in proposals:
        proposals[name] = propose_mapping(_shape(name))
    return proposals[name]


@pytest.mark.parametrize("shape", SHAPES)
def test_proposal_names_the_hand_mappings_columns(shape, proposals):
    hand = _hand_columns(yaml.safe_load((_shape(shape) / "mapping.yml").read_text("utf-8")))
    proposal = _proposal(proposals, shape)
    misses = []
    for (table, name), column in hand.items():
        guess = proposal.tables[table].columns.get(name) if table in proposal.tables else None
        mine = guess.column if guess is not None else None
        if mine != column:
            misses.append(f"{table}.{name}: hand mapping {column!r}, proposal {mine!r}")
    right = len(hand) - len(misses)
    print(f"{shape}: {right}/{len(hand)} fields right", *misses, sep="\n  ")
    assert hand, "the hand mapping maps no column: nothing to compare"
    assert right / len(hand) >= MIN_ACCURACY, (
        f"{shape}: only {right}/{len(hand)} fields right:\n  " + "\n  ".join(misses))


@pytest.mark.parametrize("shape", SHAPES)
def test_proposal_parses_and_loads_after_the_listed_edits(shape, proposals, tmp_path):
    proposal = _proposal(proposals, shape)
    written = proposal.write(tmp_path / "mapping.yml")
    read_mapping(written)  # the commented YAML parses as written (raises MappingError if not)
    raw = yaml.safe_load(written.read_text("utf-8"))
    edited = copy.deepcopy(raw)
    for table, name, key, value in EDITS[shape]:
        spec = edited["tables"][table]
        if name is None:
            spec[key] = value
            continue
        column = spec["columns"][name]
        column = {"column": column} if isinstance(column, str) else column
        if key == "constant":
            column = {"constant": value}
        column[key] = value
        spec["columns"][name] = column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = salesnb.load(_shape(shape), mapping=parse_mapping(edited))
        except ValidationError as exc:
            pytest.fail(f"{shape}: the proposal after {len(EDITS[shape])} edit(s) does not "
                        f"load:\n{exc}")
    assert set(data.tables) == set(proposal.tables)
    assert len(data.tables["deals"]) > 0


def test_every_proposed_field_is_in_the_schema_and_required_fields_are_there(proposals):
    for shape in SHAPES:
        for table, prop in _proposal(proposals, shape).tables.items():
            assert set(prop.columns) <= set(TABLES[table].field_names), (shape, table)
            assert set(TABLES[table].required) <= set(prop.columns), (shape, table)


# ------------------------------------------------------------------ unit tests on raw files


def _csv(folder: Path, name: str, frame: pd.DataFrame, **kwargs) -> Path:
    path = folder / name
    frame.to_csv(path, index=False, **kwargs)
    return path


def _deals(n: int = 30) -> pd.DataFrame:
    stages = ["Closed Won", "Closed Lost", "Prospecting"]
    return pd.DataFrame({
        "Opportunity ID": [f"OPP-{i:03d}" for i in range(n)],
        "Sales Agent": [f"Agent {i % 4}" for i in range(n)],
        "Lead Source": [["Web", "Partner", "Event"][i % 3] for i in range(n)],
        "Stage": [stages[i % 3] for i in range(n)],
        "Close Date": [f"{1 + i % 12:02d}/{1 + i % 28:02d}/2024" for i in range(n)],
        "Amount": [f"${1000 + 37 * i:,.2f}" for i in range(n)],
    })


def test_date_formats_are_detected_and_day_month_ambiguity_is_said():
    assert detect_date_format(["2024-02-15", "2024-03-01"]).format is None  # ISO: the default
    assert detect_date_format(["2024-02", "2024-03"]).format is None
    us = detect_date_format(["02/15/2024", "12/01/2024"])
    assert (us.format, us.ambiguous) == ("%m/%d/%Y", ())
    assert detect_date_format(["15/02/2024", "01/12/2024"]).format == "%d/%m/%Y"
    assert detect_date_format(["15.02.2024"]).format == "%d.%m.%Y"
    assert detect_date_format(["Jan 2024", "Feb 2024"]).format == "%b %Y"
    both = detect_date_format(["03/04/2024", "05/06/2024"])
    assert both.format == "%m/%d/%Y" and both.ambiguous == ("%d/%m/%Y",)
    assert detect_date_format(["Won", "2024-01-01"]) is None
    assert detect_date_format(["2024", "2025"]) is None
    weekly = detect_date_format([f"2024-01-{d:02d}" for d in (1, 8, 15, 22, 29)])
    assert weekly.grain == "weekly"
    assert detect_date_format(["2024-01-01", "2024-02-01", "2024-03-01"]).grain is None


def test_number_styles_currency_and_percent_are_detected():
    eu = detect_number(["1.234,50 €", "12,00 €"])
    assert (eu.style, eu.currency) == ("eu", ("€",))
    us = detect_number(["$1,234.50", "$12.00"])
    assert (us.style, us.currency, us.ambiguous) == ("us", ("$",), False)
    assert detect_number(["35%", "40%"]).percent
    assert detect_number(["1,234", "5,678"]).ambiguous  # us 1234 or eu 1.234
    assert detect_number(["12", "x"]) is None
    assert detect_number([3, 4.5]).high == 4.5


def test_csv_proposal_reads_us_dates_amounts_outcomes_and_parses(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    proposal = propose_mapping(tmp_path)
    deals = proposal.tables["deals"]
    assert deals.source == "opportunities.csv"
    assert deals.columns["deal_id"].column == "Opportunity ID"
    assert deals.columns["close_date"].options == {"date_format": "%m/%d/%Y"}
    assert deals.columns["tactic"].column == "Lead Source"
    outcome = deals.columns["outcome"]
    assert outcome.options == {"values": {"Closed Won": "won", "Closed Lost": "lost",
                                          "Prospecting": "open"}}
    assert any("Prospecting" in n for n in outcome.notes)
    assert "{constant: TODO}" in proposal.yaml  # no team column: a visible placeholder
    path = proposal.write(tmp_path / "proposed.yml")
    assert read_mapping(path).tables["deals"].columns["amount"].column == "Amount"
    assert any("spend" in m and "cost per customer" in m for m in proposal.missing)


def test_cp1252_and_semicolons_and_footer_rows_are_noted(tmp_path):
    text = "Deal ID;Team;Lead Source;Stage;Close Date\n" + "".join(
        f"D{i};Müller Team;Web;Won;2024-01-{1 + i:02d}\n" for i in range(5))
    (tmp_path / "deals.csv").write_bytes(
        (text + "\nCopyright (c) 2024 CRM Inc.;;;;\nConfidential;;;;\n").encode("cp1252"))
    proposal = propose_mapping(tmp_path)
    deals = proposal.tables["deals"]
    assert deals.options == {"encoding": "cp1252", "delimiter": ";", "skip_footer": 2}
    assert "not UTF-8" in proposal.yaml
    assert deals.columns["team_id"].column == "Team"
    parsed = parse_mapping(yaml.safe_load(proposal.yaml))
    assert parsed.tables["deals"].encoding == "cp1252"


def test_percent_0_100_gets_scale_and_survey_scores_get_ranges(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    _csv(tmp_path, "leaders.csv", pd.DataFrame({
        "Leader ID": ["L1", "L2", "L3", "L4"],
        "Admin Share": [35, 10, 80, 55],
        "Decision Score (1-7)": [1, 4, 7, 5],
        "Involvement": ["Hands-on", "Delegates most things", "A mix", "hands-on"]}))
    leaders = propose_mapping(tmp_path).tables["leaders"]
    assert leaders.columns["admin_share"].options == {"scale": 0.01}
    assert leaders.columns["decision_style"].options["ranges"] == {
        "autocratic": [1, 2], "consultative": [3, 5], "collaborative": [6, 7]}
    assert leaders.columns["involvement"].options["values"] == {
        "Delegates most things": "delegating", "A mix": "hybrid"}


def test_shares_written_with_percent_signs_need_no_scale(tmp_path):
    _csv(tmp_path, "leaders.csv", pd.DataFrame({"Leader ID": ["L1", "L2"],
                                                "Admin Time": ["35%", "10%"]}))
    guess = propose_mapping(tmp_path).tables["leaders"].columns["admin_share"]
    assert "scale" not in guess.options and guess.column == "Admin Time"


def test_wide_weekly_cost_table_is_unpivoted_and_aggregated(tmp_path):
    weeks = pd.date_range("2024-01-01", periods=10, freq="7D").strftime("%Y-%m-%d")
    _csv(tmp_path, "marketing_costs.csv", pd.DataFrame({
        "Week": weeks, "Email": [f"{800 + i:,}.50" for i in range(10)],
        "Paid Search": [f"{1800 + i * 100:,}.00" for i in range(10)], "Events": [""] * 9 + ["5"],
        "Total": [str(3000 + i) for i in range(10)]}))
    _csv(tmp_path, "opportunities.csv", _deals())
    proposal = propose_mapping(tmp_path)
    spend = proposal.tables["spend"]
    assert spend.options["unpivot"] == {"columns": ["Email", "Paid Search", "Events"],
                                        "names_to": "Channel", "values_to": "Cost"}
    assert spend.options["aggregate"] == "month"
    assert (spend.columns["period"].column, spend.columns["tactic"].column,
            spend.columns["cost"].column) == ("Week", "Channel", "Cost")
    assert "deals" in proposal.tables and proposal.tables["deals"].source == "opportunities.csv"
    parse_mapping(yaml.safe_load(proposal.yaml))


def test_a_long_table_with_one_number_is_not_unpivoted(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    assert "unpivot" not in propose_mapping(tmp_path).tables["deals"].options


def test_a_roster_file_becomes_a_lookup_and_a_distinct_teams_table(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    _csv(tmp_path, "sales_teams.csv", pd.DataFrame({
        "Sales Agent": [f"Agent {i}" for i in range(4)],
        "Manager": ["Ann", "Ann", "Bob", "Bob"], "Regional Office": ["East"] * 2 + ["West"] * 2}))
    proposal = propose_mapping(tmp_path)
    team = proposal.tables["deals"].columns["team_id"]
    assert team.column == "Sales Agent"
    assert team.options["lookup"] == {"source": "sales_teams.csv", "key": "Sales Agent",
                                      "value": "Manager"}
    teams = proposal.tables["teams"]
    assert teams.source == "sales_teams.csv" and teams.options.get("distinct") is True
    assert teams.columns["team_id"].column == teams.columns["leader_id"].column == "Manager"
    assert teams.columns["region"].column == "Regional Office"
    loaded = read_mapping(proposal.write(tmp_path / "mapping.yml"))
    assert loaded.tables["deals"].columns["team_id"].lookup.value == "Manager"
    assert loaded.tables["teams"].distinct


def test_a_column_that_is_not_a_key_of_another_file_is_no_lookup(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    _csv(tmp_path, "sales_teams.csv", pd.DataFrame({
        "Sales Agent": ["Someone", "Else", "Entirely", "Other"],
        "Manager": ["Ann", "Ann", "Bob", "Bob"]}))
    team = propose_mapping(tmp_path).tables["deals"].columns["team_id"]
    assert "lookup" not in team.options


def test_hr_snapshot_years_and_attrition_become_dates(tmp_path):
    _csv(tmp_path, "employees.csv", pd.DataFrame({
        "EmployeeNumber": [1, 2, 3], "Department": ["Sales"] * 3, "Team": ["A", "A", "B"],
        "YearsAtCompany": [3, 10, 1], "Attrition": ["No", "Yes", "No"],
        "MonthlyIncome": [4000, 5200, 3900]}))
    reps = propose_mapping(tmp_path).tables["reps"]
    snapshot = reps.columns["hire_date"].options["years_before"]
    assert reps.columns["hire_date"].column == "YearsAtCompany"
    assert reps.columns["exit_date"].options["values"] == {"No": "", "Yes": snapshot}
    assert reps.columns["annual_cost"].options == {"scale": 12}
    assert any(n.startswith("TODO") for n in reps.columns["hire_date"].notes)


def test_xlsx_sheets_and_parquet_are_read(tmp_path):
    with pd.ExcelWriter(tmp_path / "marketing.xlsx") as book:
        notes = pd.DataFrame({"Read me": ["costs are on the next sheet"]})
        notes.to_excel(book, sheet_name="Notes", index=False)
        pd.DataFrame({"Month": ["Jan 2024", "Feb 2024"], "Team": ["A", "B"],
                      "Channel": ["Email", "Events"], "Cost (EUR)": ["1.234,50 €", "99,00 €"]}
                     ).to_excel(book, sheet_name="Costs", index=False)
    _deals().to_parquet(tmp_path / "opportunities.parquet")
    proposal = propose_mapping(tmp_path)
    spend = proposal.tables["spend"]
    assert (spend.source, spend.sheet) == ("marketing.xlsx", "Costs")
    assert spend.columns["cost"].options == {"number": "eu"}
    assert spend.columns["period"].options == {"date_format": "%b %Y"}
    assert proposal.tables["deals"].source == "opportunities.parquet"


def test_write_never_overwrites(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    proposal = propose_mapping(tmp_path)
    target = tmp_path / "mapping.yml"
    target.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="never overwrites") as refused:
        proposal.write(target)
    assert isinstance(refused.value, SalesnbError)  # the CLI prints it as "error: ..."
    assert target.read_text(encoding="utf-8") == "# mine\n"
    fresh = proposal.write(tmp_path / "new.yml")
    assert fresh.read_text(encoding="utf-8") == proposal.yaml
    with pytest.raises(FileExistsError):
        proposal.write(fresh)


def test_missing_tables_and_fields_are_said_per_analysis(tmp_path):
    _csv(tmp_path, "opportunities.csv", _deals())
    proposal = propose_mapping(tmp_path)
    assert any(m.startswith("Cost per customer needs spend") for m in proposal.missing)
    assert not any("needs deals" in m for m in proposal.missing)
    assert all(m in proposal.yaml for m in proposal.missing)
    _csv(tmp_path, "leaders.csv", pd.DataFrame({"Leader ID": ["L1", "L2"],
                                                "Title": ["VP Sales", "Director"]}))
    missing = propose_mapping(tmp_path).missing
    assert any("leaders.decision_style" in m for m in missing)
    assert not any(m.endswith("needs leaders") for m in missing)


def test_not_a_folder_is_refused(tmp_path):
    with pytest.raises(SourceError, match="not a folder"):
        propose_mapping(tmp_path / "absent")
