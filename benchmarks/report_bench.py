"""Benchmark: wall time of `salesnb report` on the demo data, and the speed-up of --jobs N.

    python benchmarks/report_bench.py                        # demo, --by region, jobs 1 and 2
    python benchmarks/report_bench.py --jobs 1 2 4 --by team --segments T01,T02,T03,T04
    python benchmarks/report_bench.py --notebooks tests/fixtures/notebooks/01_overview.ipynb

Each run is a fresh `salesnb report` command (what a user runs), into a temporary folder that
is deleted afterwards; per-notebook durations come from the run's manifests. Failed notebooks
are counted and reported, not hidden (the command's exit code is 1 then).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent


def run_report(jobs: int, args: argparse.Namespace, out: Path) -> dict[str, object]:
    """Run `salesnb report` once; wall time, per-notebook durations and failures."""
    name = f"bench-jobs{jobs}"
    command = [sys.executable, "-m", "salesnb.cli", "report", "--data", args.data,
               "--jobs", str(jobs), "--out", str(out), "--name", name, "--no-progress"]
    if args.by:
        command += ["--by", args.by]
    if args.segments:
        command += ["--segments", args.segments]
    if args.notebooks:
        command += ["--notebooks", *args.notebooks]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, check=False)
    wall = time.perf_counter() - started
    run = out / name
    if not (run / "manifest.json").is_file():
        raise SystemExit(f"salesnb report failed before publishing:\n{done.stderr}")
    manifest = json.loads((run / "manifest.json").read_text())
    results = [r for s in manifest["segments"] for r in s["results"]]
    return {"jobs": jobs, "wall_s": wall, "notebooks": len(results),
            "segments": len(manifest["segments"]),
            "failed": sum(r["status"] != "ok" for r in results),
            "per_notebook_s": [r["duration_s"] for r in results]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(PROJECT / "data" / "demo"),
                        help="data source (default: the bundled demo)")
    parser.add_argument("--by", default="region", help="segment column (default: region)")
    parser.add_argument("--segments", default=None, help="only these segment values (V1,V2)")
    parser.add_argument("--notebooks", nargs="+", default=None,
                        help="notebooks (default: the suite in notebooks/)")
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2],
                        help="worker counts to compare (default: 1 2)")
    args = parser.parse_args(argv)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"data {args.data}, --by {args.by}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as tmp:
        for jobs in args.jobs:
            row = run_report(jobs, args, Path(tmp))
            rows.append(row)
            times = row["per_notebook_s"]
            print(f"jobs {jobs}: {row['wall_s']:6.1f} s wall for {row['notebooks']} notebooks "
                  f"in {row['segments']} segments ({row['failed']} failed); per notebook "
                  f"median {statistics.median(times):.1f} s, max {max(times):.1f} s")
    base = rows[0]["wall_s"]
    for row in rows[1:]:
        print(f"speed-up jobs {row['jobs']} vs {rows[0]['jobs']}: {base / row['wall_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
