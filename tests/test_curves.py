"""Response curves: planted exponents recovered, marginal CAC consistent, errors named."""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest

from salesnb.curves import fit_response_curves
from salesnb.errors import SalesnbError
from salesnb.metrics.panel_query import UNALLOCATED
from tests.conftest import PROJECT_DIR

DEMO = PROJECT_DIR / "data" / "demo"
BURN_IN = 36  # months of spend before a synthetic panel starts (carry-over only)


def synthetic_panel(seed: int = 0, teams: int = 30, months: int = 24, exponent: float = 0.6,
                    carryover: float = 0.0, hill: tuple | None = None,
                    spend_sd: float = 0.5) -> pd.DataFrame:
    """A team x tactic x month panel with a planted curve (power, or Hill (max, half, shape)).

    Tactic "alpha" wins twice as many customers as "beta" at the same spend; team effects sd
    0.15 (log scale); gamma-Poisson noise (dispersion 0.1). With carry-over, spend runs for
    ``BURN_IN`` months before the panel starts (not in the panel) and the adstock is a plain
    loop from zero long before that, so the test does not share the package's start-up rule.
    """
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2024-01-01", periods=months, freq="MS")
    team_effect = np.exp(rng.normal(0, 0.15, teams))
    frames = []
    for tactic, scale in (("alpha", 2.0), ("beta", 1.0)):
        spend = 10_000 * np.exp(rng.normal(0, spend_sd, (teams, months)))
        effective = spend
        if carryover:
            past = 10_000 * np.exp(rng.normal(0, spend_sd, (teams, BURN_IN)))
            history = np.concatenate([past, spend], axis=1)
            stock = np.zeros(teams)
            adstock = np.empty_like(history)
            for t in range(history.shape[1]):
                stock = carryover * stock + (1 - carryover) * history[:, t]
                adstock[:, t] = stock
            effective = adstock[:, BURN_IN:]
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


@functools.cache
def demo_fit() -> tuple[pd.DataFrame, object]:
    """The demo panel and its curves (100 draws), fitted once per session: test_budget shares
    them."""
    import salesnb
    from salesnb import metrics

    panel = metrics.panel(salesnb.load(DEMO))
    return panel, fit_response_curves(panel, n_boot=100, seed=0)


@pytest.fixture(scope="module")
def demo_panel() -> pd.DataFrame:
    return demo_fit()[0]


@pytest.fixture(scope="module")
def planted_exponent() -> float:
    return json.loads((DEMO / "truth.json").read_text())["response_exponent"]


@pytest.fixture(scope="module")
def demo_curves():
    return demo_fit()[1]


def exponents(curves) -> pd.DataFrame:
    table = curves.parameters()
    return table[table["parameter"] == "exponent"].set_index("tactic")


@pytest.mark.slow
def test_planted_exponent_recovered_per_tactic(demo_curves, planted_exponent):
    table = exponents(demo_curves)
    assert len(table) == 7
    assert (table["estimate"] - planted_exponent).abs().max() < 0.1
    assert ((table["ci_low"] <= planted_exponent) & (planted_exponent <= table["ci_high"])).all()
    # diminishing returns are detected: no interval reaches a constant CAC (exponent 1)
    assert (table["ci_high"] < 1.0).all()
    assert (table[["n_teams", "n_cells"]] > 0).all().all()
    # parameters' n_teams counts distinct teams; units' teams_per_month averages over months
    units = demo_curves.units.set_index("tactic")
    assert (table["n_teams"] == units.loc[table.index, "teams"]).all()
    assert (units["teams_per_month"] <= units["teams"]).all()


