"""salesnb.segments: consistent filtering of every table, clear errors, headline figures."""

from __future__ import annotations

import pandas as pd
import pytest

import salesnb
from salesnb import metrics, segments
from salesnb.errors import SalesnbError

pytestmark = pytest.mark.slow  # loads the demo and selects every segment: seconds each


@pytest.fixture(scope="module")
def data(small_demo):
    return salesnb.load(small_demo)


def test_segment_values_are_the_distinct_values_of_the_teams_table(data):
    assert segments.segment_values(data, "region") == sorted(data.teams["region"].unique())
    assert segments.segment_values(data, "team") == sorted(data.teams["team_id"])


def test_select_restricts_every_table_to_the_segment(data):
    region = segments.segment_values(data, "region")[0]
    part = segments.select(data, by="region", value=region)

    teams = data.teams[data.teams["region"] == region]
    team_ids, leader_ids = set(teams["team_id"]), set(teams["leader_id"])
    assert set(part.teams["team_id"]) == team_ids
    assert set(part.leaders["leader_id"]) == leader_ids
    assert set(part.style_changes["leader_id"]) <= leader_ids
    assert len(part.style_changes) == data.style_changes["leader_id"].isin(leader_ids).sum()
    for table in ("spend", "deals", "reps"):
        expected = data.tables[table][data.tables[table]["team_id"].isin(team_ids)]
        assert len(part.tables[table]) == len(expected) > 0, table
    assert set(part.touches["deal_id"]) <= set(part.deals["deal_id"])
    assert len(part.touches) == data.touches["deal_id"].isin(part.deals["deal_id"]).sum()
    assert part.fingerprint == data.fingerprint and part.source == data.source
    assert part.provenance == data.provenance
    assert len(data.teams) > len(part.teams), "the original dataset must stay untouched"


def test_select_by_months_filters_spend_and_deals(data):
    part = segments.select(data, start="2024-02", end="2024-03")
    spend_months = data.spend["period"].dt.strftime("%Y-%m")
    deal_months = data.deals["close_date"].dt.strftime("%Y-%m")
    assert len(part.spend) == spend_months.isin(["2024-02", "2024-03"]).sum() > 0
    assert len(part.deals) == deal_months.isin(["2024-02", "2024-03"]).sum() > 0
    assert set(part.touches["deal_id"]) <= set(part.deals["deal_id"])
    assert len(part.teams) == len(data.teams)


def test_segments_partition_the_headline_totals(data):
    whole = metrics.headline(data)
    parts = [metrics.headline(segments.select(data, "region", v))
             for v in segments.segment_values(data, "region")]
    assert sum(p["new_customers"] for p in parts) == whole["new_customers"]
    assert sum(p["spend"] for p in parts) == pytest.approx(data.spend["cost"].sum())
    assert whole["blended_cac"] == pytest.approx(whole["total_cost"] / whole["new_customers"])
    assert whole["people_cost"] > 0


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"by": "planet", "value": "Mars"}, "region, segment, industry, team_id, leader_id"),
    ({"by": "region", "value": "Mars"}, "valid values: "),
    ({"start": "2024-13"}, "YYYY-MM"),
    ({"start": "2024-05", "end": "2024-02"}, "after it ends"),
    ({"start": "2030-01"}, "the data covers"),
])
def test_select_errors_name_the_valid_options(data, kwargs, expected):
    with pytest.raises(SalesnbError, match=expected.replace("(", r"\(")) as caught:
        segments.select(data, **kwargs)
    if kwargs.get("by") == "region":
        for region in data.teams["region"].unique():
            assert region in str(caught.value)


def test_slug_makes_safe_folder_names():
    assert segments.slug("Mid-Market") == "mid-market"
    assert segments.slug("North / East ") == "north-east"
    assert segments.slug("../..") == "blank"
    assert segments.slug(None) == "none"


@pytest.fixture(scope="module")
def returning_customers(data):
    """The small demo plus, for 30 customers, a second win months later in another team."""
    from dataclasses import replace

    deals = data.deals
    won = deals[deals["outcome"] == "won"].sort_values("close_date").head(30)
    teams = sorted(data.teams["team_id"])
    repeat = won.assign(
        deal_id=won["deal_id"] + "-again",
        close_date=won["close_date"] + pd.DateOffset(months=4),
        team_id=[teams[(teams.index(t) + 1) % len(teams)] for t in won["team_id"]])
    return replace(data, tables={**data.tables, "deals": pd.concat([deals, repeat])})


def test_a_returning_customer_is_not_new_again_in_a_segment_or_period(returning_customers):
    whole = metrics.headline(returning_customers)["new_customers"]
    assert whole == metrics.headline(segments.select(
        returning_customers, start="2024-01"))["new_customers"]
    by_region = [metrics.headline(segments.select(returning_customers, "region", v))
                 for v in segments.segment_values(returning_customers, "region")]
    halves = [metrics.headline(segments.select(returning_customers, start=s, end=e))
              for s, e in (("2024-01", "2024-04"), ("2024-05", "2024-08"))]
    assert sum(p["new_customers"] for p in by_region) == whole
    assert sum(p["new_customers"] for p in halves) == whole


def test_an_empty_segment_has_zero_customers_and_no_cac(data):
    from dataclasses import replace

    idle = data.teams.iloc[:1].assign(team_id="T-IDLE")
    padded = replace(data, tables={**data.tables, "teams": pd.concat([data.teams, idle])})
    figures = metrics.headline(segments.select(padded, "team", "T-IDLE"))
    assert figures["new_customers"] == 0 and figures["blended_cac"] is None
