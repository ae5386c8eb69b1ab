"""Reading raw values: number formats, dates, months, survey scores, free text, booleans."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest

from salesnb.io.mapping import parse_mapping
from salesnb.io.schema import TABLES
from salesnb.io.values import convert, is_missing


def _column(table: str, field: str, spec) -> tuple:
    raw = {"tables": {table: {"columns": {f: f for f in TABLES[table].required}}}}
    raw["tables"][table]["columns"][field] = spec
    mapping = parse_mapping(raw)
    return mapping.tables[table].columns[field], TABLES[table].field(field)


def _read(table, field, spec, values):
    column, schema_field = _column(table, field, spec)
    result = convert(pd.Series(values, dtype=object), column, schema_field)
    return list(result.values), list(result.bad)


@pytest.mark.parametrize(("style", "text", "expected"), [
    ("us", "$1,234.50", 1234.5),
    ("us", "USD 12,000", 12000.0),
    ("us", "(250.00)", -250.0),
    ("us", "0.5", 0.5),
    ("us", "35%", 0.35),
    ("eu", "1.234,50 €", 1234.5),
    ("eu", "EUR 12.000", 12000.0),
    ("eu", "0,75", 0.75),
    ("eu", "1 234,50 €", 1234.5),
])
def test_number_formats(style, text, expected):
    values, bad = _read("spend", "cost", {"column": "c", "number": style}, [text])
    assert values[0] == pytest.approx(expected)
    assert bad == [False]


@pytest.mark.parametrize(("style", "text"), [
    ("us", "1.234,50"),   # a European number under the US format: refused, not 1.2345
    ("eu", "1,234.50"),
    ("us", "twelve"),
    ("us", "12..5"),
    ("us", "1.5k"),       # a unit suffix is not a currency: refused, not 1.5
])
def test_numbers_in_the_wrong_format_are_bad_not_guessed(style, text):
    values, bad = _read("spend", "cost", {"column": "c", "number": style}, [text])
    assert math.isnan(values[0])
    assert bad == [True]


def test_native_numbers_pass_through():
    column, field = _column("spend", "cost", "c")
    result = convert(pd.Series([1.5, 2.0]), column, field)
    assert list(result.values) == [1.5, 2.0]


@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("%m/%d/%Y", "03/04/2024", "2024-03-04"),
    ("%d.%m.%Y", "03.04.2024", "2024-04-03"),
    (None, "2024-03-04", "2024-03-04"),
    (None, "2024-03-04T10:30:00", "2024-03-04"),
])
def test_date_formats(fmt, text, expected):
    spec = {"column": "d"} | ({"date_format": fmt} if fmt else {})
    values, bad = _read("deals", "close_date", spec, [text])
    assert values[0].normalize() == pd.Timestamp(expected)
    assert bad == [False]


def test_dates_that_do_not_match_the_format_are_bad():
    values, bad = _read("deals", "close_date", {"column": "d", "date_format": "%m/%d/%Y"},
                        ["13/45/2024", "2024-01-02", datetime(2024, 1, 2)])
    assert bad == [True, True, False]
    assert values[2] == pd.Timestamp("2024-01-02")


@pytest.mark.parametrize(("fmt", "text"), [("%b %Y", "Jan 2024"), ("%Y-%m", "2024-01"),
                                           ("%B %Y", "January 2024"), (None, "2024-01-17")])
def test_months_become_the_first_day(fmt, text):
    spec = {"column": "m"} | ({"date_format": fmt} if fmt else {})
    values, bad = _read("spend", "period", spec, [text])
    assert values[0] == pd.Timestamp("2024-01-01") and bad == [False]


def test_survey_score_ranges_map_to_decision_style():
    spec = {"column": "score", "ranges": {"autocratic": [1, 2], "consultative": [3, 5],
                                          "collaborative": [6, 7]}}
    values, _ = _read("leaders", "decision_style", spec, [1, "2", 3.0, 5, 6, "7", 9])
    assert values == ["autocratic", "autocratic", "consultative", "consultative",
                      "collaborative", "collaborative", "9"]


def test_free_text_keywords_and_lookups():
    spec = {"column": "inv", "values": {"Mix of both": "hybrid"},
            "keywords": {"hands_on": ["hands-on", "in the weeds"], "delegating": ["delegat"]}}
    values, _ = _read("leaders", "involvement", spec,
                      ["Hands-on", "Delegates most things", "MIX OF BOTH", "In the weeds daily"])
    assert values == ["hands_on", "delegating", "hybrid", "hands_on"]


def test_outcome_lookup_with_a_default():
    spec = {"column": "Stage", "values": {"Closed Won": "won", "Closed Lost": "lost"},
            "otherwise": "open"}
    values, _ = _read("deals", "outcome", spec, ["Closed Won", "closed lost", "Negotiation"])
    assert values == ["won", "lost", "open"]


def test_the_fallback_never_overrides_values_already_in_the_vocabulary():
    spec = {"column": "Stage", "values": {"Closed Won": "won"}, "otherwise": "open"}
    values, _ = _read("deals", "outcome", spec, ["won", "Closed Won", "LOST", "Negotiation"])
    assert values == ["won", "won", "lost", "open"]


def test_canonical_spellings_are_normalised_without_rules():
    values, _ = _read("leaders", "involvement", "inv", ["Hands-on", "hands on", "Delegating"])
    assert values == ["hands_on", "hands_on", "delegating"]


def test_booleans():
    values, bad = _read("leaders", "recognition", "r", ["Y", "no", "TRUE", "0", 1.0, "maybe"])
    assert values[:5] == [True, False, True, False, True]
    assert bad == [False] * 5 + [True]


def test_ids_from_spreadsheets_lose_the_float_suffix():
    values, _ = _read("teams", "team_id", "t", [101.0, "T-7 ", 3])
    assert values == ["101", "T-7", "3"]


def test_missing_tokens():
    raw = pd.Series(["", "  ", "N/A", "null", None, float("nan"), "0", "x"], dtype=object)
    assert list(is_missing(raw)) == [True] * 6 + [False, False]


def test_a_reader_runs_once_per_distinct_value_and_gives_what_map_gives():
    from salesnb.io.values import per_value

    raw = pd.Series(["won", " Won", None, "won", "lost", float("nan"), "lost", "won"] * 1000)
    calls = []

    def read(value):
        calls.append(value)
        return str(value).strip().lower()

    got = per_value(raw, read)
    assert sorted(calls) == sorted({"won", " Won", "lost"})
    expected = raw.map(lambda v: str(v).strip().lower(), na_action="ignore")
    pd.testing.assert_series_equal(got.astype("string"), expected.astype("string"))


def test_missing_values_are_found_among_distinct_values_of_any_type():
    raw = pd.Series([" N/A", "x", None, 3.0, float("nan"), "null", "", "none ", "nan", 0],
                    dtype=object)
    assert is_missing(raw).tolist() == [True, False, True, False, True, True, True, True, True,
                                        False]
