"""Round trips: the same canonical tables load identically from every supported format."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesnb import load
from tests.raw_exports import DEMO_TABLES, raw_tables, write_duckdb

pytestmark = pytest.mark.slow  # loads the demo from every file format: seconds each


@pytest.fixture(scope="module")
def baseline(small_demo):
    return load(small_demo)


def _mapping(folder: Path, **per_table) -> dict:
    mapping = yaml.safe_load((folder / "mapping.yml").read_text())
    for name, spec in mapping["tables"].items():
        spec.pop("source", None)
        spec.update(per_table.get(name, {}))
    return mapping


def _write_mapping(mapping: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def _assert_same(dataset, baseline):
    for name in DEMO_TABLES:
        pd.testing.assert_frame_equal(
            dataset.tables[name], baseline.tables[name], check_dtype=False, obj=name)


def test_parquet_round_trip(small_demo, baseline, tmp_path):
    for name, frame in raw_tables(small_demo).items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    mapping = _mapping(small_demo, **{t: {"source": f"{t}.parquet"} for t in DEMO_TABLES})
    _assert_same(load(tmp_path, _write_mapping(mapping, tmp_path / "mapping.yml")), baseline)


def test_csv_round_trip_with_other_delimiter(small_demo, baseline, tmp_path):
    for name, frame in raw_tables(small_demo).items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False, sep=";")
    mapping = _mapping(small_demo, **{t: {"source": f"{t}.csv", "delimiter": ";"}
                                      for t in DEMO_TABLES})
    _assert_same(load(tmp_path, _write_mapping(mapping, tmp_path / "mapping.yml")), baseline)


def test_excel_workbook_with_named_sheets(small_demo, baseline, tmp_path):
    workbook = tmp_path / "sales.xlsx"
    raw = raw_tables(small_demo)
    with pd.ExcelWriter(workbook) as writer:
        pd.DataFrame({"note": ["exported 2026-01-31"]}).to_excel(writer, sheet_name="Cover")
        for name, frame in raw.items():
            frame.to_excel(writer, sheet_name=f"{name.title()} data", index=False)
    mapping = _mapping(small_demo, **{t: {"sheet": f"{t.title()} data"} for t in DEMO_TABLES})
    mapping_file = _write_mapping(mapping, tmp_path / "mapping.yml")
    _assert_same(load(workbook, mapping_file), baseline)


def test_duckdb_file_needs_no_server(small_demo, baseline, tmp_path):
    database = write_duckdb(tmp_path / "sales.duckdb", raw_tables(small_demo))
    mapping = _mapping(small_demo, **{t: {"source": f"{t}_export"} for t in DEMO_TABLES})
    mapping_file = _write_mapping(mapping, tmp_path / "mapping.yml")
    _assert_same(load(database, mapping_file), baseline)
    _assert_same(load(f"duckdb:///{database}", mapping_file), baseline)


def test_sqlite_url_with_a_query(small_demo, baseline, tmp_path):
    database = tmp_path / "crm.sqlite"
    with sqlite3.connect(database) as con:
        for name, frame in raw_tables(small_demo).items():
            frame.to_sql(name, con, index=False)
    mapping = _mapping(small_demo, **{t: {"source": t} for t in DEMO_TABLES})
    mapping["tables"]["deals"] = {**mapping["tables"]["deals"], "query": "SELECT * FROM deals"}
    del mapping["tables"]["deals"]["source"]
    mapping_file = _write_mapping(mapping, tmp_path / "mapping.yml")
    _assert_same(load(f"sqlite:///{database}", mapping_file), baseline)


def test_dataset_provenance_and_fingerprint(small_demo, baseline, tmp_path):
    assert baseline.provenance["deals"].source.endswith("deals.parquet")
    assert baseline.provenance["spend"].rows_read == len(baseline.spend)
    assert set(baseline.leaders["role"]) == {"sales leader"}
    again = load(small_demo)
    assert again.fingerprint == baseline.fingerprint
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in small_demo.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    spend = (copy / "spend.csv").read_text().splitlines()
    first = spend[1].split(",")
    first[3] = str(float(first[3]) + 1)
    (copy / "spend.csv").write_text("\n".join([spend[0], ",".join(first), *spend[2:]]) + "\n")
    assert load(copy).fingerprint != baseline.fingerprint
