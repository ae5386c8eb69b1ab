"""Shared fixtures. With CI=true, a test whose service or binary is missing fails (never skips)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, reason: str) -> None:
    """Skip (outside CI) or fail (in CI) when something a test needs is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A small generated demo dataset on disk (8 teams, 8 months)."""
    from salesnb import demo

    out = tmp_path_factory.mktemp("demo") / "data"
    demo.generate(out=out, seed=3, teams=8, months=8)
    return out
