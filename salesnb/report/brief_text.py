"""The brief's answers in plain sentences, one function per question a sales leader asks.

In the brief's order: :func:`scope_line` (period, segment, data freshness, currency),
:func:`cost_answer` (what a customer costs and how that moved), :func:`style_answer` (which
leadership style is best here), :func:`situation_answer` (where that differs),
:func:`next_steps` (what to do, each with its expected effect, its range and how to test it)
and :func:`people_answer` (what the people side costs). :func:`headline_facts` gathers the
short forms for the run index.

Every range is the 95% interval, said as "likely between"; a style difference is said only
when it also beats styles shuffled at random between leaders (:func:`narrative.claimed`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesnb.models.drivers import CLAIM_LEVEL
from salesnb.report.labels import value_label
from salesnb.report.narrative import UNINFORMATIVE, claimed
from salesnb.report.words import money

if TYPE_CHECKING:
    from salesnb.io.dataset import Dataset
    from salesnb.models.situations import SituationalStyle
    from salesnb.models.suite import ModelSuite
    from salesnb.report.brief import BriefInputs

__all__ = ["chart_titles", "cost_answer", "data_as_of", "headline_facts", "money_short",
           "next_steps", "people_answer", "period_text", "scope_line", "situation_answer",
           "style_answer"]

STEP_SHARE = 0.25
"""The first step of a budget move: a quarter of it, then compare before going further."""


def money_short(value: float | None, currency: str = "") -> str:
    """``3171489`` -> ``"3.2M USD"``, ``4769`` -> ``"4,769 USD"`` (planning figures)."""
    if value is None or not np.isfinite(value):
        return "undefined"
    size = abs(value)
    text = (f"{value / 1e6:,.1f}M" if size >= 1e6 else f"{value / 1e3:,.0f}k" if size >= 1e5
            else f"{value:,.0f}")
    return f"{text} {currency}".strip()


def _pct(multiplier: float) -> str:
    return f"{abs(multiplier - 1) * 100:.0f}%"


def data_as_of(data: Dataset) -> pd.Timestamp | None:
    """The latest date the data holds: the last closed deal, spend month or lead."""
    found = [data.last_close_date(), *(data.latest(table, column) for table, column in
                                       (("spend", "period"), ("leads", "created_date"),
                                        ("totals", "period")))]
    dates = [d for d in found if d is not None]
    return max(dates) if dates else None


def period_text(data: Dataset) -> str:
    """``"2024-01 to 2025-12 (24 months)"``: the months the data has activity in."""
    months = data.months()
    return (f"{months.min():%Y-%m} to {months.max():%Y-%m} ({months.nunique()} months)"
            if len(months) else "no dated activity")


def scope_line(data: Dataset, segment: str, currency: str) -> str:
    """``"**North** · 2024-01 to 2025-12 (24 months) · data up to 31 Dec 2025 · money in
    USD"``: what the page covers, said first.
    """
    period = period_text(data)
    latest = data_as_of(data)
    fresh = f"data up to {latest:%d %b %Y}" if latest is not None else "no dates in the data"
    return f"**{segment}** · {period} · {fresh} · money in {currency}"


def cost_answer(facts: dict[str, Any], trend: pd.DataFrame | None, currency: str) -> str:
    """What a new customer costs (tactic spend and people cost) and how that moved between
    the last two quarters with a cost (``trend``: :func:`salesnb.metrics.cac` by quarter).
    """
    customers = f"{facts['new_customers']:,} new customers"
    if not facts.get("cac_measurable", True):
        return (f"The data has {customers}, but no spend: what a customer costs cannot be "
                "measured (map a spend export to add it).")
    sentence = (f"A new customer cost **{money(facts['blended_cac'], currency)}** on average: "
                f"{customers} for {money_short(facts['total_cost'], currency)} of tactic "
                "spend and sales people cost.")
    if trend is None or "loaded_cac" not in trend:
        return sentence
    defined = trend[trend["cac_defined"].astype(bool)].sort_values("period")
    if len(defined) < 2:
        return sentence
    last, before = defined.iloc[-1], defined.iloc[-2]
    change = last["loaded_cac"] / before["loaded_cac"] - 1
    moved = ("about the same as" if abs(change) < 0.01 else
             f"{abs(change):.0%} {'more' if change > 0 else 'less'} than")
    quarter = pd.Period(last["period"], "Q")
    return (f"{sentence} In the latest quarter ({quarter.year} Q{quarter.quarter}) it was "
            f"{money(last['loaded_cac'], currency)}, {moved} the quarter before "
            f"({money(before['loaded_cac'], currency)}).")


def _styles(suite: ModelSuite) -> pd.DataFrame:
    effects = suite.effects
    if effects is None:
        return pd.DataFrame(columns=["term", "style", "estimate", "ci_low", "ci_high"])
    styles = effects[effects["term"].str.fullmatch(r"decision_style=\w+")].copy()
    styles["style"] = styles["term"].str.removeprefix("decision_style=")
    return styles


def style_answer(suite: ModelSuite) -> str:
    """Which leadership style wins customers cheapest here, in one or two sentences.

    The clearest stated difference comes first; a style whose gap does not beat styles
    shuffled between leaders is named as not told apart from the reference style; when the
    data cannot compare styles at all, the sentence says why.
    """
    styles = _styles(suite)
    reference = value_label((suite.references or {}).get("decision_style", "the reference"))
    if styles.empty:
        if getattr(suite, "leaders_too_few", False):
            return (f"Which style is best cannot be told here: only {suite.clusters} leaders "
                    "hold the styles, too few to tell a style apart from the people who "
                    "have it.")
        return ("Which style is best cannot be told here: the data needs spend and leaders "
                "of more than one decision style.")
    stated = claimed(styles)
    if not stated.any() and (styles["ci_high"] / styles["ci_low"]).max() > UNINFORMATIVE:
        return (f"Which style is best cannot be told here: only {suite.clusters} leaders hold "
                "the styles, too few to tell a style apart from the people who have it.")
    parts = [_stated_style(row, reference) for row in styles[stated]
             .sort_values("p_permutation").itertuples()]
    unclear = styles[~stated]
    if len(unclear):
        names = " and ".join(f"{value_label(s)} leaders" for s in unclear["style"])
        looks = "; ".join(f"{value_label(r.style)} {_pct(r.estimate)} "
                          f"{'cheaper' if r.estimate < 1 else 'dearer'}"
                          for r in unclear.itertuples())
        parts.append(f"{names.capitalize()} cannot be told apart from {reference} leaders "
                     f"({looks} per customer, but a gap this size also appears when styles "
                     "are shuffled at random between leaders).")
    if not stated.any():
        parts.insert(0, "No leadership style wins customers more cheaply than another that "
                        "the data can show.")
    return " ".join(parts)


def _stated_style(row, reference: str) -> str:
    name = value_label(row.style)
    low, high = sorted((row.ci_low, row.ci_high))
    if row.estimate < 1:
        return (f"**{name.capitalize()} leaders win customers more cheaply than {reference} "
                f"leaders**: {_pct(row.estimate)} less per customer (likely between "
                f"{_pct(high)} and {_pct(low)} less).")
    return (f"**{reference.capitalize()} leaders win customers more cheaply than {name} "
            f"leaders**: under {name} leaders a customer costs {_pct(row.estimate)} more "
            f"(likely between {_pct(low)} and {_pct(high)} more).")


def situation_answer(situations: SituationalStyle | None, reason: str | None = None) -> str:
    """Where the style effect differs: the situations whose joint test, adjusted for the
    number of situation kinds tested, is below 5%; otherwise that no situation shows one.
    """
    if situations is None:
        return f"Whether this differs by situation was not checked: {reason}" if reason else \
            "Whether this differs by situation was not checked."
    tests = situations.tests.dropna(subset=["p_holm"])
    kinds = ", ".join(value_label(s) for s in situations.tests["situation"])
    clear = tests[tests["p_holm"] < CLAIM_LEVEL].sort_values("p_holm")
    if clear.empty:
        return (f"The data shows no situation ({kinds}) where the style effect differs "
                "beyond chance.")
    sentences = []
    reference = value_label(situations.reference_style)
    for test in clear.itertuples():
        effects = situations.effects[(situations.effects["situation"] == test.situation)
                                     & situations.effects["shrunk"].notna()]
        ranges = []
        for style, rows in effects.groupby("style"):
            ranked = rows.sort_values("shrunk")
            best, worst = ranked.iloc[0], ranked.iloc[-1]
            ranges.append(f"{value_label(style)} leaders' teams range from "
                          f"{_signed(best['shrunk'])} ({value_label(best['level'])}; "
                          f"{_likely(best['shrunk_low'], best['shrunk_high'])}) to "
                          f"{_signed(worst['shrunk'])} ({value_label(worst['level'])}; "
                          f"{_likely(worst['shrunk_low'], worst['shrunk_high'])})")
        sentences.append(f"By {value_label(test.situation)}, against {reference} leaders: "
                         + "; ".join(ranges) + ".")
    return ("The style effect is not the same everywhere (a gap this large seldom comes by "
            f"chance, allowing for the {len(tests)} kinds of situation checked). "
            + " ".join(sentences))


def _signed(multiplier: float) -> str:
    return f"{_pct(multiplier)} {'cheaper' if multiplier < 1 else 'dearer'}"


def _likely(low: float, high: float) -> str:
    """``0.56, 0.8`` -> ``"likely between 20% and 44% cheaper"``; a range across 1 names
    both sides.
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return "range unknown"
    if high < 1:
        return f"likely between {_pct(high)} and {_pct(low)} cheaper"
    if low > 1:
        return f"likely between {_pct(low)} and {_pct(high)} dearer"
    return f"likely between {_pct(low)} cheaper and {_pct(high)} dearer"


