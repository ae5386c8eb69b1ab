"""Metrics against hand computations on a small fixture, on every engine.

The fixture (two teams, two months) is small enough to compute every figure by
hand; the expected numbers below are those hand computations, with the
arithmetic written out.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from salesnb import load, metrics
from salesnb.engine.connection import Engine
from salesnb.metrics.attribution import MODELS, attributed_cac, credits
from salesnb.metrics.panel_query import UNALLOCATED
from salesnb.metrics.people import attrition
from tests.conftest import ENGINES, backend_connection

FILES = {
    "spend.csv": """period,team_id,tactic,cost
2024-01,T1,email,1000
2024-01,T1,events,2000
2024-02,T1,email,1500
2024-01,T2,referrals,600
2024-02,T2,events,900
""",
    "deals.csv": """deal_id,team_id,tactic,close_date,outcome,rep_id,created_date,amount,customer_id
D1,T1,email,2024-01-10,won,R1,2024-01-01,1200,C1
D2,T1,email,2024-01-20,lost,R1,2024-01-05,800,
D3,T1,events,2024-01-25,won,R2,2023-12-26,3000,C2
D4,T1,email,2024-02-15,won,R1,2024-02-01,1000,C3
D5,T1,email,2024-02-20,won,R1,2024-02-10,500,C1
D6,T2,referrals,2024-01-15,won,R3,2024-01-10,2000,C4
D7,T2,referrals,2024-01-18,lost,R3,2024-01-11,,
D8,T2,events,2024-02-11,open,R3,2024-02-01,,
D9,T2,referrals,2024-02-05,won,R3,2024-01-20,,
""",
    "teams.csv": "team_id,leader_id,region\nT1,L1,North\nT2,L2,South\n",
    "leaders.csv": """leader_id,decision_style,involvement
L1,autocratic,hands_on
L2,consultative,delegating
""",
    "style_changes.csv": "leader_id,effective_date,decision_style,involvement\n"
                         "L1,2024-02-01,collaborative,hands_on\n",
    "reps.csv": """rep_id,team_id,hire_date,exit_date,annual_cost
R1,T1,2023-01-01,,120000
R2,T1,2023-06-01,2024-02-14,60000
R3,T2,2024-01-16,,36000
""",
    "touches.csv": """deal_id,touch_date,tactic
