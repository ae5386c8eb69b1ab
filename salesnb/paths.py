"""Where salesnb's bundled resources are, anchored to the package (never to the working
directory): the notebook suite and the demo dataset.

In a checkout, ``salesnb/_bundled/notebooks`` and ``salesnb/_bundled/demo`` are symbolic
links to the repository's ``notebooks/`` and ``data/demo/``; a wheel carries real copies, so
the same paths work after ``pip install``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_bundled"
NOTEBOOKS_DIR = (BUNDLED_DIR / "notebooks").resolve()
"""The notebook suite (``NN_name.ipynb``) that ``salesnb report`` runs by default."""
DEMO_DIR = (BUNDLED_DIR / "demo").resolve()
"""The bundled demo dataset (with its ``mapping.yml`` and ``truth.json``)."""


def checkout_dir() -> Path | None:
    """The salesnb source checkout this package runs from, or None for an installed wheel."""
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None
