"""Mapping features for exports as they come: unpivot, lookups, distinct rows, months, derived
values, defaults, query on files, optional tables, leads and open deals (issue 11).

Each test writes a small export in the shape users have and checks the loaded values against
counts made by hand from the same rows.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

import salesnb
from salesnb import MappingError, ValidationError, metrics


def write(folder: Path, files: dict[str, str], mapping: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    (folder / "mapping.yml").write_text(textwrap.dedent(mapping).lstrip(), encoding="utf-8")
    return folder


PIPELINE = """\
    opportunity_id,sales_agent,deal_stage,engage_date,close_date,close_value
    O1,Ann,Won,10/01/2024,10/20/2024,1200
    O2,Ann,Lost,10/02/2024,10/25/2024,
    O3,Bob,Won,10/03/2024,11/02/2024,800
    O4,Bob,Engaging,10/04/2024,,
    O5,Cid,Prospecting,10/05/2024,,
    O6,Cid,Won,10/06/2024,11/15/2024,300
    """
TEAMS = """\
    sales_agent,manager,regional_office
    Ann,Mia,West
    Bob,Mia,West
    Cid,Noe,East
    """
CRM_MAPPING = """\
    version: 1
    tables:
      deals:
        source: sales_pipeline.csv
        columns:
          deal_id: opportunity_id
          team_id: {column: sales_agent, lookup: {source: sales_teams.csv, key: sales_agent,
                    value: manager}}
          rep_id: sales_agent
          tactic: {constant: direct}
          outcome: {column: deal_stage, values: {Won: won, Lost: lost}, otherwise: open}
          created_date: {column: engage_date, date_format: "%m/%d/%Y"}
          close_date: {column: close_date, date_format: "%m/%d/%Y"}
          amount: close_value
      teams:
        source: sales_teams.csv
        distinct: true
        columns: {team_id: manager, leader_id: manager, region: regional_office}
      leaders:
        source: sales_teams.csv
        distinct: true
        columns: {leader_id: manager}
    """


def test_a_crm_pipeline_without_spend_or_style_loads_through_lookups(tmp_path):
    folder = write(tmp_path / "crm", {"sales_pipeline.csv": PIPELINE,
                                      "sales_teams.csv": TEAMS}, CRM_MAPPING)
    with pytest.warns(salesnb.DataCleaningWarning, match="distinct: 1 repeated row"):
        data = salesnb.load(folder)
    assert set(data.tables) == {"deals", "teams", "leaders"}
    deals = data.deals.set_index("deal_id")
    assert deals["team_id"].to_dict() == {"O1": "Mia", "O2": "Mia", "O3": "Mia", "O4": "Mia",
                                          "O5": "Noe", "O6": "Noe"}
    assert deals.loc[["O4", "O5"], "close_date"].isna().all()  # open, no close date: allowed
    assert list(data.teams["team_id"]) == ["Mia", "Noe"]
    facts = data.summary()
    assert facts["tactic_spend"] is None and facts["open_without_close_date"] == 2
    win = metrics.funnel(data, by=["team_id"]).set_index("team_id")["win_rate"]
    assert win.to_dict() == pytest.approx({"Mia": 2 / 3, "Noe": 1.0})  # open never lost
    cac = metrics.cac(data, by=["team_id"])
    assert cac["program_cac"].isna().all() and not cac["cac_defined"].any()
    headline = metrics.headline(data)
    assert headline["blended_cac"] is None and headline["cac_measurable"] is False
    pipeline = metrics.pipeline(data, by=["region"]).set_index("region")
    assert pipeline.loc["West", "open_deals"] == 1 and pipeline.loc["East",
                                                                    "without_close_date"] == 1


def test_a_lookup_value_the_other_file_lacks_is_reported_with_its_rows(tmp_path):
    pipeline = PIPELINE + "    O7,Dee,Won,10/07/2024,11/20/2024,500\n"
    folder = write(tmp_path / "crm", {"sales_pipeline.csv": pipeline,
                                      "sales_teams.csv": TEAMS}, CRM_MAPPING)
    with pytest.raises(ValidationError) as caught:
        salesnb.load(folder)
    (problem,) = [p for p in caught.value.problems if "not found" in p.message]
    assert problem.column == "sales_agent" and list(problem.rows) == [8]
    assert "Dee" in problem.examples and "sales_teams.csv" in problem.message


def test_won_deals_still_need_a_close_date(tmp_path):
    folder = write(tmp_path / "crm", {"sales_pipeline.csv": PIPELINE.replace(
        "O6,Cid,Won,10/06/2024,11/15/2024", "O6,Cid,Won,10/06/2024,"),
        "sales_teams.csv": TEAMS}, CRM_MAPPING)
    with pytest.raises(ValidationError, match="won and lost deals need a close date") as caught:
        salesnb.load(folder)
    assert any(list(p.rows) == [7] for p in caught.value.problems)


WIDE = """\
    Week,Email,Paid Search,Events
    2024-01-01,100,200,
    2024-01-08,110,210,
    2024-01-29,120,,500
    2024-02-05,130,230,
    """
WIDE_MAPPING = """\
    version: 1
    tables:
      spend:
        source: costs.csv
        unpivot: {columns: [Email, Paid Search, Events], names_to: Channel, values_to: Cost}
        aggregate: month
        columns:
          period: {column: Week, date_format: "%Y-%m-%d"}
          team_id: {constant: all}
          tactic: {column: Channel, values: {paid search: paid_search}}
          cost: Cost
      deals:
        source: deals.csv
        columns: {deal_id: id, team_id: {constant: all}, tactic: source, outcome: outcome,
                  close_date: closed}
      teams:
        source: teams.csv
        columns: {team_id: team}
    """


def test_wide_weekly_costs_become_monthly_spend_per_tactic(tmp_path):
    deals = "id,source,outcome,closed\nD1,Email,won,2024-01-15\nD2,Events,won,2024-02-03\n"
    folder = write(tmp_path / "wide", {"costs.csv": WIDE, "deals.csv": deals,
                                       "teams.csv": "team\nall\n"}, WIDE_MAPPING)
    with pytest.warns(salesnb.DataCleaningWarning) as caught:
        data = salesnb.load(folder)
    notes = " ".join(str(w.message) for w in caught)
    assert "unpivot left out 4 empty cell(s)" in notes
    assert "8 rows summed into 5 month rows" in notes
    spend = data.spend.set_index(["period", "tactic"])["cost"]
    assert spend.to_dict() == {
        (pd.Timestamp("2024-01-01"), "Email"): 330.0,
        (pd.Timestamp("2024-01-01"), "paid_search"): 410.0,
        (pd.Timestamp("2024-01-01"), "Events"): 500.0,
        (pd.Timestamp("2024-02-01"), "Email"): 130.0,
        (pd.Timestamp("2024-02-01"), "paid_search"): 230.0,
    }


HR = """\
    EmployeeNumber,JobRole,YearsAtCompany,Attrition,OverTime,PercentSalaryHike,Manager
    1,Sales Executive,2.5,No,Yes,11,9
    2,Sales Representative,1,Yes,No,,9
    3,Sales Executive,10,No,No,23,9
    9,Manager,12,No,No,15,
    """
HR_MAPPING = """\
    version: 1
    tables:
      reps:
        source: employees.csv
        where: {column: JobRole, matches: "^Sales"}
        attributes: {overtime: OverTime}
        columns:
          rep_id: EmployeeNumber
          team_id: Manager
          role: JobRole
          hire_date: {column: YearsAtCompany, years_before: "2024-12-31"}
          exit_date: {column: Attrition, values: {"Yes": "2024-12-31", "No": ""}}
      leaders:
        source: employees.csv
        where: {column: JobRole, matches: Manager}
        columns:
          leader_id: EmployeeNumber
          admin_share: {column: PercentSalaryHike, scale: 0.01}
          recognition: {column: OverTime, default: "no"}
      teams:
        source: employees.csv
        where: {column: JobRole, matches: Manager}
        columns: {team_id: EmployeeNumber, leader_id: EmployeeNumber}
      deals:
        source: deals.csv
        columns: {deal_id: id, team_id: team, rep_id: rep, tactic: source, outcome: outcome,
                  close_date: closed}
    """


def test_an_hr_snapshot_gives_hire_and_exit_dates_shares_and_groupings(tmp_path):
    deals = "id,team,rep,source,outcome,closed\nD1,9,1,web,won,2024-06-01\n"
    folder = write(tmp_path / "hr", {"employees.csv": HR, "deals.csv": deals}, HR_MAPPING)
    data = salesnb.load(folder)
    reps = data.reps.set_index("rep_id")
    assert reps.loc["1", "hire_date"] == pd.Timestamp("2024-12-31") - pd.Timedelta(days=913)
    assert reps.loc["2", "exit_date"] == pd.Timestamp("2024-12-31")
    assert reps[["exit_date"]].loc[["1", "3"]].isna().all().all()
    assert reps.loc["1", "overtime"] == "Yes" and reps.loc["2", "role"] == "Sales Representative"
    assert data.leaders.loc[0, "admin_share"] == pytest.approx(0.15)
    assert bool(data.leaders.loc[0, "recognition"]) is False  # OverTime "No"
    by_role = salesnb.people.attrition(data, by=["role"]).set_index("role")
    assert by_role.loc["Sales Representative", "exits"] == 1
    assert by_role.loc["Sales Executive", "exits"] == 0
    assert "overtime" in salesnb.people.people_dimensions(data)


LEADS = """\
    Lead ID,Created Date,Lead Source,Lead Owner,Deal
    L1,2024-01-02,Web,Ann,D1
    L2,2024-01-03,Web,Ann,
    L3,2024-01-04,Web,Bob,D2
    L4,2024-01-05,Event,Bob,D3
    L5,2024-01-06,Event,Bob,
    """
LEAD_MAPPING = """\
    version: 1
    tables:
      leads:
        source: leads.csv
        columns: {lead_id: Lead ID, created_date: Created Date, tactic: Lead Source,
                  rep_id: Lead Owner, deal_id: Deal}
      deals:
        source: deals.csv
        columns: {deal_id: id, team_id: team, tactic: source, outcome: outcome,
                  close_date: closed}
      teams:
        source: teams.csv
        columns: {team_id: team}
    """


def test_lead_conversion_by_source_equals_hand_counts(tmp_path):
    deals = ("id,team,source,outcome,closed\nD1,T,Web,won,2024-02-01\nD2,T,Web,lost,2024-02-02\n"
             "D3,T,Event,open,\n")
    folder = write(tmp_path / "leads", {"leads.csv": LEADS, "deals.csv": deals,
                                        "teams.csv": "team\nT\n"}, LEAD_MAPPING)
    data = salesnb.load(folder)
    table = metrics.conversion(data, by=["tactic"]).set_index("tactic")
    assert table.loc["Web", ["leads", "converted", "won", "lost"]].tolist() == [3, 2, 1, 1]
    assert table.loc["Web", "conversion_rate"] == pytest.approx(2 / 3)
    assert table.loc["Web", "win_rate"] == pytest.approx(0.5)
    assert table.loc["Event", "conversion_rate"] == pytest.approx(0.5)
    assert pd.isna(table.loc["Event", "win_rate"])  # its one deal is still open
    low, high = table.loc["Web", ["conversion_rate_low", "conversion_rate_high"]]
    assert 0 < low < 2 / 3 < high < 1
    assert metrics.conversion(data, by=["rep_id"]).set_index("rep_id").loc["Bob",
                                                                           "leads"] == 3


def test_a_lead_that_names_an_unknown_deal_is_refused(tmp_path):
    deals = "id,team,source,outcome,closed\nD1,T,Web,won,2024-02-01\n"
    folder = write(tmp_path / "leads", {"leads.csv": LEADS, "deals.csv": deals,
                                        "teams.csv": "team\nT\n"}, LEAD_MAPPING)
    with pytest.raises(ValidationError, match="refers to deals that do not exist"):
        salesnb.load(folder)


def test_query_on_files_is_the_escape_hatch(tmp_path):
    mapping = CRM_MAPPING.replace(
        "      teams:\n        source: sales_teams.csv\n        distinct: true\n",
        "      teams:\n        query: \"SELECT DISTINCT manager, regional_office FROM "
        "'sales_teams.csv'\"\n")
    folder = write(tmp_path / "crm", {"sales_pipeline.csv": PIPELINE,
                                      "sales_teams.csv": TEAMS}, mapping)
    data = salesnb.load(folder)
    assert sorted(data.teams["team_id"]) == ["Mia", "Noe"]


@pytest.mark.parametrize(("fragment", "message"), [
    ("tactic: {column: source, otherwise: other}", "tactic has no fixed vocabulary"),
    ("tactic: {column: source, scale: 2}", "scale applies to number fields only"),
    ("tactic: {column: source, years_before: 2024-12-31}", "years_before applies to date"),
    ("tactic: {column: source, lookup: {source: x.csv}}", "lookup needs source:"),
])
def test_new_options_are_checked_when_the_mapping_is_read(tmp_path, fragment, message):
    mapping = LEAD_MAPPING.replace("columns: {deal_id: id, team_id: team, tactic: source,",
                                   f"columns: {{deal_id: id, team_id: team, {fragment},")
    folder = write(tmp_path / "m", {}, mapping)
    with pytest.raises(MappingError, match=message):
        salesnb.load(folder)


def test_aggregate_is_for_spend_only_and_unpivot_needs_its_names(tmp_path):
    mapping = LEAD_MAPPING.replace("      teams:\n        source: teams.csv\n",
                                   "      teams:\n        source: teams.csv\n"
                                   "        aggregate: month\n        unpivot: {columns: [a]}\n")
    folder = write(tmp_path / "m", {}, mapping)
    with pytest.raises(MappingError) as caught:
        salesnb.load(folder)
    assert "aggregate applies to spend only" in str(caught.value)
    assert "unpivot needs names_to:" in str(caught.value)


def test_a_file_read_through_a_lookup_is_part_of_the_fingerprint(tmp_path):
    mapping = CRM_MAPPING.replace("      teams:\n        source: sales_teams.csv\n",
                                  "      teams:\n        source: teams_only.csv\n")
    files = {"sales_pipeline.csv": PIPELINE, "sales_teams.csv": TEAMS,
             "teams_only.csv": "manager,regional_office\nMia,West\nNoe,East\n"}
    first = salesnb.load(write(tmp_path / "a", files, mapping))
    changed = dict(files, **{"sales_teams.csv": TEAMS.replace("Cid,Noe,East", "Cid,Noe,West")})
    second = salesnb.load(write(tmp_path / "b", changed, mapping))
    assert first.fingerprint != second.fingerprint  # only the lookup's file differs


def test_win_rates_group_by_rep_attributes_with_intervals(tmp_path):
    deals = ("id,team,rep,source,outcome,closed\nD1,9,1,web,won,2024-06-01\n"
             "D2,9,1,web,lost,2024-06-02\nD3,9,2,web,won,2024-06-03\nD4,9,3,web,open,\n")
    folder = write(tmp_path / "hr", {"employees.csv": HR, "deals.csv": deals}, HR_MAPPING)
    rates = metrics.win_rates(salesnb.load(folder), by=["role"]).set_index("role")
    executive = rates.loc["Sales Executive"]  # reps 1 and 3: one won, one lost, one open
    assert executive[["won", "lost", "open"]].tolist() == [1, 1, 1]
    assert executive["win_rate"] == pytest.approx(0.5)
    assert executive["win_rate_low"] < 0.5 < executive["win_rate_high"]
    assert rates.loc["Sales Representative", "win_rate"] == pytest.approx(1.0)
    by_overtime = metrics.win_rates(salesnb.load(folder), by=["overtime"]).set_index("overtime")
    assert by_overtime.loc["Yes", "deals"] == 2  # rep 1 works overtime
