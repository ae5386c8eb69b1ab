"""The demo generator: deterministic per seed, and its written truth matches what it generates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salesnb import SalesnbError, demo, load
from salesnb.cli import main
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow  # generates and loads full demos: seconds each

CANONICAL = ("spend", "deals", "teams", "leaders", "style_changes", "reps", "touches")


def _tables(**kwargs):
    tables = demo.generate(out=None, **kwargs)
    return {name: tables[name] for name in CANONICAL}, tables["truth"].attrs["truth"]


def test_same_seed_same_data_other_seed_other_data():
    first, truth1 = _tables(seed=11, teams=6, months=8)
    second, truth2 = _tables(seed=11, teams=6, months=8)
    third, _ = _tables(seed=12, teams=6, months=8)
    for name in CANONICAL:
        pd.testing.assert_frame_equal(first[name], second[name])
    assert truth1 == truth2
    assert not first["spend"]["cost"].equals(third["spend"]["cost"])


def test_committed_demo_is_what_the_generator_makes():
    committed = load(PROJECT_DIR / "data" / "demo")
    generated = demo.generate(out=None, seed=42, teams=40, months=24)
    truth = json.loads((PROJECT_DIR / "data" / "demo" / "truth.json").read_text())
    assert truth == json.loads(json.dumps(generated["truth"].attrs["truth"]))
    for name in ("spend", "deals", "reps"):
        assert len(committed.tables[name]) == len(generated[name])
    assert committed.spend["cost"].sum() == pytest.approx(generated["spend"]["cost"].sum())
    won = (committed.deals["outcome"] == "won").sum()
    assert won == (generated["deals"]["outcome"] == "won").sum()


def test_written_files_load_and_truth_lists_the_style_changes(small_demo):
    data = load(small_demo)
    truth = json.loads((small_demo / "truth.json").read_text())
    changes = data.style_changes
    assert len(changes) == len(truth["style_changes"]) >= 1
    for planted in truth["style_changes"]:
        row = changes[changes["leader_id"] == planted["leader_id"]].iloc[0]
        assert row["effective_date"] == pd.Timestamp(planted["effective_date"])
        assert row["decision_style"] == planted["decision_style"]
        before = data.leaders.set_index("leader_id").loc[planted["leader_id"], "decision_style"]
        assert before != planted["decision_style"]


@pytest.fixture(scope="module")
def large_panel():
    """A large demo aggregated to team x tactic x month, with the style in force each month."""
    tables, truth = _tables(seed=5, teams=120, months=24)
    deals = tables["deals"]
    won = deals[deals["outcome"] == "won"].assign(
        period=lambda d: d["close_date"].dt.strftime("%Y-%m"))
    counts = won.groupby(["team_id", "tactic", "period"]).size().rename("customers")
    panel = tables["spend"].merge(counts, on=["team_id", "tactic", "period"], how="left")
    panel["customers"] = panel["customers"].fillna(0)
    panel = panel.merge(tables["teams"][["team_id", "leader_id"]], on="team_id").merge(
        tables["leaders"], on="leader_id")
    month = pd.to_datetime(panel["period"] + "-01")
    for change in tables["style_changes"].itertuples():
        after = (panel["leader_id"] == change.leader_id) & (month >= change.effective_date)
        panel.loc[after, "decision_style"] = change.decision_style
    return panel, truth, tables


@pytest.mark.slow
def test_planted_cac_effects_are_recovered(large_panel):
    """A negative-binomial fit on generated data lands on the documented multipliers."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    panel, truth, _ = large_panel
    panel = panel.assign(
        log_spend=np.log(panel["cost"] / truth["reference"]["spend_per_month"]),
        years10=(panel["industry_years"] - 10) / 10,
        admin10=(panel["admin_share"] - 0.3) / 0.1)
    formula = ("customers ~ C(tactic, Treatment('referrals')) "
               "* C(decision_style, Treatment('consultative'))"
               " + C(involvement, Treatment('hybrid')) + years10 + admin10 + log_spend")
    fit = smf.glm(formula, panel, family=sm.families.NegativeBinomial(alpha=truth["dispersion"])
                  ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["team_id"])[0]})
    cac = np.exp(-fit.params)
    low, high = np.exp(-fit.conf_int()[1]), np.exp(-fit.conf_int()[0])

    def check(term, expected, rel):
        assert cac[term] == pytest.approx(expected, rel=rel), term
        assert low[term] * 0.97 <= expected <= high[term] * 1.03, (term, low[term], high[term])

    base = truth["base_cac"]
    for tactic, value in base.items():
        if tactic != "referrals":
            check(f"C(tactic, Treatment('referrals'))[T.{tactic}]", value / base["referrals"], 0.1)
    for style, value in truth["decision_style_cac_multiplier"].items():
        if style != "consultative":
            check(f"C(decision_style, Treatment('consultative'))[T.{style}]", value, 0.12)
    for level, value in truth["involvement_cac_multiplier"].items():
        if level != "hybrid":
            check(f"C(involvement, Treatment('hybrid'))[T.{level}]", value, 0.12)
    check("years10", truth["industry_years_cac_multiplier_per_10_years"], 0.1)
    check("admin10", truth["admin_share_cac_multiplier_per_0_1"], 0.1)
    interaction = ("C(tactic, Treatment('referrals'))[T.events]:"
                   "C(decision_style, Treatment('consultative'))[T.collaborative]")
    check(interaction, truth["interaction"]["cac_multiplier"], 0.15)
    assert fit.params["log_spend"] == pytest.approx(truth["response_exponent"], abs=0.04)


@pytest.mark.slow
def test_program_cac_ranks_tactics_as_planted(large_panel):
    panel, truth, _ = large_panel
    by_tactic = panel.groupby("tactic")[["cost", "customers"]].sum()
    observed = (by_tactic["cost"] / by_tactic["customers"]).sort_values().index.tolist()
    assert observed == sorted(truth["base_cac"], key=truth["base_cac"].get)


@pytest.mark.slow
def test_attrition_is_higher_under_the_planted_style(large_panel):
    _, truth, tables = large_panel
    reps = tables["reps"].merge(tables["teams"][["team_id", "leader_id"]], on="team_id").merge(
        tables["leaders"][["leader_id", "decision_style", "recognition"]], on="leader_id")
    unchanged = ~reps["leader_id"].isin(tables["style_changes"]["leader_id"])
    exits = reps[unchanged].groupby("decision_style")["exit_date"].apply(lambda s: s.notna().mean())
    worst = max(truth["attrition_hazard_ratio_by_style"],
                key=truth["attrition_hazard_ratio_by_style"].get)
    assert exits.idxmax() == worst
    assert exits["autocratic"] > 1.3 * exits["collaborative"]


def test_demo_never_overwrites_a_folder(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SalesnbError, match="not empty"):
        demo.generate(out=out, teams=3, months=6)
    assert main(["demo", "--out", str(out), "--teams", "3", "--months", "6"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_cli_demo_writes_a_valid_dataset(tmp_path, capsys):
    out = tmp_path / "fresh"
    assert main(["demo", "--out", str(out), "--seed", "9", "--teams", "4", "--months", "6"]) == 0
    assert {p.name for p in out.iterdir()} >= {"mapping.yml", "truth.json", "spend.csv"}
    assert main(["validate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "teams:         4" in printed and "(6 months)" in printed
    assert not list(tmp_path.glob(".salesnb-demo-*")), "staging folder left behind"
