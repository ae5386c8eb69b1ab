"""The brief's answers: the style sentence follows the planted truth and the model, never
claims what the shuffled-styles check does not carry, and every step states its effect."""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd
import pytest

from salesnb import metrics
from salesnb.paths import DEMO_DIR
from salesnb.report import brief, brief_text, methods

pytestmark = pytest.mark.slow  # the demo's model suite, situations and curves: ~20 s


@pytest.fixture(scope="module")
def truth():
    return json.loads((DEMO_DIR / "truth.json").read_text())


@pytest.fixture(scope="module")
def demo_inputs(demo_suite):
    data, _ = demo_suite
    return data, brief.brief_inputs(data, n_boot=100)


def _direction(text: str, style: str) -> str | None:
    """'cheaper' or 'dearer' as the sentence says it of ``style`` (None: not said)."""
    if re.search(rf"{style} leaders win customers more cheaply|{style} \d+% cheaper", text,
                 re.IGNORECASE):
        return "cheaper"
    if re.search(rf"under {style} leaders a customer costs \d+% more|{style} \d+% dearer",
                 text, re.IGNORECASE):
        return "dearer"
    return None


def test_the_style_sentence_follows_the_planted_truth_and_the_model(demo_inputs, truth):
    _, inputs = demo_inputs
    sentence = brief_text.style_answer(inputs.suite)
    effects = inputs.suite.effects.set_index("term")
    reference = truth["reference"]["decision_style"]
    assert inputs.suite.references["decision_style"] == reference
    for style, planted in truth["decision_style_cac_multiplier"].items():
        if style == reference:
            continue
        estimate = effects.loc[f"decision_style={style}", "estimate"]
        said = _direction(sentence, style)
        assert said == ("cheaper" if estimate < 1 else "dearer"), (style, sentence)
        assert said == ("cheaper" if planted < 1 else "dearer"), (style, planted, sentence)
    # the one claim that beats shuffled styles is stated, the other only as "cannot be told"
    stated = effects.loc["decision_style=autocratic"]
    assert stated["p_permutation"] < 0.05
    assert f"{abs(stated['estimate'] - 1) * 100:.0f}% more" in sentence
    assert "cannot be told apart from consultative" in sentence


def test_a_style_gap_shuffled_labels_also_give_is_never_stated(demo_inputs):
    _, inputs = demo_inputs
    effects = inputs.suite.effects.copy()
    effects.loc[effects["term"].str.startswith("decision_style="), "p_permutation"] = 0.4
    sentence = brief_text.style_answer(dataclasses.replace(inputs.suite, effects=effects))
    assert sentence.startswith("No leadership style wins customers more cheaply")
    assert "more cheaply than autocratic" not in sentence and "**" not in sentence


def test_a_cheaper_style_is_said_against_its_reference_never_as_cheapest(demo_inputs):
    _, inputs = demo_inputs
    effects = inputs.suite.effects.copy()
    collaborative = effects["term"] == "decision_style=collaborative"
    effects.loc[collaborative, "p_permutation"] = 0.01  # as if it beat the shuffled labels
    sentence = brief_text.style_answer(dataclasses.replace(inputs.suite, effects=effects))
    row = effects[collaborative].iloc[0]
    assert (f"**Collaborative leaders win customers more cheaply than consultative leaders**: "
            f"{abs(row['estimate'] - 1) * 100:.0f}% less per customer") in sentence
    assert "cheapest" not in sentence and _direction(sentence, "collaborative") == "cheaper"


def test_too_few_leaders_is_said_not_guessed(demo_inputs):
    _, inputs = demo_inputs
    suite = dataclasses.replace(inputs.suite, effects=inputs.suite.effects.iloc[0:0],
                                leaders_too_few=True, clusters=5)
    assert "cannot be told here: only 5 leaders" in brief_text.style_answer(suite)


def test_the_planted_situation_is_named_with_its_direction(demo_inputs, truth):
    _, inputs = demo_inputs
    sentence = brief_text.situation_answer(inputs.situations)
    planted = truth["interaction"]  # events under collaborative leaders: x0.7
    tests = inputs.situations.tests.set_index("situation")
    assert tests.loc["tactic", "p_holm"] < 0.05
    match = re.search(rf"{planted['decision_style']} leaders' teams range from (\d+)% cheaper "
                      rf"\({planted['tactic']}; likely between (\d+)% and (\d+)% cheaper\)",
                      sentence)
    assert match, sentence
    size, near, far = (int(g) for g in match.groups())
    assert near <= size <= far
    effects = inputs.situations.effects.set_index(["situation", "level", "style"])
    shrunk = effects.loc[("tactic", planted["tactic"], planted["decision_style"])]
    assert size == round(abs(shrunk["shrunk"] - 1) * 100)
    combined = truth["decision_style_cac_multiplier"][planted["decision_style"]] * \
        planted["cac_multiplier"]  # the style's own effect times the planted interaction
    assert shrunk["shrunk_low"] <= combined <= shrunk["shrunk_high"]
    assert shrunk["estimate"] == pytest.approx(combined, rel=0.15)
    assert brief_text._likely(0.9, 1.1) == "likely between 10% cheaper and 10% dearer"
    assert brief_text.situation_answer(None, "only 4 leaders hold the styles.").endswith(
        "not checked: only 4 leaders hold the styles.")


