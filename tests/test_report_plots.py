"""Report plots (metrics and models): they draw what they are given and return the Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from salesnb import plots  # noqa: E402


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


def test_cac_trend_draws_one_line_per_group():
    frame = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-04-01"] * 2),
                          "decision_style": ["autocratic"] * 2 + ["collaborative"] * 2,
                          "loaded_cac": [5000.0, 5200.0, 4000.0, np.nan]})
    ax = plots.cac_trend(frame, by="decision_style")
    assert len([line for line in ax.get_lines() if len(line.get_xdata())]) >= 2


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
    ax = plots.cac_heatmap(grid)
    assert len(ax.texts) == 4 and {t.get_text() for t in ax.texts} >= {"9,000", "2,500"}


def test_group_bars_skip_missing_values():
    frame = pd.DataFrame({"decision_style": ["a", "b", "c"], "rate": [0.2, np.nan, 0.1]})
    ax = plots.group_bars(frame, by="decision_style", measure="rate", label="attrition")
    assert len(ax.patches) == 2 and ax.get_xlabel() == "attrition"
