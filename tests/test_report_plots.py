"""Report plots (metrics and models): they draw what they are given and return the Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from salesnb import plots  # noqa: E402
from salesnb.report.labels import colour_for  # noqa: E402
from salesnb.report.plot_axes import MultiplierLocator, variants  # noqa: E402

REFERENCES = {"tactic": "referrals", "decision_style": "consultative", "involvement": "hybrid"}
LEADERSHIP = pd.DataFrame({
    "term": ["decision_style=autocratic", "decision_style=collaborative", "involvement=hands_on",
             "tactic=events:decision_style=collaborative", "years10", "admin10"],
    "estimate": [1.41, 0.83, 0.83, 0.72, 0.88, 1.11],
    "ci_low": [1.22, 0.71, 0.68, 0.60, 0.80, 1.04],
    "ci_high": [1.63, 0.97, 1.02, 0.87, 0.97, 1.19]})


def drawn(ax):
    """Tick labels as the reader sees them: after the figure is drawn."""
    ax.figure.canvas.draw()
    return ax


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_cac_bars_sorted_with_interval_whiskers():
    intervals = pd.DataFrame({"tactic": ["events", "referrals", "email"],
                              "program_cac": [9000.0, 1500.0, np.nan],
                              "program_cac_low": [8000.0, 1400.0, np.nan],
                              "program_cac_high": [9900.0, 1650.0, np.nan]})
    _, ax = plt.subplots()
    assert plots.cac_bars(intervals, ax=ax, currency="EUR") is ax
    bars = ax.patches
    assert len(bars) == 2  # undefined CAC is not drawn as zero
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["events", "referrals"]  # dearest at the bottom, cheapest on top
    assert "EUR" in ax.get_xlabel()
    assert {t.get_text() for t in ax.texts} == {"  9k EUR", "  1.5k EUR"}  # values written


def test_cac_bars_money_ticks_have_currency_and_k_or_m_never_an_offset():
    intervals = pd.DataFrame({"tactic": ["events", "paid_search"],
                              "program_cac": [3_000_000.0, 1_200_000.0],
                              "program_cac_low": [2_500_000.0, 1_000_000.0],
                              "program_cac_high": [3_500_000.0, 1_400_000.0]})
    ax = drawn(plots.cac_bars(intervals, currency="USD"))
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(t.endswith(" USD") for t in ticks)
    assert any(re.fullmatch(r"[\d.]+M USD", t) for t in ticks)
    assert not any("e+" in t or "e6" in t for t in ticks)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert [t.get_text() for t in ax.get_yticklabels()] == ["events", "paid search"]
    assert "_" not in ax.get_xlabel() and "_" not in ax.get_title()


def test_same_tactic_same_colour_in_charts_of_different_tactics():
    def bars(tactics):
        cac = np.arange(1.0, len(tactics) + 1) * 1000
        intervals = pd.DataFrame({"tactic": tactics, "program_cac": cac,
                                  "program_cac_low": cac * 0.9, "program_cac_high": cac * 1.1})
        ax = plots.cac_bars(intervals)
        names = [t.get_text() for t in ax.get_yticklabels()]
        return {name: to_rgb(bar.get_facecolor()) for name, bar in zip(names, ax.patches,
                                                                       strict=True)}

    one = bars(["events", "referrals", "email"])
    two = bars(["referrals", "paid_search", "webinars", "partners"])
    assert one["referrals"] == two["referrals"] == to_rgb(colour_for("referrals"))
    assert two["paid search"] == to_rgb(colour_for("paid_search"))
    assert len(set(two.values())) == 4  # different tactics, different colours here


def test_names_sharing_a_colour_get_distinct_variants_whatever_the_order():
    same = [n for n in ("email", "referrals") if colour_for(n) == colour_for("email")]
    assert variants(["webinars", *same]) == [0, *range(len(same))]
    assert variants([*reversed(same), "webinars"]) == [*reversed(range(len(same))), 0]


@pytest.mark.parametrize(("value", "currency", "signed", "text"), [
    (1500, "USD", False, "1.5k USD"), (2_000_000, "USD", False, "2M USD"),
    (3e9, "EUR", False, "3B EUR"), (999_999, "", False, "1M"), (250, "USD", False, "250 USD"),
    (0, "USD", True, "0 USD"), (-436_333.9, "USD", True, "-436k USD"),
    (496_298, "USD", True, "+496k USD"), (1500, "$", False, "$1.5k"),
    (-2_500_000, "$", False, "-$2.5M"), (12.5, "", False, "12.5"),
])
def test_money_ticks(value, currency, signed, text):
    assert plots.money_ticks(value, currency, signed=signed) == text


def test_cac_trend_draws_one_line_per_group():
    frame = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-04-01"] * 2),
                          "decision_style": ["autocratic"] * 2 + ["collaborative"] * 2,
                          "loaded_cac": [5000.0, 5200.0, 4000.0, np.nan]})
    ax = plots.cac_trend(frame, by="decision_style")
    assert len([line for line in ax.get_lines() if len(line.get_xdata())]) >= 2


def test_cac_trend_lines_in_style_colours_money_axis_and_human_legend():
    frame = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-04-01"] * 2),
                          "tactic": ["outbound_calls"] * 2 + ["paid_search"] * 2,
                          "loaded_cac": [2.0e6, 2.5e6, 1.0e6, 1.5e6]})
    ax = drawn(plots.cac_trend(frame, by="tactic", currency="USD"))
    lines = [line for line in ax.get_lines() if len(line.get_xdata())]
    assert {to_rgb(line.get_color()) for line in lines} == {to_rgb(colour_for("outbound_calls")),
                                                             to_rgb(colour_for("paid_search"))}
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["outbound calls", "paid search"]
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith(" USD") for t in ticks) and any("M USD" in t for t in ticks)
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert ax.get_ylabel() == "Cost per customer incl. people (USD)"


def test_cac_trend_counts_get_no_currency():
    frame = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-04-01"]),
                          "new_customers": [1200.0, 2400.0]})
    ax = drawn(plots.cac_trend(frame, measure="new_customers", currency="USD"))
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and not any("USD" in t for t in ticks) and any(t.endswith("k") for t in ticks)


def test_effects_forest_ticks_are_plain_multipliers_and_x1_names_the_baseline():
    ax = drawn(plots.effects_forest(LEADERSHIP, references=REFERENCES))
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "x1" in ticks and len(ticks) >= 3
    assert all(re.fullmatch(r"x\d+(\.\d+)?", t) for t in ticks), ticks
    assert not any("10^" in t or "e+" in t or "e-" in t for t in ticks)
    assert not [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert ax.xaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[::-1] == ["Autocratic leaders", "Collaborative leaders", "Hands-on leaders",
                            "Events under collaborative leaders",
                            "10 more years in the industry", "10 more points of time on admin"]
    assert not any("_" in label or "=" in label or "(vs" in label for label in labels)
    (line,) = [line for line in ax.get_lines() if np.allclose(line.get_xdata(), [1.0, 1.0])]
    assert line.get_label() == "x1 = consultative, hybrid leaders"
    assert [t.get_text() for t in ax.texts] == ["x1 = consultative, hybrid leaders"]
    assert "x0.8 = 20% cheaper" in ax.get_xlabel() and "_" not in ax.get_title()
    styles = ax.collections[-1].get_facecolors()  # the points, top row last
    assert to_rgb(tuple(styles[-1])) == to_rgb(colour_for("autocratic"))


def test_effects_forest_title_and_baseline_without_references():
    ax = plots.effects_forest(LEADERSHIP.iloc[4:], title="Experience makes customers cheaper")
    assert ax.get_title() == "Experience makes customers cheaper"
    assert [t.get_text() for t in ax.texts] == ["x1 = no change"]


def test_effects_forest_wide_range_keeps_few_ladder_ticks():
    wide = pd.DataFrame({"term": ["tactic=events", "tactic=partners", "decision_style=x"],
                         "estimate": [5.9, 1.7, 0.4], "ci_low": [5.0, 1.5, 0.3],
                         "ci_high": [6.7, 1.9, 0.5]})
    ax = drawn(plots.effects_forest(wide, references=REFERENCES))
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "x1" in ticks and 3 <= len(ticks) <= 8, ticks
    assert ax.texts[0].get_text() == "x1 = referrals; consultative leaders"
    assert MultiplierLocator().tick_values(0.9, 1.1) == [1.0]
    assert len(MultiplierLocator().tick_values(0.001, 1000)) <= 8


def test_effects_forest_leaves_out_unbounded_intervals_and_marks_one():
    effects = pd.DataFrame({"term": ["decision_style=autocratic", "involvement=hands_on",
                                     "tactic=events:decision_style=collaborative"],
                            "estimate": [1.3, 0.8, 0.65], "ci_low": [1.2, 0.0, 0.55],
                            "ci_high": [1.45, np.inf, 0.76]})
    ax = plots.effects_forest(effects)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 2 and "involvement=hands on" not in labels
    assert ax.get_xscale() == "log"
    assert any(np.allclose(line.get_xdata(), [1.0, 1.0]) for line in ax.get_lines())


def test_cac_heatmap_has_one_cell_per_tactic_and_style():
    grid = pd.DataFrame({"tactic": ["email", "email", "events", "events"],
                         "decision_style": ["autocratic", "collaborative"] * 2,
                         "involvement": ["hybrid"] * 4, "cac": [3000.0, 2500.0, 9000.0, 6000.0]})
    ax = plots.cac_heatmap(grid, currency="USD")
    assert len(ax.texts) == 4 and {t.get_text() for t in ax.texts} >= {"9k USD", "2.5k USD"}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["autocratic", "collaborative"]
    assert ax.get_xticklabels()[0].get_color() == colour_for("autocratic")
    assert ax.get_title() == "Estimated cost per new customer, hybrid leaders"


def test_cac_heatmap_labels_in_words():
    grid = pd.DataFrame({"tactic": ["paid_search", "outbound_calls"],
                         "decision_style": ["autocratic"] * 2, "involvement": ["hands_on"] * 2,
                         "cac": [1_250_000.0, 800.0]})
    ax = plots.cac_heatmap(grid, involvement="hands_on", title="Paid search costs most")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["outbound calls", "paid search"]
    assert {t.get_text() for t in ax.texts} == {"1.25M", "800"}
    assert ax.get_title() == "Paid search costs most"


def test_group_bars_skip_missing_values():
    frame = pd.DataFrame({"decision_style": ["a", "b", "c"], "rate": [0.2, np.nan, 0.1]})
    ax = plots.group_bars(frame, by="decision_style", measure="rate", label="attrition")
    assert len(ax.patches) == 2 and ax.get_xlabel() == "attrition"


def test_group_bars_in_style_colours_with_money_axis():
    frame = pd.DataFrame({"decision_style": ["autocratic", "consultative"],
                          "turnover_cost_per_customer": [1500.0, 900.0]})
    ax = drawn(plots.group_bars(frame, by="decision_style",
                                measure="turnover_cost_per_customer", currency="USD"))
    assert [to_rgb(bar.get_facecolor()) for bar in ax.patches] == [
        to_rgb(colour_for("autocratic")), to_rgb(colour_for("consultative"))]
    assert ax.get_xlabel() == "Cost of replacing leavers per customer (USD)"
    assert any(t.get_text().endswith("k USD") for t in ax.get_xticklabels())


def test_new_figures_fit_a_laptop_and_keep_labels_in_view():
    ax = plots.effects_forest(LEADERSHIP, references=REFERENCES)
    width, height = ax.figure.get_size_inches()
    assert width == 8 and 4.5 <= height <= 6
    assert ax.figure.get_layout_engine() is not None
