"""Loading a folder of exports: ``salesnb.load`` against a hand-written pandas loader.

The user path is ``salesnb.load(folder)``: the mapping, every value read strictly (dates,
numbers, categories), export debris dropped, and every table validated. The baseline is the
best plain pandas can do on the same files without any of those checks: ``pd.read_parquet``,
and ``pd.read_csv`` (pyarrow engine) with the ISO date columns given up front
(``parse_dates=``, ``date_format="ISO8601"``). Both run in the same process, alternately,
so the ratio is measured under the same machine load.

Run ``python benchmarks/load_bench.py [--data FOLDER] [--repeat 5]``; figures are in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

import salesnb
from salesnb.paths import DEMO_DIR

DATES = {"deals.csv": ["close_date", "created_date"], "reps.csv": ["hire_date", "exit_date"],
         "touches.csv": ["touch_date"], "style_changes.csv": ["effective_date"],
         "spend.csv": ["period"]}
"""The date columns of the demo's CSV files (what a hand-written loader would know)."""


def plain_pandas(folder: Path) -> dict[str, pd.DataFrame]:
    """Every CSV and Parquet file of the folder, ISO dates given up front: no checks at all."""
    tables = {}
    for path in sorted(folder.glob("*.parquet")):
        tables[path.stem] = pd.read_parquet(path)
    for path in sorted(folder.glob("*.csv")):
        dates = DATES.get(path.name, [])
        tables[path.stem] = pd.read_csv(path, parse_dates=dates, date_format="ISO8601",
                                        dtype_backend="pyarrow", engine="pyarrow")
    return tables


def user_path(folder: Path) -> dict[str, pd.DataFrame]:
    """What users run: ``salesnb.load`` (mapping, strict values, validation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return salesnb.load(folder).tables


def main(argv: list[str] | None = None) -> int:
    """Time both loaders ``--repeat`` times each, alternating; print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEMO_DIR,
                        help="a folder of CSV exports with its mapping.yml (default: the demo)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each loader (default 5)")
    args = parser.parse_args(argv)
    loaded, baseline = user_path(args.data), plain_pandas(args.data)  # warm up, and compare
    rows = {name: len(frame) for name, frame in loaded.items()}
    for name, frame in baseline.items():
        if name in rows and rows[name] > len(frame):
            print(f"failed: salesnb kept {rows[name]} {name} rows of {len(frame)}")
            return 1
    times: dict[str, list[float]] = {"salesnb.load": [], "plain pandas": []}
    for _ in range(args.repeat):
        for label, loader in (("salesnb.load", user_path), ("plain pandas", plain_pandas)):
            started = time.perf_counter()
            loader(args.data)
            times[label].append(time.perf_counter() - started)
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"{sum(rows.values()):,} rows in {len(rows)} tables from {args.data}")
    for label, values in times.items():
        print(f"{label:>14}: median {medians[label]:.2f} s "
              f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)")
    print(f"salesnb.load = {medians['salesnb.load'] / medians['plain pandas']:.1f}x "
          "plain pandas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
