"""The same metric suite gives the same answers on DuckDB, PostgreSQL and Spark,
both from a loaded Dataset and from the out-of-core scan path."""

from __future__ import annotations

import pandas as pd
import pytest

from salesnb import MappingError, ValidationError, load, metrics
from salesnb.engine.connection import Engine
from salesnb.engine.scanning import scan
from salesnb.metrics.attribution import attributed_cac
from salesnb.metrics.people import attrition
from tests.conftest import ENGINES, backend_connection

pytestmark = pytest.mark.slow  # loads the demo into several engines: seconds each

SUITE = {
    "cac_by_tactic": lambda e: metrics.cac(e),
    "cac_team_tactic_month": lambda e: metrics.cac(e, by=("team_id", "tactic"), period="month"),
    "cac_style_quarter": lambda e: metrics.cac(e, by=("decision_style",), period="quarter"),
    "blended": lambda e: metrics.blended_cac(e),
    "funnel_by_style": lambda e: metrics.funnel(e, by=("decision_style", "involvement")),
    "funnel_by_programme": lambda e: metrics.funnel(e, by=("programme", "strategy")),
    "attrition_by_style": lambda e: attrition(e, by=("decision_style", "recognition")),
    "attribution_linear": lambda e: attributed_cac(e, "linear"),
    "attribution_decay": lambda e: attributed_cac(e, "time_decay", half_life_days=10),
}


@pytest.fixture(scope="module")
def demo_dataset(small_demo):
    return load(small_demo)


@pytest.fixture(scope="module")
def reference(demo_dataset):
    engine = Engine.from_dataset(demo_dataset)
    return {name: run(engine) for name, run in SUITE.items()}


def _same(left: pd.DataFrame, right: pd.DataFrame, name: str) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                  check_dtype=False, check_exact=False, rtol=1e-9, obj=name)


@pytest.mark.parametrize("backend", ENGINES)
def test_metric_suite_is_identical_on_every_engine(backend, request, demo_dataset, reference):
    engine = Engine.from_dataset(demo_dataset, con=backend_connection(backend, request),
                                 prefix="suite_")
    assert engine.backend == backend
    for name, run in SUITE.items():
        _same(run(engine), reference[name], f"{backend}: {name}")


