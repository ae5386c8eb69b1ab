"""Synthetic sales data with planted, documented effects (the ground truth tests rely on).

``generate`` draws spend per team x tactic x month and then new customers from

    E[customers] = REF_SPEND**(1 - b) * spend**b / CAC

    CAC = base_cac[tactic] * style[decision_style] * involvement[involvement]
          * interaction[tactic, style] * years_mult ** ((industry_years - 10) / 10)
          * admin_mult ** ((admin_share - 0.3) / 0.1) * team_effect
          * situational[segment] (collaborative leaders only, see SITUATIONAL)

with negative-binomial noise, so at the reference spend (10,000 a month) a
cell's expected CAC is exactly the product of the multipliers. Everything
planted is written to ``truth.json`` and explained in ``data/demo/README.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.synthetic.demo_files import write_dataset

REF_SPEND = 10_000.0
TACTICS = {  # tactic: (base CAC at reference spend, win rate, mean sales-cycle days)
    "referrals": (1500.0, 0.45, 30),
    "partners": (2500.0, 0.35, 60),
    "email": (3000.0, 0.20, 45),
    "webinars": (4000.0, 0.25, 50),
    "outbound_calls": (5000.0, 0.15, 70),
    "paid_search": (6000.0, 0.20, 40),
    "events": (9000.0, 0.30, 90),
}
STYLE_CAC = {"autocratic": 1.25, "consultative": 1.0, "collaborative": 0.85}
INVOLVEMENT_CAC = {"hands_on": 0.9, "hybrid": 1.0, "delegating": 1.1}
INTERACTION = {"tactic": "events", "decision_style": "collaborative", "cac_multiplier": 0.7}
SITUATIONAL_CAC = {"SMB": 1.25, "Mid-Market": 1.0, "Enterprise": 0.8}
SITUATIONAL = {"decision_style": "collaborative", "by": "segment",
               "cac_multiplier": SITUATIONAL_CAC}
"""Situational style: collaborative leaders are dearer with small accounts and cheaper with
large ones. The multipliers are log-symmetric over roughly balanced segments, so the style's
marginal effect stays close to :data:`STYLE_CAC`; no random number is drawn for it."""
INDUSTRY_YEARS_CAC_PER_10 = 0.9
ADMIN_SHARE_CAC_PER_TENTH = 1.1
RESPONSE_EXPONENT = 0.7
TEAM_SD = 0.15
DISPERSION = 0.1  # negative binomial: variance = mu + DISPERSION * mu**2
ATTRITION_BASE_MONTHLY = 0.015
ATTRITION_HR = {"autocratic": 2.0, "consultative": 1.0, "collaborative": 0.8}
ATTRITION_HR_RECOGNITION = 0.6
STYLE_CHANGE_SHARE = 0.25
TITLES = ("VP Sales", "Director of Sales", "Regional Sales Manager", "Head of Sales",
          "Sales Director", "Area Sales Manager")
REGIONS = ("North", "South", "East", "West")
SEGMENTS = {"SMB": 8_000.0, "Mid-Market": 25_000.0, "Enterprise": 80_000.0}
INDUSTRIES = ("Software", "Manufacturing", "Healthcare", "Finance")


@dataclass
class DemoTruth:
    """The effects planted in a generated dataset (written as truth.json)."""

    seed: int
    teams: int
    months: int
    start: str
    reference: dict = field(default_factory=lambda: {
        "spend_per_month": REF_SPEND, "decision_style": "consultative",
        "involvement": "hybrid", "industry_years": 10, "admin_share": 0.3})
    base_cac: dict = field(default_factory=lambda: {t: v[0] for t, v in TACTICS.items()})
    win_rate: dict = field(default_factory=lambda: {t: v[1] for t, v in TACTICS.items()})
    cycle_days: dict = field(default_factory=lambda: {t: v[2] for t, v in TACTICS.items()})
    decision_style_cac_multiplier: dict = field(default_factory=lambda: dict(STYLE_CAC))
    involvement_cac_multiplier: dict = field(default_factory=lambda: dict(INVOLVEMENT_CAC))
    interaction: dict = field(default_factory=lambda: dict(INTERACTION))
    situational_effect: dict | None = field(default_factory=lambda: {
        **SITUATIONAL, "cac_multiplier": dict(SITUATIONAL_CAC)})
    """One style whose effect depends on the situation (None: not planted)."""
    industry_years_cac_multiplier_per_10_years: float = INDUSTRY_YEARS_CAC_PER_10
    admin_share_cac_multiplier_per_0_1: float = ADMIN_SHARE_CAC_PER_TENTH
    response_exponent: float = RESPONSE_EXPONENT
    team_effect_sd_log: float = TEAM_SD
    dispersion: float = DISPERSION
    region_effect: str = "none (a null control: regions differ by chance only)"
    attrition_monthly_base_hazard: float = ATTRITION_BASE_MONTHLY
    attrition_hazard_ratio_by_style: dict = field(default_factory=lambda: dict(ATTRITION_HR))
    attrition_hazard_ratio_recognition: float = ATTRITION_HR_RECOGNITION
    style_changes: list = field(default_factory=list)


def planted_effects(truth: dict) -> dict[str, float]:
    """The planted CAC multipliers of a ``truth.json``, named as the drivers model names terms.

    Tactics are relative to the cheapest tactic; styles to consultative and
    involvement to hybrid (the references of :func:`salesnb.models.fit_drivers`).
    """
    base = truth["base_cac"]
    reference = min(base, key=base.get)
    effects = {f"tactic={t}": v / base[reference] for t, v in base.items() if t != reference}
    effects |= {f"decision_style={s}": v for s, v in
                truth["decision_style_cac_multiplier"].items() if s != "consultative"}
    effects |= {f"involvement={s}": v for s, v in
                truth["involvement_cac_multiplier"].items() if s != "hybrid"}
    effects["years10"] = truth["industry_years_cac_multiplier_per_10_years"]
    effects["admin10"] = truth["admin_share_cac_multiplier_per_0_1"]
    inter = truth["interaction"]
    effects[f"tactic={inter['tactic']}:decision_style={inter['decision_style']}"] = \
        inter["cac_multiplier"]
    return effects


def generate(out: str | Path | None = None, seed: int = 42, teams: int = 40, months: int = 24,
             start: str = "2024-01", situational: bool = True) -> dict[str, pd.DataFrame]:
    """Generate a demo dataset with planted effects.

    Parameters
    ----------
    out
        Folder to write (CSV/Parquet files, ``mapping.yml``, ``truth.json``).
        It must not exist or be empty; the files appear all at once. ``None``
        writes nothing.
    seed, teams, months, start
        Random seed, number of sales teams, number of months, first month.
    situational
        Plant the situational style effect (:data:`SITUATIONAL`). ``False`` leaves it
        out (a null for the situational analyses). No random number is drawn for it:
        spend, teams, leaders and reps are the same either way; deals differ.

    Returns
    -------
    dict of DataFrame
        The canonical tables plus ``truth`` (a one-row frame is not useful, so
        the truth is available as ``tables["truth"].attrs["truth"]``).
    """
    if teams < 2 or months < 6:
        raise SalesnbError("the demo needs at least 2 teams and 6 months")
    rng = np.random.default_rng(seed)
    periods = pd.period_range(start=start, periods=months, freq="M")
    truth = DemoTruth(seed=seed, teams=teams, months=months, start=str(periods[0]))
    if not situational:
        truth.situational_effect = None
    leaders = _leaders(rng, max(2, math.ceil(teams * 0.85)))
    teams_df = _teams(rng, teams, leaders)
    changes = _style_changes(rng, leaders, periods)
    truth.style_changes = changes.assign(
        effective_date=changes["effective_date"].dt.strftime("%Y-%m-%d")).to_dict("records")
    style = _style_by_team_month(teams_df, leaders, changes, periods)
    spend, expected = _spend_and_expected(rng, teams_df, leaders, style, periods,
                                          truth.situational_effect)
    reps = _reps(rng, teams_df, leaders, style, periods)
    deals = _deals(rng, spend, expected, teams_df, reps, periods)
    touches = _touches(rng, deals)
    tables = {"spend": spend, "deals": deals, "teams": teams_df, "leaders": leaders,
              "style_changes": changes, "reps": reps, "touches": touches}
    if out is not None:
        write_dataset(tables, asdict(truth), Path(out))
    tables["truth"] = pd.DataFrame()
    tables["truth"].attrs["truth"] = asdict(truth)
    return tables


def _leaders(rng: np.random.Generator, n: int) -> pd.DataFrame:
    styles = np.resize(list(STYLE_CAC), n)
    rng.shuffle(styles)
    involvement = np.resize(list(INVOLVEMENT_CAC), n)
    rng.shuffle(involvement)
    return pd.DataFrame({
        "leader_id": [f"L{i:03d}" for i in range(1, n + 1)],
        "title": rng.choice(TITLES, n),
        "decision_style": styles,
        "involvement": involvement,
        "industry_years": rng.integers(2, 26, n),
        "admin_share": rng.uniform(0.1, 0.5, n).round(2),
        "training_hours": rng.integers(10, 81, n),
        "recognition": rng.random(n) < 0.5,
    })


def _teams(rng: np.random.Generator, n: int, leaders: pd.DataFrame) -> pd.DataFrame:
    leader_ids = list(leaders["leader_id"]) + list(
        rng.choice(leaders["leader_id"], n - len(leaders), replace=False))
    rng.shuffle(leader_ids)
    return pd.DataFrame({
        "team_id": [f"T{i:02d}" for i in range(1, n + 1)],
        "leader_id": leader_ids,
        "region": rng.choice(REGIONS, n),
        "segment": rng.choice(list(SEGMENTS), n),
        "industry": rng.choice(INDUSTRIES, n),
    })


def _style_changes(rng, leaders: pd.DataFrame, periods: pd.PeriodIndex) -> pd.DataFrame:
    n_change = max(1, round(len(leaders) * STYLE_CHANGE_SHARE))
    chosen = leaders.sample(n_change, random_state=rng).sort_values("leader_id")
    rows = []
    for _, leader in chosen.iterrows():
        month = periods[rng.integers(len(periods) // 3, 2 * len(periods) // 3)]
        new_style = rng.choice([s for s in STYLE_CAC if s != leader["decision_style"]])
        rows.append({"leader_id": leader["leader_id"],
                     "effective_date": month.to_timestamp(),
                     "decision_style": new_style, "involvement": leader["involvement"]})
    return pd.DataFrame(rows)


def _style_by_team_month(teams, leaders, changes, periods) -> pd.DataFrame:
    """Decision style and involvement of each team's leader in each month."""
    grid = teams[["team_id", "leader_id"]].merge(pd.DataFrame({"period": periods}), how="cross")
    grid = grid.merge(leaders[["leader_id", "decision_style", "involvement"]], on="leader_id")
    for change in changes.itertuples():
        after = (grid["leader_id"] == change.leader_id) & (
            grid["period"].dt.to_timestamp() >= change.effective_date)
        grid.loc[after, "decision_style"] = change.decision_style
        grid.loc[after, "involvement"] = change.involvement
    return grid


