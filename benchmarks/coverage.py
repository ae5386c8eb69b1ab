"""Coverage study: do the drivers model's 95% intervals cover the planted effects?

    python benchmarks/coverage.py --seeds 50 [--teams 40 --months 24] [--elasticity] [--guard]

For each seed: generate the demo, fit the drivers model, record for every planted
effect (tactic, decision style, involvement, traits, the tactic x style interaction)
whether its 95% interval covers the truth, and the estimate's bias on the log scale.
``--guard`` uses the few-team guard as the model suite does (wild cluster bootstrap
intervals for the terms :meth:`DriversFit.guarded_terms` picks); ``--wild-all`` uses the
wild cluster bootstrap for every term.
Prints a table per effect; record it in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def one_seed(seed: int, teams: int, months: int, elasticity: bool,
             guard: bool = False, wild_all: bool = False) -> pd.DataFrame:
    from salesnb import demo, load, metrics, models

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "data"
        truth = demo.generate(out=out, seed=seed, teams=teams, months=months)["truth"].attrs[
            "truth"]
        fit = models.fit_drivers(metrics.panel(load(out)), elasticity=elasticity)
    wild = True if wild_all else fit.guarded_terms() if guard else ()
    effects = fit.effects(wild=wild).set_index("term")
    rows = []
    for term, value in demo.planted_effects(truth).items():
        row = effects.loc[term]
        rows.append({"seed": seed, "term": term, "truth": value, "estimate": row["estimate"],
                     "wild": "wild" in row["model"],
                     "covered": row["ci_low"] <= value <= row["ci_high"],
                     "log_bias": np.log(row["estimate"] / value)})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--elasticity", action="store_true",
                        help="estimate the spend exponent instead of the log(spend) offset")
    parser.add_argument("--guard", action="store_true",
                        help="wild cluster bootstrap intervals where the model suite uses them")
    parser.add_argument("--wild-all", action="store_true",
                        help="wild cluster bootstrap intervals for every term")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frames = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        frames.append(one_seed(seed, args.teams, args.months, args.elasticity, args.guard,
                               args.wild_all))
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    results = pd.concat(frames)
    table = results.groupby("term").agg(
        truth=("truth", "first"), coverage=("covered", "mean"), wild_share=("wild", "mean"),
        mean_estimate=("estimate", "mean"), log_bias=("log_bias", "mean"),
        log_bias_se=("log_bias", lambda b: b.std(ddof=1) / np.sqrt(len(b))))
    model = ("elasticity" if args.elasticity else "offset") + (
        ", wild for all terms" if args.wild_all else ", guard" if args.guard else "")
    print(f"{args.seeds} seeds, {args.teams} teams x {args.months} months, {model} model, "
          f"{time.perf_counter() - started:.0f} s")
    print(table.round(3).to_string())
    print(f"overall coverage: {results['covered'].mean():.3f}")
    every = results.groupby("seed")["covered"].all()
    print(f"seeds where every planted effect is covered: {every.sum()} of {len(every)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