def test_scan_reads_files_in_place_and_matches_load(small_demo, reference):
    engine = scan(small_demo)
    for name, run in SUITE.items():
        _same(run(engine), reference[name], f"scan: {name}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["duckdb", "postgres", "pyspark"])
def test_scan_uses_database_tables_in_place(backend, request, small_demo, reference, tmp_path):
    """Raw tables living in the database are mapped and validated there, never copied out."""
    import yaml

    con = backend_connection(backend, request)
    mapping = yaml.safe_load((small_demo / "mapping.yml").read_text())
    for name, spec in mapping["tables"].items():
        path = small_demo / spec["source"]
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        if backend == "pyspark":  # Spark gets files; its pandas path mangles missing strings
            local = tmp_path / f"{name}.parquet"
            frame.to_parquet(local, index=False)
            con.read_parquet(str(local), table_name=f"raw_{name}")
        else:
            con.create_table(f"raw_{name}", frame, overwrite=True)
        spec["source"] = f"raw_{name}"
    mapping_file = tmp_path / "mapping.yml"
    mapping_file.write_text(yaml.safe_dump(mapping))
    engine = scan(con, mapping_file)
    for name in ("cac_by_tactic", "funnel_by_style", "attribution_linear"):
        _same(SUITE[name](engine), reference[name], f"{backend} scan: {name}")


def test_scan_reports_every_problem_with_examples(small_demo, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in small_demo.iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    spend = pd.read_csv(bad / "spend.csv")
    spend.loc[3, "cost"] = -5
    spend.loc[4, "team_id"] = "T99"
    spend.to_csv(bad / "spend.csv", index=False)
    deals = pd.read_parquet(bad / "deals.parquet")
    deals.loc[0, "outcome"] = "maybe"
    deals.to_parquet(bad / "deals.parquet", index=False)
    with pytest.raises(ValidationError) as info:
        scan(bad)
    text = str(info.value)
    assert "must be >= 0 (1 rows)" in text and "'-5.0'" in text
    assert "refers to teams that do not exist (1 rows)" in text and "'T99'" in text
    assert "value not allowed" in text and "'maybe'" in text
    assert len(info.value.problems) == 3


def test_scan_refuses_mapping_features_it_cannot_run_as_sql(small_demo, tmp_path):
    import yaml

    mapping = yaml.safe_load((small_demo / "mapping.yml").read_text())
    mapping["tables"]["leaders"]["columns"]["involvement"] = {
        "column": "involvement", "keywords": {"hands_on": ["hands"]}}
    path = tmp_path / "mapping.yml"
    path.write_text(yaml.safe_dump(mapping))
    with pytest.raises(MappingError, match="keywords/ranges"):
        scan(small_demo, path)


def test_scan_agrees_with_load_on_spellings_and_unreadable_values(small_demo, tmp_path):
    """Nothing unreadable turns silently into NULL on the scan path either."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in small_demo.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    leaders = pd.read_csv(copy / "leaders.csv", dtype=str)
    leaders.loc[0, "involvement"] = "Hands-on"
    leaders.loc[1, "decision_style"] = " Autocratic "
    leaders.loc[2, "training_hours"] = "N/A"  # a missing-value token, not a number
    leaders.to_csv(copy / "leaders.csv", index=False)
    assert scan(copy).tables["leaders"].involvement.to_pandas().iloc[0] == "hands_on"
    pd.testing.assert_frame_equal(
        scan(copy).tables["leaders"].to_pandas().sort_values("leader_id").reset_index(drop=True),
        load(copy).leaders.sort_values("leader_id").reset_index(drop=True), check_dtype=False)
    reps = pd.read_csv(copy / "reps.csv", dtype=str)
    reps.loc[0, "exit_date"] = "2024-02-30"
    reps.to_csv(copy / "reps.csv", index=False)
    spend = pd.read_csv(copy / "spend.csv", dtype=str)
    spend.loc[2, "period"] = "2024-13"  # with date_format %Y-%m: must not crash the engine
    spend.to_csv(copy / "spend.csv", index=False)
    with pytest.raises(ValidationError) as info:
        scan(copy)
    text = str(info.value)
    assert "column 'exit_date': cannot read as date (1 rows); e.g. '2024-02-30'" in text
    assert "column 'period': cannot read as month (1 rows); e.g. '2024-13'" in text


def test_scan_computes_on_its_cleaned_copy_not_on_the_source_files(small_demo, tmp_path,
                                                                   reference):
    """Each table is cleaned once: after scan, metrics no longer read (or re-clean) the files."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in small_demo.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    engine = scan(copy)
    for path in copy.iterdir():
        path.unlink()
    for name in ("cac_by_tactic", "funnel_by_style", "attribution_linear"):
        _same(SUITE[name](engine), reference[name], f"scan after the files went: {name}")


def test_missing_value_tokens_become_null_and_longer_text_is_kept():
    import ibis

    from salesnb.engine.scanning import _present

    values = ["", " na ", "NULL", "None", "#N/A", "nat", "nones", "nullable", " x ", "N/A1"]
    table = ibis.memtable({"v": values})
    got = _present(table.v).name("v").to_pandas().tolist()
    assert [None if pd.isna(v) else v for v in got] == [
        None, None, None, None, None, None, "nones", "nullable", "x", "N/A1"]


def test_the_default_connection_spills_to_the_temporary_folder_not_the_working_one():
    import tempfile
    from pathlib import Path

    from salesnb.engine.connection import default_connection

    con = default_connection()
    folder = con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]
    assert Path(folder).parent == Path(tempfile.gettempdir())
    assert con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0] != ""