@pytest.mark.slow
def test_level_reads_as_cac_at_reference(demo_curves):
    from scipy.stats import spearmanr

    table = demo_curves.parameters().pivot(index="tactic", columns="parameter",
                                           values="estimate")
    # level is what a team-month near the reference spend actually won
    cells, reference = demo_curves.cells, demo_curves.reference_spend
    near = cells[(cells["effective_spend"] / reference - 1).abs() < 0.15]
    observed = near.groupby("tactic")["new_customers"].mean()
    assert ((table["level"] / observed - 1).abs() < 0.15).all()
    # cac_at_reference is what the curve arithmetic gives at the reference spend per team
    teams = demo_curves.units.set_index("tactic")["teams_per_month"]
    at_reference = demo_curves.expected_customers(
        {t: reference * teams[t] for t in table.index}).set_index("tactic")["cac"]
    assert np.allclose(at_reference[table.index], table["cac_at_reference"], rtol=1e-9)
    # ... and ranks the tactics as the demo plants them
    truth = json.loads((DEMO / "truth.json").read_text())["base_cac"]
    cac = table["cac_at_reference"]
    assert spearmanr(cac, [truth[t] for t in cac.index]).statistic > 0.9
    assert cac.idxmin() == "referrals" and cac.idxmax() == "events"


@pytest.mark.slow
def test_current_expected_customers_match_observed(demo_curves, demo_panel):
    predicted = demo_curves.expected_customers()["expected_customers"].sum()
    with_spend = demo_panel[demo_panel["spend"] > 0]
    observed = with_spend["new_customers"].sum() / with_spend["period"].nunique()
    # even spread across teams beats the observed uneven spend by a few percent (concave curve)
    assert observed < predicted < observed * 1.08


@pytest.mark.slow
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


@pytest.mark.slow
def test_marginal_cac_rises_with_spend(demo_curves):
    table = demo_curves.marginal_cac("events", spend=[100_000, 400_000, 2_000_000])
    assert table["marginal_cac"].is_monotonic_increasing
    assert list(table["note"]) == ["below observed range", "", "above observed range"]
    assert list(table["extrapolated"]) == [True, False, True]


@pytest.mark.slow
def test_spend_for_marginal_cac_round_trips(demo_curves):
    current = demo_curves.marginal_cac()
    for row in current.itertuples():
        target = 1.2 * row.marginal_cac
        found = demo_curves.spend_for_marginal_cac(target, tactic=row.tactic).iloc[0]
        assert found["spend"] > row.spend  # a dearer target allows more spend
        assert found["ci_low"] < found["spend"] < found["ci_high"]
        check = demo_curves.marginal_cac(row.tactic, spend=found["spend"]).iloc[0]
        assert check["marginal_cac"] == pytest.approx(target, rel=1e-6)


@pytest.mark.slow
def test_bootstrap_is_seeded(demo_panel):
    first = fit_response_curves(demo_panel, n_boot=5, seed=3)
    again = fit_response_curves(demo_panel, n_boot=5, seed=3)
    other = fit_response_curves(demo_panel, n_boot=5, seed=4)
    assert np.array_equal(first.draws, again.draws)
    assert not np.array_equal(first.draws, other.draws)


@pytest.mark.slow
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
    extra = panel.head(5).assign(tactic=UNALLOCATED, spend=0.0, new_customers=0)
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


@pytest.mark.slow
def test_question_errors_are_named(demo_curves):
    with pytest.raises(SalesnbError, match="unknown tactic 'fax'"):
        demo_curves.marginal_cac("fax")
    with pytest.raises(SalesnbError, match="target marginal CAC must be a positive number"):
        demo_curves.spend_for_marginal_cac(-5)
    with pytest.raises(SalesnbError, match="spend for 'events' must be a finite number >= 0, "
                                           "not -1.0"):
        demo_curves.expected_customers({"events": -1.0})
    with pytest.raises(SalesnbError, match=r"finite numbers >= 0, not \['events: -1.0'\]"):
        demo_curves.marginal_cac("events", spend=-1.0)
    with pytest.raises(SalesnbError, match="level must be between 0 and 1"):
        demo_curves.parameters(level=95)
    with pytest.raises(SalesnbError, match="needs curves fitted with by="):
        demo_curves.marginal_cac(("events", "collaborative"))


