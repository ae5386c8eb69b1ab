"""The benchmark script runs, and every tool it times computes the same CAC table.

Timings are not asserted here (they live in benchmarks/README.md); this keeps the
script working and the comparison honest (a faster wrong answer would fail).
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow  # runs the engine benchmark on a small dataset


def _bench_module():
    spec = importlib.util.spec_from_file_location(
        "engine_bench", PROJECT_DIR / "benchmarks" / "engine_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_tools_agree_on_a_small_dataset(tmp_path, capsys):
    bench = _bench_module()
    tools = ["salesnb", "salesnb_validated", "duckdb", "duckdb_won_first", "duckdb_checked",
             "pandas"]
    assert bench.main(["--rows", "20000", "--data", str(tmp_path), "--tools", *tools]) == 0
    out = capsys.readouterr().out
    for tool in tools:
        assert tool in out
    assert "failed" not in out
    assert "x duckdb_won_first" in out and "x duckdb_checked" in out


def test_the_load_benchmark_runs_and_keeps_every_row(capsys):
    spec = importlib.util.spec_from_file_location(
        "load_bench", PROJECT_DIR / "benchmarks" / "load_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "x plain pandas" in out and "failed" not in out
