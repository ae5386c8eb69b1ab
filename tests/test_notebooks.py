"""The notebook suite: stored clean, paired with py:percent scripts, documented parameters,
runs with non-default ones.

Each ``notebooks/NN_*.ipynb`` is paired by jupytext with ``notebooks/NN_*.py`` (py:percent),
which is what diffs and reviews well; ``make notebooks`` syncs the pairs after an edit on
either side.

nbval (``--nbval-lax``, part of ``make test``) runs every notebook top to bottom with its
defaults; these tests check the contract around that and run each notebook once more with
papermill and non-default parameters on one region.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import jupytext
import nbformat
import papermill
import pytest

from tests.conftest import PROJECT_DIR

NOTEBOOKS = sorted((PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUNNER_PARAMETERS = {"data", "mapping", "segment_by", "segment", "period_start", "period_end"}
SUITE = ["00_leadership_brief", "01_data_quality", "02_cac_overview", "03_tactics",
         "04_leadership", "05_drivers_model", "06_response_curves_budget", "07_marketing_mix"]
NON_DEFAULT = {  # one segment or period, a currency, and one changed option per notebook
    # (the model notebooks run on all 40 teams: one region's 10 teams puts every term under
    # the wild-bootstrap guard, which is tested in test_wild_bootstrap.py and costs a minute)
    "00_leadership_brief": {"period_start": "2024-04", "model": "negbin", "n_boot": 100,
                            "seed": 3},
    "01_data_quality": {"segment_by": "region", "segment": "North"},
    "02_cac_overview": {"segment_by": "region", "segment": "North", "period": "month"},
    "03_tactics": {"segment_by": "region", "segment": "North", "n_boot": 100,
                   "attribution_model": "linear", "gross_margin": 0.6},
    # East: a region where a situation test cannot run (it crashed the page once)
    "04_leadership": {"segment_by": "region", "segment": "East", "replacement_share": 0.8},
    "05_drivers_model": {"period_start": "2024-04", "model": "poisson"},
    "06_response_curves_budget": {"period_start": "2024-04", "n_boot": 30,
                                  "max_extrapolation": 1.2, "target_cac": 8000},
    "07_marketing_mix": {"period_start": "2023-04", "n_boot": 30, "curve_form": "power",
                         "target_cac": 900},
}
TOTALS_NOTEBOOKS = {"07_marketing_mix"}
"""Notebooks for totals over time: their non-default run is on synthetic weekly totals."""


def ids(paths):
    return [p.stem for p in paths]


def test_the_suite_is_complete():
    assert [p.stem for p in NOTEBOOKS] == SUITE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebooks_are_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def _cells(notebook) -> list[tuple[str, str, list[str]]]:
    """What a pair must agree on: each cell's type, source and tags (``parameters`` for
    papermill, ``remove`` for the leadership HTML)."""
    return [(cell.cell_type, cell.source.strip(), list(cell.metadata.get("tags", [])))
            for cell in notebook.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_and_its_script_are_in_sync(path):
    script = path.with_suffix(".py")
    assert script.is_file(), f"{script.name} is missing: run make notebooks"
    notebook = jupytext.read(path)
    assert notebook.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert _cells(jupytext.read(script)) == _cells(notebook), (
        f"{path.name} and {script.name} differ: run make notebooks after editing either side")


def test_sync_pairs_are_exactly_the_suite():
    scripts = sorted((PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in scripts] == SUITE


def test_sync_check_detects_an_edit_on_one_side(tmp_path):
    path = NOTEBOOKS[0]
    text = path.with_suffix(".py").read_text()
    notebook = _cells(jupytext.read(path))
    for old, new in [("plt.show()", "plt.show()  # edited"),           # a source line
                     ('# %% tags=["parameters"]', "# %%")]:              # a lost tag
        assert old in text
        script = tmp_path / path.with_suffix(".py").name
        script.write_text(text.replace(old, new, 1))
        assert _cells(jupytext.read(script)) != notebook, old
    script.write_text(text)
    assert _cells(jupytext.read(script)) == notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_header_says_question_inputs_and_command(path):
    """The question and inputs for every reader; how to run it for analysts only (tagged
    ``remove``, so the leadership HTML leaves it out)."""
    header, how_to = nbformat.read(path, as_version=4).cells[:2]
    assert header.cell_type == "markdown" and header.source.startswith("# ")
    assert "**Question.**" in header.source and "**Inputs.**" in header.source
    assert how_to.metadata.get("tags") == ["remove"]
    for part in ("**Run it.**", f"salesnb report --notebooks {path.stem}",
                 f"papermill notebooks/{path.name}"):
        assert part in how_to.source, part


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_one_parameters_cell_of_commented_literals(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for statement in ast.parse(tagged[0].source).body:
        assert isinstance(statement, ast.Assign)
        ast.literal_eval(statement.value)  # literals only
    documented = papermill.inspect_notebook(str(path))
    assert RUNNER_PARAMETERS | {"currency"} <= set(documented)
    assert set(NON_DEFAULT[path.stem]) <= set(documented) | RUNNER_PARAMETERS
    for name, spec in documented.items():
        assert len(spec["help"]) > 10, f"{name} needs a help comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebooks_stay_thin(path):
    """Logic lives in salesnb: no functions or classes defined in a notebook."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            assert not any(isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda)
                           for node in ast.walk(tree)), cell.source[:60]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_each_notebook_runs_with_non_default_parameters(path, tmp_path):
    parameters = {"currency": "EUR", **NON_DEFAULT[path.stem]}
    if path.stem in TOTALS_NOTEBOOKS:
        from salesnb.synthetic import mix_demo

        mix_demo.generate(out=tmp_path / "totals", seed=5, years=2)
        parameters["data"] = str(tmp_path / "totals")
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), parameters=parameters, kernel_name="python3",
                               progress_bar=False, cwd=str(path.parent))
    executed = nbformat.read(out, as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get(
        "tags", []))
    assert 'currency = "EUR"' in injected.source
    text = "\n".join(_text_outputs(executed))
    if path.stem == "00_leadership_brief":  # the brief says its scope in one line
        expected = f"**All teams** · {parameters['period_start']} to "
        assert "money in EUR" in text and re.search(r"\*\*Move budget towards \w+", text)
    else:
        expected = (f"segment: region = {parameters['segment']}" if "segment" in parameters
                    else f"period: {parameters['period_start']} to last month")
    assert expected in text and "Traceback" not in text
    if path.stem in TOTALS_NOTEBOOKS:
        assert "totals over time: 91 weeks, 1 market(s), 6 tactics" in text
        outputs = [o for c in executed.cells for o in c.get("outputs", [])]
        html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
        assert all(t in html for t in ("email", "paid search", "events",
                                       "Average cost per customer"))
        assert "Spend at target" in html  # the spend where the next customer costs 900
        assert "paid_search" not in html and "average_cac" not in html  # labels, not code
        assert sum("image/png" in o.get("data", {}) for o in outputs) == 3  # CAC, curves,
        # budget


def _text_outputs(notebook) -> list[str]:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts += [output.get("text", ""), data.get("text/markdown", ""),
                      data.get("text/plain", "")]
    return texts


def test_importing_salesnb_loads_no_heavy_library():
    """The import-time target (< 0.5 s) is measured in benchmarks/; here: what makes it so."""
    code = ("import salesnb, sys; print(sorted(m for m in ('pandas', 'numpy', 'statsmodels', "
            "'ibis', 'matplotlib', 'papermill') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert loaded.stdout.strip() == "[]"
