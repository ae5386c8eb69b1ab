"""Benchmark: team x tactic x month CAC from N deal rows, salesnb vs hand-written DuckDB SQL,
plain pandas and Polars, each in a fresh process (wall time and peak memory measured there).

    python benchmarks/engine_bench.py --rows 1000000 10000000 50000000
    python benchmarks/engine_bench.py --rows 200000 --tools salesnb duckdb   # quick look

Data is generated once per size under benchmarks/data/ (git-ignored) as Parquet.
Every tool computes the same numbers (checked): per team, tactic and month, spend and new
customers (a customer is new at their first won deal), and program CAC = spend / customers.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEAMS, MONTHS = 1_000, 36
TACTICS = ("referrals", "partners", "email", "webinars", "outbound_calls", "paid_search",
           "events")
TOOLS = ("salesnb", "salesnb_validated", "duckdb", "duckdb_won_first", "duckdb_checked",
         "polars", "pandas")
CHUNK = 5_000_000

MAPPING = """\
version: 1
tables:
  spend:
    source: spend.parquet
    columns: {period: period, team_id: team_id, tactic: tactic, cost: cost}
  deals:
    source: deals.parquet
    columns: {deal_id: deal_id, team_id: team_id, tactic: tactic, close_date: close_date,
              outcome: outcome, customer_id: customer_id}
  teams:
    source: teams.parquet
    columns: {team_id: team_id, leader_id: leader_id}
  leaders:
    source: leaders.parquet
    columns: {leader_id: leader_id, decision_style: decision_style, involvement: involvement}
"""


def generate(rows: int, folder: Path, seed: int = 0) -> Path:
    """Write N deals (and the small spend/team/leader tables) as Parquet, chunk by chunk."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    teams = [f"T{i:04d}" for i in range(TEAMS)]
    months = pd.date_range("2023-01-01", periods=MONTHS, freq="MS")
    grid = pd.MultiIndex.from_product([months, teams, TACTICS],
                                      names=["period", "team_id", "tactic"]).to_frame(index=False)
    grid["cost"] = rng.gamma(2.0, 5_000.0, len(grid)).round(2)
    pq.write_table(pa.Table.from_pandas(grid, preserve_index=False),
                   folder / "spend.parquet", coerce_timestamps="us")
    leaders = pd.DataFrame({"leader_id": [f"L{i:04d}" for i in range(TEAMS)],
                            "decision_style": rng.choice(["autocratic", "consultative",
                                                          "collaborative"], TEAMS),
                            "involvement": rng.choice(["hands_on", "hybrid", "delegating"],
                                                      TEAMS)})
    leaders.to_parquet(folder / "leaders.parquet", index=False)
    pd.DataFrame({"team_id": teams, "leader_id": leaders["leader_id"]}).to_parquet(
        folder / "teams.parquet", index=False)
    writer = None
    start = months[0].value // 10**9
    span = (months[-1] + pd.offsets.MonthEnd(1)).value // 10**9 - start
    for first in range(0, rows, CHUNK):
        n = min(CHUNK, rows - first)
        ids = pc.cast(pa.array(np.arange(first, first + n)), pa.string())
        outcome = rng.choice(["won", "lost", "open"], n, p=[0.3, 0.6, 0.1])
        # ~20% of won deals go to a returning customer (not new)
        customer = np.where(rng.random(n) < 0.8, np.arange(first, first + n),
                            rng.integers(0, max(first + n, 1), n))
        customer_ids = pc.binary_join_element_wise(
            "C", pc.cast(pa.array(customer), pa.string()), "")
        chunk = pa.table({
            "deal_id": pc.binary_join_element_wise("D", ids, ""),
            "team_id": pa.array(np.array(teams)[rng.integers(0, TEAMS, n)]),
            "tactic": pa.array(np.array(TACTICS)[rng.integers(0, len(TACTICS), n)]),
            "close_date": pa.array((start + rng.integers(0, span, n)) * 1_000_000,
                                   pa.timestamp("us")),
            "outcome": pa.array(outcome),
            "customer_id": pc.if_else(pa.array(outcome == "won"), customer_ids,
                                      pa.nulls(n, pa.string())),
        })
        writer = writer or pq.ParquetWriter(folder / "deals.parquet", chunk.schema)
        writer.write_table(chunk, row_group_size=1_000_000)
    writer.close()
    (folder / "mapping.yml").write_text(MAPPING)
    (folder / "done").write_text("ok")
    return folder


