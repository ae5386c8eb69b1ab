"""Attrition cost per new customer: totals from the raw reps table, planted order by style."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from salesnb import load, people
from salesnb.errors import SalesnbError
from salesnb.paths import DEMO_DIR

pytestmark = pytest.mark.slow  # loads the demo: seconds each


@pytest.fixture(scope="module")
def demo_data():
    return load(DEMO_DIR)


def test_totals_match_the_raw_reps_table(demo_data):
    cost = people.attrition_cost(demo_data, by=["decision_style"], replacement_share=0.5)
    reps, periods = demo_data.reps, demo_data.spend["period"]
    window_end = periods.max() + pd.offsets.MonthBegin(1)
    left = reps[(reps["exit_date"] >= periods.min()) & (reps["exit_date"] < window_end)]
    assert cost["exits"].sum() == len(left)
    assert cost["replacement_cost"].sum() == pytest.approx(0.5 * left["annual_cost"].sum())
    assert cost["new_customers"].sum() == demo_data.summary()["new_customers"]
    per_customer = cost["replacement_cost"] / cost["new_customers"]
    assert cost["turnover_cost_per_customer"].to_numpy() == pytest.approx(per_customer)


def test_replacement_share_scales_the_cost(demo_data):
    half = people.attrition_cost(demo_data, by=["recognition"], replacement_share=0.5)
    full = people.attrition_cost(demo_data, by=["recognition"], replacement_share=1.0)
    assert full["replacement_cost"].to_numpy() == pytest.approx(
        2 * half["replacement_cost"].to_numpy())


def test_planted_attrition_makes_autocratic_teams_pay_most_per_customer(demo_data):
    truth = json.loads((DEMO_DIR / "truth.json").read_text())["attrition_hazard_ratio_by_style"]
    cost = people.attrition_cost(demo_data).set_index("decision_style")
    planted_order = sorted(truth, key=truth.get)
    assert list(cost["turnover_cost_per_customer"].sort_values().index) == planted_order


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": ["tactic"]}, "group attrition cost by"),
    ({"by": []}, "group attrition cost by"),
    ({"replacement_share": -1}, "replacement_share"),
])
def test_bad_arguments_are_refused(demo_data, kwargs, message):
    with pytest.raises(SalesnbError, match=message):
        people.attrition_cost(demo_data, **kwargs)


def test_without_annual_cost_it_says_what_to_map(demo_data):
    from dataclasses import replace

    tables = {**demo_data.tables, "reps": demo_data.reps.drop(columns="annual_cost")}
    with pytest.raises(SalesnbError, match="annual_cost"):
        people.attrition_cost(replace(demo_data, tables=tables))
