"""The result cache: reused by key, recomputed on any change, safe across processes."""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from salesnb import cache
from salesnb.errors import SalesnbWarning
from salesnb.paths import DEMO_DIR


@pytest.fixture()
def folder(tmp_path, monkeypatch) -> Path:
    """A cache folder of this test's own, counters at zero."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    cache.stats.reset()
    return tmp_path / "cache"


class Counter:
    """A computation that counts how often it really ran."""

    def __init__(self, value=42):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return {"value": self.value, "frame": pd.DataFrame({"x": [1, 2, 3]})}


def test_same_key_is_computed_once_and_reused(folder):
    compute = Counter()
    first = cache.cached("kind", {"data": "abc", "n": 1}, compute)
    second = cache.cached("kind", {"n": 1, "data": "abc"}, compute)  # order does not matter
    assert compute.calls == 1
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)
    assert second["value"] == 42
    pd.testing.assert_frame_equal(first["frame"], second["frame"])
    assert len(list((folder / "kind").glob("*.pickle"))) == 1


@pytest.mark.parametrize("change", [{"data": "abd", "n": 1}, {"data": "abc", "n": 2},
                                    {"data": "abc", "n": 1, "seed": 0}])
def test_any_change_of_what_it_depends_on_recomputes(folder, change):
    compute = Counter()
    cache.cached("kind", {"data": "abc", "n": 1}, compute)
    cache.cached("kind", change, compute)
    assert compute.calls == 2
    cache.cached("other_kind", {"data": "abc", "n": 1}, compute)
    assert compute.calls == 3


def test_the_code_fingerprint_follows_every_source_file_and_the_version(tmp_path):
    package = tmp_path / "salesnb"
    shutil.copytree(cache.PACKAGE, package, ignore=shutil.ignore_patterns("_bundled", "*.pyc"))
    before = cache.code_fingerprint(package)
    init = package / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9'))
    after_version = cache.code_fingerprint.__wrapped__(package)
    assert after_version != before
    module = package / "models" / "drivers.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    assert cache.code_fingerprint.__wrapped__(package) not in {before, after_version}
    assert cache.code_fingerprint() == cache.code_fingerprint(cache.PACKAGE)


def test_a_corrupt_entry_is_recomputed_with_a_note(folder):
    compute = Counter()
    cache.cached("kind", {"k": 1}, compute)
    (entry,) = (folder / "kind").glob("*.pickle")
    entry.write_bytes(entry.read_bytes()[:20])  # a truncated write (machine crashed)
    with pytest.warns(SalesnbWarning, match="could not be read.*recomputed"):
        again = cache.cached("kind", {"k": 1}, compute)
    assert compute.calls == 2 and again["value"] == 42 and cache.stats.unreadable == 1
    entry.write_bytes(pickle.dumps("not an entry"))
    with pytest.warns(SalesnbWarning, match="could not be read"):
        cache.cached("kind", {"k": 1}, compute)
    assert compute.calls == 3
    cache.cached("kind", {"k": 1}, compute)  # the recomputed entry is good again
    assert compute.calls == 3


def test_off_means_always_computed(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    monkeypatch.chdir(tmp_path)
    compute = Counter()
    cache.cached("kind", {"k": 1}, compute)
    cache.cached("kind", {"k": 1}, compute)
    assert compute.calls == 2 and cache.cache_folder() is None
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_only_costs_the_reuse(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    compute = Counter()
    with pytest.warns(SalesnbWarning, match="could not be stored"):
        value = cache.cached("kind", {"k": 1}, compute)
    assert value["value"] == 42


def test_an_unpicklable_result_is_returned_and_not_stored(folder):
    with pytest.warns(SalesnbWarning, match="could not be stored"):
        value = cache.cached("kind", {"k": 1}, lambda: (lambda: 1))
    assert value() == 1
    assert not list((folder / "kind").glob("*.pickle")) + list((folder / "kind").glob("*.tmp"))


def test_warnings_are_raised_again_on_reuse(folder):
    def noisy():
        for _ in range(3):  # one place: shown once, as Python's default filter does
            warnings.warn("3 rows had no close date", SalesnbWarning, stacklevel=1)
        return 1

    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert cache.cached("kind", {"k": 1}, noisy) == 1
        assert [str(w.message) for w in caught] == ["3 rows had no close date"]
        assert caught[0].category is SalesnbWarning
    assert cache.stats.hits == 1


def _slow_compute(log: str) -> str:
    import os
    import time

    with open(log, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    time.sleep(1.0)
    return "fitted"


def _racer(folder: str, log: str, results) -> None:
    import functools
    import os

    os.environ[cache.CACHE_ENV] = folder
    results.put(cache.cached("race", {"k": 1}, functools.partial(_slow_compute, log)))


def test_two_processes_racing_on_one_key_compute_it_once(folder, tmp_path):
    log = tmp_path / "computed.log"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    racers = [context.Process(target=_racer, args=(str(folder), str(log), results))
              for _ in range(3)]
    for racer in racers:
        racer.start()
    values = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(30)
    assert values == ["fitted"] * 3
    assert len(log.read_text().split()) == 1, "the computation ran more than once"
    assert not list((folder / "race").glob("*.tmp"))


# --- loading through the cache -------------------------------------------------------------

@pytest.fixture()
def demo_copy(tmp_path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, target)
    return target


def test_a_reused_load_equals_a_fresh_one(folder, demo_copy):
    from salesnb import load
    from salesnb.io.load_cache import load_reused

    first = load_reused(demo_copy)
    second = load_reused(demo_copy)
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)
    fresh = load(demo_copy)
    assert second.fingerprint == fresh.fingerprint == first.fingerprint
    assert second.notes == fresh.notes
    for name, table in fresh.tables.items():
        pd.testing.assert_frame_equal(second.tables[name], table)


def test_a_changed_byte_in_the_data_or_the_mapping_loads_again(folder, demo_copy):
    from salesnb.io.load_cache import load_reused

    spend = demo_copy / "spend.csv"
    load_reused(demo_copy)
    text = spend.read_text()
    first_line, second_line, rest = text.split("\n", 2)
    digits = [i for i, ch in enumerate(second_line) if ch.isdigit()]
    edited = second_line[:digits[-1]] + str((int(second_line[digits[-1]]) + 1) % 10) \
        + second_line[digits[-1] + 1:]
    spend.write_text("\n".join([first_line, edited, rest]))
    changed = load_reused(demo_copy)
    assert cache.stats.misses == 2
    mapping = demo_copy / "mapping.yml"
    mapping.write_text(mapping.read_text() + "\n# a comment changes the bytes\n")
    load_reused(demo_copy)
    assert cache.stats.misses == 3 and cache.stats.hits == 0
    assert changed.tables["spend"]["cost"].sum() != load_reused(DEMO_DIR).tables[
        "spend"]["cost"].sum()


def test_database_urls_and_outside_files_are_never_reused(demo_copy, monkeypatch):
    from salesnb.io.load_cache import source_fingerprint

    assert source_fingerprint("postgresql://user@127.0.0.1/sales") is None
    assert source_fingerprint(demo_copy) is not None
    monkeypatch.setenv("SALESNB_ALLOW_OUTSIDE_DATA", "1")
    assert source_fingerprint(demo_copy) is None
    monkeypatch.delenv("SALESNB_ALLOW_OUTSIDE_DATA")
    mapping = demo_copy / "mapping.yml"
    mapping.write_text(mapping.read_text().replace(
        "source: spend.csv", "source: postgresql://reader@127.0.0.1/sales", 1))
    assert source_fingerprint(demo_copy) is None  # one table from a server: never reused
    (demo_copy / "mapping.yml").unlink()
    assert source_fingerprint(demo_copy) is None  # no mapping: the load says why


def test_a_workbook_is_fingerprinted_with_the_files_its_mapping_names(demo_copy):
    from salesnb.io.load_cache import source_fingerprint

    workbook = demo_copy / "export.xlsx"
    workbook.write_bytes(b"not really a workbook: only its bytes are hashed here")
    before = source_fingerprint(workbook)
    assert before is not None
    spend = demo_copy / "spend.csv"
    spend.write_text(spend.read_text() + "\n")
    after = source_fingerprint(workbook)
    assert after != before  # the mapping names spend.csv
    (demo_copy / "notes.txt").write_text("a file the mapping does not name")
    assert source_fingerprint(workbook) == after  # beside a workbook, only named files count


# --- the analyses the notebooks share ------------------------------------------------------

def test_analyses_are_shared_by_segment_and_parameters(folder):
    from salesnb.engine import segments
    from salesnb.report import computed

    north = segments.open_data(by="region", value="North")
    computed.cac_intervals(north, n_boot=100)
    misses = cache.stats.misses
    again = segments.open_data(by="region", value="North")  # another notebook of the segment
    first = computed.cac_intervals(again, n_boot=100)
    assert cache.stats.misses == misses
    computed.cac_intervals(again, n_boot=120)
    assert cache.stats.misses == misses + 1
    south = computed.cac_intervals(segments.open_data(by="region", value="South"), n_boot=100)
    assert cache.stats.misses == misses + 2
    assert not first.equals(south)


@pytest.mark.slow  # one model suite (seconds)
def test_the_suite_and_the_leadership_notebook_share_one_style_change_fit(folder):
    from salesnb.engine import segments
    from salesnb.report import computed

    data = segments.open_data(by="region", value="North")
    suite = computed.model_suite(data)
    misses = cache.stats.misses
    changes = computed.style_change_effects(data)  # what notebook 04 asks for
    assert cache.stats.misses == misses and cache.stats.hits >= 1
    assert suite.style_change_effects is not None
    pd.testing.assert_frame_equal(changes["effects"], suite.style_change_effects)


def test_the_cache_command_says_where_and_clears(folder, capsys):
    from salesnb.cli import main

    cache.cached("kind", {"k": 1}, Counter())
    cache.cached("kind", {"k": 2}, Counter())
    assert main(["cache"]) == 0
    said = capsys.readouterr().out
    assert str(folder) in said and "2 result(s)" in said
    assert main(["cache", "clear"]) == 0
    assert "deleted 2 cached result(s)" in capsys.readouterr().out
    assert not folder.exists()
    compute = Counter()
    cache.cached("kind", {"k": 1}, compute)
    assert compute.calls == 1  # cleared means computed again