HAND_SQL = """
WITH deals AS (
  SELECT team_id, tactic, date_trunc('month', close_date) AS period,
         outcome = 'won' AND row_number() OVER (
           PARTITION BY coalesce(customer_id, deal_id), outcome = 'won'
           ORDER BY close_date, deal_id) = 1 AS is_new
  FROM read_parquet('{deals}')
), customers AS (
  SELECT team_id, tactic, period, sum(is_new::INT) AS new_customers
  FROM deals GROUP BY ALL
), spend AS (
  SELECT team_id, tactic, period, sum(cost) AS spend FROM read_parquet('{spend}') GROUP BY ALL
)
SELECT coalesce(s.team_id, c.team_id) AS team_id, coalesce(s.tactic, c.tactic) AS tactic,
       coalesce(s.period, c.period) AS period, coalesce(spend, 0) AS spend,
       coalesce(new_customers, 0) AS new_customers,
       coalesce(spend, 0) / nullif(coalesce(new_customers, 0), 0) AS program_cac
FROM spend s FULL OUTER JOIN customers c
  ON s.team_id = c.team_id AND s.tactic = c.tactic AND s.period = c.period
"""


# The same, written by someone who knows that only won deals need ranking.
HAND_SQL_WON_FIRST = HAND_SQL.replace(
    """outcome = 'won' AND row_number() OVER (
           PARTITION BY coalesce(customer_id, deal_id), outcome = 'won'
           ORDER BY close_date, deal_id) = 1 AS is_new
  FROM read_parquet('{deals}')""",
    """row_number() OVER (PARTITION BY coalesce(customer_id, deal_id)
                            ORDER BY close_date, deal_id) = 1 AS is_new
  FROM read_parquet('{deals}') WHERE outcome = 'won'""")


# What salesnb.scan does before the metric, by hand: clean the text columns once into a
# temporary table (trim, missing-value tokens as NULL), check required fields, the outcome
# vocabulary, unique deal ids and the team references, then the won-first query on the result.
_CLEAN = ("CASE WHEN length(trim({c})) > 4 THEN trim({c}) "
          "WHEN lower(trim({c})) IN ('', '#n/a', 'n/a', 'na', 'nan', 'nat', 'none', 'null') "
          "THEN NULL ELSE trim({c}) END AS {c}")
CHECKED_SQL = [
    "SET memory_limit = '1GB'",
    "CREATE TEMP TABLE clean_deals AS SELECT "
    + ", ".join(_CLEAN.format(c=c) for c in ("deal_id", "team_id", "tactic", "outcome",
                                              "customer_id"))
    + ", close_date FROM read_parquet('{deals}')",
    "SELECT count(*) FILTER (deal_id IS NULL OR team_id IS NULL OR tactic IS NULL "
    "OR outcome IS NULL) AS empty, count(*) FILTER (outcome NOT IN ('won', 'lost', 'open')) "
    "AS bad_outcome FROM clean_deals",
    "SELECT count(*) FROM (SELECT deal_id FROM clean_deals GROUP BY deal_id HAVING count(*) > 1)",
    "SELECT count(*) FROM clean_deals d ANTI JOIN read_parquet('{teams}') t USING (team_id)",
]


def _checked(folder: Path):
    import duckdb

    con = duckdb.connect()
    paths = {name: folder / f"{name}.parquet" for name in ("deals", "spend", "teams")}
    for statement in CHECKED_SQL:
        problems = con.execute(statement.format(**paths)).fetchall()
        if statement.startswith("SELECT") and any(problems[0]):
            raise AssertionError(f"the benchmark data fails a check: {statement}")
    sql = HAND_SQL_WON_FIRST.format(deals="clean_deals", spend=paths["spend"])
    return con.execute(sql.replace("read_parquet('clean_deals')", "clean_deals")).df()


