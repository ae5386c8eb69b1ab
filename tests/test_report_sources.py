"""A report from a DuckDB file or a PostgreSQL server states the same findings as from files.

Each source holds the demo's raw exports as tables (strings and numbers as an export would
have them); the leadership brief is run on each with ``salesnb report`` and its headline
facts (period, figures, the style answer and the budget advice) must agree with the run on
the files themselves.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from salesnb.cli import main
from tests.conftest import require
from tests.raw_exports import raw_tables, write_duckdb

pytestmark = pytest.mark.slow  # five leadership briefs: about 30 s each


def _database_mapping(folder: Path, out: Path) -> Path:
    """The demo's mapping with each table read from ``<name>_export`` in a database."""
    mapping = yaml.safe_load((folder / "mapping.yml").read_text())
    for name, spec in mapping["tables"].items():
        spec["source"] = f"{name}_export"
    out.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return out


def _brief_facts(data: str, out: Path, name: str, mapping: Path | None = None,
                 engine: str = "off") -> dict:
    args = ["report", "--data", data, "--notebooks", "00", "--out", str(out), "--name", name,
            "--no-pdf", "--engine", engine]
    if mapping is not None:
        args += ["--mapping", str(mapping)]
    assert main(args) == 0
    notebooks = json.loads((out / name / "all" / "manifest.json").read_text())["notebooks"]
    assert [n["status"] for n in notebooks] == ["ok"]
    return notebooks[0]["facts"]


@pytest.fixture(scope="module")
def from_files(small_demo, tmp_path_factory) -> dict:
    return _brief_facts(str(small_demo), tmp_path_factory.mktemp("reports"), "files")


def _same_findings(facts: dict, expected: dict) -> None:
    assert set(facts) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert facts[key] == pytest.approx(value, rel=1e-9), key
        else:
            assert facts[key] == value, key
    assert expected["style_answer"] and expected["budget_move"]  # findings, not blanks


@pytest.mark.parametrize("engine", ["off", "on"])
def test_a_report_from_a_duckdb_file_states_what_the_files_state(small_demo, from_files,
                                                                 tmp_path, engine, monkeypatch):
    """Loaded into pandas (off), or kept in the engine: its tables attached to the store."""
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    database = write_duckdb(tmp_path / "crm.duckdb", raw_tables(small_demo))
    mapping = _database_mapping(small_demo, tmp_path / "mapping.yml")
    facts = _brief_facts(str(database), tmp_path / "reports", "duckdb", mapping, engine)
    _same_findings(facts, from_files)
    stores = list((tmp_path / "cache" / "engine").glob("*.duckdb"))
    assert len(stores) == (engine == "on")


@pytest.mark.parametrize("engine", ["off", "on"])
def test_a_report_from_postgresql_states_what_the_files_state(small_demo, from_files, tmp_path,
                                                              engine):
    """Loaded into pandas (off), or scanned where it lives (on: no copy of the rows)."""
    import sqlalchemy

    url = os.environ.get("SALESNB_TEST_PG_URL")
    require(bool(url), "SALESNB_TEST_PG_URL is not set (eval \"$(.ci/start-postgres)\")")
    server = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with server.begin() as con:
        for name, frame in raw_tables(small_demo).items():
            frame.to_sql(f"{name}_export", con, index=False, if_exists="replace")
    server.dispose()
    mapping = _database_mapping(small_demo, tmp_path / "mapping.yml")
    facts = _brief_facts(url, tmp_path / "reports", "postgres", mapping, engine)
    _same_findings(facts, from_files)