def next_steps(inputs: BriefInputs, currency: str) -> list[str]:
    """What to do next: each step with its expected effect in customers and money, its
    range, and how to test it in steps. Only moves the data supports are proposed.
    """
    steps = []
    move = _budget_move(inputs)
    if move is not None and inputs.allocation is not None:
        give, take, amount = move
        customers = inputs.allocation.summary.set_index("measure").loc["expected_customers"]
        steps.append(
            f"**Move budget towards {take}.** Shifting about {money_short(amount, currency)} a "
            f"month (mostly out of {give}) would win about {customers['change']:.0f} more new "
            "customers a month at the same total spend (likely between "
            f"{customers['change_low']:.0f} and {customers['change_high']:.0f}). Test it in "
            f"steps: move a quarter first (~{money_short(STEP_SHARE * amount, currency)} a "
            "month), compare two months with the teams that did not move, then go on.")
    styles = _styles(inputs.suite)
    stated = styles[claimed(styles)] if len(styles) else styles
    for row in stated.sort_values("p_permutation").itertuples() if len(stated) else []:
        steps.append(_style_step(row, inputs, currency))
    if not steps and inputs.allocation is None and inputs.missing:
        steps.append("**Add the missing data first.** " + " ".join(inputs.missing))
    elif not steps:
        steps.append("**No change the data supports yet.** Keep the budget as it is; the "
                     "data shows no move that would clearly win more customers.")
    return steps