# ----- review fixes: estimability, carry-over start, splits, failures, IRLS -------------------
def with_tactic(panel: pd.DataFrame, tactic: str, spend, customers) -> pd.DataFrame:
    """``panel`` plus a tactic on alpha's team-months with the given spend and customers."""
    extra = panel[panel["tactic"] == "alpha"].assign(tactic=tactic, spend=spend,
                                                     new_customers=customers)
    return pd.concat([panel, extra], ignore_index=True)


def test_constant_spend_and_customerless_tactics_get_no_curve():
    panel = synthetic_panel(teams=12, months=12)
    rng = np.random.default_rng(5)
    n = len(panel[panel["tactic"] == "alpha"])
    panel = with_tactic(panel, "retainer", 5_000.0, rng.poisson(2.0, n))  # fixed retainer
    panel = with_tactic(panel, "dud", 10_000 * np.exp(rng.normal(0, 0.5, n)),
                        (np.arange(n) < 2).astype(int))  # 2 customers in all
    curves = fit_response_curves(panel, n_boot=5, seed=0)
    assert list(curves.units["tactic"]) == ["alpha", "beta"]
    text = " ".join(curves.notes)
    assert "nearly) constant" in text and "['retainer']" in text
    assert "fewer than 10 new customers" in text and "['dud']" in text


def test_bootstrap_draw_leaves_out_a_unit_it_cannot_estimate():
    panel = synthetic_panel(teams=12, months=12)
    alpha = panel["tactic"] == "alpha"
    # "sparse": 12 customers, all from two teams: a draw without them has none
    teams = panel.loc[alpha, "team_id"].to_numpy()
    customers = np.where(np.isin(teams, ["T00", "T01"]) & (panel.loc[alpha, "period"].dt.month
                                                           <= 6).to_numpy(), 1, 0)
    panel = with_tactic(panel, "sparse", panel.loc[alpha, "spend"].to_numpy()[::-1], customers)
    curves = fit_response_curves(panel, n_boot=30, seed=0)
    unit = curves.select("sparse")[0]
    level, exponent = curves.draws[:, unit, 0], curves.draws[:, unit, 1]
    assert np.isnan(level).any()  # some draws could not estimate it ...
    finite = np.isfinite(level)
    assert (level[finite] > 1e-3).all() and (np.abs(exponent[finite]) < 5).all()  # ... no junk
    assert any("could not be estimated" in note and "'sparse'" in note for note in curves.notes)


def test_carryover_starts_at_steady_state():
    from salesnb.curves.fitting import effective_spend

    periods = pd.date_range("2024-01-01", periods=6, freq="MS")
    history = pd.DataFrame({"period": periods, "team_id": "T1", "tactic": "email",
                            "spend": 1_000.0})
    # spending the same every month: the effective spend is that amount from the first month
    assert np.allclose(effective_spend(history, history, 0.6), 1_000.0)


def test_amount_for_a_tactic_is_split_over_its_groups():
    curves = fit_response_curves(synthetic_panel(teams=12, months=12), by="decision_style",
                                 n_boot=0)
    current = curves.units.set_index(["tactic", "decision_style"])["current_spend"]
    shares = current["alpha"] / current["alpha"].sum()
    spent = curves.expected_customers({"alpha": 300_000.0}).set_index(
        ["tactic", "decision_style"])["spend"]
    assert spent["alpha"].sum() == pytest.approx(300_000.0)  # not 300,000 per group
    assert np.allclose(spent["alpha"], 300_000.0 * shares)
    assert np.allclose(spent["beta"], current["beta"])
    one = curves.spend_vector({("alpha", "autocratic"): 50_000.0})
    assert one[curves.select(("alpha", "autocratic"))[0]] == 50_000.0
    marginal = curves.marginal_cac("alpha", spend=[200_000.0, 400_000.0])
    assert marginal.groupby("spend", sort=False).size().tolist() == [1] * 4
    assert marginal["spend"].sum() == pytest.approx(600_000.0)


