"""Reports whose deals stay in the engine: the same findings as from pandas, rows never loaded.

``SALESNB_ENGINE=on`` (``salesnb report --engine on``) keeps a folder's deals, touches and leads
in DuckDB (:class:`salesnb.engine.engine_dataset.EngineDataset`), cleaned and validated once
into a DuckDB file of the cache (:mod:`salesnb.engine.store`). Every figure must equal the one
computed from the pandas load of the same files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from salesnb import metrics
from salesnb.cli import main
from salesnb.engine import segments, store
from salesnb.engine.engine_dataset import EngineDataset
from salesnb.errors import SalesnbError


@pytest.fixture
def engine_on(monkeypatch, tmp_path):
    monkeypatch.setenv(segments.ENGINE_ENV, "on")
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    store._OPEN.clear()  # noqa: SLF001 (each test its own cache folder)
    yield tmp_path / "cache"
    store._OPEN.clear()  # noqa: SLF001


def _pandas(monkeypatch, folder: Path, **selection):
    monkeypatch.setenv(segments.ENGINE_ENV, "off")
    data = segments.open_data(folder, **selection)
    monkeypatch.setenv(segments.ENGINE_ENV, "on")
    return data


def test_the_engine_keeps_the_deals_and_agrees_with_pandas(small_demo, engine_on, monkeypatch):
    data = segments.open_data(small_demo)
    frame = _pandas(monkeypatch, small_demo)
    assert isinstance(data, EngineDataset) and "deals" not in data.tables and "deals" in data
    assert data.rows("deals") == frame.rows("deals") > 0
    with pytest.raises(SalesnbError, match="stay in the engine"):
        _ = data.deals
    summary, expected = data.summary(), frame.summary()
    assert summary == expected
    assert data.last_close_date() == frame.last_close_date()
    for by in (["tactic"], ["decision_style"], []):
        pd.testing.assert_frame_equal(metrics.cac(data, by=by), metrics.cac(frame, by=by),
                                      check_dtype=False)
    for analysis in ("cac", "style", "people", "attribution", "conversion", "models", "curves"):
        assert data.lacks(analysis) == frame.lacks(analysis), analysis


@pytest.mark.parametrize("selection", [{"by": "region", "value": "North"},
                                       {"start": "2024-03", "end": "2024-06"},
                                       {"by": "region", "value": "South", "start": "2024-04"}])
def test_a_segment_on_the_engine_is_the_segment_in_pandas(small_demo, engine_on, monkeypatch,
                                                          selection):
    data = segments.open_data(small_demo, **selection)
    frame = _pandas(monkeypatch, small_demo, **selection)
    assert data.summary() == frame.summary()
    assert data.notes[1:] == frame.notes
    for by in (["tactic"], ["team_id", "tactic"]):  # new customers decided on the whole data
        pd.testing.assert_frame_equal(metrics.cac(data, by=by), metrics.cac(frame, by=by),
                                      check_dtype=False)
    pd.testing.assert_frame_equal(metrics.funnel(data, by=["tactic"]),
                                  metrics.funnel(frame, by=["tactic"]), check_dtype=False)


def test_an_empty_period_on_the_engine_names_the_months_the_data_has(small_demo, engine_on):
    with pytest.raises(SalesnbError, match="no spend and no deals from 2031-01"):
        segments.open_data(small_demo, start="2031-01")


def test_the_store_is_built_once_per_fingerprint_and_rebuilt_when_a_byte_changes(
        small_demo, engine_on, tmp_path):
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(small_demo, folder)
    segments.open_data(folder)
    built = sorted((engine_on / store.STORE_FOLDER).glob("*.duckdb"))
    assert len(built) == 1
    first_mtime = built[0].stat().st_mtime_ns
    store._OPEN.clear()  # noqa: SLF001 (as a new kernel would)
    segments.open_data(folder)
    assert sorted((engine_on / store.STORE_FOLDER).glob("*.duckdb")) == built
    assert built[0].stat().st_mtime_ns == first_mtime  # reused, not rebuilt
    mapping = folder / "mapping.yml"
    mapping.write_text(mapping.read_text() + "# edited\n")  # one more line, a comment
    store._OPEN.clear()  # noqa: SLF001
    segments.open_data(folder)
    assert len(list((engine_on / store.STORE_FOLDER).glob("*.duckdb"))) == 2
    assert not list((engine_on / store.STORE_FOLDER).glob(".*building*"))


def test_an_interrupted_build_leaves_nothing_a_later_run_would_read(small_demo, engine_on,
                                                                    tmp_path):
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(small_demo, folder)
    deals = pd.read_parquet(folder / "deals.parquet")
    deals.loc[deals.index[:3], "deal_id"] = deals["deal_id"].iloc[3]  # duplicate deal ids
    deals.to_parquet(folder / "deals.parquet")
    with pytest.raises(SalesnbError, match="deal_id"):
        segments.open_data(folder)
    assert not [p for p in (engine_on / store.STORE_FOLDER).iterdir()
                if p.suffix != ".lock"]


def test_auto_keeps_only_large_parquet_deals_in_the_engine(small_demo, monkeypatch, tmp_path):
    monkeypatch.setenv(segments.ENGINE_ENV, "auto")
    assert not segments.uses_engine(small_demo)  # a few thousand deals: pandas
    monkeypatch.setattr(segments, "ENGINE_MIN_DEALS", 10)
    assert segments.uses_engine(small_demo)  # deals.parquet's footer says more than 10
    monkeypatch.setenv(segments.ENGINE_ENV, "off")
    assert not segments.uses_engine(small_demo)


def test_the_engine_setting_is_checked(small_demo, monkeypatch, tmp_path):
    monkeypatch.setenv(segments.ENGINE_ENV, "sometimes")
    with pytest.raises(SalesnbError, match="use auto, on or off"):
        segments.uses_engine(small_demo)
    monkeypatch.setenv(segments.ENGINE_ENV, "on")
    workbook = tmp_path / "crm.xlsx"
    workbook.write_bytes(b"")
    with pytest.raises(SalesnbError, match="is none of them"):
        segments.uses_engine(workbook)
    database = tmp_path / "crm.duckdb"
    database.write_bytes(b"")
    url = "postgresql://reader:secret@127.0.0.1:5432/crm"
    assert segments.uses_engine(database) and segments.uses_engine(url)
    monkeypatch.setenv(segments.ENGINE_ENV, "auto")  # a database: only when asked for
    assert not segments.uses_engine(database) and not segments.uses_engine(url)


def test_scan_of_data_without_a_decision_style_has_no_style_periods(small_demo, tmp_path):
    import shutil

    import yaml

    from salesnb import scan

    folder = tmp_path / "data"
    shutil.copytree(small_demo, folder)
    mapping = yaml.safe_load((folder / "mapping.yml").read_text())
    columns = mapping["tables"]["leaders"]["columns"]
    for field in [f for f in columns if f not in ("leader_id",)]:
        del columns[field]
    del mapping["tables"]["style_changes"]
    (folder / "mapping.yml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    engine = scan(folder)
    assert "style_periods" not in engine
    assert metrics.cac(engine, by=["tactic"])["new_customers"].sum() > 0


@pytest.mark.slow  # the whole-organisation suite twice: about 60 s
def test_the_report_suite_on_the_engine_shows_what_it_shows_from_pandas(small_demo, engine_on,
                                                                        tmp_path, capsys):
    """Every output of every notebook, but the lines that say where the rows are."""
    out = tmp_path / "reports"
    assert main(["report", "--data", str(small_demo), "--engine", "on", "--out", str(out),
                 "--name", "engine", "--no-pdf", "--jobs", "2"]) == 0
    said = capsys.readouterr().err
    assert "cleaning and checking" in said and "engine store ready in" in said
    assert said.index("engine store ready") < said.index("running 7 notebook(s)")
    assert main(["report", "--data", str(small_demo), "--engine", "off", "--out", str(out),
                 "--name", "pandas", "--no-pdf", "--jobs", "2"]) == 0
    manifests = {name: json.loads((out / name / "all" / "manifest.json").read_text())
                 for name in ("engine", "pandas")}
    notebooks = {name: {n["notebook"]: n for n in m["notebooks"]} for name, m in manifests.items()}
    assert set(notebooks["engine"]) == set(notebooks["pandas"]) and len(notebooks["engine"]) >= 7
    for name, run in notebooks["engine"].items():
        assert run["status"] == "ok", name
        expected = notebooks["pandas"][name]["facts"] or {}
        assert (run["facts"] or {}) == {key: pytest.approx(value, rel=1e-9)  # summation order
                                         if isinstance(value, float) else value
                                         for key, value in expected.items()}, name
        engine_outputs = _outputs(out / "engine" / "all" / Path(run["ipynb"]).name)
        pandas_outputs = _outputs(out / "pandas" / "all" / Path(run["ipynb"]).name)
        assert len(engine_outputs) == len(pandas_outputs), name
        differing = [(e, p) for e, p in zip(engine_outputs, pandas_outputs, strict=True) if e != p]
        assert all("stay in duckdb" in e or "fingerprint:" in e for e, _ in differing), name


def _outputs(notebook: Path) -> list[str]:
    """The text of each output, with the ids pandas' Styler draws at random taken out."""
    texts = []
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = (data.get("text/markdown") or data.get("text/html") or
                    data.get("text/plain") or output.get("text") or "")
            text = "".join(text) if isinstance(text, list) else text
            text = re.sub(r"T_[0-9a-f]{5}", "T_", text)
            texts.append(re.sub(r"took [0-9.]+ s", "took N s", text))
    return texts
