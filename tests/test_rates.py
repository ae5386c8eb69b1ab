"""Rates with uncertainty (issue 12, item 6): intervals clustered by rep, between-group tests
with effect sizes, and sales cycles, checked against planted truth.

Every simulation is seeded. The rep effects are planted as Beta-distributed rep win rates
around the group's true rate (mean mu, precision phi: intra-rep correlation 1 / (phi + 1)),
so the group's true rate is mu whatever the reps drawn.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import salesnb
from salesnb import SalesnbError, metrics
from salesnb.metrics import rates


def rep_counts(rng, mu, reps_per_group, phi=None, deals=(10, 60)):
    """Decided deals and wins per (group, rep): rep rates Beta(mu phi, (1 - mu) phi)."""
    mu = np.asarray(mu, dtype=float)
    group = np.repeat(np.arange(len(mu)), reps_per_group)
    decided = rng.integers(*deals, size=len(group))
    p = mu[group] if phi is None else rng.beta(mu[group] * phi, (1 - mu[group]) * phi)
    return pd.DataFrame({"group": group, "rep": np.arange(len(group)),
                         "won": rng.binomial(decided, p), "decided": decided})


def coverage(table, truth):
    return float(np.mean((table["low"] <= truth) & (truth <= table["high"])))


# ----- intervals ---------------------------------------------------------------------------
def test_wilson_equals_statsmodels_and_takes_fractional_counts():
    won, trials = np.array([0, 3, 17, 40]), np.array([5, 10, 40, 40])
    low, high = rates.wilson(won, trials)
    ref_low, ref_high = proportion_confint(won, trials, alpha=0.05, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)
    half_low, half_high = rates.wilson([1.5], [5.0])  # an effective sample size of 5
    assert 0 < half_low[0] < 0.3 < half_high[0] < 1
    assert np.isnan(rates.wilson([0], [0])[0][0])


def test_plain_wilson_covers_independent_deals_at_the_nominal_level():
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.15, 0.6, size=1000)
    counts = rep_counts(rng, mu, 8)  # no rep effect
    plain = rates.rate_intervals(counts["won"], counts["decided"], groups=counts["group"])
    clustered = rates.rate_intervals(counts["won"], counts["decided"], groups=counts["group"],
                                     clusters=counts["rep"])
    assert 0.93 <= coverage(plain, mu) <= 0.97
    # estimating a design effect that is truly 1 costs a little width, not coverage
    assert 0.93 <= coverage(clustered, mu) <= 0.98
    assert (clustered["high"] - clustered["low"] >= plain["high"] - plain["low"] - 1e-12).all()


@pytest.mark.parametrize("reps", [6, 20])
def test_clustered_interval_covers_when_reps_differ_and_plain_wilson_does_not(reps):
    rng = np.random.default_rng(reps)
    mu = rng.uniform(0.15, 0.6, size=1000)
    counts = rep_counts(rng, mu, reps, phi=9)  # intra-rep correlation 0.1: deff about 4-5
    plain = rates.rate_intervals(counts["won"], counts["decided"], groups=counts["group"])
    clustered = rates.rate_intervals(counts["won"], counts["decided"], groups=counts["group"],
                                     clusters=counts["rep"])
    assert coverage(plain, mu) < 0.75
    assert 0.92 <= coverage(clustered, mu) <= 0.98
    assert 3 < clustered["design_effect"].median() < 7
    assert (clustered["clusters"] == reps).all()
    assert (clustered["method"] == "wilson, clustered").all()


def test_missing_reps_are_independent_deals_and_one_rep_is_its_own_rate():
    won, decided = np.array([3, 1, 4, 1]), np.array([10, 10, 10, 10])
    no_reps = rates.rate_intervals(won, decided, groups=["a"] * 4, clusters=[None] * 4)
    low, high = rates.wilson([9], [40])
    assert no_reps.loc[0, ["low", "high"]].tolist() == pytest.approx([low[0], high[0]])
    one_rep = rates.rate_intervals(won, decided, groups=["a"] * 4, clusters=["r1"] * 4)
    assert one_rep.loc[0, "method"] == "wilson" and one_rep.loc[0, "design_effect"] == 1
    with pytest.raises(SalesnbError, match="successes <= trials"):
        rates.rate_intervals([3], [2])


# ----- the between-group test ---------------------------------------------------------------
def crossed_counts(rng, tactics, reps, phi, effects=None):
    """Every rep sells every tactic: a rep effect on the logit shared across tactics."""
    base = rng.beta(0.4 * phi, 0.6 * phi, size=reps)
    effects = np.zeros(tactics) if effects is None else np.asarray(effects)
    logit = np.log(base / (1 - base))[:, None] + effects[None, :]
    decided = rng.integers(5, 30, size=(reps, tactics))
    won = rng.binomial(decided, 1 / (1 + np.exp(-logit)))
    return pd.DataFrame({"tactic": np.tile(np.arange(tactics), reps),
                         "rep": np.repeat(np.arange(reps), tactics),
                         "won": won.ravel(), "decided": decided.ravel()})


def pearson_p(row):
    return stats.chi2.sf(row["effect_size"] ** 2 * row["n"], row["groups"] - 1)


def test_clustered_test_holds_its_size_when_reps_differ_but_leaders_do_not():
    rng = np.random.default_rng(7)
    ours, pearson, methods = [], [], set()
    for _ in range(200):
        counts = rep_counts(rng, [0.4] * 6, 6, phi=9, deals=(20, 80))  # 6 leaders x 6 reps
        row = rates.compare_rates(counts, "group", "won", trials="decided",
                                  cluster="rep").iloc[0]
        ours.append(row["p"])
        pearson.append(pearson_p(row))
        methods.add(row["test"])
    assert methods == {"design-effect F"}
    assert np.mean(np.array(ours) < 0.05) <= 0.10
    assert np.mean(np.array(pearson) < 0.05) > 0.5  # why clustering matters


def test_rao_scott_holds_its_size_when_reps_work_in_every_group():
    rng = np.random.default_rng(11)
    ps = []
    for _ in range(200):
        row = rates.compare_rates(crossed_counts(rng, 4, 35, phi=9), "tactic", "won",
                                  trials="decided", cluster="rep").iloc[0]
        assert row["test"] == "Rao-Scott F"
        ps.append(row["p"])
    assert np.mean(np.array(ps) < 0.05) <= 0.10


def test_a_planted_difference_is_found_with_its_size():
    truth = np.array([0.25, 0.30, 0.35, 0.50])
    rng = np.random.default_rng(5)
    rows, covered = [], []
    for _ in range(100):
        counts = rep_counts(rng, truth, 8, phi=30, deals=(20, 80))
        row = rates.compare_rates(counts, "group", "won", trials="decided",
                                  cluster="rep").iloc[0]
        rows.append(row)
        true_gap = truth[int(row["highest"])] - truth[int(row["lowest"])]
        covered.append(row["difference_low"] <= true_gap <= row["difference_high"])
    found = pd.DataFrame(rows)
    assert (found["p"] < 0.05).mean() >= 0.8
    assert (found["highest"] == "3").mean() >= 0.95
    shares = np.full(4, 0.25)  # equal expected deals per group
    pooled = np.sum(shares * truth)
    true_v = np.sqrt(np.sum(shares * (truth - pooled) ** 2) / (pooled * (1 - pooled)))
    assert found["effect_size"].mean() == pytest.approx(true_v, abs=0.03)
    assert found["difference"].mean() == pytest.approx(0.25, abs=0.03)
    assert np.mean(covered) >= 0.9


def test_independent_deals_get_pearson_and_equal_outcomes_no_difference():
    frame = pd.DataFrame({"g": list("aabbcc") * 20, "won": [1, 0, 1, 1, 0, 0] * 20})
    row = rates.compare_rates(frame, "g", "won").iloc[0]
    table = pd.crosstab(frame["g"], frame["won"])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert row["test"] == "Pearson chi-square" and row["df"] == dof == 2
    assert row["statistic"] == pytest.approx(chi2) and row["p"] == pytest.approx(p)
    assert row["effect_size"] == pytest.approx(np.sqrt(chi2 / 120))
    same = rates.compare_rates(frame.assign(won=1), "g", "won").iloc[0]
    assert same["p"] == 1 and same["effect_size"] == 0
    with pytest.raises(SalesnbError, match="two groups"):
        rates.compare_rates(frame.assign(g="a"), "g", "won")
    with pytest.raises(SalesnbError, match="'colour'"):
        rates.compare_rates(frame, "colour", "won")


# ----- cycle times -------------------------------------------------------------------------
def cycle_frame(rng, medians, reps, spread=0.0, deals=30):
    """Days per deal: lognormal around each group's median, times a rep factor exp(N(0, s))."""
    medians = np.asarray(medians, dtype=float)
    group = np.repeat(np.arange(len(medians)), reps)
    factor = np.exp(rng.normal(0, spread, size=len(group)))
    rep = np.repeat(np.arange(len(group)), deals)
    noise = np.exp(rng.normal(0, 0.6, size=len(rep)))
    return pd.DataFrame({"group": group[rep], "rep": rep,
                         "days": np.round(medians[group][rep] * factor[rep] * noise)})