def test_failed_bootstrap_draws_are_counted(monkeypatch):
    from salesnb.curves import bootstrap as module

    fit, calls = module.fit_once, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1 and len(calls) % 2 == 0:  # every other bootstrap draw
            raise SalesnbError("did not converge")
        return fit(*args, **kwargs)

    monkeypatch.setattr(module, "fit_once", flaky)
    curves = fit_response_curves(synthetic_panel(teams=8, months=8), n_boot=10, seed=0)
    assert np.isnan(curves.draws[:, 0, 0]).sum() == 5
    assert curves.notes[0].startswith("WARNING: 5 of 10 bootstrap draws (50%) did not converge")


def test_hill_fit_that_fails_to_converge_is_noted(monkeypatch):
    import scipy.optimize

    minimize = scipy.optimize.minimize

    def failing(*args, **kwargs):
        result = minimize(*args, **kwargs)
        result.success = False
        return result

    monkeypatch.setattr(scipy.optimize, "minimize", failing)
    curves = fit_response_curves(synthetic_panel(teams=8, months=8), form="hill", n_boot=3)
    assert any("Hill fit did not converge for ['alpha', 'beta']" in n for n in curves.notes)
    assert np.isnan(curves.draws).all()  # failed fits stay out of the intervals
    assert any(n.startswith("WARNING") and "'alpha': 3" in n for n in curves.notes)


@pytest.mark.slow
def test_spend_for_marginal_cac_without_solution_says_so(demo_curves):
    from dataclasses import replace

    events = demo_curves.select("events")[0]
    estimates, draws = demo_curves.estimates.copy(), demo_curves.draws.copy()
    estimates[events, 1] = draws[:, events, 1] = 1.2  # increasing returns: no such spend
    changed = replace(demo_curves, estimates=estimates, draws=draws)
    target = 1.2 * changed.marginal_cac("referrals")["marginal_cac"].iloc[0]
    table = changed.spend_for_marginal_cac(target).set_index("tactic")
    assert table.loc["events", "note"] == "no solution"
    assert np.isnan(table.loc["events", "spend"]) and not table.loc["events", "extrapolated"]
    assert table.drop(index="events")["spend"].notna().all()


def test_irls_non_convergence_names_the_tactics():
    from salesnb.curves.irls import Design, irls

    panel = synthetic_panel(teams=5, months=6)
    cells = panel.assign(unit_key=list(zip(panel["tactic"], strict=True)),
                         effective_spend=panel["spend"])
    design = Design.build(cells, 10_000.0)
    with pytest.raises(SalesnbError, match=r"did not converge after 2 iterations; still "
                                           r"moving: \['alpha', 'beta'\]"):
        irls(design, cells["new_customers"].to_numpy(float), 0.1, max_iter=2)


@pytest.mark.parametrize("alpha", [0.0, 0.15])
def test_irls_matches_statsmodels(alpha):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from salesnb.curves.irls import Design, irls

    panel = synthetic_panel(seed=4, teams=8, months=10)
    cells = panel.assign(unit_key=list(zip(panel["tactic"], strict=True)),
                         effective_spend=panel["spend"])
    design = Design.build(cells, 10_000.0)
    y = cells["new_customers"].to_numpy(float)
    beta, eta = irls(design, y, alpha)
    family = sm.families.Poisson() if alpha == 0 else sm.families.NegativeBinomial(alpha=alpha)
    data = cells.assign(log_spend=design.log_spend)
    reference = smf.glm("new_customers ~ 0 + C(team_id) + C(tactic) + C(tactic):log_spend",
                        data, family=family).fit(tol=1e-12)
    # the IRLS stops on a relative log-likelihood change of 1e-10: parameters agree to ~1e-6
    assert np.allclose(np.exp(eta), reference.fittedvalues, rtol=1e-5)
    exponents = design.split(beta)[2]
    expected = [reference.params[f"C(tactic)[{t}]:log_spend"] for (t,) in design.unit_keys]
    assert np.allclose(exponents, expected, rtol=1e-5)
