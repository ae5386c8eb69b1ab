"""Benchmark: wall time of `salesnb report` on the demo data, against an older commit.

    python benchmarks/report_bench.py                        # demo, --by region, jobs 1 and 2
    python benchmarks/report_bench.py --jobs 1 2 4 --by team --segments T01,T02,T03,T04
    python benchmarks/report_bench.py --notebooks tests/fixtures/notebooks/01_overview.ipynb
    python benchmarks/report_bench.py --jobs 2 --include-all --baseline ce4d60f --repeat 2
    python benchmarks/report_bench.py --jobs 2 --by "" --baseline ce4d60f   # whole organisation

Each run is a fresh `salesnb report` command (what a user runs), into a temporary folder that
is deleted afterwards; per-notebook durations come from the run's manifests. Failed notebooks
are counted and reported, not hidden (the command's exit code is 1 then).

``--baseline COMMIT`` runs that commit's code too, in the same run, alternating with the
current code (baseline, current cold, current warm, baseline, ...): the commit is checked out
in a temporary git worktree and put first on PYTHONPATH (its notebooks, its package; the
kernels inherit it), with the same environment. Every cold run gets an empty result cache
(``SALESNB_CACHE_DIR``); the warm run repeats the current code's cold run with its cache.
Per-notebook overhead is a notebook's wall time minus its cells' own time (papermill's
per-cell durations in the executed notebook).
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


def run_report(jobs: int, args: argparse.Namespace, out: Path, code: Path = PROJECT,
               cache: Path | None = None, name: str | None = None) -> dict[str, object]:
    """Run `salesnb report` once with the code in ``code``; wall time, per-notebook
    durations, overheads and failures."""
    name = name or f"bench-jobs{jobs}"
    command = [sys.executable, "-m", "salesnb.cli", "report", "--data", args.data,
               "--jobs", str(jobs), "--out", str(out), "--name", name, "--no-progress"]
    if args.by:
        command += ["--by", args.by]
    if args.segments:
        command += ["--segments", args.segments]
    if args.include_all:
        command += ["--include-all"]
    if args.notebooks:
        command += ["--notebooks", *args.notebooks]
    if args.no_pdf:
        command += ["--no-pdf"]
    env = dict(os.environ)
    if code != PROJECT:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    if cache is not None:
        env["SALESNB_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=code, check=False,
                          env=env)
    wall = time.perf_counter() - started
    run = out / name
    if not (run / "manifest.json").is_file():
        raise SystemExit(f"salesnb report failed before publishing:\n{done.stderr}")
    manifest = json.loads((run / "manifest.json").read_text())
    results = [r for s in manifest["segments"] for r in s["results"]]
    return {"jobs": jobs, "wall_s": wall, "notebooks": len(results),
            "segments": len(manifest["segments"]),
            "failed": sum(r["status"] != "ok" for r in results),
            "per_notebook_s": [r["duration_s"] for r in results],
            "overhead_s": [_overhead(run / s["folder"], r) for s in manifest["segments"]
                           for r in s["results"]]}


def _overhead(folder: Path, result: dict) -> float:
    """A notebook's wall time minus its cells' own time (papermill records both)."""
    executed = folder / f"{result['notebook']}.ipynb"
    try:
        cells = json.loads(executed.read_text())["cells"]
    except (OSError, ValueError):
        return float("nan")
    own = sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0 for c in cells)
    return result["duration_s"] - own


def _worktree(commit: str, folder: Path) -> Path:
    """``commit`` checked out in ``folder`` (a detached git worktree)."""
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), commit], cwd=PROJECT,
                   check=True, capture_output=True)
    return folder


def _line(label: str, row: dict) -> str:
    times, overheads = row["per_notebook_s"], row["overhead_s"]
    return (f"{label:<22} {row['wall_s']:7.1f} s wall, {row['notebooks']} notebooks in "
            f"{row['segments']} segments ({row['failed']} failed); per notebook median "
            f"{statistics.median(times):.1f} s, overhead median "
            f"{statistics.median(overheads):.2f} s, max {max(overheads):.2f} s")


def compare(args: argparse.Namespace) -> int:
    """The current code against ``--baseline``, alternating, ``--repeat`` times."""
    jobs = args.jobs[0]
    walls: dict[str, list[float]] = {"baseline": [], "cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as tmp:
        root = Path(tmp)
        baseline = _worktree(args.baseline, root / "baseline")
        try:
            for round_ in range(args.repeat):
                out = root / f"out{round_}"
                row = run_report(jobs, args, out, code=baseline, cache=root / f"b{round_}",
                                 name="baseline")
                walls["baseline"].append(row["wall_s"])
                print(_line(f"baseline {args.baseline}", row), flush=True)
                cache = root / f"c{round_}"
                for kind in ("cold", "warm"):
                    row = run_report(jobs, args, out, cache=cache, name=kind)
                    walls[kind].append(row["wall_s"])
                    print(_line(f"current, cache {kind}", row), flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)],
                           cwd=PROJECT, check=False, capture_output=True)
    base = statistics.median(walls["baseline"])
    for kind in ("cold", "warm"):
        ratios = [c / b for c, b in zip(walls[kind], walls["baseline"], strict=True)]
        print(f"current {kind} / baseline: {', '.join(f'{r:.2f}x' for r in ratios)} "
              f"(median {statistics.median(walls[kind]):.1f} s vs {base:.1f} s)")
    return 0


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
    parser.add_argument("--include-all", action="store_true",
                        help="also the whole organisation (what make report runs)")
    parser.add_argument("--no-pdf", action="store_true", help="no PDF of the briefs")
    parser.add_argument("--baseline", default=None, metavar="COMMIT",
                        help="also run this commit's code, alternating (first --jobs only)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds with --baseline")
    args = parser.parse_args(argv)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"data {args.data}, --by {args.by}")
    if args.baseline:
        return compare(args)
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