def test_next_steps_carry_effect_range_and_a_first_step(demo_inputs):
    _, inputs = demo_inputs
    steps = brief_text.next_steps(inputs, "EUR")
    summary = inputs.allocation.summary.set_index("measure").loc["expected_customers"]
    budget = steps[0]
    assert f"about {summary['change']:.0f} more new customers a month" in budget
    assert f"between {summary['change_low']:.0f} and {summary['change_high']:.0f}" in budget
    moved = inputs.allocation.table["change"].clip(lower=0).sum()
    assert brief_text.money_short(moved / 4, "EUR") in budget
    coach = next(s for s in steps if "Coach autocratic" in s)
    customers = inputs.style_cac.set_index("decision_style").loc["autocratic", "new_customers"]
    estimate = inputs.suite.effects.set_index("term").loc["decision_style=autocratic",
                                                          "estimate"]
    assert f"about {customers * (estimate - 1) / inputs.months:,.0f} more new customers" in coach


def test_cost_answer_says_how_the_cost_moved():
    trend = pd.DataFrame({"period": pd.to_datetime(["2025-04-01", "2025-07-01", "2025-10-01",
                                                    "2026-01-01"]),
                          "loaded_cac": [900.0, 1000.0, 1100.0, float("nan")],
                          "cac_defined": [True, True, True, False]})
    facts = {"new_customers": 1234, "blended_cac": 1000.0, "total_cost": 1_234_000.0}
    text = brief_text.cost_answer(facts, trend, "EUR")
    assert "**1,000 EUR**" in text and "1.2M EUR" in text
    assert "latest quarter (2025 Q4) it was 1,100 EUR, 10% more than the quarter before " \
           "(1,000 EUR)" in text
    unmeasured = brief_text.cost_answer({"new_customers": 5, "cac_measurable": False}, None,
                                        "EUR")
    assert "cannot be measured" in unmeasured


@pytest.mark.parametrize(("value", "text"), [(3_171_489, "3.2M USD"), (311_000, "311k USD"),
                                             (4768.9, "4,769 USD"), (float("nan"), "undefined")])
def test_money_short(value, text):
    assert brief_text.money_short(value, "USD") == text


def test_scope_and_headline_facts(demo_inputs):
    data, inputs = demo_inputs
    line = brief_text.scope_line(data, "All teams", "USD")
    months = data.months()
    assert line.startswith("**All teams** · ") and "money in USD" in line
    assert f"({months.nunique()} months)" in line and brief_text.period_text(data) in line
    closed = data.deals.loc[data.deals["outcome"] != "open", "close_date"]
    assert f"data up to {closed.max():%d %b %Y}" in line  # open deals' dates are plans
    facts = brief_text.headline_facts(inputs, "All teams", "2024-01 to 2025-12", "USD")
    assert facts["blended_cac"] == pytest.approx(metrics.headline(data)["blended_cac"])
    assert "**" not in facts["style_answer"] and facts["budget_move"].startswith("Move about")
    assert facts["style_answer"].endswith("more).")  # the first sentence only
    json.dumps(facts)  # JSON-ready for the run index


def test_the_methods_checks_say_what_they_mean(demo_inputs):
    _, inputs = demo_inputs
    checks = methods.trust_checks(inputs).set_index("Check")
    shuffled = checks.loc["Shuffled styles", "What we found"]
    effects = inputs.suite.effects.dropna(subset=["p_permutation"])
    beats = int((effects["p_permutation"] < 0.05).sum())
    assert shuffled.startswith(f"{beats} of {len(effects)} leadership results")
    assert f"the {inputs.suite.clusters} leaders" in checks.loc[
        "Teams of one leader count together", "What we found"]
    assert checks["What it means for trusting the result"].str.len().gt(20).all()


def test_chart_titles_state_the_findings(demo_inputs, truth):
    _, inputs = demo_inputs
    titles = brief_text.chart_titles(inputs)
    cheapest = min(truth["base_cac"], key=truth["base_cac"].get)
    dearest = max(truth["base_cac"], key=truth["base_cac"].get)
    assert titles["tactics"] == f"{cheapest.capitalize()} win customers cheapest, " \
                                f"{dearest} cost most"
    assert titles["leadership"].startswith("Under autocratic leaders a customer costs")
    assert titles["leadership"].endswith("% more")
    give = inputs.allocation.table.sort_values("change").iloc[0]["tactic"]
    assert titles["budget"].endswith(f"less to {give.replace('_', ' ')}")


def test_fitting_warnings_are_counted_and_translated_in_the_appendix(demo_inputs):
    _, inputs = demo_inputs
    noisy = dataclasses.replace(inputs.suite, notes=[
        *inputs.suite.notes,
        "MixedLM cross-check: Maximum Likelihood optimization failed to converge. Check "
        "mle_retvals", "attrition: overflow encountered in exp",
        "MixedLM cross-check: not estimated (singular design: too few observations)"])
    checks = methods.trust_checks(dataclasses.replace(inputs, suite=noisy)).set_index("Check")
    plain = methods.trust_checks(inputs).set_index("Check")
    assert "Warnings from the fitting" not in plain.index  # the demo fits cleanly
    assert checks.loc["Warnings from the fitting", "What we found"].startswith("3 message(s)")
    assert "treat them as rough" in checks.loc["Warnings from the fitting",
                                               "What it means for trusting the result"]
    assert checks.loc["Parts not estimated", "What we found"].startswith("1 cross-check(s)")
    assert "mle_retvals" in " ".join(methods.technical_notes(
        dataclasses.replace(inputs, suite=noisy)))  # kept as written for analysts


def test_without_spend_the_next_step_is_the_missing_data(demo_inputs):
    _, inputs = demo_inputs
    reason = "Cost per customer is not shown: the data has no spend table; map one."
    bare = brief.BriefInputs(inputs.suite, inputs.facts, missing=[reason])
    bare.suite = dataclasses.replace(inputs.suite, effects=None)
    assert brief_text.next_steps(bare, "USD") == ["**Add the missing data first.** " + reason]
    kept = dataclasses.replace(inputs, missing=[])
    assert brief_text.next_steps(kept, "USD")[0].startswith("**Move budget towards")
