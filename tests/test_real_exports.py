"""Exports shaped like the ones users have (tests/fixtures/exports/): each validates through its
mapping (documented features only, no query:), its figures equal the hand counts made from the
raw files by make_exports.py, and the whole notebook suite runs on it (the sections it cannot
support replaced by a plain sentence). The demo with spend, style or optional fields removed
does the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import salesnb
from salesnb import metrics, people
from salesnb.batch.plan import notebook_inputs
from salesnb.cli import main
from tests.conftest import PROJECT_DIR

DEAL_NOTEBOOKS = sorted(p.stem for p in (PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb")
                        if "deals" in notebook_inputs(p))
"""The suite on deal-level data: every notebook but those for totals over time."""

pytestmark = pytest.mark.slow  # loads every export shape and demo variant: seconds each

EXPORTS = PROJECT_DIR / "tests" / "fixtures" / "exports"
SHAPES = ("crm_pipeline", "lead_funnel", "weekly_costs", "hr_snapshot", "one_rep_teams")


def expected(shape: str) -> dict:
    return json.loads((EXPORTS / shape / "expected.json").read_text())


@pytest.fixture(scope="module")
def loaded():
    return {shape: salesnb.load(EXPORTS / shape) for shape in SHAPES}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_export_validates_with_documented_features_only(shape, capsys):
    mapping = (EXPORTS / shape / "mapping.yml").read_text()
    assert "query:" not in yaml.safe_dump(yaml.safe_load(mapping))
    assert main(["validate", str(EXPORTS / shape)]) == 0
    assert "valid: all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("shape", SHAPES)
def test_outcome_counts_and_win_rates_equal_the_hand_counts(shape, loaded):
    data, truth = loaded[shape], expected(shape)
    outcomes = data.deals["outcome"].value_counts()
    for outcome in ("won", "lost", "open"):
        assert outcomes.get(outcome, 0) == truth["outcomes"][outcome], outcome
    assert data.summary()["open_without_close_date"] == truth["outcomes"][
        "open_without_close_date"]
    overall = metrics.funnel(data, by=[]).iloc[0]
    assert overall["win_rate"] == pytest.approx(truth["win_rate"]["overall"]["value"])
    for dimension, key in (("tactic", "by_tactic"), ("team_id", "by_team"),
                           ("leader_id", "by_leader")):
        if key not in truth["win_rate"]:
            continue
        rates = metrics.funnel(data, by=[dimension]).set_index(dimension)["win_rate"]
        groups = truth["win_rate"][key].get("groups", truth["win_rate"][key])
        for group, fraction in groups.items():
            assert rates[str(group)] == pytest.approx(fraction["value"]), (dimension, group)


def test_lead_conversion_by_source_equals_the_hand_counts(loaded):
    data, truth = loaded["lead_funnel"], expected("lead_funnel")
    table = metrics.conversion(data, by=["tactic"]).set_index("tactic")
    for source, fraction in truth["conversion_by_source"].items():
        assert table.loc[source, "leads"] == fraction["denominator"], source
        assert table.loc[source, "converted"] == fraction["numerator"], source
        assert table.loc[source, "lead_to_won"] == pytest.approx(
            truth["lead_to_won_by_source"][source]["value"]), source


def test_weekly_wide_costs_sum_to_the_hand_counted_months(loaded):
    data, truth = loaded["weekly_costs"], expected("weekly_costs")
    spend = data.spend.assign(month=data.spend["period"].dt.strftime("%Y-%m"))
    by_month = spend.groupby(["month", "tactic"])["cost"].sum()
    for month, channels in truth["cost_by_month_first_3"].items():
        for channel, cost in channels.items():
            assert by_month.get((month, channel), 0.0) == pytest.approx(cost["value"]), (
                month, channel)  # a month where a channel never ran has no row: 0


def test_hr_snapshot_attrition_by_overtime_equals_the_hand_counts(loaded):
    data, truth = loaded["hr_snapshot"], expected("hr_snapshot")
    table = people.attrition(data, by=["overtime"]).set_index("overtime")
    for flag, fraction in truth["attrition"]["sales_reps_by_overtime"].items():
        assert table.loc[flag, "exits"] == fraction["numerator"], flag


# ----- the whole suite, on every shape and on the demo without spend, style, optional fields --
def demo_variant(tmp_path: Path, name: str) -> Path:
    """The bundled demo with one kind of information taken out (the mapping edited)."""
    out = tmp_path / name
    shutil.copytree(PROJECT_DIR / "data" / "demo", out)
    mapping = yaml.safe_load((out / "mapping.yml").read_text())
    tables = mapping["tables"]
    if name == "no_spend":
        del tables["spend"]
    elif name == "no_style":
        for field in ("decision_style", "involvement"):
            del tables["leaders"]["columns"][field]
        del tables["style_changes"]
    elif name == "no_recognition_or_annual_cost":
        del tables["leaders"]["columns"]["recognition"]
        del tables["reps"]["columns"]["annual_cost"]
    elif name == "no_hybrid_leader":
        for table in ("leaders", "style_changes"):
            frame = pd.read_csv(out / f"{table}.csv")
            frame.loc[frame["involvement"] == "hybrid", "involvement"] = "hands_on"
            frame.to_csv(out / f"{table}.csv", index=False)
    (out / "mapping.yml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    return out


VARIANTS = ("no_spend", "no_style", "no_recognition_or_annual_cost", "no_hybrid_leader")


@pytest.mark.parametrize("name", VARIANTS)
def test_the_demo_without_some_information_still_validates(tmp_path, name, capsys):
    assert main(["validate", str(demo_variant(tmp_path, name))]) == 0


def run_suite(data: Path, out: Path) -> dict:
    code = main(["report", "--data", str(data), "--out", str(out), "--name", "run",
                 "--jobs", "2", "--no-progress", "--param", "n_boot=100"])
    manifest = json.loads((out / "run" / "manifest.json").read_text())
    failed = [(r["notebook"], r["error"]) for s in manifest["segments"] for r in s["results"]
              if r["status"] != "ok"]
    assert code == 0 and not failed, failed
    return manifest


@pytest.mark.slow
@pytest.mark.parametrize("shape", SHAPES)
def test_the_whole_notebook_suite_runs_on_each_export(shape, tmp_path):
    manifest = run_suite(EXPORTS / shape, tmp_path / "reports")
    assert sorted(r["notebook"] for r in manifest["segments"][0]["results"]) == DEAL_NOTEBOOKS
    brief = (tmp_path / "reports" / "run" / "all" / "00_leadership_brief.html").read_text()
    if shape != "weekly_costs":  # the one shape with spend
        assert "but no spend: what a customer costs cannot be measured" in brief
        assert "Add the missing data first." in brief and "Keep the budget" not in brief


@pytest.mark.slow
@pytest.mark.parametrize("name", VARIANTS)
def test_the_whole_notebook_suite_runs_on_the_demo_without_some_information(name, tmp_path):
    run_suite(demo_variant(tmp_path, name), tmp_path / "reports")


def test_salesnb_map_proposes_a_mapping_that_validates_and_never_overwrites(tmp_path, capsys):
    folder = tmp_path / "crm"
    shutil.copytree(EXPORTS / "crm_pipeline", folder)
    (folder / "mapping.yml").unlink()
    assert main(["map", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "wrote a proposed mapping" in out and "not yet: Cost per customer" in out
    assert main(["validate", str(folder)]) == 0  # this shape needs no edit
    before = (folder / "mapping.yml").read_text()
    assert main(["map", str(folder)]) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert (folder / "mapping.yml").read_text() == before
