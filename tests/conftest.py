"""Shared fixtures. With CI=true, a test whose service or binary is missing fails (never skips)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# One result cache per test run (salesnb.cache), shared by the tests and the kernels they start
# (inherited through the environment): a run starts cold, never from a developer's ~/.cache.
_RUN_CACHE = tempfile.mkdtemp(prefix="salesnb-test-cache-")
os.environ["SALESNB_CACHE_DIR"] = _RUN_CACHE


def pytest_unconfigure(config) -> None:
    """Delete the run's result cache."""
    shutil.rmtree(_RUN_CACHE, ignore_errors=True)


def require(available: bool, reason: str) -> None:
    """Skip (outside CI) or fail (in CI) when something a test needs is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium (the browser tests' reader; .ci/run installs it)."""
    import shutil

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require(binary is not None, "Chromium is not installed (apt: chromium; see .ci/run)")
    return binary


@pytest.fixture(scope="session")
def demo_suite():
    """The bundled demo and its model suite (about 7 s), shared by every test that reads it."""
    from salesnb import load, models
    from salesnb.paths import DEMO_DIR

    data = load(DEMO_DIR)
    return data, models.model_suite(data)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A small generated demo dataset on disk (8 teams, 8 months)."""
    from salesnb import demo

    out = tmp_path_factory.mktemp("demo") / "data"
    demo.generate(out=out, seed=3, teams=8, months=8)
    return out


ENGINES = ("duckdb", pytest.param("postgres", marks=pytest.mark.slow),
           pytest.param("pyspark", marks=pytest.mark.slow))
"""The engines every cross-engine test runs on (servers and Spark are the slow tier)."""


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """One local Spark session per test run (start-up costs seconds)."""
    import shutil

    require(shutil.which("java") is not None, "Java is needed for Spark (apt: openjdk-17-jre)")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        require(False, "pyspark is not installed (pip install -e '.[spark]')")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (SparkSession.builder.master("local[2]").appName("salesnb-tests")
               .config("spark.sql.warehouse.dir", str(warehouse))
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.default.parallelism", "1")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    yield session
    session.stop()


def backend_connection(name: str, request):
    """A fresh Ibis connection to the named engine (DuckDB, PostgreSQL on loopback, Spark)."""
    import ibis

    if name == "duckdb":
        return ibis.duckdb.connect()
    if name == "postgres":
        url = os.environ.get("SALESNB_TEST_PG_URL")
        require(bool(url), "SALESNB_TEST_PG_URL is not set (eval \"$(.ci/start-postgres)\")")
        return ibis.connect(url)
    if name == "pyspark":
        return ibis.pyspark.connect(request.getfixturevalue("spark_session"))
    raise ValueError(name)
