"""Build the "Salesforce-style" example exports from the synthetic demo data.

Run from the repository root (it rewrites the files beside this script)::

    python data/examples/salesforce/build_example.py

The numbers come from ``salesnb.demo.generate(seed=7, teams=6, months=6)``;
this script only re-shapes them the way real exports look:

* ``opportunities.csv``: a Salesforce opportunity report, saved by Excel on
  Windows (cp1252, CRLF), US dates and "$1,234.50" amounts, human lead-source
  and stage picklist values, a blank line and a "Total" footer row.
  It holds a random sample of the demo's deals (all open ones plus a sample
  of won/lost), so it is a shape example, not data to draw conclusions from.
* ``marketing_costs.xlsx``: a finance workbook; sheet "Notes" first, the
  data in sheet "Costs" with months as "Jan 2024", costs as "1.234,50 €"
  and a "Total" row at the bottom.
* ``hr_people.xlsx``: an HR export, one row per person (sales leaders, reps,
  former reps and two sales-support staff who are neither), numeric employee
  ids, real Excel dates, a 1-7 decision-making survey score for leaders.

Everything is deterministic: same seed, same bytes (the .xlsx files get fixed
zip timestamps and document properties).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from salesnb import demo

SEED = 7
HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2024, 7, 1, 9, 0, 0)

LEAD_SOURCE = {  # canonical tactic -> Salesforce "Lead Source" picklist value
    "referrals": "Customer Referral",
    "partners": "Partner",
    "email": "Email Campaign",
    "webinars": "Webinar",
    "outbound_calls": "Cold Call",
    "paid_search": "Web - Paid Search",
    "events": "Trade Show",
}
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote",
               "Negotiation/Review")
# 1-7 survey scores per style, in the order they are handed out: the range bounds come
# first, so the example exercises every edge of the mapping's score ranges.
SCORES = {"autocratic": (2, 1), "consultative": (5, 3, 4), "collaborative": (6, 7)}
INVOLVEMENT_TEXT = {
    "hands_on": ("Hands-on", "Very hands-on"),
    "delegating": ("Delegates most things", "Delegates to team leads"),
    "hybrid": ("Mix of both",),
}
REP_TITLES = ("Account Executive", "Account Executive", "Sales Development Rep")
SUPPORT_STAFF = (("Sales Operations Analyst", 61000.0), ("Sales Enablement Manager", 78000.0))
SPECIAL_ACCOUNTS = ("Müller GmbH", "Café Ltd", "Société Dupont SA", "Øresund Logistik AB",
                    "Weiß & Söhne KG")
ACCOUNT_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
                 "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Monarch", "Oceanic",
                 "Pied Piper", "Dunder", "Sterling", "Massive", "Nakatomi", "Prestige",
                 "Aperture", "Black Mesa", "Blue Sun", "Virtucon", "Zorg", "Ollivander",
                 "Bluth", "Krusty", "Duff")
ACCOUNT_SUFFIXES = ("Inc", "LLC", "GmbH", "Ltd", "AG", "SA", "Group", "Holdings", "Corp")
FIRST_NAMES = ("Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines",
               "Jonas", "Kira", "Luca", "Mia", "Noah", "Olga", "Pavel", "Quinn", "Rosa",
               "Sven", "Tara", "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoë", "José",
               "Chloé", "Björn", "Aoife")
LAST_NAMES = ("Schmidt", "Rossi", "Nowak", "García", "Dubois", "Jensen", "Okafor", "Tanaka",
              "Silva", "Novak", "Murphy", "Larsen", "Kowalski", "Fischer", "Moreau", "Costa",
              "Bauer", "Hughes", "Ivanova", "Nguyen", "Brennan", "Lindqvist", "Haddad", "Petit")


def build(out: Path = HERE, seed: int = SEED) -> dict[str, Path]:
    """Write the three exports into ``out``; return their paths."""
    tables = demo.generate(out=None, seed=seed, teams=6, months=6)
    rng = np.random.default_rng(seed)
    team_names = _team_names(tables["teams"])
    employee_ids = _employee_ids(rng, tables["leaders"], tables["reps"])
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "opportunities": out / "opportunities.csv",
        "marketing_costs": out / "marketing_costs.xlsx",
        "hr_people": out / "hr_people.xlsx",
    }
    _write_opportunities(rng, tables["deals"], team_names, employee_ids, paths["opportunities"])
    _write_costs(tables["spend"], team_names, paths["marketing_costs"])
    _write_people(rng, tables, team_names, employee_ids, paths["hr_people"])
    return paths


def _team_names(teams: pd.DataFrame) -> dict[str, str]:
    """Demo team ids (T01) -> team names as the CRM and HR show them ("South SMB 2")."""
    names, seen = {}, {}
    for team in teams.itertuples():
        base = f"{team.region} {team.segment}"
        seen[base] = seen.get(base, 0) + 1
        names[team.team_id] = f"{base} {seen[base]}"
    return names


def _employee_ids(rng, leaders: pd.DataFrame, reps: pd.DataFrame) -> dict[str, int]:
    """Demo leader/rep ids -> numeric HR employee ids (unique, not in any order)."""
    people = list(leaders["leader_id"]) + list(reps["rep_id"])
    numbers = rng.choice(np.arange(10_000, 60_000), len(people) + 10, replace=False)
    return {person: int(n) for person, n in zip(people, numbers, strict=False)}


# --- opportunities.csv -----------------------------------------------------------------------

def _write_opportunities(rng, deals: pd.DataFrame, team_names, employee_ids, path: Path) -> None:
    open_deals = deals[deals["outcome"] == "open"]
    closed = deals[deals["outcome"] != "open"]
    picked = closed.iloc[np.sort(rng.choice(len(closed), 420, replace=False))]
    sample = pd.concat([picked, open_deals]).sort_values("created_date", kind="stable")
    sample = sample.reset_index(drop=True)
    sample.loc[sample.index[7], "amount"] = 1234.50  # one amount the test knows: "$1,234.50"

    accounts = _account_names(rng)
    won = sample["outcome"].to_numpy() == "won"
    n_won = int(won.sum())
    won_accounts = list(SPECIAL_ACCOUNTS) + accounts[: n_won - len(SPECIAL_ACCOUNTS)]
    prospects = accounts[n_won - len(SPECIAL_ACCOUNTS):]
    account_of = np.empty(len(sample), dtype=object)
    account_of[won] = won_accounts
    account_of[~won] = rng.choice(prospects, int((~won).sum()))
    account_id = {name: f"0015g00000{i:05X}" for i, name in
                  enumerate(sorted(set(account_of)), start=0x1A2B)}
    products = rng.choice(["New Business", "Expansion", "Pilot"], len(sample))

    header = ["Opportunity ID", "Opportunity Name", "Account ID", "Account Name", "Owner Team",
              "Opportunity Owner ID", "Lead Source", "Stage", "Created Date", "Close Date",
              "Amount"]
    rows = []
    for i, deal in enumerate(sample.itertuples()):
        stage = {"won": "Closed Won", "lost": "Closed Lost"}.get(deal.outcome)
        rows.append([
            f"0065g00000{0x3C00 + i:05X}",
            f"{account_of[i]} - {products[i]}",
            account_id[account_of[i]],
            account_of[i],
            team_names[deal.team_id],
            str(employee_ids[deal.rep_id]),
            LEAD_SOURCE[deal.tactic],
            stage or str(rng.choice(OPEN_STAGES)),
            f"{deal.created_date:%m/%d/%Y}",
            f"{deal.close_date:%m/%d/%Y}",
            f"${deal.amount:,.2f}",
        ])
    total = sample["amount"].sum()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    buffer.write("\r\n")  # the blank line a Salesforce report leaves before its footer
    writer.writerow(["Total"] + [""] * 9 + [f"${total:,.2f}"])
    path.write_bytes(buffer.getvalue().encode("cp1252"))


def _account_names(rng) -> list[str]:
    names = [f"{word} {suffix}" for word in ACCOUNT_WORDS for suffix in ACCOUNT_SUFFIXES]
    rng.shuffle(names)
    return names


# --- marketing_costs.xlsx ----------------------------------------------------------------------

def _eu_money(value: float) -> str:
    """1234.5 -> '1.234,50 €' (how a German/French finance sheet types it)."""
    us = f"{value:,.2f}"
    return us.replace(",", "_").replace(".", ",").replace("_", ".") + " €"


def _write_costs(spend: pd.DataFrame, team_names, path: Path) -> None:
    spend = spend.reset_index(drop=True).copy()
    spend.loc[10, "cost"] = 1234.50  # one cost the test knows: "1.234,50 €"
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    for line in (["Marketing spend per team, channel and month (EUR)."],
                 ["Source: finance ledger export, one row per team, channel and month."],
                 ["The data is in the sheet 'Costs'."]):
        notes.append(line)
    sheet = workbook.create_sheet("Costs")
    sheet.append(["Month", "Team", "Channel", "Campaign", "Cost (EUR)"])
    for row in spend.itertuples():
        month = pd.Period(row.period, freq="M")
        sheet.append([
            month.strftime("%b %Y"),
            team_names[row.team_id],
            LEAD_SOURCE[row.tactic],
            f"Q{month.quarter} {month.year} {row.programme}",
            _eu_money(row.cost),
        ])
    sheet.append(["Total", None, None, None, _eu_money(spend["cost"].sum())])
    _save_reproducibly(workbook, path)


# --- hr_people.xlsx ----------------------------------------------------------------------------

def _write_people(rng, tables, team_names, employee_ids, path: Path) -> None:
    leaders = tables["leaders"].set_index("leader_id")
    teams = tables["teams"]
    team_of = dict(zip(teams["team_id"], teams.itertuples(), strict=True))
    start = pd.Timestamp("2024-01-01")
    names = iter(_full_names(rng))
    scores = {style: itertools.cycle(values) for style, values in SCORES.items()}
    people = []
    for team in teams.itertuples():
        leader = leaders.loc[team.leader_id]
        style = str(leader["decision_style"])
        people.append({
            "Employee ID": employee_ids[team.leader_id],
            "Full Name": next(names),
            "Job Title": leader["title"],
            "Team": team_names[team.team_id],
            "Region": team.region,
            "Segment": team.segment,
            "Hire Date": start - pd.Timedelta(days=int(rng.integers(400, 4000))),
            "Termination Date": None,
            "Annual Cost": round(float(rng.normal(160_000, 20_000)), -3),
            "Decision Score (1-7)": next(scores[style]),
            "Involvement": str(rng.choice(INVOLVEMENT_TEXT[str(leader["involvement"])])),
            "Years in Industry": int(leader["industry_years"]),
            "Admin Time": f"{round(float(leader['admin_share']) * 100)}%",
            "Training Hours": int(leader["training_hours"]),
            "Recognition Program": "Y" if leader["recognition"] else "N",
        })
    reps = tables["reps"]
    former = _former_reps(rng, teams, start)
    for rep in pd.concat([reps, former], ignore_index=True).itertuples():
        team = team_of[rep.team_id]
        people.append({
            "Employee ID": employee_ids.get(rep.rep_id) or int(rep.rep_id),
            "Full Name": next(names),
            "Job Title": str(rng.choice(REP_TITLES)),
            "Team": team_names[rep.team_id],
            "Region": team.region,
            "Segment": team.segment,
            "Hire Date": rep.hire_date,
            "Termination Date": None if pd.isna(rep.exit_date) else rep.exit_date,
            "Annual Cost": float(rep.annual_cost),
            "Years in Industry": int(rng.integers(1, 16)),
            "Admin Time": f"{int(rng.integers(10, 41))}%",
        })
    for i, (title, cost) in enumerate(SUPPORT_STAFF):
        people.append({"Employee ID": 60_001 + i, "Full Name": next(names), "Job Title": title,
                       "Hire Date": start - pd.Timedelta(days=int(rng.integers(200, 2000))),
                       "Annual Cost": cost, "Years in Industry": int(rng.integers(2, 12)),
                       "Admin Time": "60%"})
    people.sort(key=lambda p: p["Employee ID"])

    columns = ["Employee ID", "Full Name", "Job Title", "Team", "Region", "Segment", "Hire Date",
               "Termination Date", "Annual Cost", "Decision Score (1-7)", "Involvement",
               "Years in Industry", "Admin Time", "Training Hours", "Recognition Program"]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "People"
    sheet.append(columns)
    for person in people:
        row = []
        for column in columns:
            value = person.get(column)
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            row.append(value)
        sheet.append(row)
    for column in ("G", "H"):  # show the dates as dates in Excel
        for cell in sheet[column][1:]:
            cell.number_format = "yyyy-mm-dd"
    _save_reproducibly(workbook, path)


def _former_reps(rng, teams: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Three reps who left before the data starts (they own no opportunities)."""
    rows = []
    for i, team_id in enumerate(teams["team_id"].iloc[:3]):
        hired = start - pd.Timedelta(days=int(rng.integers(900, 1800)))
        left = start - pd.Timedelta(days=int(rng.integers(20, 300)))
        rows.append({"rep_id": str(60_101 + i), "team_id": team_id, "hire_date": hired,
                     "exit_date": left, "annual_cost": round(float(rng.normal(85_000, 8_000)), -2)})
    return pd.DataFrame(rows)


def _full_names(rng) -> list[str]:
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    return names


# --- reproducible .xlsx --------------------------------------------------------------------------

def _save_reproducibly(workbook: openpyxl.Workbook, path: Path) -> None:
    """Save with fixed document times and zip timestamps, so reruns give the same bytes."""
    workbook.properties.creator = "salesnb example builder"
    workbook.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with now()
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(),
                              data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)


if __name__ == "__main__":
    for name, written in build().items():
        print(f"wrote {name}: {written} ({written.stat().st_size:,} bytes)")