def _spend_and_expected(rng, teams, leaders, style, periods, situational=None):
    tactics = list(TACTICS)
    cells = style.merge(pd.DataFrame({"tactic": tactics}), how="cross").merge(
        leaders[["leader_id", "industry_years", "admin_share"]], on="leader_id")
    team_effect = dict(zip(teams["team_id"], np.exp(rng.normal(0, TEAM_SD, len(teams))),
                           strict=True))
    spend = REF_SPEND * np.exp(rng.normal(0, 0.5, len(cells)))
    cac = (cells["tactic"].map(lambda t: TACTICS[t][0])
           * cells["decision_style"].map(STYLE_CAC)
           * cells["involvement"].map(INVOLVEMENT_CAC)
           * np.where((cells["tactic"] == INTERACTION["tactic"])
                      & (cells["decision_style"] == INTERACTION["decision_style"]),
                      INTERACTION["cac_multiplier"], 1.0)
           * INDUSTRY_YEARS_CAC_PER_10 ** ((cells["industry_years"] - 10) / 10)
           * ADMIN_SHARE_CAC_PER_TENTH ** ((cells["admin_share"] - 0.3) / 0.1)
           * cells["team_id"].map(team_effect)
           * _situational_multiplier(cells, teams, situational))
    expected = REF_SPEND ** (1 - RESPONSE_EXPONENT) * spend ** RESPONSE_EXPONENT / cac
    programme = {"referrals": "Customer advocacy", "partners": "Channel",
                 "events": "Field marketing", "webinars": "Field marketing"}
    spend_df = pd.DataFrame({
        "period": cells["period"].dt.strftime("%Y-%m"),
        "team_id": cells["team_id"],
        "tactic": cells["tactic"],
        "cost": spend.round(2),
        "programme": cells["tactic"].map(programme).fillna("Demand generation"),
        "strategy": np.where(cells["tactic"].isin(["referrals", "partners"]), "Indirect",
                             "Direct"),
    })
    return spend_df, expected.to_numpy()


