"""Property tests: whatever bytes or cells an export holds, ``salesnb validate`` answers with
exit 0 or a clear error (exit 1), never a traceback, and writes nothing.

Random mapping documents are fuzzed in :mod:`tests.test_mapping_types`; here the data files
are: raw random bytes in place of a CSV, Parquet or workbook file, CSV-like random text, and
a random value in one cell of a valid export (to reach value parsing and validation).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesnb.cli import main
from tests.test_bad_inputs import BASE_FILES, make_base, snapshot

FUZZ = settings(max_examples=40, deadline=None,  # ~0.3 s a load: 4 x 40 loads, ~1 minute
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
CSV_ALPHABET = st.sampled_from(list("abcT1L2-:;,.\"'\n\r\t 0123456789€$%()eE+/_") +
                               ["9999-12-31", "2024-01-15", "inf", "NaN", "Total", "\ufeff",
                                "\x00", "é", "1e400"])


def _validate(folder: Path) -> tuple[int, str]:
    """Run ``salesnb validate`` in-process; any exception escaping it fails the test."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["validate", str(folder)])
    return code, stderr.getvalue()


def _check(folder: Path) -> None:
    before = snapshot(folder)
    code, err = _validate(folder)
    assert code in (0, 1), err
    assert "Traceback" not in err
    if code == 1:
        assert err.startswith("error:"), err
    assert snapshot(folder) == before, "validation wrote into the data folder"


@pytest.mark.slow
@FUZZ
@given(data=st.binary(max_size=3000),
       name=st.sampled_from(["teams.csv", "spend.csv", "deals.csv", "leaders.csv"]))
def test_random_bytes_in_a_csv_file(tmp_path_factory, data, name):
    folder = make_base(tmp_path_factory.mktemp("bytes"))
    (folder / name).write_bytes(data)
    _check(folder)


@pytest.mark.slow
@FUZZ
@given(text=st.lists(CSV_ALPHABET, max_size=400).map("".join),
       name=st.sampled_from(["teams.csv", "spend.csv", "deals.csv", "reps.csv"]))
def test_csv_like_random_text(tmp_path_factory, text, name):
    folder = make_base(tmp_path_factory.mktemp("text"))
    header = BASE_FILES[name].splitlines()[0]
    (folder / name).write_text(header + "\n" + text, encoding="utf-8", errors="surrogatepass")
    _check(folder)


@pytest.mark.slow
@FUZZ
@given(value=st.one_of(st.text(max_size=40), CSV_ALPHABET),
       name=st.sampled_from(["spend.csv", "deals.csv", "reps.csv", "leaders.csv",
                             "touches.csv", "style_changes.csv"]),
       row=st.integers(1, 2), column=st.integers(0, 8))
def test_a_random_value_in_one_cell(tmp_path_factory, value, name, row, column):
    folder = make_base(tmp_path_factory.mktemp("cell"))
    lines = BASE_FILES[name].splitlines()
    row = 1 + row % (len(lines) - 1)
    cells = lines[row].split(",")
    cells[column % len(cells)] = '"' + value.replace('"', '""') + '"'
    lines[row] = ",".join(cells)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8",
                               errors="surrogatepass")
    _check(folder)


@pytest.mark.slow
@FUZZ
@given(data=st.binary(max_size=3000), kind=st.sampled_from(["parquet", "xlsx"]),
       prefix=st.sampled_from([b"", b"PAR1", b"PK\x03\x04"]))
def test_random_bytes_as_a_parquet_file_or_workbook(tmp_path_factory, data, kind, prefix):
    folder = make_base(tmp_path_factory.mktemp("binary"))
    (folder / f"spend.{kind}").write_bytes(prefix + data)
    mapping = folder / "mapping.yml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace(
        "source: spend.csv", f"source: spend.{kind}"), encoding="utf-8")
    _check(folder)
