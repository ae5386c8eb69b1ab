"""Plots: each returns the Axes it drew on, with one artist per tactic as documented."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from salesnb import plots  # noqa: E402
from salesnb.curves import fit_response_curves  # noqa: E402
from salesnb.curves.budget import Allocation, reallocate  # noqa: E402
from salesnb.report.labels import colour_for  # noqa: E402
from tests.test_curves import synthetic_panel  # noqa: E402


@pytest.fixture(scope="module")
def curves():
    return fit_response_curves(synthetic_panel(teams=12, months=12), n_boot=20, seed=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_response_curves_draws_line_points_and_band_per_tactic(curves):
    ax = plots.response_curves(curves)
    assert len(ax.lines) == 2
    assert len(ax.collections) == 4  # one point set and one band per tactic
    assert ax.get_legend() is not None
    assert "per team" in ax.get_xlabel()


def test_response_curves_uses_given_axes_and_subset(curves):
    _, ax = plt.subplots()
    returned = plots.response_curves(curves, ax=ax, tactics=["beta"], bins=5)
    assert returned is ax
    assert len(ax.lines) == 1
    assert len(ax.collections[0].get_offsets()) == 5


def test_marginal_cac_draws_line_band_and_current_marker(curves):
    _, ax = plt.subplots()
    assert plots.marginal_cac(curves, ax=ax) is ax
    assert len(ax.lines) == 2 and len(ax.collections) == 4
    current = curves.marginal_cac()
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    marker_y = sorted(c.get_offsets()[0][1] for c in markers)
    assert marker_y == pytest.approx(sorted(current["marginal_cac"]))


def test_allocation_bars_two_bars_per_tactic(curves):
    allocation = reallocate(curves)
    _, ax = plt.subplots()
    assert plots.allocation_bars(allocation, ax=ax) is ax
    bars = [bar for container in ax.containers for bar in container]  # not legend swatches
    assert len(ax.containers) == 2 and len(bars) == 2 * len(allocation.table)
    widths = sorted(round(bar.get_width()) for bar in bars)
    expected = sorted(round(v) for v in (*allocation.table["current_spend"],
                                         *allocation.table["new_spend"]))
    assert widths == expected


def test_allocation_bars_mark_extrapolation(curves):
    allocation = reallocate(curves, max_extrapolation=3.0)
    ax = plots.allocation_bars(allocation)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    flagged = allocation.table["extrapolated"]
    assert sum(label.endswith("*") for label in labels) == flagged.sum()


def fake_allocation(tactics, current, new, extrapolated=None):
    """An allocation of made-up spends (no fit): what allocation_bars draws."""
    table = pd.DataFrame({"tactic": tactics, "current_spend": current, "new_spend": new})
    table["change"] = table["new_spend"] - table["current_spend"]
    table["extrapolated"] = extrapolated or [False] * len(tactics)
    return Allocation(table, pd.DataFrame(), float(table["current_spend"].sum()),
                      list(tactics))


def drawn(ax):
    ax.figure.canvas.draw()
    return ax


def test_allocation_bars_money_ticks_scope_and_tactic_colours():
    allocation = fake_allocation(["paid_search", "referrals"], [3_000_000.0, 1_000_000.0],
                                 [1_000_000.0, 3_000_000.0])
    ax = drawn(plots.allocation_bars(allocation, currency="USD", scope="North"))
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "3M USD" in ticks and all(t.endswith(" USD") for t in ticks)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert "North" in ax.get_xlabel() and "whole organisation" not in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["paid search", "referrals"]
    now, suggested = ax.containers
    for bars in (now, suggested):
        assert [to_rgb(bar.get_facecolor()) for bar in bars] == [
            to_rgb(colour_for("paid_search")), to_rgb(colour_for("referrals"))]
    assert all(bar.get_alpha() < 1 for bar in now)  # now: a tint; suggested: the full colour
    assert all(bar.get_alpha() in (None, 1) for bar in suggested)
    assert {t.get_text() for t in ax.texts} == {"  -2M USD", "  +2M USD"}
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["now", "suggested"]


def test_allocation_bars_default_scope_and_extrapolation_note():
    allocation = fake_allocation(["email", "events"], [10.0, 20.0], [25.0, 5.0], [False, True])
    ax = plots.allocation_bars(allocation, title="Move money from events to email")
    assert ax.get_xlabel() == "monthly spend, whole organisation"
    assert ax.get_title() == "Move money from events to email"
    assert "* beyond the spend seen so far" in [t.get_text()
                                                for t in ax.get_legend().get_texts()]


def test_same_tactic_same_colour_across_curves_and_budget(curves):
    tactic_of = dict(zip(curves.labels, curves.units["tactic"], strict=True))
    one = plots.response_curves(curves)
    two = plots.response_curves(curves, tactics=["beta"])
    colours = {}
    for ax in (one, two):
        for line in ax.get_lines():
            colours.setdefault(line.get_label(), set()).add(to_rgb(line.get_color()))
    assert all(len(found) == 1 for found in colours.values())
    assert colours["beta"] == {to_rgb(colour_for(tactic_of["beta"]))}
    allocation = plots.allocation_bars(fake_allocation(["beta", "gamma"], [1.0, 2.0],
                                                       [2.0, 1.0]))
    names = [t.get_text() for t in allocation.get_yticklabels()]
    bar = allocation.containers[1][names.index("beta")]
    assert {to_rgb(bar.get_facecolor())} == colours["beta"]


def test_response_curves_money_x_axis_and_words(curves):
    ax = drawn(plots.response_curves(curves, currency="EUR", title="Alpha pays back fastest"))
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(t.endswith(" EUR") for t in ticks)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert ax.get_title() == "Alpha pays back fastest"
    assert "EUR" in ax.get_xlabel() and "power" not in ax.get_title()


def test_marginal_cac_money_axes_and_scope(curves):
    ax = drawn(plots.marginal_cac(curves, currency="USD", scope="North"))
    for axis, labels in ((ax.xaxis, ax.get_xticklabels()), (ax.yaxis, ax.get_yticklabels())):
        ticks = [t.get_text() for t in labels if t.get_text()]
        assert ticks and all("USD" in t for t in ticks)
        assert axis.get_offset_text().get_text() == ""
    assert "North" in ax.get_xlabel() and "whole organisation" not in ax.get_xlabel()
    legend = ax.get_legend()
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted(curves.labels)
