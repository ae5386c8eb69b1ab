"""Project paths, anchored to the package (not to the working directory)."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DATA_DIR = PROJECT_DIR / "data"
DEMO_DIR = DATA_DIR / "demo"
EXAMPLES_DIR = DATA_DIR / "examples"
REPORTS_DIR = PROJECT_DIR / "reports"
