"""Writing a synthetic dataset: its files, the mapping that reads them and ``truth.json``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from salesnb.errors import SalesnbError

MAPPING_YAML = """\
# salesnb mapping for the demo dataset (written by `salesnb demo`).
# Each table names its source file (relative to this folder) and, per canonical
# field, the source column. The demo's columns already carry canonical names.
version: 1
tactics: [referrals, partners, email, webinars, outbound_calls, paid_search, events]
tables:
  spend:
    source: spend.csv
    columns:
      period: {column: period, date_format: "%Y-%m"}
      team_id: team_id
      tactic: tactic
      cost: cost
      programme: programme
      strategy: strategy
  deals:
    source: deals.parquet
    columns: {deal_id: deal_id, team_id: team_id, tactic: tactic, close_date: close_date,
              outcome: outcome, rep_id: rep_id, created_date: created_date, amount: amount,
              customer_id: customer_id}
  teams:
    source: teams.csv
    columns: {team_id: team_id, leader_id: leader_id, region: region, segment: segment,
              industry: industry}
  leaders:
    source: leaders.csv
    columns: {leader_id: leader_id, title: title, decision_style: decision_style,
              involvement: involvement, industry_years: industry_years,
              admin_share: admin_share, training_hours: training_hours,
              recognition: recognition}
  style_changes:
    source: style_changes.csv
    columns: {leader_id: leader_id, effective_date: effective_date,
              decision_style: decision_style, involvement: involvement}
  reps:
    source: reps.csv
    columns: {rep_id: rep_id, team_id: team_id, hire_date: hire_date, exit_date: exit_date,
              annual_cost: annual_cost}
  touches:
    source: touches.parquet
    columns: {deal_id: deal_id, touch_date: touch_date, tactic: tactic}
"""

PARQUET_TABLES = ("deals", "touches")


def write_dataset(tables: dict[str, pd.DataFrame], truth: dict, out: Path) -> None:
    """Write the tables, mapping and truth into ``out`` atomically (all files or none)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SalesnbError(f"{out} already exists and is not empty; the demo never overwrites "
                           "data.\n    hint: choose a new folder with --out.")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".salesnb-demo-", dir=out.parent))
    try:
        for name, frame in tables.items():
            frame = frame.copy()
            for column in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[column]):
                    frame[column] = frame[column].dt.strftime("%Y-%m-%d")
            if name in PARQUET_TABLES:
                frame.to_parquet(staging / f"{name}.parquet", index=False)
            else:
                frame.to_csv(staging / f"{name}.csv", index=False)
        (staging / "mapping.yml").write_text(MAPPING_YAML, encoding="utf-8")
        (staging / "truth.json").write_text(json.dumps(truth, indent=2) + "\n",
                                            encoding="utf-8")
        staging.chmod(0o755)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
