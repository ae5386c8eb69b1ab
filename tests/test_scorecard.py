"""Leader scorecard: planted leader effects are flagged, null leaders mostly are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesnb.models.scorecard import COLUMNS, leader_scorecard

TACTICS = {"referrals": (1500.0, 0.45), "email": (3000.0, 0.20), "events": (9000.0, 0.30)}
STYLES = {"autocratic": 1.25, "consultative": 1.0, "collaborative": 0.85}


def synthetic_panel(seed, leaders=60, months=24, cac_plant=None, win_plant=None):
    """A team x tactic x month panel, one team per leader, no team effect: a leader's true
    CAC multiplier against the model is exactly 1 unless planted (``cac_plant``: leader ->
    CAC multiplier; ``win_plant``: leader -> odds multiplier of winning).
    """
    rng = np.random.default_rng(seed)
    cac_plant, win_plant = cac_plant or {}, win_plant or {}
    ids = [f"L{i:03d}" for i in range(1, leaders + 1)]
    team = pd.DataFrame({
        "leader_id": ids, "team_id": [f"T{i:03d}" for i in range(1, leaders + 1)],
        "decision_style": np.resize(list(STYLES), leaders),
        "involvement": np.resize(["hands_on", "hybrid", "delegating"], leaders),
        "region": rng.choice(["North", "South"], leaders),
        "segment": rng.choice(["SMB", "Enterprise"], leaders),
        "industry_years": rng.integers(2, 26, leaders).astype(float),
        "admin_share": rng.uniform(0.1, 0.5, leaders).round(2)})
    cells = team.merge(pd.DataFrame({"tactic": list(TACTICS)}), how="cross").merge(
        pd.DataFrame({"period": pd.date_range("2024-01-01", periods=months, freq="MS")}),
        how="cross")
    cells["spend"] = 30_000 * np.exp(rng.normal(0, 0.4, len(cells)))
    cac = (cells["tactic"].map(lambda t: TACTICS[t][0]) * cells["decision_style"].map(STYLES)
           * cells["leader_id"].map(cac_plant).fillna(1.0))
    mu = cells["spend"] / cac
    cells["won"] = rng.poisson(mu * rng.gamma(10.0, 0.1, len(cells)))  # NB, alpha 0.1
    rate = cells["tactic"].map(lambda t: TACTICS[t][1])
    odds = rate / (1 - rate) * cells["leader_id"].map(win_plant).fillna(1.0)
    win = odds / (1 + odds)
    # lost deals: as many as the won ones imply at the leader's own win rate
    cells["lost"] = rng.poisson(mu * (1 - win) / win)
    cells["new_customers"] = cells["won"]
    return cells


def test_planted_leaders_are_clear_and_null_leaders_mostly_are_not():
    cac_plant = {"L001": 2.0, "L002": 0.6}
    win_plant = {"L003": 2.0}
    null_flags = null_win_flags = nulls = 0
    for seed in (1, 2, 3):
        # the synthetic leaders differ by style only: the drivers expectation removes it
        card = leader_scorecard(synthetic_panel(seed, cac_plant=cac_plant,
                                                win_plant=win_plant), expect="drivers").table
        rows = card.set_index("leader_id")
        for leader, multiplier in cac_plant.items():
            row = rows.loc[leader]
            assert row["clear"], (seed, leader, row[["ci_low", "ci_high"]].tolist())
            assert row["ratio_raw"] == pytest.approx(multiplier, rel=0.15)
            # shrunk towards 1 (expected), never past it, and less than halfway (log scale)
            assert min(1, row["ratio_raw"]) <= row["ratio_shrunk"] <= max(1, row["ratio_raw"])
            assert abs(np.log(row["ratio_shrunk"])) > abs(np.log(multiplier)) / 2
        assert rows.loc["L003", "win_clear"]
        assert rows.loc["L003", "win_shrunk"] > rows.loc["L003", "win_expected"]
        null = rows.drop(index=[*cac_plant, *win_plant])
        null_flags += int(null["clear"].sum())
        null_win_flags += int(null["win_clear"].sum())
        nulls += len(null)
    assert null_flags / nulls <= 0.10
    assert null_win_flags / nulls <= 0.10


def test_without_a_leader_effect_shrinkage_pulls_everyone_to_one():
    card = leader_scorecard(synthetic_panel(4), expect="drivers")
    table = card.table
    assert card.cac_sd < 0.05
    raw_spread = np.log(table["ratio_raw"]).std()
    assert np.log(table["ratio_shrunk"]).std() < raw_spread / 2
    assert table["clear"].mean() <= 0.10
    # a planted spread is found again: 0.2 on the log scale, on every leader
    rng = np.random.default_rng(0)
    spread = dict(zip([f"L{i:03d}" for i in range(1, 61)],
                      np.exp(rng.normal(0, 0.2, 60)), strict=True))
    assert leader_scorecard(synthetic_panel(4, cac_plant=spread),
                            expect="drivers").cac_sd == pytest.approx(0.2, abs=0.07)


@pytest.fixture(scope="module")
def demo_panel():
    from salesnb import load
    from salesnb.metrics.measures import panel
    from salesnb.paths import DEMO_DIR

    return panel(load(DEMO_DIR))


def _thin(panel, leader, keep, columns, seed=0):
    """Binomial thinning of ``columns`` in one leader's cells (drops deals at random)."""
    rng = np.random.default_rng(seed)
    out = panel.copy()
    rows = out["leader_id"] == leader
    removed = pd.Series(0, index=out.index[rows])
    for column in columns:
        kept = rng.binomial(out.loc[rows, column].to_numpy(), keep)
        if column == "new_customers":
            removed = out.loc[rows, column] - kept
        out.loc[rows, column] = kept
    if "new_customers" in columns and "won" not in columns:
        out.loc[rows, "won"] -= removed  # a new customer is a won deal
    return out