def _situational_multiplier(cells, teams, effect: dict | None) -> np.ndarray:
    """The planted CAC multiplier of each cell's style in its team's situation (1 elsewhere)."""
    if effect is None:
        return np.ones(len(cells))
    situation = cells["team_id"].map(dict(zip(teams["team_id"], teams[effect["by"]],
                                              strict=True)))
    multiplier = situation.map(effect["cac_multiplier"]).fillna(1.0).to_numpy(dtype=float)
    return np.where(cells["decision_style"] == effect["decision_style"], multiplier, 1.0)


def _negative_binomial(rng, mean: np.ndarray) -> np.ndarray:
    gamma = rng.gamma(1 / DISPERSION, DISPERSION, len(mean))
    return rng.poisson(mean * gamma)


def _reps(rng, teams, leaders, style, periods) -> pd.DataFrame:
    """Reps per team; monthly exit hazard depends on the leader's style and recognition."""
    recognition = dict(zip(leaders["leader_id"], leaders["recognition"], strict=True))
    start = periods[0].to_timestamp()
    rows, next_id = [], 1
    for team in teams.itertuples():
        team_style = style[style["team_id"] == team.team_id].set_index("period")["decision_style"]
        active = []
        for _ in range(5):
            active.append([f"R{next_id:04d}", start - pd.Timedelta(days=int(rng.integers(30,
                                                                                   1500)))])
            next_id += 1
        for period in periods:
            hazard = ATTRITION_BASE_MONTHLY * ATTRITION_HR[team_style[period]] * (
                ATTRITION_HR_RECOGNITION if recognition[team.leader_id] else 1.0)
            staying = []
            for rep_id, hired in active:
                exit_date = period.to_timestamp() + pd.Timedelta(days=int(rng.integers(0, 28)))
                if rng.random() < hazard and exit_date > hired:
                    rows.append((rep_id, team.team_id, hired, exit_date))
                    new_hire = exit_date + pd.Timedelta(days=int(rng.integers(14, 45)))
                    staying.append([f"R{next_id:04d}", new_hire])
                    next_id += 1
                else:
                    staying.append([rep_id, hired])
            active = staying
        rows += [(rep_id, team.team_id, hired, pd.NaT) for rep_id, hired in active]
    reps = pd.DataFrame(rows, columns=["rep_id", "team_id", "hire_date", "exit_date"])
    reps["annual_cost"] = rng.normal(90_000, 15_000, len(reps)).round(-2)
    return reps.sort_values("rep_id").reset_index(drop=True)


