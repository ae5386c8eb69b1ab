"""salesnb: which sales tactics, under which sales leadership, win customers at the lowest cost.

The public API is small and imported lazily so that ``import salesnb`` stays
fast (pandas and friends load on first use)::

    import salesnb
    data = salesnb.load("data/demo")          # validated canonical tables (pandas)
    salesnb.metrics.cac(data, by=["tactic", "decision_style"], period="quarter")
    big = salesnb.scan("warehouse-export/")   # out-of-core: validated in DuckDB, no pandas copy
    salesnb.demo.generate(out="my-demo", seed=7)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from salesnb.errors import (
    DataCleaningWarning,
    MappingError,
    Problem,
    SalesnbError,
    SalesnbWarning,
    SourceError,
    ValidationError,
)

if TYPE_CHECKING:
    from salesnb import (
        attribution,
        budget,
        curves,
        demo,
        metrics,
        models,
        narrative,
        people,
        plots,
        segments,
    )
    from salesnb.dataset import Dataset
    from salesnb.engine import Engine
    from salesnb.loading import load
    from salesnb.scanning import scan

__version__ = "0.1.0"

_LAZY = {
    "load": ("salesnb.loading", "load"),
    "scan": ("salesnb.scanning", "scan"),
    "Dataset": ("salesnb.dataset", "Dataset"),
    "Engine": ("salesnb.engine", "Engine"),
}
_LAZY_MODULES = {"demo", "metrics", "people", "attribution", "models", "curves", "budget",
                 "plots", "segments", "narrative"}

__all__ = [
    "DataCleaningWarning", "Dataset", "Engine", "MappingError", "Problem", "SalesnbError",
    "SalesnbWarning", "SourceError", "ValidationError", "attribution", "budget", "curves", "demo",
    "load", "metrics", "models", "narrative", "people", "plots", "scan", "segments",
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"salesnb.{name}")
    raise AttributeError(f"module 'salesnb' has no attribute {name!r}")
