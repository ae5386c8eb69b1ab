"""Style changes as natural experiments: stacked difference in differences, an event study
and a pre-trend test.

When a leader changes decision style, the team's cost per customer before and after the
change, compared with the same months in teams whose leader kept a style, says what the
style does (difference in differences, DiD). Two things make the plain version (one Poisson
fit with team, month and tactic effects, 'two-way fixed effects') unreliable:

- **Staggered changes.** Leaders change in different months. Plain two-way fixed effects
  then also compares late changers with teams that changed earlier, whose effect may still
  be growing or fading: with effects that differ by cohort or over time the estimate is a
  weighted mix that can land far from any team's effect, even on the wrong side of 1.
  Here each cohort (the teams that change in the same month) gets its own sub-panel with
  *clean* comparison teams only (never changed, or not before the end of the window),
  ``-window .. +window`` months around the change, and its own team and month effects; the
  stacks are fitted together (a *stacked DiD*, Cengiz et al. 2019, Wing et al. 2024; see
  :mod:`.stacked_did`). The estimate is the average effect over the first ``window + 1``
  months after a change, cohorts weighted by how much they tell (about: by their number of
  changed teams). It was chosen over Sun & Abraham's interaction weights because styles
  change in every direction (three styles, not one 'treatment'): each stack is still a
  clean before/after comparison of a few teams with unchanged ones, and the model stays
  one multiplicative count model with few parameters even when changes are few.
- **Few changed teams.** The errors are clustered by team, and a clustered interval rests
  on the changed teams: with one or two it collapses (on real data 1.135 [1.126, 1.145],
  p = 1e-17, from one team). So, counting for each style the changed teams whose change
  is to or from it:

  - below :data:`MIN_CHANGED_TEAMS` (3) changed teams in all, nothing is estimated: a
    :class:`~salesnb.errors.SalesnbError` says 'too few style changes to tell' (a style
    only one or two teams moved to or from keeps its row, without numbers). Nothing can
    tell one or two teams' change of style from their luck (a territory, a product, a hire
    in the same month), and neither remedy holds: a randomisation p-value cannot fall
    below 1 / teams and rests on that one team being like every other; the wild cluster
    bootstrap fails with one or two treated clusters (MacKinnon & Webb 2017).
  - from there to :data:`CLUSTERED_MIN_CHANGED_TEAMS` (15, the drivers model's
    few-treated-teams line), *randomisation inference*: the observed changes (month, old
    and new style) are handed to randomly chosen teams :data:`PLACEBO_DRAWS` times, with
    the estimated effect taken out of the data first; the spread of these placebo
    estimates is the estimate's error (Conley & Taber 2011), and the p-value is twice the
    share of placebos beyond the estimate (never below 2 / (draws + 1)). It assumes a changed
    team is like any other. With no effect planted (40 teams, 100 seeds) it rejected at 5%
    2%, 6% and 2% of the time with 3, 5 and 10 changed teams, where clustered t(teams - 1)
    intervals rejected 15.5% and 10.5% with 5 and 10 (60 teams, 200 seeds).
  - from 15 changed teams on, clustered errors on t(changed teams - 1): 4.5% with 15 of
    40 teams and 5.0% with 25 (200 seeds).

- **Pre-trends.** The event-study coefficients of the months before the change should be
  jointly zero. Their clustered Wald statistic, read from F tables, rejected a true null
  76%, 35% and 24% of the time with 5, 10 and 20 changed teams (5 coefficients resting on
  those teams), so its p-value always comes from the same placebo assignments (4-8% in
  the same null studies, 100 seeds each).

Errors are clustered as the drivers model's are (:func:`.clusters.inference_clusters`:
by leader when a leader runs several teams), and every count above counts a leader's teams
once: one leader changing style over three teams is one change. The ``model`` column of
every table names the method that gave its interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models import stacked_did
from salesnb.models.clusters import inference_clusters
from salesnb.models.drivers import REFERENCE, TIDY_COLUMNS, model_frame
from salesnb.models.wild_bootstrap import FEW_TREATED_TEAMS

MIN_CHANGED_TEAMS = 3
"""Fewer changed teams than this (counting the teams of one leader once): too few to tell."""
CLUSTERED_MIN_CHANGED_TEAMS = FEW_TREATED_TEAMS
"""From this many changed teams on (for every style, counting the teams of one leader
once), clustered intervals; below, randomisation inference.
"""
PLACEBO_DRAWS = 199
"""Placebo assignments of the changes (randomisation inference)."""
METHOD = "stacked DiD (Poisson, team and month effects per change cohort)"
CLUSTERED = "errors clustered by {kind}, t(changed {kind}s - 1)"
KINDS = {"team": "team", "leader": "leader", "leader and team": "team group"}
RANDOMISATION = "randomisation inference ({draws} placebo assignments of the changes)"


def style_change_effects(panel: pd.DataFrame, window: int = 6, draws: int = PLACEBO_DRAWS,
                         seed: int = 0) -> dict[str, pd.DataFrame]:
    """What a change of decision style does to cost per customer, from teams whose leader
    changed style (stacked difference in differences), with an event study and a pre-trend
    check.

    Parameters
    ----------
    panel : the team x tactic x month panel (:func:`salesnb.metrics.panel`) with
        ``decision_style`` per month (the style in force on its first day).
    window : months before and after a change each cohort's comparison covers.
    draws : placebo assignments of the changes for randomisation inference (the pre-trend
        test always; intervals with fewer than :data:`CLUSTERED_MIN_CHANGED_TEAMS` changed
        teams).
    seed : seed of the placebo assignments.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``effects``: one row per decision style the changes involve, as a CAC multiplier
        against the reference style (term, estimate, ci_low, ci_high, p, model, n,
        teams_changed: the changed teams whose change involves that style, and
        clusters_changed: the same counting a leader's teams once, the unit of the errors).
        ``event_study``: CAC multiplier of each style by months to the change (term
        ``m-6`` .. ``m+6``; ``m-1`` is the reference), with style, ci_low, ci_high, p, model.
        ``pretrend``: the test that the pre-change months are jointly zero (test,
        statistic, p, teams_changed, method). ``cohorts``: the month of each cohort, its
        changed teams, comparison teams and changes.

    Raises
    ------
    SalesnbError
        Without decision styles, when no team's leader changed style, with fewer than
        :data:`MIN_CHANGED_TEAMS` changed teams, or when no team kept its style around a
        change.
    """
    if window < 1:
        raise SalesnbError(f"the window must be at least one month, not {window}")
    frame = model_frame(panel)
    if "decision_style" not in frame or frame["decision_style"].isna().all():
        raise SalesnbError("style changes need decision styles (map leaders.decision_style "
                           "and style_changes)")
    clusters = inference_clusters(frame)
    months = stacked_did.team_months(frame, clusters.ids)
    events = change_events(months, window)
    if events.empty:
        raise SalesnbError("no team's leader changed decision style: nothing to compare")
    if events["cluster"].nunique() < MIN_CHANGED_TEAMS:
        raise SalesnbError(
            f"too few style changes to tell: only {_who(events)} had a leader who changed "
            f"decision style, and at least {MIN_CHANGED_TEAMS} teams with different leaders "
            "are needed before a difference can be told from one team's luck")
    design = _Design(months, window, *_involved_styles(events))
    carried = _carrying(design, events, "cluster")
    if (carried < MIN_CHANGED_TEAMS).all():
        raise SalesnbError(
            "too few style changes to tell: no decision style was changed to or from by "
            f"{MIN_CHANGED_TEAMS} or more teams with different leaders "
            f"({_listed(design, carried)})")
    effects, study, stacks = design.fit(events)
    if not np.isfinite(effects.coef).any():
        raise SalesnbError("the style changes cannot be told apart from the team and month "
                           "effects (too few months around them)")
    carried = np.where(np.isfinite(effects.coef), carried, 0)
    few = bool((carried[carried >= MIN_CHANGED_TEAMS] < CLUSTERED_MIN_CHANGED_TEAMS).any())
    placebo = _placebos(design, events, effects.coef, draws, seed, few)
    if few:
        method = RANDOMISATION.format(draws=len(placebo["wald"]))
        intervals = [_placebo_intervals(fit.coef, placebo[key])
                     for key, fit in (("effects", effects), ("study", study))]
    else:
        method = CLUSTERED.format(kind=KINDS[clusters.kind])
        intervals = [_clustered_intervals(effects, carried),
                     _clustered_intervals(study, np.repeat(carried, len(design.times)))]
    method = f"{METHOD}, {method}"
    if not (effects.converged and study.converged):
        method += " (the optimiser did not converge: treat with caution)"
    statistic, _ = _wald(study, design.pre)
    walds = placebo["wald"][np.isfinite(placebo["wald"])]
    wald_p = float((1 + np.sum(walds >= statistic)) / (1 + len(walds))) \
        if np.isfinite(statistic) and len(walds) else np.nan
    pretrend = pd.DataFrame([{
        "test": "pre-change months jointly zero", "statistic": statistic, "p": wald_p,
        "teams_changed": len(events),
        "method": f"{METHOD}, clustered Wald statistic, "
                  f"{RANDOMISATION.format(draws=len(walds))}"}])
    return {"effects": _effects_table(design, events, carried, effects, intervals[0], method),
            "event_study": _study_table(design, carried, study, intervals[1], method),
            "pretrend": pretrend, "cohorts": _cohorts(design, events, stacks)}


def change_events(months: stacked_did.TeamMonths, window: int) -> pd.DataFrame:
    """Each team's first change of decision style.

    Returns
    -------
    pandas.DataFrame
        team (row in ``months``), team_id, cluster, cohort (month number of the change),
        before, after (the styles) and last (the last month after the change the team stays
        in its stack: the window, or the month before its second change).
    """
    rows = []
    for team in range(len(months.teams)):
        times = np.flatnonzero(months.present[team])
        styles = months.style[team, times]
        switches = np.flatnonzero(styles[1:] != styles[:-1]) + 1
        if not len(switches):
            continue
        cohort = int(times[switches[0]])
        last = window if len(switches) < 2 else min(window, int(times[switches[1]]) - cohort - 1)
        rows.append({"team": team, "team_id": months.teams[team],
                     "cluster": months.cluster[team], "cohort": cohort,
                     "before": styles[switches[0] - 1], "after": styles[switches[0]],
                     "last": last})
    return pd.DataFrame(rows, columns=["team", "team_id", "cluster", "cohort", "before",
                                       "after", "last"])


def _who(events: pd.DataFrame) -> str:
    teams, leaders = len(events), events["cluster"].nunique()
    return f"{teams} team(s)" + (f" under {leaders} leader(s)" if leaders < teams else "")


def _listed(design: _Design, carried: np.ndarray) -> str:
    return ", ".join(f"{s}: {n}" for s, n in zip(design.styles, carried, strict=True))


def _involved_styles(events: pd.DataFrame) -> tuple[str, list[str]]:
    """The reference style and the others the changes involve."""
    involved = pd.concat([events["before"], events["after"]]).value_counts()
    reference = REFERENCE["decision_style"]
    if reference not in involved.index:
        reference = str(events["before"].value_counts().idxmax())
    return reference, sorted(str(s) for s in involved.index if s != reference)


class _Design:
    """The regressors of the effects and event-study fits, for real or placebo changes."""

    def __init__(self, months: stacked_did.TeamMonths, window: int, reference: str,
                 styles: list[str]):
        self.months, self.window, self.reference, self.styles = months, window, reference, \
            styles
        event = np.arange(-window, window + 1)
        self.times = [int(e) for e in event if e != -1]
        self.after = (event >= 0).astype(float)[:, None]
        self.by_month = np.stack([(event == e).astype(float) for e in self.times], axis=1)
        self.pre = np.array([e < 0 for _ in styles for e in self.times])

    def fit(self, events: pd.DataFrame, months: stacked_did.TeamMonths | None = None,
            effects: bool = True, study: bool = True):
        """The effects fit, the event-study fit (each None when not asked) and the stacks."""
        stacks = stacked_did.build_stacks(self.months if months is None else months, events,
                                          self.window, self.styles)
        reference = self.window - 1
        names = [f"{s}|{e}" for s in self.styles for e in self.times]
        return (stacked_did.fit_stacked(stacks, self.after, list(self.styles), reference)
                if effects else None,
                stacked_did.fit_stacked(stacks, self.by_month, names, reference)
                if study else None, stacks)

    def without_effect(self, coef: np.ndarray) -> stacked_did.TeamMonths:
        """The team-months with the estimated style effects moved into the offset."""
        months = self.months
        first = months.first_style()[:, None]
        shift = sum(np.nan_to_num(b) * ((months.style == s).astype(float)
                                        - (first == s).astype(float))
                    for s, b in zip(self.styles, coef, strict=True))
        return stacked_did.TeamMonths(months.teams, months.start, months.y,
                                      months.offset + np.where(months.present, shift, 0.0),
                                      months.present, months.style, months.cluster)


def _placebos(design: _Design, events: pd.DataFrame, coef: np.ndarray, draws: int,
              seed: int, effects: bool) -> dict[str, np.ndarray]:
    """Estimates with the changes handed to randomly chosen teams (a leader's changes to
    all teams of another leader; the estimated effect taken out of the data first):
    effects and event study (when ``effects``), and the pre-trend Wald statistic.
    """
    rng = np.random.default_rng(seed)
    months = design.without_effect(coef)
    members = [np.flatnonzero(months.cluster == c) for c in range(months.cluster.max() + 1)]
    changed = [np.flatnonzero(events["cluster"].to_numpy() == c)
               for c in events["cluster"].unique()]
    columns = {c: events[c].to_numpy() for c in ("cohort", "before", "after", "last")}
    found: dict[str, list] = {"effects": [], "study": [], "wald": []}
    for _ in range(draws):
        # each changed cluster's changes go to the teams of a randomly chosen cluster
        targets = rng.choice(len(members), len(changed), replace=False)
        rows = np.concatenate([part[np.arange(len(members[c])) % len(part)]
                               for part, c in zip(changed, targets, strict=True)])
        placebo = pd.DataFrame({"team": np.concatenate([members[c] for c in targets]),
                                **{c: values[rows] for c, values in columns.items()}})
        try:
            fit_effects, fit_study, _ = design.fit(placebo, months, effects=effects)
        except SalesnbError:
            continue
        found["wald"].append(_wald(fit_study, design.pre)[0])
        if effects:
            found["effects"].append(fit_effects.coef)
            found["study"].append(fit_study.coef)
    return {key: np.array(values, float) for key, values in found.items()}


def _wald(fit, pre: np.ndarray) -> tuple[float, int]:
    """Clustered Wald statistic (chi-square form) of the identified pre-change
    coefficients, and their number.
    """
    keep = pre & np.isfinite(fit.coef)
    if not keep.any():
        return np.nan, 0
    b, cov = fit.coef[keep], fit.cov[np.ix_(keep, keep)]
    return float(b @ np.linalg.pinv(cov) @ b), int(keep.sum())


def _carrying(design: _Design, events: pd.DataFrame, unit: str) -> np.ndarray:
    """For each style, the changed teams (``unit="team"``) or clusters whose change
    involves it (from or to).
    """
    return np.array([events.loc[events["before"].eq(s) | events["after"].eq(s),
                                unit].nunique() for s in design.styles])


def _clustered_intervals(fit, carried: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """95% interval and p-value from the clustered errors, on t with (changed clusters
    carrying the term - 1) degrees of freedom: clustered errors are too small when few clusters are
    treated (MacKinnon & Webb 2017). At 15 changed teams of 40, t(teams - 1) rejected a
    true null 7% of the time in 200 seeds, t(changed teams - 1) 4.5%.
    """
    from scipy import stats

    df = np.clip(carried - 1, 1, max(fit.clusters - 1, 1))
    crit = stats.t.ppf(0.975, df)
    return (fit.coef - crit * fit.se, fit.coef + crit * fit.se,
            2 * stats.t.sf(np.abs(fit.coef / fit.se), df))


def _placebo_intervals(coef: np.ndarray, errors: np.ndarray):
    """95% interval (the coefficient minus the placebo estimates' 97.5% and 2.5% quantiles:
    their spread is the estimate's error) and the equal-tailed p-value of zero (twice the
    smaller share of placebos beyond the estimate), so that p < 0.05 when the interval
    leaves out 'no difference'.
    """
    low, high, p = (np.full(len(coef), np.nan) for _ in range(3))
    errors = errors.reshape(-1, len(coef))
    for j, b in enumerate(coef):
        e = errors[:, j][np.isfinite(errors[:, j])]
        if not np.isfinite(b) or len(e) < 19:
            continue
        low[j], high[j] = b - np.quantile(e, 0.975), b - np.quantile(e, 0.025)
        tail = (1 + min(np.sum(e >= b), np.sum(e <= b))) / (1 + len(e))
        p[j] = min(1.0, 2 * tail)
    return low, high, p


def _effects_table(design: _Design, events: pd.DataFrame, carried: np.ndarray, fit,
                   intervals, method: str) -> pd.DataFrame:
    """One row per style; a style fewer than MIN_CHANGED_TEAMS clusters changed to or from
    keeps its row, without numbers, and says so.
    """
    low, high, p = intervals
    thin = carried < MIN_CHANGED_TEAMS
    table = pd.DataFrame({
        "term": [f"decision_style={s}" for s in design.styles],
        "estimate": np.exp(-fit.coef), "ci_low": np.exp(-high), "ci_high": np.exp(-low),
        "p": p, "model": method, "n": fit.n, "teams_changed": _carrying(design, events, "team"),
        "clusters_changed": carried})
    table.loc[thin, ["estimate", "ci_low", "ci_high", "p"]] = np.nan
    table.loc[thin, "model"] = [f"too few style changes to tell: {n} team(s) with different "
                                "leaders changed to or from it" for n in carried[thin]]
    columns = [*TIDY_COLUMNS, "teams_changed", "clusters_changed"]
    return table[np.isfinite(fit.coef) | thin][columns].reset_index(drop=True)


def _study_table(design: _Design, carried: np.ndarray, fit, intervals,
                 method: str) -> pd.DataFrame:
    low, high, p = intervals
    table = pd.DataFrame({
        "term": [f"m{e:+d}" if e < 0 else f"m+{e}" for _ in design.styles for e in design.times],
        "style": [f"decision_style={s}" for s in design.styles for _ in design.times],
        "estimate": np.exp(-fit.coef), "ci_low": np.exp(-high), "ci_high": np.exp(-low),
        "p": p, "model": method})
    keep = np.isfinite(fit.coef) & (np.repeat(carried, len(design.times)) >= MIN_CHANGED_TEAMS)
    return table[keep].reset_index(drop=True)


def _cohorts(design: _Design, events: pd.DataFrame, stacks) -> pd.DataFrame:
    """One row per change cohort: its month, changed teams, comparison teams and changes."""
    comparison = (stacks.mask.any(axis=2) & ~stacks.treated).sum(axis=1)
    rows = []
    for (cohort, part), compared in zip(events.groupby("cohort", sort=True), comparison,
                                        strict=True):
        rows.append({"month": (design.months.start + int(cohort)).to_timestamp(),
                     "teams_changed": len(part), "comparison_teams": int(compared),
                     "changes": ", ".join(sorted(f"{b} -> {a}" for b, a in
                                                 zip(part["before"], part["after"],
                                                     strict=True)))})
    return pd.DataFrame(rows)