D1,2024-01-02,events
D1,2024-01-05,email
D1,2024-01-09,referrals
D3,2024-01-01,events
D4,2024-02-03,email
D4,2024-02-10,events
D5,2024-02-12,email
D9,2024-01-25,referrals
D9,2024-02-01,email
""",
}
COLUMNS = {
    "spend": ["period", "team_id", "tactic", "cost"],
    "deals": ["deal_id", "team_id", "tactic", "close_date", "outcome", "rep_id", "created_date",
              "amount", "customer_id"],
    "teams": ["team_id", "leader_id", "region"],
    "leaders": ["leader_id", "decision_style", "involvement"],
    "style_changes": ["leader_id", "effective_date", "decision_style", "involvement"],
    "reps": ["rep_id", "team_id", "hire_date", "exit_date", "annual_cost"],
    "touches": ["deal_id", "touch_date", "tactic"],
}

# People cost per team-month (annual cost / 12, prorated by days employed):
# T1 Jan: R1 10,000 + R2 5,000 = 15,000; T1 Feb: 10,000 + 5,000 * 14/29 (R2 left on the 14th)
# T2 Jan: R3 3,000 * 16/31 (hired on the 16th); T2 Feb: 3,000.
T1_FEB = 10_000 + 5_000 * 14 / 29
T2_JAN = 3_000 * 16 / 31
# Allocated by each tactic's share of the team's deals that month:
# T1 Jan: email 2/3, events 1/3; T1 Feb: email all; T2 Jan: referrals all; T2 Feb: 1/2 each.
PEOPLE = {"email": 10_000 + T1_FEB, "events": 5_000 + 1_500, "referrals": T2_JAN + 1_500}
SPEND = {"email": 2_500.0, "events": 2_900.0, "referrals": 600.0}
# New customers: D1 (C1), D4 (C3) for email -- D5 is C1 again, not new; D3 events; D6 and D9
# (no customer id: its own customer) for referrals.
NEW = {"email": 2, "events": 1, "referrals": 2}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _write_dataset(tmp_path_factory.mktemp("hand"), FILES)


def _write_dataset(folder, files) -> object:
    mapping = ["version: 1", "tables:"]
    for name, text in files.items():
        (folder / name).write_text(text)
        table = name.removesuffix(".csv")
        columns = ", ".join(f"{c}: {c}" for c in COLUMNS[table])
        mapping += [f"  {table}:", f"    source: {name}", f"    columns: {{{columns}}}"]
    (folder / "mapping.yml").write_text("\n".join(mapping) + "\n")
    return load(folder)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, dataset):
    con = backend_connection(request.param, request)
    return Engine.from_dataset(dataset, con=con, prefix="hand_")


def _by(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.set_index(key)


def test_program_and_loaded_cac_by_tactic(engine):
    result = _by(metrics.cac(engine), "tactic")
    for tactic in SPEND:
        row = result.loc[tactic]
        assert row["spend"] == pytest.approx(SPEND[tactic])
        assert row["new_customers"] == NEW[tactic]
        assert row["people_cost"] == pytest.approx(PEOPLE[tactic])
        assert row["program_cac"] == pytest.approx(SPEND[tactic] / NEW[tactic])
        assert row["loaded_cac"] == pytest.approx((SPEND[tactic] + PEOPLE[tactic]) / NEW[tactic])
    # all people cost is allocated somewhere: 15,000 + T1_FEB + T2_JAN + 3,000
    assert result["people_cost"].sum() == pytest.approx(15_000 + T1_FEB + T2_JAN + 3_000)


def test_spend_and_new_customers_by_quarter(engine):
    spend = metrics.spend(engine, by=("team_id",), period="quarter").set_index("team_id")
    customers = metrics.new_customers(engine, by=("team_id",), period="quarter").set_index(
        "team_id")
    assert spend.loc["T1", "spend"] == pytest.approx(4_500)
    assert spend.loc["T2", "spend"] == pytest.approx(1_500)
    assert customers.loc["T1", "new_customers"] == 3  # C1, C2, C3 (C1 again is not new)
    assert customers.loc["T2", "new_customers"] == 2
    assert (spend["period"] == pd.Timestamp("2024-01-01")).all()


def test_people_cost_of_an_idle_team_is_kept_not_dropped(tmp_path):
    """T3 has a rep (2,000 a month) but no spend and no deals in the data's two months."""
    files = dict(FILES)
    files["teams.csv"] += "T3,L2,East\n"
    files["reps.csv"] += "R4,T3,2023-01-01,,24000\n"
    data = _write_dataset(tmp_path, files)
    by_team = metrics.cac(data, by=("team_id",)).set_index("team_id")
    assert by_team.loc["T3", "people_cost"] == pytest.approx(4_000)
    assert not by_team.loc["T3", "cac_defined"] and pd.isna(by_team.loc["T3", "loaded_cac"])
    total = 15_000 + T1_FEB + T2_JAN + 3_000 + 4_000
    assert by_team["people_cost"].sum() == pytest.approx(total)
    by_tactic = metrics.cac(data).set_index("tactic")
    assert by_tactic.loc[UNALLOCATED, "people_cost"] == pytest.approx(4_000)
    assert by_tactic.loc["email", "people_cost"] == pytest.approx(PEOPLE["email"])


