"""salesnb installed from its wheel, outside the repository: the demo report runs there.

The wheel is built from the checkout and installed (not editable) into a fresh virtualenv in a
temporary folder; `salesnb demo` and `salesnb report` then run from another temporary folder,
so nothing can come from the checkout: the notebooks, the demo data and the HTML templates
must be in the wheel, and no path may assume a repository.

To keep the test minutes, not hours: the fresh virtualenv gets only the wheel (``--no-deps``);
its dependencies come from the project's .venv through a ``.pth`` line (a plain path entry:
the .venv's editable-install hooks are not run, so the checkout is not importable), and
their data files (nbconvert's templates) through ``JUPYTER_PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from salesnb.batch.plan import notebook_inputs
from tests.conftest import PROJECT_DIR

DEAL_NOTEBOOKS = sorted(p.stem for p in (PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb")
                        if "deals" in notebook_inputs(p))
"""The suite on deal-level data: every notebook but those for totals over time."""

pytestmark = pytest.mark.slow


def run(*args, cwd: Path, env=None, timeout=900) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # built from a copy of the sources, so the build leaves no build/ or *.egg-info in the
    # checkout (symbolic links copied as links, as a clone has them)
    source = tmp_path_factory.mktemp("source") / "salesnb"
    shutil.copytree(PROJECT_DIR, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "reports", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
        "tests", "benchmarks"))
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, source,
        cwd=out)
    (built,) = out.glob("salesnb-*.whl")
    return built


def test_the_wheel_carries_notebooks_demo_data_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    notebooks = sorted(p.name for p in (PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks and {f"salesnb/_bundled/notebooks/{n}" for n in notebooks} <= names
    assert {"salesnb/_bundled/demo/mapping.yml", "salesnb/_bundled/demo/deals.parquet",
            "salesnb/batch/templates/index.html.j2", "salesnb/py.typed"} <= names
    assert not any(n.startswith(("tests/", "notebooks/", "data/")) for n in names)


def test_the_demo_report_runs_from_the_installed_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet",
        wheel, cwd=tmp_path)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                    cwd=tmp_path).stdout.strip())
    (site / "zz_project_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # the dependencies' data files (nbconvert's HTML templates) are in the .venv's share/
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")

    where = run(python, "-c", "import salesnb.paths as p; print(p.PACKAGE_DIR); "
                "print(p.NOTEBOOKS_DIR); print(p.checkout_dir())", cwd=tmp_path, env=env)
    package, notebooks, checkout = where.stdout.split()
    assert Path(package).is_relative_to(venv) and Path(notebooks).is_relative_to(venv)
    assert checkout == "None"

    work = tmp_path / "work"
    work.mkdir()
    salesnb = venv / "bin" / "salesnb"
    run(salesnb, "demo", "--out", "d", "--teams", "12", "--months", "12", cwd=work, env=env)
    done = run(salesnb, "report", "--data", "d", "--jobs", "2", "--name", "from-wheel",
               "--no-progress", cwd=work, env=env)
    assert "index: " in done.stdout
    manifest = json.loads((work / "reports" / "from-wheel" / "manifest.json").read_text())
    assert manifest["status"] == "ok", manifest["segments"][0]["failed_notebooks"]
    assert sorted(r["notebook"] for r in manifest["segments"][0]["results"]) == DEAL_NOTEBOOKS
    assert manifest["git"] == {"revision": None, "dirty": None}
    assert (work / "reports" / "from-wheel" / "index.html").is_file()
