"""Response curves: planted exponents recovered, marginal CAC consistent, errors named."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salesnb.curves import NO_ACTIVITY, fit_response_curves
from salesnb.errors import SalesnbError
from tests.conftest import PROJECT_DIR

DEMO = PROJECT_DIR / "data" / "demo"


def synthetic_panel(seed: int = 0, teams: int = 30, months: int = 24, exponent: float = 0.6,
                    carryover: float = 0.0, hill: tuple | None = None,
                    spend_sd: float = 0.5) -> pd.DataFrame:
    """A team x tactic x month panel with a planted curve (power, or Hill (max, half, shape)).

    Tactic "alpha" wins twice as many customers as "beta" at the same spend; team effects sd
    0.15 (log scale); gamma-Poisson noise (dispersion 0.1).
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    periods = pd.date_range("2024-01-01", periods=months, freq="MS")
    team_effect = np.exp(rng.normal(0, 0.15, teams))
    frames = []
    for tactic, scale in (("alpha", 2.0), ("beta", 1.0)):
        spend = 10_000 * np.exp(rng.normal(0, spend_sd, (teams, months)))
        effective = lfilter([1 - carryover], [1, -carryover], spend, axis=1)
        if hill is None:
            curve = scale * (effective / 10_000) ** exponent
        else:
            maximum, half, shape = hill
            curve = scale * maximum * effective ** shape / (effective ** shape + half ** shape)
        mean = team_effect[:, None] * curve
        customers = rng.poisson(mean * rng.gamma(10, 0.1, mean.shape))
        frames.append(pd.DataFrame({
            "team_id": np.repeat([f"T{i:02d}" for i in range(teams)], months),
            "tactic": tactic, "period": np.tile(periods, teams),
            "spend": spend.ravel().round(2), "new_customers": customers.ravel(),
            "decision_style": np.repeat(np.resize(["autocratic", "collaborative"], teams),
                                        months)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def demo_panel() -> pd.DataFrame:
    import salesnb
    from salesnb import metrics

    return metrics.panel(salesnb.load(DEMO))


@pytest.fixture(scope="module")
def planted_exponent() -> float:
    return json.loads((DEMO / "truth.json").read_text())["response_exponent"]


@pytest.fixture(scope="module")
def demo_curves(demo_panel):
    return fit_response_curves(demo_panel, n_boot=100, seed=0)


def exponents(curves) -> pd.DataFrame:
    table = curves.parameters()
    return table[table["parameter"] == "exponent"].set_index("tactic")


def test_planted_exponent_recovered_per_tactic(demo_curves, planted_exponent):
    table = exponents(demo_curves)
    assert len(table) == 7
    assert (table["estimate"] - planted_exponent).abs().max() < 0.1
    assert ((table["ci_low"] <= planted_exponent) & (planted_exponent <= table["ci_high"])).all()
    # diminishing returns are detected: no interval reaches a constant CAC (exponent 1)
    assert (table["ci_high"] < 1.0).all()
    assert (table[["n_teams", "n_cells"]] > 0).all().all()


def test_level_reads_as_cac_at_reference(demo_curves):
    table = demo_curves.parameters().pivot(index="tactic", columns="parameter",
                                           values="estimate")
    cac = demo_curves.reference_spend / table["level"]
    assert np.allclose(cac, table["cac_at_reference"])
    # the demo plants referrals as the cheapest tactic and events as the dearest
    assert cac.idxmin() == "referrals" and cac.idxmax() == "events"


def test_current_expected_customers_match_observed(demo_curves, demo_panel):
    predicted = demo_curves.expected_customers()["expected_customers"].sum()
    with_spend = demo_panel[demo_panel["spend"] > 0]
    observed = with_spend["new_customers"].sum() / with_spend["period"].nunique()
    # even spread across teams beats the observed uneven spend by a few percent (concave curve)
    assert observed < predicted < observed * 1.08


def test_marginal_cac_is_the_finite_difference(demo_curves):
    table = demo_curves.marginal_cac()
    for row in table.itertuples():
        step = row.spend * 1e-5
        up = demo_curves.expected_customers({row.tactic: row.spend + step})
        down = demo_curves.expected_customers({row.tactic: row.spend - step})
        gained = (up["expected_customers"].sum() - down["expected_customers"].sum()) / (2 * step)
        assert row.marginal_cac == pytest.approx(1 / gained, rel=1e-5)
        assert row.ci_low < row.marginal_cac < row.ci_high
        assert row.marginal_cac > row.average_cac  # diminishing returns


def test_marginal_cac_rises_with_spend(demo_curves):
    table = demo_curves.marginal_cac("events", spend=[100_000, 400_000, 2_000_000])
    assert table["marginal_cac"].is_monotonic_increasing
    assert list(table["note"]) == ["below observed range", "", "above observed range"]
    assert list(table["extrapolated"]) == [True, False, True]


def test_spend_for_marginal_cac_round_trips(demo_curves):
    current = demo_curves.marginal_cac()
    for row in current.itertuples():
        target = 1.2 * row.marginal_cac
        found = demo_curves.spend_for_marginal_cac(target, tactic=row.tactic).iloc[0]
        assert found["spend"] > row.spend  # a dearer target allows more spend
        assert found["ci_low"] < found["spend"] < found["ci_high"]
        check = demo_curves.marginal_cac(row.tactic, spend=found["spend"]).iloc[0]
        assert check["marginal_cac"] == pytest.approx(target, rel=1e-6)


def test_bootstrap_is_seeded(demo_panel):
    first = fit_response_curves(demo_panel, n_boot=5, seed=3)
    again = fit_response_curves(demo_panel, n_boot=5, seed=3)
    other = fit_response_curves(demo_panel, n_boot=5, seed=4)
    assert np.array_equal(first.draws, again.draws)
    assert not np.array_equal(first.draws, other.draws)


def test_by_style_gives_one_curve_per_tactic_and_style(demo_panel, planted_exponent):
    curves = fit_response_curves(demo_panel, by="decision_style", n_boot=0)
    table = exponents(curves)
    assert len(table) == 7 * 3
    assert set(table["decision_style"]) == {"autocratic", "consultative", "collaborative"}
    assert abs(table["estimate"].median() - planted_exponent) < 0.05
    both = curves.marginal_cac(("events", "collaborative"))
    assert len(both) == 1 and len(curves.marginal_cac("events")) == 3


def test_people_cost_rows_and_zero_spend_are_left_out():
    panel = synthetic_panel(teams=10, months=12)
    extra = panel.head(5).assign(tactic=NO_ACTIVITY, spend=0.0, new_customers=0)
    zero = panel.head(3).assign(spend=0.0, new_customers=0)
    curves = fit_response_curves(pd.concat([panel, extra, zero]), n_boot=0)
    assert list(curves.units["tactic"]) == ["alpha", "beta"]
    assert curves.units["n_cells"].sum() == len(panel)
    assert any("3 team-tactic-months without spend" in note for note in curves.notes)


def test_carryover_estimated_and_exponent_recovered():
    panel = synthetic_panel(seed=1, teams=40, months=24, exponent=0.6, carryover=0.5)
    curves = fit_response_curves(panel, carryover="estimate", n_boot=40, seed=0)
    assert abs(curves.carryover - 0.5) <= 0.1 + 1e-9
    table = exponents(curves)
    assert ((table["ci_low"] <= 0.6) & (table["ci_high"] >= 0.6)).all()
    ignored = fit_response_curves(panel, n_boot=0)  # without carry-over: attenuated
    assert (exponents(ignored)["estimate"] < table["estimate"]).all()


def test_hill_curve_recovers_planted_saturation():
    panel = synthetic_panel(seed=2, teams=40, months=24, hill=(6.0, 15_000.0, 1.5),
                            spend_sd=0.7)
    curves = fit_response_curves(panel, form="hill", n_boot=30, seed=0)
    table = curves.parameters().set_index(["tactic", "parameter"])
    half = table.xs("half_saturation", level="parameter")
    shape = table.xs("shape", level="parameter")
    assert ((half["estimate"] / 15_000 - 1).abs() < 0.35).all()
    assert ((shape["estimate"] - 1.5).abs() < 0.25).all()
    covered = [(rows["ci_low"] <= truth) & (truth <= rows["ci_high"])
               for rows, truth in ((half, 15_000.0), (shape, 1.5))]
    assert pd.concat(covered).sum() >= 3  # 4 intervals from 30 draws: one may miss
    marginal = curves.marginal_cac("alpha", spend=[5_000 * 40, 10_000 * 40, 20_000 * 40])
    assert marginal["marginal_cac"].is_monotonic_increasing


def test_power_curve_on_power_data_is_its_own_limit():
    curves = fit_response_curves(synthetic_panel(teams=10, months=12), form="hill", n_boot=0)
    assert any("no saturation" in note for note in curves.notes)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": "horoscope"}, "by='horoscope' is not a panel column"),
    ({"form": "logistic"}, "form must be one of"),
    ({"carryover": 1.2}, "carryover must be None"),
    ({"n_boot": -1}, "n_boot must be a whole number"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(SalesnbError, match=message):
        fit_response_curves(synthetic_panel(teams=5, months=6), **kwargs)


def test_panel_without_columns_or_spend_is_refused():
    with pytest.raises(SalesnbError, match=r"lacks columns \['new_customers'\]"):
        fit_response_curves(synthetic_panel(teams=5, months=6).drop(columns="new_customers"))
    no_spend = synthetic_panel(teams=5, months=6).assign(spend=0.0)
    with pytest.raises(SalesnbError, match="no tactic has enough spend data"):
        fit_response_curves(no_spend)


def test_question_errors_are_named(demo_curves):
    with pytest.raises(SalesnbError, match="unknown tactic 'fax'"):
        demo_curves.marginal_cac("fax")
    with pytest.raises(SalesnbError, match="target marginal CAC must be a positive number"):
        demo_curves.spend_for_marginal_cac(-5)
    with pytest.raises(SalesnbError, match="spend levels must be finite numbers >= 0"):
        demo_curves.expected_customers({"events": -1.0})
    with pytest.raises(SalesnbError, match="level must be between 0 and 1"):
        demo_curves.parameters(level=95)
    with pytest.raises(SalesnbError, match="needs curves fitted with by="):
        demo_curves.marginal_cac(("events", "collaborative"))
