"""Situational style: the demo's planted style x segment effect is found, nulls stay null,
and thin situations are pulled towards the pooled effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesnb import SalesnbError
from salesnb.models.multiplicity import adjust_pvalues
from salesnb.models.situations import (
    EFFECT_COLUMNS,
    TEST_COLUMNS,
    pool_estimates,
    style_by_situation,
)
from salesnb.synthetic import demo


def test_pooling_is_dersimonian_laird_for_independent_estimates():
    theta = np.array([0.10, 0.30, -0.20, 0.50])
    v = np.array([0.010, 0.020, 0.015, 0.200])
    pooled = pool_estimates(theta, np.diag(v))
    # the textbook DerSimonian-Laird estimate, by hand
    w = 1 / v
    fixed = (w * theta).sum() / w.sum()
    q = (w * (theta - fixed) ** 2).sum()
    tau2 = max(0.0, (q - 3) / (w.sum() - (w**2).sum() / w.sum()))
    w_star = 1 / (v + tau2)
    mean = (w_star * theta).sum() / w_star.sum()
    keep = tau2 / (tau2 + v)
    assert pooled["q"] == pytest.approx(q)
    assert pooled["tau2"] == pytest.approx(tau2) and tau2 > 0
    assert pooled["mean"] == pytest.approx(mean)
    assert pooled["shrunk"] == pytest.approx(mean + keep * (theta - mean))
    assert np.diag(pooled["prediction_cov"]) == pytest.approx(
        v * keep + (1 - keep) ** 2 / w_star.sum())
    # the noisiest estimate moves most of the way to the pooled effect
    moved = 1 - (pooled["shrunk"] - mean) / (theta - mean)
    assert moved.argmax() == 3
    # no spread beyond chance: every estimate gets the pooled effect
    flat = pool_estimates(np.array([0.1, 0.11, 0.09]), np.diag([0.01, 0.01, 0.01]))
    assert flat["tau2"] == 0 and flat["shrunk"] == pytest.approx([0.1] * 3)


@pytest.fixture(scope="module")
def demo_panel():
    from salesnb import load
    from salesnb.metrics.measures import panel
    from salesnb.paths import DEMO_DIR

    return panel(load(DEMO_DIR))


def test_every_situation_of_the_bundled_demo(demo_panel):
    result = style_by_situation(demo_panel)
    assert list(result.effects.columns) == EFFECT_COLUMNS
    assert list(result.tests.columns) == TEST_COLUMNS
    assert set(result.tests["situation"]) == {"segment", "industry", "region", "team_size_band",
                                              "deal_size_band", "tactic"}
    assert result.style == "decision_style" and result.reference_style == "consultative"
    p = result.tests["p"].to_numpy(dtype=float)
    assert result.tests["p_holm"].to_numpy() == pytest.approx(adjust_pvalues(p, "holm"))
    assert (result.tests["p_holm"] >= result.tests["p"]).all()
    # the planted direction: collaborative leaders are cheapest with large accounts
    segment = result.effects[(result.effects["situation"] == "segment")
                             & (result.effects["style"] == "collaborative")].set_index("level")
    assert segment.loc["Enterprise", "estimate"] < segment.loc["SMB", "estimate"]
    # the planted events x collaborative interaction is a situational effect by tactic
    tactic = result.tests.set_index("situation").loc["tactic"]
    assert tactic["p"] < 0.05
    # a style x industry cell with a single collaborative leader is left out, in words
    assert any("industry" in note and "left out" in note for note in result.notes)
    shrunk_within = ((result.effects["shrunk_low"] <= result.effects["shrunk"])
                     & (result.effects["shrunk"] <= result.effects["shrunk_high"]))
    assert shrunk_within.all()


def test_a_thin_situation_is_pulled_towards_the_pooled_effect(demo_panel):
    """Keep only two collaborative Mid-Market leaders: that cell keeps least of its own."""
    mid = demo_panel[(demo_panel["segment"] == "Mid-Market")
                     & (demo_panel["decision_style"] == "collaborative")]
    drop = sorted(mid["leader_id"].unique())[2:]
    thin = demo_panel[~((demo_panel["segment"] == "Mid-Market")
                        & demo_panel["leader_id"].isin(drop))]
    result = style_by_situation(thin, by="segment")
    cells = result.effects[result.effects["style"] == "collaborative"].set_index("level")
    pooled = result.pooling.set_index("style").loc["collaborative", "pooled"]
    assert cells.loc["Mid-Market", "leaders"] == 2
    kept = np.log(cells["shrunk"] / pooled) / np.log(cells["estimate"] / pooled)
    assert kept.idxmin() == "Mid-Market"
    assert kept.loc["Mid-Market"] < 0.5
    assert np.log(cells["shrunk"]).std() < np.log(cells["estimate"]).std()
    # its raw interval is the widest; the shrunk one borrows strength from the others
    width = np.log(cells["ci_high"] / cells["ci_low"])
    assert width.idxmax() == "Mid-Market"
    assert np.log(cells.loc["Mid-Market", "shrunk_high"] / cells.loc["Mid-Market", "shrunk_low"]
                  ) < width.loc["Mid-Market"]


def test_too_little_data_is_a_note_not_a_crash(demo_panel):
    result = style_by_situation(demo_panel, by=["industry", "segment"], min_leaders=6)
    tests = result.tests.set_index("situation")
    assert np.isnan(tests.loc["industry", "p"]) and np.isnan(tests.loc["industry", "p_holm"])
    assert any("fewer than two situations" in note for note in result.notes)
    assert result.effects[result.effects["situation"] == "industry"].empty
    with pytest.raises(SalesnbError, match="no situation column"):
        style_by_situation(demo_panel, by="weather")
    with pytest.raises(SalesnbError, match="fewer than two"):
        style_by_situation(demo_panel.assign(decision_style="consultative"))


def quick_panel(seed, teams, situational):
    """The demo's tables aggregated to team x tactic x month (every won deal is a new
    customer in the demo), with the style in force each month: the panel without a load.
    """
    tables = demo.generate(out=None, seed=seed, teams=teams, situational=situational)
    deals = tables["deals"]
    decided = deals[deals["outcome"].isin(["won", "lost"])].assign(
        period=lambda d: d["close_date"].dt.strftime("%Y-%m"))
    counts = decided.groupby(["team_id", "tactic", "period", "outcome"]).size().unstack(
        fill_value=0).reset_index()
    panel = tables["spend"].rename(columns={"cost": "spend"}).merge(
        counts, on=["team_id", "tactic", "period"], how="left").fillna({"won": 0, "lost": 0})
    panel["new_customers"] = panel["won"].astype(int)
    panel["period"] = pd.to_datetime(panel["period"] + "-01")
    panel = panel.merge(tables["teams"], on="team_id").merge(tables["leaders"], on="leader_id")
    for change in tables["style_changes"].itertuples():
        after = (panel["leader_id"] == change.leader_id) & (panel["period"] >=
                                                            change.effective_date)
        panel.loc[after, ["decision_style", "involvement"]] = [change.decision_style,
                                                               change.involvement]
    return panel, tables["truth"].attrs["truth"]


@pytest.mark.slow
def test_planted_situational_effect_is_recovered_and_its_absence_is_not_claimed():
    """A 120-team demo: with the effect the test rejects and every interval covers the
    planted multiplier; the same demo without it does not reject.
    """
    panel, truth = quick_panel(42, 120, True)
    planted = truth["situational_effect"]
    style = planted["decision_style"]
    marginal = truth["decision_style_cac_multiplier"][style]
    result = style_by_situation(panel, by=planted["by"])
    assert result.tests.iloc[0]["p"] < 0.01
    cells = result.effects[result.effects["style"] == style].set_index("level")
    for segment, multiplier in planted["cac_multiplier"].items():
        expected = marginal * multiplier
        row = cells.loc[segment]
        assert row["ci_low"] <= expected <= row["ci_high"], (segment, row.to_dict())
        assert row["estimate"] == pytest.approx(expected, rel=0.2)
    pooling = result.pooling.set_index("style")
    assert pooling.loc[style, "tau2"] > 0

    null_panel, null_truth = quick_panel(42, 120, False)
    assert null_truth["situational_effect"] is None
    null = style_by_situation(null_panel, by=planted["by"])
    assert null.tests.iloc[0]["p"] > 0.05


@pytest.mark.slow
def test_without_a_situational_effect_the_test_rarely_rejects():
    rejections = 0
    for seed in range(1, 7):
        panel, _ = quick_panel(seed, 40, False)
        result = style_by_situation(panel, by=["segment", "region"])
        rejections += int((result.tests["p"] < 0.05).sum())
    assert rejections <= 2  # of 12 tests at the 5% level
