"""Marketing-mix model on totals over time: planted truth recovered, intervals cover it, the
confounder matters, notes fire, and the budget code runs on the fitted curves.

The truth comes from :mod:`salesnb.synthetic.mix_demo`; its own consistency is checked here
with an adstock loop written independently of the package's filter.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest

from salesnb.curves import budget
from salesnb.curves.mix import fit_mix_model
from salesnb.curves.mix_fit import Layout, MixData, block_weights, evaluate
from salesnb.errors import SalesnbError
from salesnb.synthetic import mix_demo

CONTROLS = ["demand_index", "price", "event"]
SEEDS = (0, 1, 2)
pytestmark = pytest.mark.slow  # fits with 200-draw bootstraps: seconds each
REACTING = [t for t, v in mix_demo.TACTICS.items() if v[5] > 0]  # spend follows demand


@functools.cache
def weekly(seed: int, controls: tuple = tuple(CONTROLS), n_boot: int = 200):
    frame, truth = mix_demo.generate(seed=seed)
    return fit_mix_model(frame, controls=list(controls), n_boot=n_boot, seed=seed), truth


def truth_of(truth: dict, key: str, tactics) -> np.ndarray:
    return np.array([truth["tactics"][t][key] for t in tactics])


# ----- the simulator ----------------------------------------------------------------------------
def test_simulated_truth_is_what_the_table_gives(tmp_path):
    frame, truth = mix_demo.generate(seed=5, out=tmp_path / "totals")
    assert list(frame.columns[:3]) == ["period", "market", "new_customers"]
    assert (frame["period"].diff().dropna() == pd.Timedelta(days=7)).all()
    written = json.loads((tmp_path / "totals" / "truth.json").read_text())
    assert written["tactics"].keys() == truth["tactics"].keys()
    assert len(pd.read_csv(tmp_path / "totals" / "totals.csv")) == len(frame)
    for tactic, planted in truth["tactics"].items():
        spend = frame[f"spend_{tactic}"].to_numpy()
        # independent adstock: a plain loop started at steady state (the burn-in is not in the
        # table, so this only bounds the effect of the first weeks)
        stock, level = np.empty_like(spend), spend[0]
        for t, x in enumerate(spend):
            level = planted["carryover"] * level + (1 - planted["carryover"]) * x
            stock[t] = level
        shape, half = planted["shape"], planted["half_saturation"]
        customers = planted["maximum"] * stock ** shape / (stock ** shape + half ** shape)
        assert spend.sum() / customers.sum() == pytest.approx(planted["average_cac"], rel=0.03)
        assert planted["spend"] / planted["contribution"] == pytest.approx(
            planted["average_cac"])
    shares = sum(v["contribution_share"] for v in truth["tactics"].values())
    assert shares + truth["baseline"]["share"] == pytest.approx(1.0)
    with pytest.raises(SalesnbError, match="not empty"):
        mix_demo.generate(seed=5, out=tmp_path / "totals")


def test_simulator_refuses_bad_arguments():
    with pytest.raises(SalesnbError) as error:
        mix_demo.generate(period="day", markets=0, saturation="linear")
    for part in ("period", "markets", "saturation"):
        assert part in str(error.value)
    with pytest.raises(SalesnbError, match="at least 2 markets"):
        mix_demo.generate(leaders=True)


# ----- the likelihood -------------------------------------------------------------------------
@pytest.mark.parametrize("form, shape", [("hill", None), ("power", None)])
def test_gradient_matches_finite_differences(form, shape):
    frame, _ = mix_demo.generate(seed=1, years=1, markets=2, leaders=True, tactics=3)
    rng = np.random.default_rng(0)
    spend = np.stack([frame[f"spend_{t}"].to_numpy().reshape(-1, 2) for t in list(
        mix_demo.TACTICS)[:3]])
    design = np.column_stack([np.ones(len(frame)), rng.normal(size=(len(frame), 2))])
    styles = pd.factorize(frame["decision_style"])[0]
    data = MixData(frame["new_customers"].to_numpy(float), spend, design, styles, 2,
                   np.median(spend.reshape(3, -1), axis=1), float(frame["new_customers"].mean()))
    data.style = np.minimum(styles, 1)
    layout = Layout(3, 3, form, shape, 2)
    theta = layout.start(data, 0.4) + rng.normal(0, 0.05, layout.size)
    weights = rng.integers(0, 3, len(frame)).astype(float)
    _, gradient, _ = evaluate(theta, data, layout, 0.01, weights)
    step = 1e-6
    numeric = [(evaluate(theta + e, data, layout, 0.01, weights)[0]
                - evaluate(theta - e, data, layout, 0.01, weights)[0]) / (2 * step)
               for e in np.eye(layout.size) * step]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-9)


def test_block_weights_draw_whole_periods():
    weights = block_weights(np.random.default_rng(0), 50, 3, 8)
    assert weights.sum() == 150 and weights.shape == (150,)
    assert (weights.reshape(50, 3) == weights.reshape(50, 3)[:, :1]).all()  # markets together


# ----- planted truth --------------------------------------------------------------------------
def test_average_cac_recovered_within_intervals():
    inside, errors = [], []
    for seed in SEEDS:
        model, truth = weekly(seed)
        table = model.cac().set_index("tactic").loc[model.tactics]
        planted = truth_of(truth, "average_cac", model.tactics)
        inside += list((table["average_cac_low"] <= planted)
                       & (planted <= table["average_cac_high"]))
        errors += list(np.log(table["average_cac"] / planted))
        assert model.seconds < 30
    assert np.mean(inside) >= 16 / 18, inside
    assert np.median(np.abs(errors)) < 0.12
    assert np.abs(np.mean(errors)) < 0.1  # no systematic bias


def test_marginal_cac_and_shares_near_the_truth():
    for seed in SEEDS:
        model, truth = weekly(seed)
        table = model.cac().set_index("tactic").loc[model.tactics]
        marginal = truth_of(truth, "marginal_cac", model.tactics)
        share = truth_of(truth, "contribution_share", model.tactics)
        assert np.median(np.abs(np.log(table["marginal_cac"] / marginal))) < 0.15
        assert np.mean((table["share_low"] <= share) & (share <= table["share_high"])) >= 5 / 6
        assert (table["marginal_cac"] > 0.9 * table["average_cac"]).all()  # diminishing
        shares = model.contribution_shares()
        assert shares["share"].sum() == pytest.approx(1.0)


def test_tactics_ranked_correctly():
    order = list(mix_demo.TACTICS)  # planted cheapest first
    correct = []
    for seed in SEEDS:
        model, _ = weekly(seed)
        ranked = list(model.cac()["tactic"])
        correct.append(ranked == order)
        # at worst neighbours swap: every tactic within one place of its planted rank
        assert all(abs(ranked.index(t) - i) <= 1 for i, t in enumerate(order)), ranked
    assert sum(correct) >= 2, correct


def test_leaving_the_confounder_out_biases_cac_low():
    with_it, without = [], []
    for seed in SEEDS:
        model, truth = weekly(seed)
        blind, _ = weekly(seed, controls=("price", "event"), n_boot=0)
        planted = truth_of(truth, "average_cac", REACTING)
        with_it.append(np.log(model.cac().set_index("tactic").loc[REACTING, "average_cac"]
                              / planted))
        without.append(np.log(blind.cac().set_index("tactic").loc[REACTING, "average_cac"]
                              / planted))
        assert any("controls in the baseline: ['price', 'event']" in n for n in blind.notes)
    bias_with, bias_without = np.mean(with_it), np.mean(without)
    assert abs(bias_with) < 0.08
    assert bias_without < np.log(0.8)  # the reacting tactics look >= 20% cheaper than they are
    assert bias_without < bias_with - 0.2


# ----- shapes of data ---------------------------------------------------------------------------
def test_weekly_single_market_end_to_end(tmp_path):
    mix_demo.generate(seed=7, out=tmp_path / "totals")
    frame = pd.read_csv(tmp_path / "totals" / "totals.csv")  # dates as text, as from a file
    model = fit_mix_model(frame, controls=CONTROLS, n_boot=60, seed=1)
    assert model.kind == "customers" and model.markets == ["all"]
    assert set(model.summary()["measure"]) == {"average_cac", "marginal_cac", "share",
                                               "carryover", "half_saturation"}
    curves = model.response_curves(points=10)
    assert len(curves) == 60 and curves["extrapolated"].any()
    assert (curves.groupby("tactic")["customers"].diff().dropna() > 0).all()  # increasing
    decomposition = model.decomposition()
    assert decomposition["fitted"].sum() == pytest.approx(model.contribution_shares()[
        "customers"].sum())
    assert set(model.baseline_effects()["term"]) >= set(CONTROLS)
    assert any("only 60 draws" in n for n in model.notes)


def test_pooled_markets_monthly_with_leaders():
    frame, truth = mix_demo.generate(seed=4, period="month", markets=9, leaders=True)
    model = fit_mix_model(frame, controls=CONTROLS, period="month", market="market",
                          style="decision_style", n_boot=100, seed=4)
    table = model.cac().set_index("tactic").loc[model.tactics]
    planted = truth_of(truth, "average_cac", model.tactics)
    assert np.abs(np.log(table["average_cac"] / planted)).max() < 0.15
    assert np.mean((table["average_cac_low"] <= planted)
                   & (planted <= table["average_cac_high"])) >= 5 / 6
    styles = model.style_effects().set_index("style")
    assert styles.index[0] == "consultative"
    for style, multiplier in truth["style_response_multiplier"].items():
        row = styles.loc[style]
        assert row["ci_low"] <= multiplier <= row["ci_high"], style
    assert any("pooled over 9 markets" in n for n in model.notes)
    curves = model.to_response_curves()
    assert curves.units["teams_per_month"].iloc[0] == 9  # nine market-months a month


def test_revenue_outcome_is_read_as_cost_per_unit():
    frame, _ = mix_demo.generate(seed=2, years=2)
    frame["revenue"] = frame["new_customers"] * 950.5
    model = fit_mix_model(frame, outcome="revenue", controls=CONTROLS, n_boot=0)
    counts = fit_mix_model(frame, controls=CONTROLS, family="poisson", n_boot=0)
    assert model.kind == "revenue" and model.family == "quasi-poisson"
    assert any("cost per unit of revenue" in n for n in model.notes)
    np.testing.assert_allclose(model.cac()["average_cac"] * 950.5,
                               counts.cac()["average_cac"], rtol=1e-3)
    whole = frame.assign(revenue=frame["new_customers"] * 950)
    assert fit_mix_model(whole, outcome="revenue", controls=CONTROLS, n_boot=0).kind == \
        "customers"  # whole numbers look like counts: say so
    said = fit_mix_model(whole, outcome="revenue", controls=CONTROLS, n_boot=0, kind="revenue")
    assert said.kind == "revenue" and said.family == "quasi-poisson"


# ----- notes ----------------------------------------------------------------------------------
def test_notes_fire_on_collinear_spend():
    frame, _ = mix_demo.generate(seed=3)
    assert not any("collinear" in n for n in weekly(0)[0].notes)
    rng = np.random.default_rng(0)
    frame["spend_webinars"] = (0.8 * frame["spend_paid_search"]
                               * np.exp(rng.normal(0, 0.03, len(frame))))
    model = fit_mix_model(frame, controls=CONTROLS, n_boot=0)
    note = next(n for n in model.notes if n.startswith("collinear spend"))
    assert "paid_search" in note and "webinars" in note and "email" not in note


def test_notes_fire_on_too_few_periods():
    assert any("per parameter" in n for n in weekly(0)[0].notes)  # 157 rows, 28 parameters
    frame, _ = mix_demo.generate(seed=3, period="month", markets=12)
    pooled = fit_mix_model(frame, controls=CONTROLS, period="month", market="market", n_boot=0)
    assert not any("per parameter" in n for n in pooled.notes)  # 432 rows, 40 parameters
    frame, _ = mix_demo.generate(seed=3, years=1)
    note = next(n for n in fit_mix_model(frame, controls=CONTROLS, n_boot=0).notes
                if "per parameter" in n)
    assert note.startswith("52 rows for 28 parameters (1.9 per parameter")
    short, _ = mix_demo.generate(seed=3, years=1.5, period="month")
    with pytest.raises(SalesnbError, match="18 rows for 28 parameters"):
        fit_mix_model(short, controls=CONTROLS, period="month")


def test_extrapolation_is_named():
    model, _ = weekly(0)
    assert any(n.startswith("observed spend per market-week") for n in model.notes)
    assert any("rests on the curve's form" in n for n in model.notes)


# ----- the budget code on the fitted curves -------------------------------------------------
def truth_customers(truth: dict, curves, monthly_spend) -> float:
    """Customers a month on the *planted* curves at a monthly allocation (steady state)."""
    per_month = curves.units["teams_per_month"].to_numpy()
    total = 0.0
    for tactic, spend, teams in zip(curves.units["tactic"], monthly_spend, per_month,
                                    strict=True):
        planted = truth["tactics"][tactic]
        x, shape = spend / teams, planted["shape"]
        total += teams * planted["maximum"] * x ** shape / (
            x ** shape + planted["half_saturation"] ** shape)
    return total


def test_reallocation_beats_the_current_split_on_the_truth():
    model, truth = weekly(1)
    curves = model.to_response_curves()
    current = curves.units["current_spend"].to_numpy()
    months = len(model.periods) / (52.1775 / 12)  # 157 weeks
    spent = sum(model.table[f"spend_{t}"].sum() for t in model.tactics)
    assert current.sum() == pytest.approx(spent / months)  # monthly amounts, as budget reads
    np.testing.assert_allclose(curves.marginal_cac()["marginal_cac"],
                               model.cac().set_index("tactic").loc[model.tactics,
                                                                   "marginal_cac"], rtol=1e-6)
    allocation = budget.reallocate(curves)
    new = allocation.table["new_spend"].to_numpy()
    assert new.sum() == pytest.approx(current.sum())
    before, after = truth_customers(truth, curves, current), truth_customers(truth, curves, new)
    assert after > 1.1 * before  # at least 10% more customers for the same money, truly
    summary = allocation.summary.set_index("measure")
    assert summary.loc["expected_customers", "change_low"] > 0
    target = budget.budget_for_target(curves, target_cac=600)
    reached = target.summary.set_index("measure").loc["program_cac", "after"]
    assert reached == pytest.approx(600, rel=1e-3)


# ----- errors -----------------------------------------------------------------------------------
def test_every_problem_is_named_at_once():
    frame, _ = mix_demo.generate(seed=0, years=1)
    bad = frame.drop(index=[5]).copy()
    bad.loc[3, "spend_email"] = -1.0
    bad.loc[4, "price"] = np.nan
    with pytest.raises(SalesnbError) as error:
        fit_mix_model(bad, controls=["price", "nope"], form="curvy", n_boot=-1)
    text = str(error.value)
    for part in ("['nope']", "form", "n_boot"):
        assert part in text
    with pytest.raises(SalesnbError) as error:
        fit_mix_model(bad, controls=["price"])
    text = str(error.value)
    for part in ("spend_email: negative", "price: 1 missing", "not consecutive weeks"):
        assert part in text
    doubled = pd.concat([frame, frame.head(2)])
    with pytest.raises(SalesnbError, match="2 repeated periods"):
        fit_mix_model(doubled)
    with pytest.raises(SalesnbError, match="never varies"):
        fit_mix_model(frame.assign(spend_email=100.0))
