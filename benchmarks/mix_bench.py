"""Marketing-mix model on totals: coverage over seeds, ranking, confounder bias, fit time.

    python benchmarks/mix_bench.py --seeds 50 [--first-seed 1] [--n-boot 200] [--timing-runs 5]

Data: :func:`salesnb.synthetic.mix_demo.generate` (3 years; six tactics with planted average
CACs 120-1,600, geometric carry-over, Hill saturation, a demand confounder that drives the
baseline and the spend of three tactics, price and events). For each seed and scenario the
model is fitted and every tactic's true average CAC is checked against its 95% interval.

Scenarios: ``weekly`` (one market, 157 weeks, block bootstrap: the issue's benchmark
configuration), ``weekly_fisher`` (same data, parametric intervals), ``weekly_no_confounder``
(same data, ``demand_index`` left out), ``monthly_pooled`` (36 months x 8 markets with
leaders' styles, pooled curves). Baselines on the weekly data, measured in the same run:
``spend_share_split`` (each period's customers split over tactics by that period's spend
share: the naive attribution) and ``glm_raw_spend`` (a statsmodels Gaussian GLM of customers on
raw spend and the same baseline terms: no carry-over, no saturation; CAC = 1 / coefficient).
Prints markdown tables; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import pandas as pd

CONTROLS = ["demand_index", "price", "event"]
SCENARIOS = ("weekly", "weekly_fisher", "weekly_no_confounder", "monthly_pooled")


def _scenario(name: str, seed: int, n_boot: int):
    """(model, truth) of one scenario and seed."""
    from salesnb.curves.mix import fit_mix_model
    from salesnb.synthetic import mix_demo

    if name == "monthly_pooled":
        frame, truth = mix_demo.generate(seed=seed, period="month", markets=8, leaders=True)
        return fit_mix_model(frame, controls=CONTROLS, period="month", market="market",
                             style="decision_style", n_boot=n_boot, seed=seed), truth
    frame, truth = mix_demo.generate(seed=seed)
    controls = CONTROLS[1:] if name == "weekly_no_confounder" else CONTROLS
    intervals = "fisher" if name == "weekly_fisher" else "bootstrap"
    return fit_mix_model(frame, controls=controls, intervals=intervals, n_boot=n_boot,
                         seed=seed), truth


def _rows(method: str, seed: int, truth: dict, table: pd.DataFrame, seconds: float
          ) -> list[dict]:
    """One row per tactic: truth, estimate, interval, covered; table indexed by tactic."""
    rows = []
    for tactic, planted in truth["tactics"].items():
        row = table.loc[tactic]
        out = {"method": method, "seed": seed, "tactic": tactic,
               "truth": planted["average_cac"], "estimate": row["average_cac"],
               "covered": bool(row["average_cac_low"] <= planted["average_cac"]
                               <= row["average_cac_high"]),
               "seconds": seconds}
        if "marginal_cac_low" in row:
            out["marginal_covered"] = bool(row["marginal_cac_low"] <= planted["marginal_cac"]
                                           <= row["marginal_cac_high"])
            out["share_covered"] = bool(row["share_low"] <= planted["contribution_share"]
                                        <= row["share_high"])
        rows.append(out)
    return rows


def spend_share_split(frame: pd.DataFrame, tactics: list[str]) -> pd.DataFrame:
    """Naive attribution: each period's outcome split by that period's spend shares."""
    spend = frame[[f"spend_{t}" for t in tactics]].to_numpy(float)
    credited = frame["new_customers"].to_numpy(float)[:, None] * spend / spend.sum(axis=1,
                                                                                    keepdims=True)
    cac = spend.sum(axis=0) / credited.sum(axis=0)
    return pd.DataFrame({"average_cac": cac, "average_cac_low": np.nan,
                         "average_cac_high": np.nan}, index=tactics)


def glm_raw_spend(frame: pd.DataFrame, tactics: list[str]) -> pd.DataFrame:
    """Customers ~ raw spend + trend + 2 yearly harmonics + controls (statsmodels GLM,
    Gaussian, identity link); CAC = 1 / coefficient, interval by inverting the coefficient's.
    """
    import statsmodels.api as sm

    years = np.arange(len(frame)) / 52.1775
    columns = {f"spend_{t}": frame[f"spend_{t}"].to_numpy(float) for t in tactics}
    columns |= {"trend": years, **{f"{f}{h}": fn(2 * np.pi * h * years) for h in (1, 2)
                                   for f, fn in (("sin", np.sin), ("cos", np.cos))}}
    columns |= {c: frame[c].to_numpy(float) for c in CONTROLS}
    design = sm.add_constant(pd.DataFrame(columns))
    fit = sm.GLM(frame["new_customers"].to_numpy(float), design).fit()
    beta, (low, high) = fit.params, fit.conf_int().T.to_numpy()
    coefficient = np.array([beta[f"spend_{t}"] for t in tactics])
    index = [list(design.columns).index(f"spend_{t}") for t in tactics]
    with np.errstate(divide="ignore"):
        return pd.DataFrame({"average_cac": np.where(coefficient > 0, 1 / coefficient, np.inf),
                             "average_cac_low": np.where(high[index] > 0, 1 / high[index],
                                                         np.inf),
                             "average_cac_high": np.where(low[index] > 0, 1 / low[index],
                                                          np.inf)}, index=tactics)


def run(seeds: list[int], n_boot: int, scenarios: list[str]) -> tuple[pd.DataFrame, dict]:
    """Every fit: (one row per method x seed x tactic, style rows)."""
    from salesnb.synthetic import mix_demo

    rows, styles = [], []
    for seed in seeds:
        for name in scenarios:
            model, truth = _scenario(name, seed, n_boot)
            rows += _rows(name, seed, truth, model.cac().set_index("tactic"), model.seconds)
            if model.styles:
                table = model.style_effects().set_index("style")
                for style, value in truth["style_response_multiplier"].items():
                    styles.append(bool(table.loc[style, "ci_low"] <= value
                                       <= table.loc[style, "ci_high"]))
        frame, truth = mix_demo.generate(seed=seed)
        tactics = list(truth["tactics"])
        for method, function in (("spend_share_split", spend_share_split),
                                 ("glm_raw_spend", glm_raw_spend)):
            started = time.perf_counter()
            table = function(frame, tactics)
            rows += _rows(method, seed, truth, table, time.perf_counter() - started)
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    return pd.DataFrame(rows), {"style_coverage": float(np.mean(styles)) if styles else None}


def summarise(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per method: ranking and bias; per method x tactic: coverage and error)."""
    order = list(results.drop_duplicates("tactic")["tactic"])  # planted cheapest first
    methods = []
    for method, group in results.groupby("method", sort=False):
        full, pairs = [], []
        for _, seed_rows in group.groupby("seed"):
            estimate = seed_rows.set_index("tactic").loc[order, "estimate"].to_numpy()
            full.append(bool(np.all(np.diff(estimate) > 0)))
            i, j = np.triu_indices(len(order), 1)
            pairs.append(float(np.mean(estimate[i] < estimate[j])))
        log_error = np.log(group["estimate"] / group["truth"])
        methods.append({"method": method, "seeds": group["seed"].nunique(),
                        "coverage (all tactics)": group["covered"].mean(),
                        "ranking fully correct": np.mean(full),
                        "pairs ordered correctly": np.mean(pairs),
                        "mean log error": log_error.mean(),
                        "median abs log error": log_error.abs().median(),
                        "seconds per fit (median)": group.groupby("seed")["seconds"].first()
                        .median()})
    per_tactic = results.assign(log_error=np.log(results["estimate"] / results["truth"]))
    per_tactic = per_tactic.groupby(["method", "tactic"], sort=False).agg(
        truth=("truth", "first"), coverage=("covered", "mean"),
        marginal_coverage=("marginal_covered", "mean"), share_coverage=("share_covered", "mean"),
        mean_log_error=("log_error", "mean"), median_estimate=("estimate", "median"))
    return pd.DataFrame(methods), per_tactic.reset_index()