def run_tool(tool: str, folder: Path):
    """Compute CAC by team x tactic x month with one tool; return a pandas frame."""
    if tool in ("salesnb", "salesnb_validated"):
        import salesnb
        from salesnb.engine.connection import Engine, default_connection

        con = default_connection()
        if tool == "salesnb_validated":
            engine = salesnb.scan(folder, con=con)
        else:  # the tables as they are, trusted: the metric computation alone
            tables = {name: con.read_parquet(str(folder / f"{name}.parquet"))
                      for name in ("spend", "deals", "teams", "leaders")}
            import pandas as pd

            from salesnb.engine.connection import put_table, style_periods
            tables["style_periods"] = put_table(con, "style_periods", style_periods(
                pd.read_parquet(folder / "leaders.parquet"), None))
            engine = Engine(con, tables)
        return salesnb.metrics.program_cac(engine, by=("team_id", "tactic"), period="month")
    if tool in ("duckdb", "duckdb_won_first"):
        import duckdb

        sql = HAND_SQL if tool == "duckdb" else HAND_SQL_WON_FIRST
        sql = sql.format(deals=folder / "deals.parquet", spend=folder / "spend.parquet")
        return duckdb.connect().execute(sql).df()
    if tool == "duckdb_checked":
        return _checked(folder)
    if tool == "polars":
        return _polars(folder)
    if tool == "pandas":
        return _pandas(folder)
    raise ValueError(tool)


def _polars(folder: Path):
    import polars as pl

    deals = pl.scan_parquet(folder / "deals.parquet").with_columns(
        period=pl.col("close_date").dt.truncate("1mo"),
        key=pl.coalesce("customer_id", "deal_id"),
        won=pl.col("outcome") == "won")
    first = (pl.col("won") & (pl.col("close_date").rank("ordinal").over(["key", "won"]) == 1))
    customers = deals.with_columns(is_new=first).group_by(["team_id", "tactic", "period"]).agg(
        new_customers=pl.col("is_new").sum())
    spend = pl.scan_parquet(folder / "spend.parquet").group_by(
        ["team_id", "tactic", "period"]).agg(spend=pl.col("cost").sum())
    joined = spend.join(customers, on=["team_id", "tactic", "period"], how="full",
                        coalesce=True).with_columns(
        pl.col("spend").fill_null(0.0), pl.col("new_customers").fill_null(0))
    joined = joined.with_columns(program_cac=pl.when(pl.col("new_customers") > 0).then(
        pl.col("spend") / pl.col("new_customers")))
    return joined.collect().to_pandas()


def _pandas(folder: Path):
    import pandas as pd

    deals = pd.read_parquet(folder / "deals.parquet")
    deals["period"] = deals["close_date"].dt.to_period("M").dt.to_timestamp()
    deals["key"] = deals["customer_id"].fillna(deals["deal_id"])
    won = deals[deals["outcome"] == "won"].sort_values(["close_date", "deal_id"])
    new = won.drop_duplicates("key")
    customers = new.groupby(["team_id", "tactic", "period"]).size().rename("new_customers")
    spend = pd.read_parquet(folder / "spend.parquet").groupby(
        ["team_id", "tactic", "period"])["cost"].sum().rename("spend")
    out = pd.concat([spend, customers], axis=1).fillna({"spend": 0.0, "new_customers": 0})
    out["program_cac"] = out["spend"] / out["new_customers"].where(out["new_customers"] > 0)
    return out.reset_index()


IMPORTS = {"salesnb": ("ibis", "salesnb.metrics", "salesnb.engine.connection", "pandas"),
           "salesnb_validated": ("ibis", "salesnb.engine.scanning", "salesnb.metrics", "pandas"),
           "duckdb": ("duckdb", "pandas"), "duckdb_won_first": ("duckdb", "pandas"),
           "duckdb_checked": ("duckdb", "pandas"),
           "polars": ("polars", "pandas"), "pandas": ("pandas",)}


