"""New-hire ramp and retention by leader: planted leader effects are recovered, reps who
never win are censored (not dropped), and a hand-made case is computed exactly.

The planted organisation: four leaders with one team each. Every new hire closes deals as
a Poisson process (``RATE`` deals a day) that stops when they leave; each deal is won with
the leader's probability ``WIN``. So the early win rate is ``WIN``, the first win comes
after an exponential time with rate ``RATE x WIN`` (median ln 2 / (RATE x WIN) days), and
exits are exponential with P(still employed after 365 days) = ``RETAINED``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesnb.errors import SalesnbError
from salesnb.metrics.ramp import RAMP_COLUMNS, km_median, ramp, rep_ramp, training_band
from tests.canonical_files import write_canonical

LEADERS = pd.DataFrame({
    "leader_id": ["L1", "L2", "L3", "L4"],
    "decision_style": ["collaborative", "collaborative", "autocratic", "autocratic"],
    "recognition": [True, True, False, False],
    "training_hours": [70, 55, 15, 30],
})
WIN = {"L1": 0.5, "L2": 0.4, "L3": 0.15, "L4": 0.1}
RATE = {"L1": 1 / 10, "L2": 1 / 10, "L3": 1 / 20, "L4": 1 / 20}
RETAINED = {"L1": 0.85, "L2": 0.8, "L3": 0.5, "L4": 0.45}
START, END = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-01-01")
COLUMNS = {
    "deals": ["deal_id", "team_id", "tactic", "close_date", "outcome", "rep_id"],
    "teams": ["team_id", "leader_id"],
    "leaders": ["leader_id", "decision_style", "recognition", "training_hours"],
    "reps": ["rep_id", "team_id", "hire_date", "exit_date"],
}


def planted_median(leader: str) -> float:
    return math.log(2) / (RATE[leader] * WIN[leader])


def write(folder: Path, tables: dict[str, pd.DataFrame], columns=COLUMNS):
    return write_canonical(folder, tables, columns)


def planted_org(seed: int, hires: int = 70) -> dict[str, pd.DataFrame]:
    """New hires over the first 18 months, two veterans per team; deals until exit or END."""
    rng = np.random.default_rng(seed)
    reps, deals = [], []
    for k, leader in enumerate(LEADERS["leader_id"]):
        team = f"T{k + 1}"
        exit_rate = -math.log(RETAINED[leader]) / 365
        hired = START + pd.to_timedelta(rng.integers(0, 547, hires), unit="D")
        veterans = pd.to_datetime(["2020-03-01", "2021-06-15"])
        for i, hire in enumerate([*veterans, *hired]):
            rep = f"R{leader}-{i:03d}"
            left = hire + pd.Timedelta(days=float(rng.exponential(1 / exit_rate)))
            stop = min(left, END - pd.Timedelta(days=1))
            reps.append((rep, team, hire, left.normalize() if left < END else pd.NaT))
            t, begin = 0.0, max(hire, START)
            span = (stop - begin) / pd.Timedelta(days=1)
            while True:
                t += rng.exponential(1 / RATE[leader])
                if t > span:
                    break
                won = rng.random() < WIN[leader]
                deals.append((team, begin + pd.Timedelta(days=t), "won" if won else "lost", rep))
    reps_df = pd.DataFrame(reps, columns=["rep_id", "team_id", "hire_date", "exit_date"])
    deals_df = pd.DataFrame(deals, columns=["team_id", "close_date", "outcome", "rep_id"])
    deals_df["close_date"] = deals_df["close_date"].dt.normalize()
    deals_df.insert(0, "deal_id", [f"D{i:06d}" for i in range(len(deals_df))])
    deals_df["tactic"] = "email"
    teams = pd.DataFrame({"team_id": [f"T{k + 1}" for k in range(4)],
                          "leader_id": LEADERS["leader_id"]})
    return {"deals": deals_df, "teams": teams, "leaders": LEADERS, "reps": reps_df}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return write(tmp_path_factory.mktemp("ramp"), planted_org(seed=4))


def test_planted_leader_effects_are_recovered(planted):
    """Each leader's early win rate, median days to first win and 12-month retention lie in
    their 99% intervals (12 checks: the chance that any misses is about 11%; seeds 0-7 of
    the generator: 7 with none, 1 with one), and fast and slow styles are told apart at 95%
    (all 8 seeds).
    """
    by_leader = ramp(planted, by=["leader_id"], level=0.99).set_index("leader_id")
    missed = []
    for leader in WIN:
        row = by_leader.loc[leader]
        checks = {"early win rate": ("early_win_rate", WIN[leader]),
                  "median days": ("median_days_to_first_win", planted_median(leader)),
                  "retention": ("retention_rate", RETAINED[leader])}
        for label, (column, value) in checks.items():
            low, high = row[f"{column}_low"], row[f"{column}_high"]
            high = np.inf if pd.isna(high) else high
            if not low <= value <= high:
                missed.append((leader, label, value, low, high))
    assert not missed, missed
    by_style = ramp(planted, by=["decision_style"]).set_index("decision_style")
    fast, slow = by_style.loc["collaborative"], by_style.loc["autocratic"]
    assert fast["median_days_to_first_win_high"] < slow["median_days_to_first_win_low"]
    assert fast["early_win_rate_low"] > slow["early_win_rate_high"]
    assert fast["retention_rate_low"] > slow["retention_rate_high"]
    assert list(by_style.columns) == RAMP_COLUMNS


def test_reps_who_never_win_are_censored_not_dropped(planted):
    reps = rep_ramp(planted)
    slow = reps[reps["leader_id"] == "L4"]
    censored = slow[~slow["first_win"]]
    assert len(censored) >= 0.2 * len(slow)  # many leave, or reach the end, before a win
    # a censored rep's time is to their exit date, or to the end of the deals data
    ends = censored["exit_date"].fillna(END)
    assert (censored["days_to_first_win"] == (ends - censored["hire_date"]).dt.days).all()
    median, low, high = km_median(slow["days_to_first_win"], slow["first_win"])
    assert low <= planted_median("L4") <= (np.inf if np.isnan(high) else high)
    # dropping the censored reps would make the slow leader look fast (seeds 0-7: 54-85
    # days against 139 planted)
    naive = slow.loc[slow["first_win"], "days_to_first_win"].median()
    assert naive < 0.75 * planted_median("L4")
    row = ramp(planted, by=["leader_id"]).set_index("leader_id").loc["L4"]
    assert row["median_days_to_first_win"] == median
    assert row["hires"] == len(slow) and row["first_wins"] == len(slow) - len(censored)


def test_only_reps_hired_inside_the_window_count(planted):
    reps = rep_ramp(planted)
    assert (reps["hire_date"] >= START).all()
    assert not reps["rep_id"].str.endswith(("-000", "-001")).any()  # the veterans
    assert ramp(planted, by=[])["hires"].iloc[0] == 4 * 70
    # retention: only reps hired at least 365 days before the end of the data
    eligible = reps["retained"].notna()
    assert (reps.loc[eligible, "hire_date"] <= END - pd.Timedelta(days=365)).all()
    assert (reps.loc[~eligible, "hire_date"] > END - pd.Timedelta(days=365)).all()


def test_groups_by_style_recognition_and_training_band(planted):
    bands = ramp(planted, by=["training_band"]).set_index("training_band")
    assert set(bands.index) == {"under 20 h", "20-40 h", "40-60 h", "60+ h"}
    assert bands.loc["60+ h", "hires"] == 70
    both = ramp(planted, by=["recognition", "decision_style"])
    assert len(both) == 2 and both["hires"].sum() == 280
    with pytest.raises(SalesnbError, match="cannot group ramp-up by"):
        ramp(planted, by=["tactic"])


def test_training_bands_label_hours():
    hours = pd.Series([0, 19.5, 20, 45, 60, 200, np.nan])
    bands = training_band(hours)
    assert list(bands.iloc[:6]) == ["under 20 h", "under 20 h", "20-40 h", "40-60 h", "60+ h",
                                    "60+ h"]
    assert pd.isna(bands.iloc[6])
    assert list(training_band(hours, [50]).iloc[:6]) == ["under 50 h"] * 4 + ["50+ h"] * 2


HAND = {
    "teams": pd.DataFrame({"team_id": ["T1"], "leader_id": ["L1"]}),
    "leaders": pd.DataFrame({"leader_id": ["L1"], "decision_style": ["consultative"],
                             "recognition": [True], "training_hours": [25]}),
    "reps": pd.DataFrame({
        "rep_id": ["OLD", "A", "B", "C"], "team_id": "T1",
        "hire_date": pd.to_datetime(["2020-01-01", "2024-01-10", "2024-02-01", "2024-11-20"]),
        "exit_date": pd.to_datetime([None, None, "2024-05-01", None])}),
    "deals": pd.DataFrame({
        "deal_id": [f"D{i}" for i in range(8)], "team_id": "T1", "tactic": "email",
        "rep_id": ["OLD", "A", "A", "A", "A", "B", "B", "C"],
        "close_date": pd.to_datetime(["2024-01-02", "2024-01-20", "2024-02-09", "2024-04-10",
                                      "2024-12-30", "2024-02-15", "2024-03-01",
                                      "2024-12-01"]),
        "outcome": ["won", "lost", "won", "won", "lost", "lost", "lost", "won"]}),
}


def test_a_hand_made_case(tmp_path):
    """A: first win 2024-02-09 (30 days after hire); in the first 90 days (to 2024-04-08)
    one win of two decided (the 2024-04-10 win is day 91). B: never won, left on
    2024-05-01: censored at 90 days; deals on day 14 and 29, both lost. C: won on day 11,
    but hired 2024-11-20, so the 90 days are not complete. OLD was hired before the data.
    Retention: nobody was hired 365 days before the end (2025-01-01) except OLD.
    """
    data = write(tmp_path / "hand", HAND)
    reps = rep_ramp(data).set_index("rep_id")
    assert list(reps.index) == ["A", "B", "C"]
    assert reps.loc["A", "days_to_first_win"] == 30 and reps.loc["A", "first_win"]
    assert (reps.loc["A", "early_won"], reps.loc["A", "early_decided"]) == (1, 2)
    assert reps.loc["B", "days_to_first_win"] == 90 and not reps.loc["B", "first_win"]
    assert (reps.loc["B", "early_won"], reps.loc["B", "early_decided"]) == (0, 2)
    assert reps.loc["C", "days_to_first_win"] == 11
    assert pd.isna(reps.loc["C", "early_decided"]) and reps["retained"].isna().all()
    assert reps.loc["A", "training_band"] == "20-40 h"
    total = ramp(data, by=[]).iloc[0]
    assert (total["early_won"], total["early_decided"]) == (1, 4)
    assert total["early_win_rate"] == 0.25 and total["retention_eligible"] == 0
    assert np.isnan(total["retention_rate"])
    # KM over 11 (won), 30 (won), 90 (censored): S = 2/3 after day 11, 1/3 after day 30
    assert total["median_days_to_first_win"] == 30


def test_missing_reps_hire_dates_or_deal_reps_say_what_to_map(tmp_path):
    no_reps = {k: v for k, v in HAND.items() if k != "reps"}
    no_reps["deals"] = HAND["deals"].drop(columns="rep_id")
    with pytest.raises(SalesnbError, match="map reps"):
        ramp(write(tmp_path / "noreps", no_reps))
    undated = {**HAND, "reps": HAND["reps"].drop(columns="hire_date")}
    with pytest.raises(SalesnbError, match="map reps.hire_date"):
        ramp(write(tmp_path / "undated", undated))
    anonymous = {**HAND, "deals": HAND["deals"].drop(columns="rep_id")}
    with pytest.raises(SalesnbError, match="map deals.rep_id"):
        ramp(write(tmp_path / "anonymous", anonymous))