def test_a_leader_planted_on_the_demo_is_flagged(demo_panel):
    before = leader_scorecard(demo_panel).table.set_index("leader_id")
    planted = _thin(demo_panel, "L005", 0.5, ["new_customers", "lost"])  # CAC x2
    planted = _thin(planted, "L012", 0.5, ["lost"], seed=1)  # win rate up, CAC as it was
    card = leader_scorecard(planted)
    after = card.table.set_index("leader_id")
    assert list(card.table.columns) == COLUMNS
    assert list(card.table["leader_id"]) == sorted(card.table["leader_id"])
    assert after.loc["L005", "clear"] and after.loc["L005", "ci_low"] > 1
    assert after.loc["L005", "ratio_raw"] / before.loc["L005", "ratio_raw"] == pytest.approx(
        2.0, rel=0.15)
    assert after.loc["L012", "win_clear"]
    assert after.loc["L012", "win_low"] > after.loc["L012", "win_expected"]
    assert not after.loc["L005", "win_clear"]  # its won and lost deals were thinned alike
    # the demo plants no leader effect on win rates: null leaders stay unflagged
    others = after.drop(index=["L005", "L012"])
    assert others["win_clear"].mean() <= 0.10


def test_situation_expectation_carries_the_style_effect(demo_panel):
    """Against their situation, autocratic leaders are dearer and collaborative ones cheaper
    (the demo's planted styles); the spread between leaders is the planted one.
    """
    card = leader_scorecard(demo_panel)
    styles = demo_panel.groupby("leader_id")["decision_style"].agg(lambda s: s.mode()[0])
    by_style = np.log(card.table.set_index("leader_id")["ratio_raw"]).groupby(styles).mean()
    assert by_style["autocratic"] > by_style["consultative"] > by_style["collaborative"]
    # planted: styles, involvement, traits, team effects (log-sd 0.15), situational style
    assert 0.15 < card.cac_sd < 0.45
    # against leaders of the same style and traits, far less is left between leaders
    assert leader_scorecard(demo_panel, expect="drivers").cac_sd < card.cac_sd / 2