def warm(tool: str) -> None:
    """Import what a tool needs, so start-up is not counted in its time."""
    import importlib

    for module in IMPORTS[tool]:
        importlib.import_module(module)


def measure(tool: str, folder: Path) -> dict:
    """Run one tool in a fresh Python process; return its wall time and peak memory."""
    code = ("import sys, time, resource, json; sys.path.insert(0, %r); import engine_bench as b;"
            "from pathlib import Path; b.warm(%r); t = time.perf_counter();"
            "r = b.run_tool(%r, Path(%r)); w = time.perf_counter() - t;"
            "r.to_parquet(%r);"
            "print('@@result', json.dumps({'seconds': w, 'peak_mb': "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    result_file = folder / f"result-{tool}.parquet"
    out = subprocess.run([sys.executable, "-c", code % (str(HERE), tool, tool, str(folder),
                                                        str(result_file))],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return {"tool": tool, "error": out.stderr.strip().splitlines()[-1]}
    # engines may draw progress bars on stdout: take the marked line
    marked = out.stdout.rsplit("@@result", 1)[-1].strip()
    return {"tool": tool, **json.loads(marked)}


def check_same(folder: Path, tools) -> None:
    """Every tool must produce the same CAC table (else the timing comparison is void)."""
    import pandas as pd

    frames = {}
    for tool in tools:
        path = folder / f"result-{tool}.parquet"
        if path.exists():
            frame = pd.read_parquet(path)[["team_id", "tactic", "period", "spend",
                                           "new_customers"]]
            frame["period"] = pd.to_datetime(frame["period"]).astype("datetime64[ns]")
            frames[tool] = frame.sort_values(["team_id", "tactic", "period"]).reset_index(
                drop=True)
    base_tool, base = next(iter(frames.items()))
    for tool, frame in frames.items():
        pd.testing.assert_frame_equal(frame, base, check_dtype=False, obj=f"{tool} vs {base_tool}")


BASELINES = ("duckdb_won_first", "duckdb_checked")
"""Ratios are printed against the best hand SQL: the won-deals-only query, alone and after the
same cleaning and checks that salesnb.scan runs (the fair baseline for salesnb_validated)."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate_only:
        generate(args.rows[0], args.data / f"deals-{args.rows[0]}")
        return 0
    print(f"machine: {platform.machine()}, {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores")
    for rows in args.rows:
        started = time.perf_counter()
        folder = args.data / f"deals-{rows}"
        # in a child process: Linux children inherit the parent's peak RSS (ru_maxrss)
        # across fork and exec, so generating here would inflate every later measurement
        subprocess.run([sys.executable, __file__, "--generate-only", "--rows", str(rows),
                        "--data", str(args.data)], check=True)
        print(f"\n{rows:,} deal rows (data ready in {time.perf_counter() - started:.0f} s)")
        results = [measure(tool, folder) for tool in args.tools]
        check_same(folder, [r["tool"] for r in results if "error" not in r])
        timed = {r["tool"]: r["seconds"] for r in results if "error" not in r}
        print(f"  {'tool':<18} {'seconds':>10}  {'x ' + BASELINES[0]:>22}  "
              f"{'x ' + BASELINES[1]:>20}   peak memory")
        for r in results:
            if "error" in r:
                print(f"  {r['tool']:<18} failed: {r['error']}")
                continue
            ratios = [f"{r['seconds'] / timed[b]:.2f}x" if b in timed else "-" for b in BASELINES]
            print(f"  {r['tool']:<18} {r['seconds']:8.2f} s  {ratios[0]:>22}  {ratios[1]:>20}   "
                  f"{r['peak_mb']:8.0f} MB")
    _ = resource  # imported for the child processes' measurement code
    return 0


if __name__ == "__main__":
    sys.exit(main())
