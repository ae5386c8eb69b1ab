"""salesnb: which sales tactics, under which sales leadership, win customers at the lowest cost.

The public API is small and imported lazily so that ``import salesnb`` stays fast (pandas and
friends load on first use)::

    import salesnb
    data = salesnb.load("data/demo")          # validated canonical tables (pandas)
    salesnb.metrics.measures(data, by=["tactic", "decision_style"], period="quarter")
    suite = salesnb.models.model_suite(data)  # a typed result: suite.effects, suite.grid, ...
    big = salesnb.scan("warehouse-export/")   # out-of-core: validated in DuckDB, no pandas copy
    salesnb.demo.generate(out="my-demo", seed=7)

Short names for modules that live in the layered subpackages (see ``docs/design.md``):
``salesnb.budget`` is :mod:`salesnb.curves.budget`, ``salesnb.plots`` and
``salesnb.narrative`` are in :mod:`salesnb.report`, ``salesnb.people`` and
``salesnb.attribution`` in :mod:`salesnb.metrics`, ``salesnb.segments`` and
``salesnb.quality`` in :mod:`salesnb.io`, ``salesnb.demo`` is :mod:`salesnb.synthetic.demo`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    from salesnb import curves, metrics, models
    from salesnb.curves import budget
    from salesnb.engine import segments
    from salesnb.engine.connection import Engine
    from salesnb.engine.scanning import scan
    from salesnb.io import quality
    from salesnb.io.dataset import Dataset
    from salesnb.io.loading import load
    from salesnb.metrics import attribution, people
    from salesnb.report import narrative, plots
    from salesnb.synthetic import demo

__version__ = "0.1.0"

_LAZY = {
    "load": ("salesnb.io.loading", "load"),
    "scan": ("salesnb.engine.scanning", "scan"),
    "Dataset": ("salesnb.io.dataset", "Dataset"),
    "Engine": ("salesnb.engine.connection", "Engine"),
}
_LAZY_MODULES = {
    "metrics": "salesnb.metrics", "models": "salesnb.models", "curves": "salesnb.curves",
    "budget": "salesnb.curves.budget", "plots": "salesnb.report.plots",
    "narrative": "salesnb.report.narrative", "people": "salesnb.metrics.people",
    "attribution": "salesnb.metrics.attribution", "segments": "salesnb.engine.segments",
    "quality": "salesnb.io.quality", "demo": "salesnb.synthetic.demo",
}

__all__ = [
    "DataCleaningWarning", "Dataset", "Engine", "MappingError", "Problem", "SalesnbError",
    "SalesnbWarning", "SourceError", "ValidationError", "attribution", "budget", "curves", "demo",
    "load", "metrics", "models", "narrative", "people", "plots", "quality", "scan", "segments",
]


def __getattr__(name: str) -> Any:
    """Import the public functions and modules on first use (``salesnb.metrics``, ...)."""
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'salesnb' has no attribute {name!r}")
