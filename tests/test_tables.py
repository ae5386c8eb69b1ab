"""Tables fit to share (salesnb.report.tables): asserted on the HTML a report shows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from salesnb.report.labels import column_label
from salesnb.report.tables import format_number, format_percent, format_pvalue, format_range, styled


def cells(html: str) -> list[str]:
    """The text of every data cell, in order."""
    return re.findall(r'<td id="[^"]+" class="data [^"]+"[^>]*>(.*?)</td>', html)


def headers(html: str) -> list[str]:
    return re.findall(r'<th id="[^"]+" class="col_heading [^"]+"[^>]*>(.*?)</th>', html)


@pytest.fixture
def budget() -> pd.DataFrame:
    return pd.DataFrame({
        "tactic": ["outbound_calls", "paid_search", "hands_on"],
        "spend": [7_812_345.6, np.nan, 1234.0],
        "program_cac": [1500.2, 3000.0, 2000.0],
        "program_cac_low": [1492.1, np.nan, 1900.0],
        "program_cac_high": [1558.4, 3100.0, np.nan],
        "p": [0.0000123, 0.0312, np.nan],
        "win_rate": [0.123, 0.004, np.nan],
        "new_customers": [3, 4, 5],
    })


def test_large_numbers_have_separators_and_never_scientific_notation(budget):
    html = styled(budget, money=("spend",)).to_html()
    assert "7,812,346" in cells(html)
    assert "e+" not in html and "e-0" not in html
    # not as money either: large floats of a plain column, and tiny ones
    plain = styled(pd.DataFrame({"x": [7_812_345.6, 1.2e15], "y": [0.00042, 3e-9]})).to_html()
    assert cells(plain) == ["7,812,346", "0.00042", "1,200,000,000,000,000", "<0.000001"
                            .replace("<", "&lt;")]


def test_the_narrative_name_formats_the_same_way(budget):
    """``narrative.formatted`` (the name older notebooks use) gave "7.8e+06" before it became
    :func:`tables.styled`; it now formats like it.
    """
    from salesnb.report import narrative

    html = narrative.formatted(budget[["spend", "p"]], money_columns=("spend",)).to_html()
    assert "e+06" not in html and "e+0" not in html
    same = styled(budget[["spend", "p"]], money=("spend",)).to_html()
    assert re.sub(r"T_\w+", "", html) == re.sub(r"T_\w+", "", same)  # ids are random


def test_intervals_become_one_range_column(budget):
    html = styled(budget, money=("spend", "program_cac"), currency="USD",
                  intervals={"program_cac": ("program_cac_low", "program_cac_high")}).to_html()
    names = headers(html)
    assert names[:4] == [column_label("tactic"), f"{column_label('spend')} (USD)",
                         f"{column_label('program_cac')} (USD)", "95% range (USD)"]
    assert not any("low" in n.lower() or "high" in n.lower() for n in names)
    texts = cells(html)
    assert texts[:4] == ["outbound calls", "7,812,346", "1,500", "1,492-1,558"]
    assert "below 3,100" in texts and "above 1,900" in texts


def test_each_range_follows_its_estimate():
    frame = pd.DataFrame({"win_rate": [0.3], "win_rate_low": [0.25], "win_rate_high": [0.35],
                          "retention_rate": [0.8], "retention_rate_low": [0.6],
                          "retention_rate_high": [0.9]})
    html = styled(frame, percent=list(frame), intervals={
        "win_rate": ("win_rate_low", "win_rate_high"),
        "retention_rate": ("retention_rate_low", "retention_rate_high")}).to_html()
    assert headers(html) == ["Win rate", "95% range", "Retention rate", "95% range"]
    assert cells(html) == ["30%", "25-35%", "80%", "60-90%"]
    # a range without its estimate column is named after it
    html = styled(frame.drop(columns=["win_rate"]), percent=list(frame),
                  intervals={"win_rate": ("win_rate_low", "win_rate_high")}).to_html()
    assert headers(html)[0] == "Win rate, 95% range" and cells(html)[0] == "25-35%"


def test_headers_are_human(budget):
    names = headers(styled(budget).to_html())
    assert names == [*(column_label(c) for c in budget.columns[:5]), "p-value",
                     column_label("win_rate"), column_label("new_customers")]
    assert not any("_" in n for n in names) and names[0] == "Tactic"


def test_small_p_values_missing_values_categories_and_percentages(budget):
    texts = cells(styled(budget, percent=("win_rate",)).to_html())
    row = len(budget.columns)
    assert texts[5] == "&lt;0.001" and texts[row + 5] == "0.031"
    assert texts[row + 1] == "-" and texts[2 * row + 5] == "-" and "nan" not in texts
    assert [texts[0], texts[row], texts[2 * row]] == ["outbound calls", "paid search",
                                                      "hands-on"]
    assert [texts[6], texts[row + 6]] == ["12%", "0.4%"]
    assert texts[7] == "3"  # counts without decimals


def test_no_index_and_model_terms_in_words():
    frame = pd.DataFrame({"term": ["decision_style=autocratic", "years10"],
                          "estimate": [1.3, 0.9], "ci_low": [1.1, 0.8], "ci_high": [1.5, 1.02]},
                         index=[7, 7])  # a repeated index, as pd.concat leaves it
    html = styled(frame, references={"decision_style": "consultative"},
                  intervals={"estimate": ("ci_low", "ci_high")}).to_html()
    assert "row_heading" not in html and ">7<" not in html
    assert cells(html) == ["Autocratic leaders (vs consultative)", "1.30", "1.10-1.50",
                           "10 more years in the industry", "0.90", "0.80-1.02"]


def test_max_rows_cuts_and_says_so():
    frame = pd.DataFrame({"team_id": [f"T{i:02d}" for i in range(30)], "spend": range(30)})
    html = styled(frame, max_rows=10, caption="Cheapest teams.").to_html()
    assert len(cells(html)) == 20 and "T09" in html and "T10" not in html
    assert "Cheapest teams. The first 10 of 30 rows." in html


def test_measure_names_and_equal_bounds():
    frame = pd.DataFrame({"measure": ["expected_customers", "spend"],
                          "before": [1001.06, 3_171_489.0], "before_low": [925.0, 3_171_489.0],
                          "before_high": [1079.3, 3_171_489.0]})
    html = styled(frame, intervals={"before": ("before_low", "before_high")}).to_html()
    assert cells(html) == [column_label("expected_customers"), "1,001", "925-1,079",
                           column_label("spend"), "3,171,489", "3,171,489"]


@pytest.mark.parametrize(("value", "text"), [
    (7_812_345.6, "7,812,346"), (12.345, "12.35"), (0.5, "0.50"), (0.000123, "0.00012"),
    (-0.0042, "-0.0042"), (0.0, "0.00"), (np.nan, "-"), (None, "-"), (np.inf, "∞"),
    (True, "yes"),
])
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_helpers():
    assert format_pvalue(0.0009) == "<0.001" and format_pvalue(0.05) == "0.050"
    assert format_percent(0.123) == "12%" and format_percent(np.nan) == "-"
    assert format_range(-0.2, 0.31) == "-0.20 to 0.31"
    assert format_range(np.nan, np.nan) == "-"


def test_alignment_is_written_on_the_cells(budget):
    """Report pages drop <style> blocks and right-align every cell: the alignment has to be
    inline, text left and numbers right."""
    html = styled(budget.head(1), caption="Note.").to_html()
    aligned = re.findall(r'class="(?:data row0|col_heading level0) col(\d+)" '
                         r'style="text-align: (left|right);', html)
    columns = {int(c): side for c, side in aligned}
    assert columns == {0: "left", **dict.fromkeys(range(1, len(budget.columns)), "right")}
    assert len(aligned) == 2 * len(budget.columns)
    assert '<caption style="text-align: left;' in html


def test_file_names_and_sentences_are_left_as_they_are():
    frame = pd.DataFrame({"table": ["style_changes"], "source": ["style_changes.csv"],
                          "note": ["above observed range"]})
    assert cells(styled(frame).to_html()) == ["style changes", "style_changes.csv",
                                              "above observed range"]
