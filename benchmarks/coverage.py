"""Coverage study: do the drivers model's 95% intervals cover the planted effects?

    python benchmarks/coverage.py --seeds 50 [--teams 40 --months 24] [--elasticity] [--guard]

For each seed: generate the demo, fit the drivers model, record for every planted
effect (tactic, decision style, involvement, traits, the tactic x style interaction)
whether its 95% interval covers the truth, and the estimate's bias on the log scale.
``--guard`` uses the few-team guard as the model suite does (wild cluster bootstrap
intervals for the terms :meth:`DriversFit.guarded_terms` picks); ``--wild-all`` uses the
wild cluster bootstrap for every term. ``--situational`` adds the planted situational
effect (style by segment, :func:`salesnb.models.style_by_situation`: raw and shrunk
intervals per segment, and how often the joint test rejects); ``--attrition`` adds the
planted attrition hazard ratios (:func:`salesnb.models.rep_attrition`, style in force).
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
             guard: bool = False, wild_all: bool = False, situational: bool = False,
             attrition: bool = False) -> pd.DataFrame:
    from salesnb import demo, load, metrics, models

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "data"
        truth = demo.generate(out=out, seed=seed, teams=teams, months=months)["truth"].attrs[
            "truth"]
        data = load(out)
        panel = metrics.panel(data)
        fit = models.fit_drivers(panel, elasticity=elasticity)
        extra = []
        if situational:
            extra.append(situational_rows(seed, panel, truth))
        if attrition:
            extra.append(attrition_rows(seed, data, truth))
    wild = True if wild_all else fit.guarded_terms() if guard else ()
    effects = fit.effects(wild=wild).set_index("term")
    rows = []
    for term, value in demo.planted_effects(truth).items():
        row = effects.loc[term]
        rows.append({"seed": seed, "part": "drivers", "term": term, "truth": value,
                     "estimate": row["estimate"],
                     "wild": "wild" in row["model"],
                     "covered": row["ci_low"] <= value <= row["ci_high"],
                     "log_bias": np.log(row["estimate"] / value)})
    return pd.concat([pd.DataFrame(rows), *extra], ignore_index=True)


def situational_rows(seed: int, panel: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """Coverage rows for the planted style x segment effect: every style's multiplier in
    every segment (raw and shrunk interval), and the joint test's rejection as ``covered``
    of a pseudo-term ``situational test rejects``.
    """
    from salesnb import models

    planted = truth["situational_effect"]
    result = models.style_by_situation(panel, by=planted["by"], style="decision_style")
    marginal = truth["decision_style_cac_multiplier"]
    rows = []
    for cell in result.effects.itertuples():
        value = marginal[cell.style] * (planted["cac_multiplier"].get(cell.level, 1.0)
                                        if cell.style == planted["decision_style"] else 1.0)
        for kind, estimate, low, high in (("raw", cell.estimate, cell.ci_low, cell.ci_high),
                                          ("shrunk", cell.shrunk, cell.shrunk_low,
                                           cell.shrunk_high)):
            rows.append({"seed": seed, "part": "situational",
                         "term": f"{cell.style} in {cell.level} ({kind})",
                         "truth": value, "estimate": estimate, "wild": False,
                         "covered": low <= value <= high,
                         "log_bias": np.log(estimate / value)})
    rows.append({"seed": seed, "part": "situational",
                 "term": "situational test rejects (p < 0.05)", "truth": np.nan,
                 "estimate": float(result.tests.iloc[0]["p"]), "wild": True,
                 "covered": bool(result.tests.iloc[0]["p"] < 0.05), "log_bias": np.nan})
    return pd.DataFrame(rows)


def attrition_rows(seed: int, data, truth: dict) -> pd.DataFrame:
    """Coverage rows for the planted attrition hazard ratios (style in force), with the
    terms planted at 1 (involvement, training hours) as nulls.
    """
    from salesnb import models

    planted = {f"decision_style={s}": v for s, v in
               truth["attrition_hazard_ratio_by_style"].items() if s != "consultative"}
    planted |= {"recognition": truth["attrition_hazard_ratio_recognition"],
                "involvement=delegating": 1.0, "involvement=hands_on": 1.0, "training10": 1.0}
    hazards = models.rep_attrition(data).set_index("term")
    return pd.DataFrame([
        {"seed": seed, "part": "attrition", "term": term, "truth": value,
         "estimate": hazards.loc[term, "estimate"], "wild": False,
         "covered": hazards.loc[term, "ci_low"] <= value <= hazards.loc[term, "ci_high"],
         "log_bias": np.log(hazards.loc[term, "estimate"] / value)}
        for term, value in planted.items() if term in hazards.index])


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
    parser.add_argument("--situational", action="store_true",
                        help="also the planted style x segment effect")
    parser.add_argument("--attrition", action="store_true",
                        help="also the planted attrition hazard ratios")
    parser.add_argument("--save", type=Path, help="write every seed's rows to this CSV")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frames = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        frames.append(one_seed(seed, args.teams, args.months, args.elasticity, args.guard,
                               args.wild_all, args.situational, args.attrition))
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    results = pd.concat(frames)
    if args.save:
        results.to_csv(args.save, index=False)
    table = results.groupby(["part", "term"], sort=False).agg(
        truth=("truth", "first"), coverage=("covered", "mean"), wild_share=("wild", "mean"),
        mean_estimate=("estimate", "mean"), log_bias=("log_bias", "mean"),
        log_bias_se=("log_bias", lambda b: b.std(ddof=1) / np.sqrt(len(b))))
    model = ("elasticity" if args.elasticity else "offset") + (
        ", wild for all terms" if args.wild_all else ", guard" if args.guard else "")
    print(f"{args.seeds} seeds, {args.teams} teams x {args.months} months, {model} model, "
          f"{time.perf_counter() - started:.0f} s")
    print(table.round(3).to_string())
    drivers = results[results["part"] == "drivers"]
    print(f"overall coverage (drivers model): {drivers['covered'].mean():.3f}")
    every = drivers.groupby("seed")["covered"].all()
    print(f"seeds where every planted effect is covered: {every.sum()} of {len(every)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
