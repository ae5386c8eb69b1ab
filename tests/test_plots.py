"""Plots: each returns the Axes it drew on, with one artist per tactic as documented."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from salesnb import plots  # noqa: E402
from salesnb.curves import fit_response_curves  # noqa: E402
from salesnb.curves.budget import reallocate  # noqa: E402
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