def _deals(rng, spend, expected, teams, reps, periods) -> pd.DataFrame:
    won = _negative_binomial(rng, expected)
    win_rate = spend["tactic"].map(lambda t: TACTICS[t][1]).to_numpy()
    lost = rng.poisson(expected * (1 - win_rate) / win_rate)
    last = periods[-1].strftime("%Y-%m")
    open_ = np.where(spend["period"] == last, rng.poisson(expected * 0.5), 0)
    frames = []
    for outcome, counts in (("won", won), ("lost", lost), ("open", open_)):
        cells = spend.loc[spend.index.repeat(counts), ["period", "team_id", "tactic"]]
        cells = cells.assign(outcome=outcome)
        frames.append(cells)
    deals = pd.concat(frames, ignore_index=True)
    month_start = pd.to_datetime(deals["period"] + "-01")
    close = month_start + pd.to_timedelta(rng.integers(0, 28, len(deals)), unit="D")
    is_open = deals["outcome"] == "open"
    close = close.where(~is_open, close + pd.Timedelta(days=45))
    cycle = deals["tactic"].map(lambda t: TACTICS[t][2]).to_numpy()
    created = close - pd.to_timedelta(np.maximum(1, rng.gamma(4, cycle / 4)).round(), unit="D")
    segment = deals["team_id"].map(dict(zip(teams["team_id"], teams["segment"], strict=True)))
    amount = segment.map(SEGMENTS) * np.exp(rng.normal(-0.125, 0.5, len(deals)))
    deals = deals.assign(close_date=close.dt.normalize(), created_date=created.dt.normalize(),
                         amount=amount.round(2))
    deals = deals.sample(frac=1, random_state=rng).reset_index(drop=True)
    deals.insert(0, "deal_id", [f"D{i:06d}" for i in range(1, len(deals) + 1)])
    deals["rep_id"] = _assign_reps(rng, deals, reps)
    won_mask = deals["outcome"] == "won"
    deals["customer_id"] = pd.Series(pd.NA, index=deals.index, dtype="string")
    deals.loc[won_mask, "customer_id"] = [f"C{i:06d}" for i in range(1, won_mask.sum() + 1)]
    return deals[["deal_id", "team_id", "tactic", "close_date", "outcome", "rep_id",
                  "created_date", "amount", "customer_id"]]