def test_zero_customer_cell_is_kept_and_flagged(engine):
    cells = metrics.cac(engine, by=("team_id", "tactic"), period="month")
    row = cells[(cells["team_id"] == "T2") & (cells["tactic"] == "events")].iloc[0]
    assert row["spend"] == 900 and row["new_customers"] == 0
    assert not row["cac_defined"]
    assert pd.isna(row["program_cac"]) and pd.isna(row["loaded_cac"])
    assert not cells[["program_cac", "loaded_cac"]].isin([math.inf]).any().any()
    # and a customer won with no spend: CAC is 0, defined
    free = cells[(cells["team_id"] == "T2") & (cells["tactic"] == "referrals")
                 & (cells["period"] == pd.Timestamp("2024-02-01"))].iloc[0]
    assert free["spend"] == 0 and free["program_cac"] == 0 and free["cac_defined"]


def test_cac_follows_the_style_in_force_each_month(engine):
    result = _by(metrics.program_cac(engine, by=("decision_style",)), "decision_style")
    # L1 is autocratic in January (T1: spend 3,000, customers C1 + C2) and collaborative from
    # February (T1: 1,500 for C3); L2 consultative throughout (T2: 1,500 for D6 and D9).
    assert result.loc["autocratic", "program_cac"] == pytest.approx(3_000 / 2)
    assert result.loc["collaborative", "program_cac"] == pytest.approx(1_500 / 1)
    assert result.loc["consultative", "program_cac"] == pytest.approx(1_500 / 2)


def test_blended_cac_per_team_and_quarter(engine):
    result = metrics.blended_cac(engine, period="quarter").set_index("team_id")
    t1 = 4_500 + 15_000 + T1_FEB
    assert result.loc["T1", "blended_cac"] == pytest.approx(t1 / 3)
    assert result.loc["T1", "period"] == pd.Timestamp("2024-01-01")
    assert result.loc["T2", "blended_cac"] == pytest.approx((1_500 + T2_JAN + 3_000) / 2)


def test_funnel_by_tactic(engine):
    result = _by(metrics.funnel(engine, gross_margin=0.5, lifetime_years=2), "tactic")
    email, events, referrals = (result.loc[t] for t in ("email", "events", "referrals"))
    assert (email["deals"], email["won"], email["lost"]) == (4, 3, 1)
    assert email["win_rate"] == pytest.approx(0.75)
    assert email["cost_per_deal"] == pytest.approx(2_500 / 4)
    assert email["sales_cycle_days"] == pytest.approx((9 + 14 + 10) / 3)
    assert email["avg_deal_size"] == pytest.approx((1_200 + 1_000 + 500) / 3)
    loaded = (2_500 + PEOPLE["email"]) / 2
    assert email["payback_months"] == pytest.approx(loaded / (900 * 0.5 / 12))
    assert email["ltv_to_cac"] == pytest.approx(900 * 0.5 * 2 / loaded)
    assert (events["won"], events["open"], events["win_rate"]) == (1, 1, 1.0)
    assert events["sales_cycle_days"] == pytest.approx(30)
    assert referrals["win_rate"] == pytest.approx(2 / 3)
    assert referrals["avg_deal_size"] == pytest.approx(2_000)  # D9 has no amount
    assert referrals["sales_cycle_days"] == pytest.approx((5 + 16) / 2)


def test_rep_attrition_by_style(engine):
    result = _by(attrition(engine, by=("decision_style",)), "decision_style")
    # rep-months: R1 and R2 in January under autocratic L1; in February under collaborative L1,
    # where R2 leaves; R3 both months under consultative L2.
    assert result.loc["autocratic", "rep_months"] == 2
    assert result.loc["autocratic", "exits"] == 0
    assert result.loc["collaborative", "exits"] == 1
    assert result.loc["collaborative", "attrition_rate"] == pytest.approx(1 / 2 * 12)
    assert result.loc["consultative", "headcount"] == pytest.approx(1.0)
    # tenure to exit or to the end of the data (2024-03-01), in the group of the last month
    r1 = (pd.Timestamp("2024-03-01") - pd.Timestamp("2023-01-01")).days
    r2 = (pd.Timestamp("2024-02-14") - pd.Timestamp("2023-06-01")).days
    assert result.loc["collaborative", "median_tenure_days"] == pytest.approx((r1 + r2) / 2)
    assert result.loc["consultative", "median_tenure_days"] == 45
    assert pd.isna(result.loc["autocratic", "median_tenure_days"])


