"""Null calibration: how often does the brief state a leadership finding that is false?

    python benchmarks/null_calibration.py --seeds 50 --variant shuffled [--start 1]
    python benchmarks/null_calibration.py --seeds 50 --variant few --leaders 6 --teams 35

For each seed: generate the demo, make its leader labels arbitrary
(:mod:`salesnb.synthetic.null_variants`: ``shuffled`` permutes the leaders' attributes
and style histories across leaders; ``few`` puts the teams under a handful of new leaders
with random styles, the shape of the public CRM with 35 reps under 6 managers), run the
model suite and the brief's key findings, and record whether any leadership finding is
stated (leadership style, tactic x style, leader traits, people). Every such finding is
false by construction. Prints the share of seeds with one; record it in
benchmarks/README.md. Runs on whatever salesnb is importable (a checkout of an older
commit measures "before").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

LEADERSHIP_TOPICS = ("leadership style", "tactic x leadership style", "leader traits", "people")


def one_seed(seed: int, variant: str, teams: int, leaders: int) -> dict:
    """Generate, relabel, run the suite and the brief's findings; what was claimed."""
    from salesnb import demo, load, models
    from salesnb.report import narrative
    from salesnb.synthetic import null_variants

    tables = demo.generate(seed=seed, teams=teams)
    tables = (null_variants.shuffled_leaders(tables, seed) if variant == "shuffled"
              else null_variants.few_leaders(tables, leaders, seed))
    with tempfile.TemporaryDirectory() as folder:
        data = load(null_variants.write_variant(tables, Path(folder) / "data", variant))
        started = time.perf_counter()
        suite = models.model_suite(data)
        seconds = time.perf_counter() - started
    findings = narrative.key_findings(suite, limit=20)
    false = findings[findings["topic"].isin(LEADERSHIP_TOPICS) & (findings["strength"] < 1)]
    return {"seed": seed, "claims": len(false), "topics": ", ".join(false["topic"]),
            "suite_seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    """Run the study and print the share of seeds with a false leadership finding."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--variant", choices=("shuffled", "few"), default="shuffled")
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--leaders", type=int, default=6)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = []
    for seed in range(args.start, args.start + args.seeds):
        row = one_seed(seed, args.variant, args.teams, args.leaders)
        rows.append(row)
        print(f"seed {seed}: {row['claims']} false claim(s) {row['topics']} "
              f"(suite {row['suite_seconds']} s)", file=sys.stderr, flush=True)
    with_claim = sum(r["claims"] > 0 for r in rows)
    topics: dict[str, int] = {}
    for r in rows:
        for topic in filter(None, r["topics"].split(", ")):
            topics[topic] = topics.get(topic, 0) + 1
    print(f"variant {args.variant}, {args.teams} teams"
          + (f", {args.leaders} leaders" if args.variant == "few" else "")
          + f": {with_claim} of {len(rows)} seeds state a leadership finding "
          f"({with_claim / len(rows):.0%}); by topic {topics or 'none'}; "
          f"median suite {sorted(r['suite_seconds'] for r in rows)[len(rows) // 2]} s; "
          f"{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