def timing(runs: int, n_boot: int) -> pd.DataFrame:
    """Fit time on 3 years weekly x 6 tactics (seed 1), intervals included, and the GLM."""
    from salesnb.curves.mix import fit_mix_model
    from salesnb.synthetic import mix_demo

    frame, truth = mix_demo.generate(seed=1)
    tactics = list(truth["tactics"])
    measured = {"mix model, block bootstrap": [], "mix model, Fisher draws": [],
                "mix model, no intervals": [], "statsmodels GLM on raw spend": []}
    for _ in range(runs):
        for label, kwargs in (("mix model, block bootstrap", {"n_boot": n_boot}),
                              ("mix model, Fisher draws", {"intervals": "fisher",
                                                           "n_boot": n_boot}),
                              ("mix model, no intervals", {"n_boot": 0})):
            started = time.perf_counter()
            fit_mix_model(frame, controls=CONTROLS, seed=1, **kwargs)
            measured[label].append(time.perf_counter() - started)
        started = time.perf_counter()
        glm_raw_spend(frame, tactics)
        measured["statsmodels GLM on raw spend"].append(time.perf_counter() - started)
    return pd.DataFrame([{"what": k, "runs": len(v), "median s": np.median(v),
                          "min s": np.min(v), "max s": np.max(v)} for k, v in measured.items()])


def markdown(frame: pd.DataFrame) -> str:
    """A markdown table (numbers to 3 decimals; no tabulate dependency)."""
    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:,.3f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---"
                            for c in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--timing-runs", type=int, default=5)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args(argv)
    import numpy
    import scipy

    print(f"{os.cpu_count()} cores {platform.machine()}, Python {platform.python_version()}, "
          f"numpy {numpy.__version__}, scipy {scipy.__version__}; seeds "
          f"{args.first_seed}-{args.first_seed + args.seeds - 1}, {args.n_boot} draws\n")
    started = time.perf_counter()
    results, extra = run(list(range(args.first_seed, args.first_seed + args.seeds)),
                         args.n_boot, args.scenarios)
    methods, per_tactic = summarise(results)
    print(markdown(methods))
    print()
    print(markdown(per_tactic))
    if extra["style_coverage"] is not None:
        print(f"\nmonthly_pooled: leadership-style multipliers inside their 95% interval: "
              f"{extra['style_coverage']:.3f}")
    if args.timing_runs:
        print()
        print(markdown(timing(args.timing_runs, args.n_boot)))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
