"""Benchmark: the report suite on N deals kept in the engine, with the memory of every process.

    python benchmarks/engine_report_bench.py                     # 10M deals, --jobs 2
    python benchmarks/engine_report_bench.py --rows 50000000     # the issue's 50M target

The data is `engine_bench.py`'s (deals as one Parquet file; spend, teams and leaders), made
once under ``benchmarks/data``. Each run is the command a user runs, ``salesnb report --data
FOLDER --engine on --no-pdf``, into a temporary folder, with an empty result cache for the
cold run (which also builds the DuckDB store: the one scan of the raw files) and the same cache
for the warm run. Every 0.2 s the resident memory of the command and all its descendants
(workers, kernel zygotes, kernels) is sampled with psutil: the peak of their **sum** and the
peak of the **largest single process** are reported.

Baseline, measured in the same run: ``salesnb.scan`` of the folder then ``metrics.cac`` by team
x tactic x month in one process (the engine path without the reports), as its wall time and
peak RSS. The pandas path (``salesnb.load``) is not a baseline at 50M: it does not fit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from engine_bench import generate  # noqa: E402  (the benchmarks' shared data)

SCAN_AND_CAC = """
import resource, sys, time
from salesnb import metrics, scan
start = time.perf_counter()
cac = metrics.cac(scan(sys.argv[1]), by=["team_id", "tactic"], period="month")
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      len(cac))
"""


def sampled(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``command``; its wall time, exit code and the peak RSS of its process tree (MB)."""
    import psutil

    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    root = psutil.Process(process.pid)
    peak_sum = peak_one = 0.0
    while process.poll() is None:
        sizes = []
        try:
            for member in [root, *root.children(recursive=True)]:
                try:
                    sizes.append(member.memory_info().rss / 2**20)
                except psutil.Error:
                    continue
        except psutil.Error:
            pass
        if sizes:
            peak_sum, peak_one = max(peak_sum, sum(sizes)), max(peak_one, max(sizes))
        time.sleep(0.2)
    errors = process.stderr.read() if process.stderr else ""
    return {"wall_s": time.perf_counter() - start, "returncode": process.returncode,
            "peak_sum_mb": peak_sum, "peak_process_mb": peak_one,
            "stderr_tail": errors.strip().splitlines()[-3:]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args(argv)
    folder = generate(args.rows, args.data / f"deals-{args.rows}")
    results = {"rows": args.rows, "jobs": args.jobs}
    with tempfile.TemporaryDirectory(prefix="salesnb-engine-report-") as temp:
        env = dict(os.environ, SALESNB_CACHE_DIR=str(Path(temp) / "cache"))
        baseline = subprocess.run([sys.executable, "-c", SCAN_AND_CAC, str(folder)], env=env,
                                  capture_output=True, text=True, check=True)
        wall, peak, cells = baseline.stdout.strip().splitlines()[-1].split()
        results["scan_and_cac"] = {"wall_s": float(wall), "peak_mb": float(peak),
                                   "cells": int(cells)}
        for run in ("cold", "warm"):
            command = [str(Path(sys.executable).with_name("salesnb")), "report",
                       "--data", str(folder), "--engine", "on", "--no-pdf",
                       "--jobs", str(args.jobs), "--out", str(Path(temp) / "reports"),
                       "--name", run]
            results[run] = sampled(command, env)
            manifest = Path(temp) / "reports" / run / "all" / "manifest.json"
            if manifest.exists():
                notebooks = json.loads(manifest.read_text())["notebooks"]
                results[run]["notebooks"] = {n["notebook"]: [n["status"], n["duration_s"]]
                                             for n in notebooks}
    print(json.dumps(results, indent=2))
    cold = results["cold"]
    print(f"\n{args.rows:,} deals, --jobs {args.jobs}: cold {cold['wall_s']:.0f} s "
          f"(peak {cold['peak_sum_mb']:,.0f} MB summed, {cold['peak_process_mb']:,.0f} MB in "
          f"one process), warm {results['warm']['wall_s']:.0f} s; scan + CAC alone "
          f"{results['scan_and_cac']['wall_s']:.0f} s, {results['scan_and_cac']['peak_mb']:,.0f} "
          f"MB; cold/scan+CAC {cold['wall_s'] / results['scan_and_cac']['wall_s']:.2f}x")
    return 0 if all(results[r]["returncode"] == 0 for r in ("cold", "warm")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
