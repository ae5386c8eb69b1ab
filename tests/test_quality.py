"""Data-quality summaries: counts from the raw example files, masked sources, no row values."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest

import salesnb
from salesnb import quality
from tests.conftest import PROJECT_DIR

EXAMPLE = PROJECT_DIR / "data" / "examples" / "salesforce"


@pytest.fixture(scope="module")
def example():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return salesnb.load(EXAMPLE)


def test_overview_counts_rows_read_dropped_and_kept(example):
    overview = quality.table_overview(example).set_index("table")
    raw_lines = (EXAMPLE / "opportunities.csv").read_bytes().decode("cp1252").splitlines()
    deals = overview.loc["deals"]
    assert deals["rows_kept"] == len(example.deals)
    assert deals["rows_dropped"] == 2  # the example ends with a blank row and a Total row
    assert deals["rows_read"] == len(raw_lines) - 1 == deals["rows_kept"] + 2
    assert set(overview.index) == set(example.tables)


def test_sources_with_passwords_are_masked(example):
    provenance = dict(example.provenance)
    provenance["deals"] = replace(provenance["deals"],
                                  source="postgresql://crm:s3cret@db.internal/sales")
    overview = quality.table_overview(replace(example, provenance=provenance))
    assert "s3cret" not in overview.to_string()
    assert "postgresql://crm:***@db.internal/sales" in set(overview["source"])


def test_completeness_is_the_share_of_filled_values(example):
    table = quality.completeness(example).set_index(["table", "column"])["filled"]
    assert table[("deals", "amount")] == pytest.approx(example.deals["amount"].notna().mean())
    assert ("deals", "deal_id") not in table.index  # required columns are always filled
    assert table.between(0, 1).all()


def test_loading_notes_say_what_was_dropped_and_selected(example):
    from salesnb import segments

    notes = quality.loading_notes(example)
    assert any("dropped 1 'Total' row(s)" in n and "opportunities.csv" in n for n in notes)
    region = segments.segment_values(example, "region")[0]
    selected = quality.loading_notes(segments.select(example, "region", region))
    assert f"segment: region = {region}" in selected