def test_kruskal_wallis_equals_scipy_on_deals_and_on_counted_rows():
    frame = cycle_frame(np.random.default_rng(2), [30, 36, 45], 4)
    row = rates.compare_cycle_times(frame, "group", "days").iloc[0]
    h, p = stats.kruskal(*(part["days"] for _, part in frame.groupby("group")))
    assert row["statistic"] == pytest.approx(h) and row["p"] == pytest.approx(p)
    counted = frame.groupby(["group", "days"]).size().rename("deals").reset_index()
    again = rates.compare_cycle_times(counted, "group", "days", weight="deals").iloc[0]
    assert again["statistic"] == pytest.approx(h)
    medians = rates.cycle_times(counted, "group", "days", weight="deals", n_boot=50)
    assert medians["median_days"].tolist() == frame.groupby("group")["days"].median().tolist()


def test_cycle_test_permutes_reps_and_holds_its_size_when_reps_differ():
    rng = np.random.default_rng(3)
    ours, plain = [], []
    for _ in range(100):
        frame = cycle_frame(rng, [40, 40, 40], 6, spread=0.5)
        row = rates.compare_cycle_times(frame, "group", "days", cluster="rep",
                                        n_perm=199).iloc[0]
        ours.append(row["p"])
        plain.append(stats.chi2.sf(row["statistic"], row["df"]))  # deals taken as independent
    assert np.mean(np.array(ours) < 0.05) <= 0.10
    assert np.mean(np.array(plain) < 0.05) > 0.5
    planted = cycle_frame(rng, [30, 30, 60], 6, spread=0.3)
    row = rates.compare_cycle_times(planted, "group", "days", cluster="rep").iloc[0]
    assert row["p"] < 0.01 and row["highest"] == "2"
    assert "permuting whole clusters (rep)" in row["method"]