def _assign_reps(rng, deals: pd.DataFrame, reps: pd.DataFrame) -> pd.Series:
    """A random rep of the deal's team who was employed on the close date."""
    pairs = deals[["deal_id", "team_id", "close_date"]].merge(reps, on="team_id")
    active = (pairs["hire_date"] <= pairs["close_date"]) & (
        pairs["exit_date"].isna() | (pairs["exit_date"] >= pairs["close_date"]))
    # prefer an active rep; a team whose reps all left that day falls back to any of its reps
    pairs = pairs.assign(rank=np.where(active, 0, 1) + rng.random(len(pairs)))
    first = pairs.sort_values("rank").drop_duplicates("deal_id")
    return deals["deal_id"].map(dict(zip(first["deal_id"], first["rep_id"], strict=True)))


def _touches(rng, deals: pd.DataFrame) -> pd.DataFrame:
    won = deals[deals["outcome"] == "won"]
    n_touches = rng.integers(1, 5, len(won))
    rows = won.loc[won.index.repeat(n_touches), ["deal_id", "tactic", "created_date",
                                                 "close_date"]].reset_index(drop=True)
    order = rows.groupby("deal_id").cumcount()
    span = (rows["close_date"] - rows["created_date"]).dt.days.clip(lower=1)
    offset = np.where(order == 0, 0, rng.integers(0, span + 1))
    other = rng.choice(list(TACTICS), len(rows))
    touches = pd.DataFrame({
        "deal_id": rows["deal_id"],
        "touch_date": rows["created_date"] + pd.to_timedelta(offset, unit="D"),
        "tactic": np.where(order == 0, rows["tactic"], other),
    })
    return touches.drop_duplicates().sort_values(["deal_id", "touch_date"]).reset_index(drop=True)