def _half(days: float) -> float:
    return 0.5 ** (days / 7)


D1_DECAY = {t: _half(d) for t, d in (("events", 8), ("email", 5), ("referrals", 1))}
D4_DECAY = {"email": _half(12), "events": _half(5)}
D9_DECAY = {"referrals": _half(11), "email": _half(4)}


def _share(weights: dict[str, float], tactic: str) -> float:
    return weights.get(tactic, 0.0) / sum(weights.values())


# Attributed new customers per tactic. D1: events, email, referrals; D3: events; D4: email,
# events; D6: no touches, so its lead source (referrals); D9: referrals, email.
EXPECTED_CREDITS = {
    "first": {"events": 2, "email": 1, "referrals": 2},
    "last": {"events": 2, "email": 1, "referrals": 2},
    "linear": {"events": 1 / 3 + 1 + 0.5, "email": 1 / 3 + 0.5 + 0.5,
               "referrals": 1 / 3 + 1 + 0.5},
    "position": {"events": 0.4 + 1 + 0.5, "email": 0.2 + 0.5 + 0.5, "referrals": 0.4 + 1 + 0.5},
    "time_decay": {t: _share(D1_DECAY, t) + (t == "events") + _share(D4_DECAY, t)
                   + (t == "referrals") + _share(D9_DECAY, t)
                   for t in ("events", "email", "referrals")},
}


@pytest.mark.parametrize("model", MODELS)
def test_attribution_models(engine, model):
    result = _by(attributed_cac(engine, model), "tactic")
    for tactic, expected in EXPECTED_CREDITS[model].items():
        assert result.loc[tactic, "attributed_customers"] == pytest.approx(expected), tactic
        assert result.loc[tactic, "cac"] == pytest.approx(SPEND[tactic] / expected), tactic


@pytest.mark.parametrize("model", MODELS)
def test_credits_per_customer_sum_to_one(engine, model):
    per_deal = credits(engine, model).to_pandas().groupby("deal_id")["credit"].sum()
    assert sorted(per_deal.index) == ["D1", "D3", "D4", "D6", "D9"]
    assert per_deal.to_numpy() == pytest.approx([1.0] * 5)


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate(dataset):
    first = metrics.cac_intervals(dataset, n_boot=400, seed=1)
    again = metrics.cac_intervals(dataset, n_boot=400, seed=1)
    pd.testing.assert_frame_equal(first, again)
    for name in ("program_cac", "loaded_cac"):
        inside = (first[f"{name}_low"] <= first[name]) & (first[name] <= first[f"{name}_high"])
        finite = first[f"{name}_high"].notna()
        assert inside[finite].all()
    # events has a single new customer out of 2-3 deals per team: some replicates win none,
    # so its upper bound is undefined rather than infinite
    events = first.set_index("tactic").loc["events"]
    assert pd.isna(events["program_cac_high"]) and events["program_cac_low"] > 0


@pytest.fixture(scope="module")
def demo40_dir(tmp_path_factory):
    from salesnb import demo

    out = tmp_path_factory.mktemp("demo40") / "data"
    demo.generate(out=out, seed=42, teams=40, months=24)
    return out


@pytest.fixture(scope="module")
def demo_cac(demo40_dir):
    return metrics.cac_intervals(load(demo40_dir), n_boot=500, seed=0)


@pytest.mark.slow
def test_demo_program_cac_ranks_tactics_as_planted(demo_cac, demo40_dir):
    import json

    base = json.loads((demo40_dir / "truth.json").read_text())["base_cac"]
    observed = demo_cac.sort_values("program_cac")["tactic"].tolist()
    assert observed == sorted(base, key=base.get)
    # and the ordering is not an accident of noise: neighbours' intervals do not overlap
    ordered = demo_cac.set_index("tactic").loc[observed]
    assert (ordered["program_cac_high"].to_numpy()[:-1]
            < ordered["program_cac_low"].to_numpy()[1:]).all()


