"""Budget reallocation: beats the current mix, keeps every bound, sums to the budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from salesnb.curves import fit_response_curves
from salesnb.curves.budget import budget_for_target, default_high, reallocate
from salesnb.errors import SalesnbError

pytestmark = pytest.mark.slow  # planted-effect recovery on the demo: seconds each

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def curves():
    from tests.test_curves import demo_fit

    return demo_fit()[1]  # the demo curves of test_curves (100 draws), fitted once


@pytest.fixture(scope="module")
def best(curves):
    return reallocate(curves)


def within_bounds(table) -> bool:
    scale = table["upper_bound"].clip(lower=1.0)
    return bool(((table["new_spend"] >= table["lower_bound"] - TOLERANCE * scale)
                 & (table["new_spend"] <= table["upper_bound"] + TOLERANCE * scale)).all())


def test_optimum_beats_current_allocation(best):
    summary = best.summary.set_index("measure")
    customers, cac = summary.loc["expected_customers"], summary.loc["program_cac"]
    assert customers["after"] > customers["before"]
    assert customers["change_low"] > 0  # every bootstrap draw agrees on a gain
    assert cac["after"] < cac["before"] and cac["change_high"] < 0
    assert summary.loc["spend", "after"] == pytest.approx(summary.loc["spend", "before"])
    for column in ("before", "after", "change"):
        assert (summary[f"{column}_low"] <= summary[column]).all()
        assert (summary[column] <= summary[f"{column}_high"]).all()


def test_optimum_keeps_bounds_and_equalises_marginal_cac(best):
    table = best.table
    assert within_bounds(table)
    assert table["new_spend"].sum() == pytest.approx(best.budget, rel=TOLERANCE)
    interior = table[(table["new_spend"] > table["lower_bound"] * 1.001)
                     & (table["new_spend"] < table["upper_bound"] * 0.999)]
    assert len(interior) >= 2
    # optimality: the next dollar buys the same everywhere it is free to move ...
    assert interior["marginal_cac_after"].std() / interior["marginal_cac_after"].mean() < 1e-3
    # ... and tactics capped at their upper bound are the cheaper ones at the margin
    capped = table[table["new_spend"] >= table["upper_bound"] * 0.999]
    assert (capped["marginal_cac_after"] <= interior["marginal_cac_after"].min() + 1e-6).all()


def test_default_cap_and_extrapolation_flags(curves, best):
    cap = default_high(curves, 1.5)
    assert np.allclose(best.table["upper_bound"], cap)
    table = best.table.set_index("tactic")
    assert table.loc["referrals", "new_spend"] > table.loc["referrals", "current_spend"]
    assert table.loc["events", "new_spend"] < table.loc["events", "current_spend"]
    assert table["extrapolated"].any() and any("outside the observed range" in note
                                               for note in best.notes)
    inside = reallocate(curves, max_extrapolation=1.0).table
    assert not (inside["note"] == "above observed range").any()


def test_user_bounds_and_fixed_tactics(curves):
    current = curves.units.set_index("tactic")["current_spend"]
    result = reallocate(curves, bounds={"referrals": (None, 600_000), "email": (300_000, None)},
                        fixed=["events"])
    table = result.table.set_index("tactic")
    assert table.loc["events", "new_spend"] == pytest.approx(current["events"], rel=1e-9)
    assert table.loc["events", "fixed"]
    assert table.loc["referrals", "new_spend"] <= 600_000 * (1 + TOLERANCE)
    assert table.loc["email", "new_spend"] >= 300_000 * (1 - TOLERANCE)
    assert within_bounds(result.table)
    fixed_amount = reallocate(curves, fixed={"paid_search": 123_456.0}).table.set_index("tactic")
    assert fixed_amount.loc["paid_search", "new_spend"] == pytest.approx(123_456.0)


def test_a_smaller_budget_is_spent_exactly(curves):
    budget = 0.6 * curves.units["current_spend"].sum()
    result = reallocate(curves, budget=budget)
    assert result.table["new_spend"].sum() == pytest.approx(budget, rel=TOLERANCE)
    assert result.summary.set_index("measure").loc["spend", "after"] == pytest.approx(budget)


@settings(max_examples=25, deadline=None)
@given(budget_share=st.floats(0.2, 2.0),
       low_shares=st.lists(st.floats(0.0, 0.25), min_size=7, max_size=7),
       high_shares=st.lists(st.floats(0.3, 3.0), min_size=7, max_size=7))
def test_allocations_always_sum_to_the_budget(curves, budget_share, low_shares, high_shares):
    current = curves.units["current_spend"].to_numpy()
    budget = budget_share * current.sum()
    low = np.array(low_shares) * budget / len(current)
    high = low + np.array(high_shares) * budget / len(current)
    assume(high.sum() >= budget)
    bounds = {tactic: (lo, hi) for tactic, lo, hi in
              zip(curves.units["tactic"], low, high, strict=True)}
    result = reallocate(curves, budget=budget, bounds=bounds)
    assert result.table["new_spend"].sum() == pytest.approx(budget, rel=TOLERANCE)
    assert within_bounds(result.table)


def test_budget_for_target_customers_and_cac(curves, best):
    customers = best.summary.set_index("measure").loc["expected_customers", "after"]
    more = budget_for_target(curves, target_customers=customers * 1.1)
    after = more.summary.set_index("measure")
    assert after.loc["expected_customers", "after"] == pytest.approx(customers * 1.1, rel=1e-4)
    assert more.budget > best.budget  # more customers cost more budget
    cac = budget_for_target(curves, target_cac=3000)
    assert cac.summary.set_index("measure").loc["program_cac", "after"] == pytest.approx(
        3000, rel=1e-4)
    assert cac.budget == pytest.approx(cac.table["new_spend"].sum(), rel=TOLERANCE)
    assert "reaches program CAC 3,000" in cac.notes[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"budget": -5.0}, "budget must be a positive monthly amount"),
    ({"bounds": {"fax": (0, 1)}}, "bounds: unknown tactic 'fax'"),
    ({"fixed": ["fax"]}, "fixed: unknown tactic 'fax'"),
    ({"bounds": {"events": (5.0,)}}, r"bounds\['events'\] must be a \(low, high\) pair"),
    ({"bounds": {"events": (-1.0, None)}}, "spend for 'events' must be a number >= 0"),
    ({"bounds": {"events": (9e9, None)}}, "lower bound above upper bound for \\['events'\\]"),
    ({"bounds": {t: (1e6, None) for t in ("events", "email", "referrals", "partners")}},
     "lower bounds and fixed tactics already need 4,000,000"),
    ({"budget": 1e9}, "upper bounds allow at most"),
    ({"max_extrapolation": 0.5}, "max_extrapolation must be >= 1"),
])
def test_reallocate_errors_are_named(curves, kwargs, message):
    with pytest.raises(SalesnbError, match=message):
        reallocate(curves, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give exactly one of target_cac or target_customers"),
    ({"target_cac": 1000, "target_customers": 10}, "give exactly one"),
    ({"target_cac": -3}, "the target must be a positive number"),
    ({"target_cac": 50}, "target program CAC of 50.0 is impossible"),
    ({"target_customers": 1e6}, "out of reach within the observed spend range"),
    ({"target_cac": 1e6}, "out of reach within the observed spend range"),
])
def test_budget_for_target_errors_are_named(curves, kwargs, message):
    with pytest.raises(SalesnbError, match=message):
        budget_for_target(curves, **kwargs)


# ----- review fixes ----------------------------------------------------------------------------
def test_summary_says_program_cac_and_the_finding_follows(best):
    from salesnb import narrative

    summary = best.summary.set_index("measure")
    assert "blended_cac" not in summary.index
    cac = summary.loc["program_cac"]
    assert cac["before"] == pytest.approx(summary.loc["spend", "before"]
                                          / summary.loc["expected_customers", "before"])
    sentence = narrative._budget_findings(best, "USD")[0].finding
    assert "the tactic spend per new customer from" in sentence and "blended" not in sentence
    assert f"from {narrative.money(cac['before'], 'USD')} to " in sentence


def test_target_cac_on_a_u_shaped_curve_takes_the_largest_budget(curves):
    # with events fixed, the smallest budget is events alone (dear); CAC first falls, then rises
    result = budget_for_target(curves, target_cac=3000, fixed=["events"])
    summary = result.summary.set_index("measure")
    assert summary.loc["program_cac", "after"] == pytest.approx(3000, rel=1e-4)
    assert result.budget > curves.units["current_spend"].sum()  # the rising side, not the falling
    with pytest.raises(SalesnbError, match=r"the lowest program CAC any budget .* reaches is "
                                           r"2,[12]\d\d\.\d"):
        budget_for_target(curves, target_cac=2000, fixed=["events"])


def test_numpy_numbers_are_accepted(curves):
    budget = np.int64(round(curves.units["current_spend"].sum()))
    result = reallocate(curves, budget=budget, fixed={"paid_search": np.int64(123_456)},
                        bounds={"email": (np.float32(1.0), None)})
    table = result.table.set_index("tactic")
    assert table.loc["paid_search", "new_spend"] == pytest.approx(123_456.0)
    assert result.budget == pytest.approx(float(budget))
    assert budget_for_target(curves, target_customers=np.int64(1000)).budget > 0


def test_upper_bound_note_names_the_tactics(curves):
    result = reallocate(curves, bounds={"referrals": (None, 400_000.0)})
    note = next(n for n in result.notes if "upper bound" in n)
    assert "upper bound: referrals;" in note and "['" not in note  # names, not a Python list


def test_by_group_amounts_are_split_not_repeated():
    from tests.test_curves import synthetic_panel

    curves = fit_response_curves(synthetic_panel(teams=12, months=12), by="decision_style",
                                 n_boot=0)
    table = reallocate(curves, fixed={"alpha": 100_000.0},
                       bounds={"beta": (None, 200_000.0)}).table
    alpha, beta = table[table["tactic"] == "alpha"], table[table["tactic"] == "beta"]
    assert alpha["new_spend"].sum() == pytest.approx(100_000.0)
    assert alpha["fixed"].all() and beta["upper_bound"].sum() == pytest.approx(200_000.0)
    current = alpha["current_spend"] / alpha["current_spend"].sum()
    assert np.allclose(alpha["new_spend"] / 100_000.0, current)