def _style_step(row, inputs: BriefInputs, currency: str) -> str:
    reference = value_label(inputs.suite.references.get("decision_style", "reference"))
    name = value_label(row.style)
    if row.estimate < 1:
        return (f"**Spread what {name} leaders do.** Their teams win customers "
                f"{_pct(row.estimate)} cheaper than teams under {reference} leaders. Pair "
                f"two or three {reference} leaders with {name} ones for a quarter and compare "
                "their cost per customer with the other teams before rolling it out.")
    return (f"**Coach {name} leaders towards a {reference} way of deciding.** Their teams' "
            f"customers cost {_pct(row.estimate)} more (likely between {_pct(row.ci_low)} and "
            f"{_pct(row.ci_high)} more){_style_gain(row, inputs)}. Start with two or three "
            "leaders who ask for it and compare their cost per customer a quarter later.")


def _style_gain(row, inputs: BriefInputs) -> str:
    """What the step is worth: the customers the style's teams would add a month at the
    same spend if they won customers at the reference style's rate.
    """
    table = inputs.style_cac
    if table is None or row.style not in set(table["decision_style"]):
        return ""
    months = max(int(inputs.months or 1), 1)
    customers = float(table.set_index("decision_style").loc[row.style, "new_customers"])
    gain = [customers * (m - 1) / months for m in (row.estimate, row.ci_low, row.ci_high)]
    return (f": at their present spend that is about {gain[0]:,.0f} more new customers a "
            f"month (likely between {gain[1]:,.0f} and {gain[2]:,.0f})")