def test_bootstrap_by_team(dataset):
    result = metrics.cac_intervals(dataset, by=("team_id",), n_boot=200, seed=0)
    assert list(result["team_id"]) == ["T1", "T2"]
    assert result.loc[0, "program_cac"] == pytest.approx(4_500 / 3)


@pytest.mark.slow
def test_bootstrap_depends_on_the_seed(demo_cac, demo40_dir):
    other = metrics.cac_intervals(load(demo40_dir), n_boot=500, seed=1)
    assert not other["program_cac_low"].equals(demo_cac["program_cac_low"])
    pd.testing.assert_series_equal(other["program_cac"], demo_cac["program_cac"])


@pytest.mark.slow
def test_bootstrap_width_shrinks_with_more_data(dataset, demo_cac):
    width = (demo_cac["program_cac_high"] - demo_cac["program_cac_low"]) / demo_cac["program_cac"]
    assert (width < 0.2).all()  # thousands of customers per tactic: tight intervals
    small = metrics.cac_intervals(dataset, n_boot=400, seed=0)
    # a handful of deals per team: some replicates win no customer, so upper bounds are
    # undefined, and the lower half-width alone exceeds the demo's whole width
    assert small["program_cac_high"].isna().all()
    small_lower = (small["program_cac"] - small["program_cac_low"]) / small["program_cac"]
    assert small_lower.min() > width.max()


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: metrics.cac(d, by=("colour",)), "cannot group by \\['colour'\\]"),
    (lambda d: metrics.cac(d, period="week"), "period must be one of"),
    (lambda d: metrics.funnel(d, gross_margin=1.5), "gross_margin must be in"),
    (lambda d: metrics.cac_intervals(d, n_boot=10), "n_boot >= 100"),
    (lambda d: attributed_cac(d, "u_shaped"), "unknown attribution model 'u_shaped'"),
    (lambda d: attributed_cac(d, "time_decay", half_life_days=0), "half_life_days"),
    (lambda d: attributed_cac(d, by=("region",)), "groups by"),
    (lambda d: attrition(d, by=("tactic",)), "cannot group people by"),
])
def test_bad_arguments_say_what_is_allowed(dataset, call, message):
    from salesnb import SalesnbError

    with pytest.raises(SalesnbError, match=message):
        call(dataset)


def test_optional_tables_missing_are_named(tmp_path):
    files = {k: v for k, v in FILES.items() if k not in ("touches.csv", "reps.csv")}
    files["deals.csv"] = files["deals.csv"].replace(",R1,", ",,").replace(",R2,", ",,").replace(
        ",R3,", ",,")
    data = _write_dataset(tmp_path, files)
    from salesnb import SalesnbError

    with pytest.raises(SalesnbError, match="touches table"):
        attributed_cac(data)
    with pytest.raises(SalesnbError, match="reps table"):
        attrition(data)
    assert metrics.cac(data)["people_cost"].sum() == 0  # no reps: no people cost, still CAC


def test_pipeline_counts_open_deals_and_has_no_amount_without_amounts(dataset):
    from dataclasses import replace

    pipeline = metrics.pipeline(dataset, by=["tactic"])
    assert pipeline.set_index("tactic").loc["events", "open_deals"] == 1  # D8, no amount
    assert math.isnan(pipeline.set_index("tactic").loc["events", "open_amount"])
    deals = dataset.tables["deals"].drop(columns="amount")
    without = metrics.pipeline(replace(dataset, tables=dict(dataset.tables, deals=deals)),
                               by=["tactic"])  # a CRM export without amounts: no crash
    assert list(without.columns) == list(pipeline.columns)
    assert without["open_deals"].tolist() == pipeline["open_deals"].tolist()
    assert without["open_amount"].isna().all()