def test_median_interval_redraws_reps_and_covers_the_true_median():
    frame = cycle_frame(np.random.default_rng(4), [40] * 200, 10, spread=0.3)
    table = rates.cycle_times(frame, "group", "days", cluster="rep", n_boot=300, seed=1)
    assert (table["method"] == "bootstrap by rep").all() and (table["clusters"] == 10).all()
    hits = table["median_low"].le(40) & table["median_high"].ge(40)
    assert 0.88 <= hits.mean() <= 0.99
    by_deal = rates.cycle_times(frame, "group", "days", n_boot=300, seed=1)
    assert (by_deal["median_low"].le(40) & by_deal["median_high"].ge(40)).mean() < 0.8


# ----- through a loaded CRM export: 35 reps under 6 managers --------------------------------
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
          tactic: product
          outcome: {column: deal_stage, values: {Won: won, Lost: lost, Engaging: open}}
          created_date: {column: engage_date, date_format: "%m/%d/%Y"}
          close_date: {column: close_date, date_format: "%m/%d/%Y"}
      teams:
        source: sales_teams.csv
        distinct: true
        columns: {team_id: manager, leader_id: manager, region: regional_office}
    """


def crm_export(folder: Path, seed: int, manager_effect=(0.0,) * 6, open_share=0.15) -> Path:
    """A CRM pipeline export shaped like the public one: 35 agents under 6 managers."""
    rng = np.random.default_rng(seed)
    sizes = [6, 6, 6, 6, 6, 5]
    manager = np.repeat(np.arange(6), sizes)
    agents = [f"Agent {i:02d}" for i in range(35)]
    teams = pd.DataFrame({"sales_agent": agents,
                          "manager": [f"Manager {m}" for m in manager],
                          "regional_office": [["Central", "East", "West"][m // 2]
                                              for m in manager]})
    n = 2400
    agent = np.concatenate([np.arange(35), rng.integers(0, 35, n - 35)])
    rep_rate = rng.beta(0.63 * 60, 0.37 * 60, size=35)  # reps differ; managers do not
    p = np.clip(rep_rate[agent] + np.asarray(manager_effect)[manager[agent]], 0.01, 0.99)
    closed = rng.random(n) >= open_share
    closed[:35] = open_share < 1  # every agent has a decided deal (unless all are open)
    stage = np.where(closed, np.where(rng.random(n) < p, "Won", "Lost"), "Engaging")
    engage = pd.Timestamp("2017-01-02") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    cycle = pd.to_timedelta(1 + rng.gamma(2.0, 24.0, n).astype(int), unit="D")
    pipeline = pd.DataFrame({
        "opportunity_id": [f"OPP{i:05d}" for i in range(n)],
        "sales_agent": [agents[a] for a in agent],
        "product": rng.choice(["GTX Basic", "MG Special", "GTX Pro"], size=n),
        "deal_stage": stage,
        "engage_date": engage.strftime("%m/%d/%Y"),
        "close_date": np.where(closed, (engage + cycle).strftime("%m/%d/%Y"), ""),
    })
    folder.mkdir(parents=True)
    teams.to_csv(folder / "sales_teams.csv", index=False)
    pipeline.to_csv(folder / "sales_pipeline.csv", index=False)
    (folder / "mapping.yml").write_text(textwrap.dedent(CRM_MAPPING))
    return folder


def load_quietly(folder: Path):
    with pytest.warns(salesnb.DataCleaningWarning, match="distinct"):
        return salesnb.load(folder)


@pytest.fixture(scope="module")
def flat_crm(tmp_path_factory):
    return load_quietly(crm_export(tmp_path_factory.mktemp("crm") / "flat", seed=12))


def test_flat_crm_says_leadership_makes_no_clear_difference(flat_crm):
    by_leader = metrics.win_rates(flat_crm, by=["leader_id"])
    assert by_leader["reps"].tolist() == [6, 6, 6, 6, 6, 5]
    assert by_leader["win_rate_low"].max() < by_leader["win_rate_high"].min()  # all overlap
    decided = flat_crm.deals[flat_crm.deals["outcome"] != "open"]
    assert by_leader["won"].sum() == (decided["outcome"] == "won").sum()
    test = metrics.win_rate_test(flat_crm, by=["leader_id"]).iloc[0]
    assert test["test"] == "design-effect F"
    assert test["groups"] == 6 and test["clusters"] == 35 and test["n"] == len(decided)
    assert test["p"] > 0.2
    assert test["difference_low"] < 0 < test["difference_high"]
    by_rep = metrics.win_rate_test(flat_crm, by=["rep_id"]).iloc[0]
    assert by_rep["test"] == "Pearson chi-square" and by_rep["p"] < 0.05  # reps do differ


def test_the_same_path_finds_leaders_who_make_a_difference(tmp_path):
    effect = (-0.15, -0.1, 0.0, 0.0, 0.1, 0.15)  # the same reps, now under leaders who matter
    data = load_quietly(crm_export(tmp_path / "lift", seed=12, manager_effect=effect))
    test = metrics.win_rate_test(data, by=["leader_id"]).iloc[0]
    # power at this effect: 300 of 300 simulated exports reject at 5% (docs/rates.md); this
    # seed's reps happen to vary more than most (pooled design effect 3.2, 95th percentile)
    assert test["p"] < 0.05 and test["lowest"] == "Manager 0"
    assert test["difference_low"] > 0


def test_sales_cycles_equal_the_hand_counted_days(flat_crm):
    deals = flat_crm.deals[flat_crm.deals["outcome"] != "open"].merge(
        flat_crm.teams, on="team_id")
    days = (deals["close_date"] - deals["created_date"]).dt.days
    table = metrics.sales_cycles(flat_crm, by=["leader_id"], n_boot=200).set_index("leader_id")
    expected = days.groupby(deals["leader_id"]).median()
    assert table["median_days"].to_dict() == pytest.approx(expected.to_dict())
    assert (table["median_low"] <= table["median_days"]).all()
    assert (table["median_days"] <= table["median_high"]).all()
    assert (table["method"] == "bootstrap by rep").all()
    test = metrics.sales_cycle_test(flat_crm, by=["leader_id"], n_perm=199).iloc[0]
    assert test["test"] == "Kruskal-Wallis" and test["p"] > 0.05  # no planted difference


def test_bad_groupings_and_no_decided_deals_are_plain_errors(flat_crm, tmp_path):
    with pytest.raises(SalesnbError, match="colour.*it can group by"):
        metrics.win_rate_test(flat_crm, by=["colour"])
    with pytest.raises(SalesnbError, match="map leaders.decision_style"):
        metrics.win_rates(flat_crm, by=["decision_style"])
    all_open = load_quietly(crm_export(tmp_path / "open", seed=3, open_share=1.0))
    with pytest.raises(SalesnbError, match="no decided deals"):
        metrics.win_rate_test(all_open, by=["leader_id"])
    with pytest.raises(SalesnbError, match="no decided deal"):
        metrics.sales_cycles(all_open, by=["leader_id"])


# ----- leadership style in force, and lead conversion by owner ------------------------------
STYLE_MAPPING = """\
    version: 1
    tables:
      deals:
        source: deals.csv
        columns: {deal_id: deal_id, team_id: team_id, rep_id: rep_id, tactic: tactic,
                  outcome: outcome, close_date: close_date}
      teams:
        source: teams.csv
        columns: {team_id: team_id, leader_id: leader_id}
      leaders:
        source: leaders.csv
        columns: {leader_id: leader_id, decision_style: decision_style,
                  involvement: involvement}
      style_changes:
        source: style_changes.csv
        columns: {leader_id: leader_id, effective_date: effective_date,
                  decision_style: decision_style, involvement: involvement}
    """
STYLE_WIN_RATE = {"autocratic": 0.30, "collaborative": 0.50}


def style_export(folder: Path, seed: int = 8) -> Path:
    """8 leaders x 4 reps; leader L1 turns collaborative on 2024-07-01; win rate by style."""
    rng = np.random.default_rng(seed)
    leaders = pd.DataFrame({"leader_id": [f"L{i}" for i in range(1, 9)],
                            "decision_style": ["autocratic"] * 4 + ["collaborative"] * 4,
                            "involvement": "hybrid"})
    changes = pd.DataFrame({"leader_id": ["L1"], "effective_date": ["2024-07-01"],
                            "decision_style": ["collaborative"], "involvement": ["hybrid"]})
    n = 1600
    team = rng.integers(1, 9, n)
    close = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, n), unit="D")
    style = np.where(team <= 4, "autocratic", "collaborative")
    style[(team == 1) & (close >= pd.Timestamp("2024-07-01"))] = "collaborative"
    rep = team * 10 + rng.integers(0, 4, n)
    rep_shift = rng.normal(0, 0.04, size=90)[rep]  # small rep differences
    p = pd.Series(style).map(STYLE_WIN_RATE).to_numpy() + rep_shift
    deals = pd.DataFrame({"deal_id": [f"D{i}" for i in range(n)],
                          "team_id": [f"T{t}" for t in team],
                          "rep_id": [f"R{r}" for r in rep], "tactic": "direct",
                          "outcome": np.where(rng.random(n) < p, "won", "lost"),
                          "close_date": close.strftime("%Y-%m-%d"), "style_in_force": style})
    folder.mkdir(parents=True)
    deals.to_csv(folder / "deals.csv", index=False)
    pd.DataFrame({"team_id": [f"T{i}" for i in range(1, 9)],
                  "leader_id": leaders["leader_id"]}).to_csv(folder / "teams.csv", index=False)
    leaders.to_csv(folder / "leaders.csv", index=False)
    changes.to_csv(folder / "style_changes.csv", index=False)
    (folder / "mapping.yml").write_text(textwrap.dedent(STYLE_MAPPING))
    return folder


def test_win_rates_by_the_style_in_force_find_the_planted_difference(tmp_path):
    folder = style_export(tmp_path / "style")
    data = salesnb.load(folder)
    hand = pd.read_csv(folder / "deals.csv").groupby("style_in_force")["outcome"].agg(
        won=lambda o: (o == "won").sum(), decided="size")
    table = metrics.win_rates(data, by=["decision_style"]).set_index("decision_style")
    assert table["won"].to_dict() == hand["won"].to_dict()  # L1's second half: collaborative
    assert (table["won"] + table["lost"]).to_dict() == hand["decided"].to_dict()
    for style, truth in STYLE_WIN_RATE.items():
        assert table.loc[style, "win_rate_low"] < truth < table.loc[style, "win_rate_high"]
    test = metrics.win_rate_test(data, by=["decision_style"]).iloc[0]
    assert test["test"] == "Rao-Scott F"  # L1's reps sold under both styles
    assert test["p"] < 0.001 and test["highest"] == "collaborative"
    assert test["difference_low"] < 0.2 < test["difference_high"]
    assert metrics.win_rate_test(data, by=["leader_id"]).iloc[0]["test"] == "design-effect F"


LEAD_MAPPING = """\
    version: 1
    tables:
      leads:
        source: leads.csv
        columns: {lead_id: lead_id, created_date: created_date, tactic: source,
                  rep_id: owner, deal_id: deal_id}
      deals:
        source: deals.csv
        columns: {deal_id: deal_id, team_id: team_id, tactic: source, outcome: outcome,
                  close_date: close_date}
      teams:
        source: teams.csv
        columns: {team_id: team_id}
    """


def test_conversion_intervals_are_clustered_by_lead_owner(tmp_path):
    rng = np.random.default_rng(9)
    n, owners = 1200, 12
    owner = rng.integers(0, owners, n)
    converts = rng.random(n) < rng.beta(2, 6, size=owners)[owner]  # owners differ a lot
    leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(n)], "created_date": "2024-01-05",
                          "source": rng.choice(["web", "event"], n),
                          "owner": [f"O{o}" for o in owner],
                          "deal_id": [f"D{i}" if c else "" for i, c in enumerate(converts)]})
    deals = leads[converts].assign(team_id="T", outcome="won", close_date="2024-03-01")
    folder = tmp_path / "leads"
    folder.mkdir()
    leads.to_csv(folder / "leads.csv", index=False)
    deals[["deal_id", "team_id", "source", "outcome", "close_date"]].to_csv(
        folder / "deals.csv", index=False)
    pd.DataFrame({"team_id": ["T"]}).to_csv(folder / "teams.csv", index=False)
    (folder / "mapping.yml").write_text(textwrap.dedent(LEAD_MAPPING))
    table = metrics.conversion(salesnb.load(folder), by=["tactic"]).set_index("tactic")
    plain_low, plain_high = rates.wilson(table["converted"], table["leads"])
    assert (table["conversion_rate_design_effect"] > 1.5).all()
    assert (table["conversion_rate_low"] < plain_low).all()
    assert (table["conversion_rate_high"] > plain_high).all()
    assert (table["reps"] == owners).all()
    by_owner = metrics.conversion(salesnb.load(folder), by=["rep_id"])
    assert (by_owner["conversion_rate_design_effect"] == 1).all()  # one owner: plain Wilson