def people_answer(suite: ModelSuite, facts: dict[str, Any], currency: str) -> str:
    """What the people side costs: its share of the total and, where measured, what replacing
    reps who left costs per new customer under each style.
    """
    sentences = []
    people, total = facts.get("people_cost"), facts.get("total_cost")
    if people and total:
        sentences.append(f"Sales people cost {money_short(people, currency)}, "
                         f"{people / total:.0%} of the total cost of winning customers.")
    cost = suite.tables.get("attrition_cost")
    if cost is not None and "decision_style" in cost:
        cost = cost.dropna(subset=["turnover_cost_per_customer"])
        parts = ", ".join(f"{money(r.turnover_cost_per_customer, currency)} under "
                          f"{value_label(r.decision_style)} leaders" for r in cost.itertuples())
        if parts:
            sentences.append(f"Replacing reps who left adds, per new customer: {parts}.")
    return " ".join(sentences) or "The data has no people cost or rep records to say this."


def chart_titles(inputs: BriefInputs) -> dict[str, str]:
    """Titles that state each chart's finding (``tactics``, ``leadership``, ``budget``,
    ``trend``), plain descriptions where there is no finding to state.
    """
    titles = {"trend": "Cost per new customer, quarter by quarter",
              "tactics": "Tactic spend per new customer (lines: likely range)",
              "leadership": "What leadership does to cost per customer",
              "budget": "Monthly spend per tactic: now and suggested"}
    table = inputs.tactic_cac
    if table is not None and table["program_cac"].notna().sum() >= 2:
        ranked = table.dropna(subset=["program_cac"]).sort_values("program_cac")
        titles["tactics"] = (f"{value_label(ranked.iloc[0]['tactic']).capitalize()} win "
                             f"customers cheapest, {value_label(ranked.iloc[-1]['tactic'])} "
                             "cost most")
    styles = _styles(inputs.suite)
    stated = styles[claimed(styles)] if len(styles) else styles
    if len(stated):
        row = stated.sort_values("p_permutation").iloc[0]
        titles["leadership"] = (f"Under {value_label(row['style'])} leaders a customer costs "
                                f"{_pct(row['estimate'])} "
                                f"{'less' if row['estimate'] < 1 else 'more'}")
    move = _budget_move(inputs)
    if move is not None:
        titles["budget"] = f"Suggested: more to {move[1]}, less to {move[0]}"
    return titles


def _budget_move(inputs: BriefInputs) -> tuple[str, str, float] | None:
    """The tactic losing most, the one gaining most and the monthly amount moved, when the
    move clearly wins more customers.
    """
    allocation = inputs.allocation
    if allocation is None:
        return None
    if allocation.summary.set_index("measure").loc["expected_customers", "change_low"] <= 0:
        return None
    moved = allocation.table.assign(label=allocation.labels).sort_values("change")
    return (value_label(moved.iloc[0]["label"]), value_label(moved.iloc[-1]["label"]),
            float(moved["change"].clip(lower=0).sum()))


def headline_facts(inputs: BriefInputs, segment: str, period: str, currency: str
                   ) -> dict[str, Any]:
    """The short answers the run index compares across segments (JSON-ready): cost per
    customer, the style answer's first sentence and the budget move in one line.
    """
    facts = inputs.facts
    style = style_answer(inputs.suite).replace("**", "")
    move = _budget_move(inputs)
    budget = None
    if move is not None and inputs.allocation is not None:
        customers = inputs.allocation.summary.set_index("measure").loc["expected_customers"]
        budget = (f"Move about {money_short(move[2], currency)} a month towards {move[1]} "
                  f"(mostly out of {move[0]}): about {customers['change']:.0f} more customers "
                  f"a month (likely between {customers['change_low']:.0f} and "
                  f"{customers['change_high']:.0f}).")
    return {
        "segment": segment, "period": period, "currency": currency,
        "blended_cac": _number(facts.get("blended_cac")),
        "new_customers": _number(facts.get("new_customers")),
        "total_cost": _number(facts.get("total_cost")),
        "style_answer": re.split(r"(?<=\.) (?=[A-Z])", style, maxsplit=1)[0],
        "budget_move": budget,
    }


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else None
