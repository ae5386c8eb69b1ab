"""Stacked difference in differences: the machinery behind :mod:`.style_changes`.

A style change is dated by the first month a team's leader has a new decision style; teams
that change in the same month form a *cohort*. Each cohort gets a sub-panel (a *stack*):
its teams and the clean comparison teams (never changed, or first changed after the
cohort's window) over the months ``-window .. +window`` around the change; a changed team
leaves its stack the month before a second change. Every stack has its own team and month
effects, so a team that changed earlier is never the comparison for one that changes later
(the 'forbidden comparison' that biases plain two-way fixed effects when changes are
staggered and effects differ by cohort or grow over time).

The count model is Poisson on team-months::

    E[new customers] = exp(team x stack + month x stack + style terms) * exposure

where the exposure is ``sum over tactics of tactic effect x spend``; the tactic effects come
from a first Poisson fit with one effect per team-month (which absorbs the style, so the
style cannot leak into them). With tactic effects held fixed, summing the cells of a
team-month changes neither the estimates nor the team-clustered errors.

The stacks are dense arrays (stack x team x month of the window); :func:`fit_stacked` fits
by Newton's method with the fixed effects eliminated block by block (no dummy columns), fast
enough for randomisation inference to afford hundreds of refits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError

MAX_ITERATIONS = 100
TOLERANCE = 1e-6  # largest Newton step (log scale): quadratic convergence


@dataclass
class TeamMonths:
    """Team-months as dense arrays: team x month (month 0 = the first month of the data).

    Attributes
    ----------
    teams : the team ids (rows).
    start : the first month.
    y : new customers (0 where absent).
    offset : log of the tactic-weighted spend (0 where absent).
    present : whether the team has the month (spend in it).
    style : the decision style in force (None where absent).
    cluster : each team's cluster for the errors (0..clusters-1).
    """

    teams: np.ndarray
    start: pd.Period
    y: np.ndarray
    offset: np.ndarray
    present: np.ndarray
    style: np.ndarray
    cluster: np.ndarray
    start_values: tuple[np.ndarray, np.ndarray] | None = None  # see levels()

    def first_style(self) -> np.ndarray:
        """Each team's style in its first month."""
        first = np.argmax(self.present, axis=1)
        return self.style[np.arange(len(self.teams)), first]

    def levels(self, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
        """Team and month effects of a plain two-way Poisson fit (log scale): the starting
        values of every stacked fit (computed once).
        """
        if self.start_values is None:
            exposure, tiny = np.exp(self.offset) * self.present, 1e-300
            team, month = np.zeros(len(self.teams)), np.zeros(self.y.shape[1])
            for _ in range(iterations):
                team = np.log(np.maximum(self.y.sum(1), tiny) / np.maximum(
                    (exposure * np.exp(month)).sum(1), tiny))
                month = np.log(np.maximum(self.y.sum(0), tiny) / np.maximum(
                    (exposure * np.exp(team)[:, None]).sum(0), tiny))
            self.start_values = team, month
        return self.start_values


@dataclass
class Stacks:
    """The stacked panel: arrays stack x team x month of the window (-window .. +window)."""

    cohorts: np.ndarray  # month number of each stack's change
    y: np.ndarray
    offset: np.ndarray
    mask: np.ndarray  # the row exists and belongs to the stack
    delta: np.ndarray  # stack x team x style: +1 style changed to, -1 changed from
    treated: np.ndarray  # stack x team: the team changed in this stack's month
    start_unit: np.ndarray  # starting values: stack x team
    start_time: np.ndarray  # stack x month of the window
    cluster: np.ndarray  # each team's cluster


@dataclass
class PoissonFit:
    """The regressors' part of a stacked Poisson fit.

    Attributes
    ----------
    names : the regressors, in order.
    coef : their coefficients (log scale; NaN for one the data cannot identify).
    cov : the clustered covariance, scaled by G / (G - 1) (NaN where not identified).
    clusters : number of clusters (G) with rows in the fit.
    n : team-month rows used (counting a team-month once per stack it is in).
    converged : whether Newton's method converged.
    """

    names: list[str]
    coef: np.ndarray
    cov: np.ndarray
    clusters: int
    n: int
    converged: bool

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.cov))


def team_months(frame: pd.DataFrame, clusters: np.ndarray | None = None) -> TeamMonths:
    """The model frame's team x tactic x month cells summed to team-months.

    Parameters
    ----------
    frame : rows of :func:`salesnb.models.drivers.model_frame` (new_customers, spend,
        tactic, team_id, period, decision_style).
    clusters : the cluster of each row (a team's rows share one); default: the team.

    Returns
    -------
    TeamMonths
        Dense team x month arrays; the spend of each tactic is weighted by the tactic's
        effect (from a Poisson fit with one effect per team-month).
    """
    period = frame["period"].dt.to_period("M")
    team, teams = pd.factorize(frame["team_id"], sort=True)
    start = period.min()
    month = ((period.dt.year - start.year) * 12 + period.dt.month - start.month).to_numpy()
    tactic = pd.factorize(frame["tactic"])[0]
    y, spend = frame["new_customers"].to_numpy(float), frame["spend"].to_numpy(float)
    shape = (len(teams), int(month.max()) + 1)
    cell = team * shape[1] + month
    exposure = np.bincount(cell, tactic_effects(y, spend, tactic, cell)[tactic] * spend,
                           shape[0] * shape[1]).reshape(shape)
    present = exposure > 0
    style = np.full(shape, None, dtype=object)
    style[team, month] = frame["decision_style"].to_numpy()
    style[~present] = None
    cluster = np.zeros(len(teams), int)
    cluster[team] = pd.factorize(team if clusters is None else np.asarray(clusters))[0]
    return TeamMonths(np.asarray(teams), start,
                      np.bincount(cell, y, shape[0] * shape[1]).reshape(shape),
                      np.log(np.where(present, exposure, 1.0)), present, style,
                      pd.factorize(cluster)[0])


def tactic_effects(y: np.ndarray, spend: np.ndarray, tactic: np.ndarray,
                   group: np.ndarray, iterations: int = 2000) -> np.ndarray:
    """Poisson tactic effects (customers per unit spend, relative) with one effect per
    ``group`` (team-month), by iterative proportional fitting; one value per tactic code.
    """
    group = pd.factorize(group)[0]
    weight = np.ones(tactic.max() + 1)
    by_group = np.bincount(group, y)
    by_tactic = np.bincount(tactic, y, len(weight))
    for _ in range(iterations):
        level = by_group / np.maximum(np.bincount(group, weight[tactic] * spend), 1e-300)
        new = by_tactic / np.maximum(np.bincount(tactic, level[group] * spend, len(weight)),
                                     1e-300)
        new = new / new.max()
        if np.max(np.abs(new - weight)) < 1e-10:
            return new
        weight = new
    return weight


def build_stacks(months: TeamMonths, events: pd.DataFrame, window: int,
                 styles: list[str]) -> Stacks:
    """One stack per cohort: its changed teams and the clean comparison teams (no change
    until after the window) over the months ``-window .. +window`` around the change.

    ``events`` are rows of :func:`change_events` (real, or placebo ones with other teams);
    ``styles`` the styles whose terms are estimated (all but the reference).
    """
    cohorts = np.unique(events["cohort"].to_numpy(int))
    n_teams, n_months = months.y.shape
    first = np.full(n_teams, np.inf)
    first[events["team"].to_numpy(int)] = events["cohort"].to_numpy(float)
    columns = cohorts[:, None] + np.arange(-window, window + 1)[None, :]
    inside = (columns >= 0) & (columns < n_months)
    safe = np.clip(columns, 0, n_months - 1)
    clean = first[None, :] > cohorts[:, None] + window  # stack x team
    stack_of = np.searchsorted(cohorts, events["cohort"].to_numpy(int))
    team = events["team"].to_numpy(int)
    treated = np.zeros_like(clean)
    treated[stack_of, team] = True
    mask = months.present[:, safe].transpose(1, 0, 2) & inside[:, None, :]
    mask &= (clean | treated)[:, :, None]
    beyond = np.arange(-window, window + 1)[None, :] > events["last"].to_numpy(int)[:, None]
    mask[stack_of, team] &= ~beyond
    delta = np.zeros((len(cohorts), n_teams, len(styles)))
    after, before = events["after"].to_numpy(), events["before"].to_numpy()
    for k, style in enumerate(styles):
        delta[stack_of, team, k] = (after == style).astype(float) - (before == style)
    if not (clean[:, :, None] & mask).any():
        raise SalesnbError("no team kept its style around any change: no clean comparison "
                           "teams to compare the changed teams with")
    team_level, month_level = months.levels()
    return Stacks(cohorts, months.y[:, safe].transpose(1, 0, 2),
                  months.offset[:, safe].transpose(1, 0, 2), mask, delta, treated,
                  np.repeat(team_level[None, :], len(cohorts), axis=0), month_level[safe],
                  months.cluster)


def fit_stacked(stacks: Stacks, basis: np.ndarray, names: list[str],
                reference: int) -> PoissonFit:
    """Poisson fit of the stacks with team and month effects per stack, errors clustered
    (by the stacks' team clusters).

    Parameters
    ----------
    stacks : the stacked panel (:func:`build_stacks`).
    basis : window months x L: the regressors are ``delta[style] * basis[month, l]`` on the
        changed teams' rows (one column of 'after the change' for the effect; one per month
        for the event study), zero on the comparison teams' rows.
    names : one per style x basis column (style-major).
    reference : the month of the window whose effect is pinned at 0 (the month before the
        change); the team effects absorb the level.

    Returns
    -------
    PoissonFit
        Teams or months whose counts are all zero carry no information and are dropped;
        regressors the data cannot identify get NaN.
    """
    mask = _informative(stacks.y, stacks.mask)
    stack, team = np.nonzero(stacks.treated & mask.any(axis=2))
    X = (stacks.delta[stack, team][:, None, :, None] * basis[None, :, None, :]).reshape(
        len(stack), basis.shape[0], -1) * mask[stack, team][:, :, None]
    y, offset = np.where(mask, stacks.y, 0.0), np.where(mask, stacks.offset, 0.0)
    coef, cov = np.full(len(names), np.nan), np.full((len(names),) * 2, np.nan)
    unit, time = stacks.start_unit.copy(), stacks.start_time.copy()
    mu = np.exp(np.where(mask, offset + unit[:, :, None] + time[:, None, :], -np.inf))
    model = _Newton(y, mu, X, stack, team, reference)
    columns = _identified(model.reduced(), X, mu[stack, team]) if len(stack) else \
        np.arange(0)
    if not len(columns):
        return PoissonFit(names, coef, cov, 0, 0, False)
    if len(columns) < X.shape[2]:
        X = X[..., columns]
        model = _Newton(y, mu, X, stack, team, reference)
    beta, converged = np.zeros(len(columns)), False
    likelihood = _log_likelihood(y, mu, mask)
    for _ in range(MAX_ITERATIONS):
        step_unit, step_time, step_beta = model.step()
        size = 1.0
        while True:  # step halving: the Poisson log-likelihood is concave
            eta = (offset + (unit + size * step_unit)[:, :, None]
                   + (time + size * step_time)[:, None, :])
            eta[stack, team] += np.einsum("ejk,k->ej", X, beta + size * step_beta)
            new_mu = np.exp(np.where(mask, eta, -np.inf))
            new = _log_likelihood(y, new_mu, mask)
            if new >= likelihood - 1e-12 * abs(likelihood) or size < 1e-6:
                break
            size /= 2
        unit, time, beta, mu, likelihood = (unit + size * step_unit, time + size * step_time,
                                            beta + size * step_beta, new_mu, new)
        model = _Newton(y, mu, X, stack, team, reference)  # at the new point
        if size * max(np.abs(step_beta).max(initial=0), np.abs(step_time).max(),
                      np.abs(step_unit).max()) < TOLERANCE:
            converged = True
            break
    bread = np.linalg.pinv(model.reduced())
    scores = np.zeros((stacks.cluster.max() + 1, len(columns)))
    np.add.at(scores, stacks.cluster, model.team_scores())
    groups = len(np.unique(stacks.cluster[mask.any(axis=(0, 2))]))
    coef[columns] = beta
    cov[np.ix_(columns, columns)] = np.einsum("ij,jk,kl->il", bread, np.einsum(
        "nk,nl->kl", scores, scores), bread) * groups / max(groups - 1, 1)
    return PoissonFit(names, coef, cov, groups, int(mask.sum()), converged)


class _Newton:
    """Newton's step for the stacked Poisson model: the team effects (diagonal), then each
    stack's month effects (small dense blocks) eliminated before the regressors, which are
    non-zero on the changed teams' rows only (``X``: changed team x month x regressor, at
    ``stack``, ``team``). Products are einsums, not BLAS calls: they are small, and
    threaded BLAS on a busy machine makes small products very slow.
    """

    def __init__(self, y: np.ndarray, mu: np.ndarray, X: np.ndarray, stack: np.ndarray,
                 team: np.ndarray, reference: int):
        self.X, self.mu, self.residual, self.stack, self.team = X, mu, y - mu, stack, team
        units = mu.sum(2)
        self.inverse_unit = np.where(units > 0, 1 / np.where(units > 0, units, 1), 0.0)
        times = mu.sum(1)
        free = self.free = times > 0
        pinned = np.where(free[:, reference], reference, np.argmax(free, axis=1))
        free[np.arange(len(free)), pinned] = False  # one month per stack: the level
        eye, weighted = np.eye(mu.shape[2]), mu * self.inverse_unit[:, :, None]
        block = np.einsum("snj,snl->sjl", weighted, mu)
        cross = np.where(free[:, :, None] & free[:, None, :], times[:, :, None] * eye - block, 0)
        ridge = 1e-10 * times.max()  # a month only one-month teams have stays solvable
        self.time_time = cross + (~free + ridge)[:, :, None] * eye
        mu_x = mu[stack, team][:, :, None] * X  # changed team x month x k
        self.unit_x, inverse = mu_x.sum(1), self.inverse_unit[stack, team]
        per_team = mu_x - weighted[stack, team][:, :, None] * self.unit_x[:, None, :]
        time_x = np.zeros((mu.shape[0], mu.shape[2], X.shape[2]))
        np.add.at(time_x, stack, per_team)
        self.time_x = time_x * free[:, :, None]
        self.x_x = (np.einsum("ejk,ejl->kl", mu_x, X)
                    - np.einsum("ek,el->kl", self.unit_x * inverse[:, None], self.unit_x))
        self.on_time = np.linalg.solve(self.time_time, self.time_x)

    def reduced(self) -> np.ndarray:
        """The regressors' information with every fixed effect partialled out."""
        return self.x_x - np.einsum("sjk,sjl->kl", self.time_x, self.on_time)

    def step(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Newton's step for the team effects, month effects and regressors."""
        stack, team = self.stack, self.team
        r_unit = self.residual.sum(2)
        r_time = (self.residual.sum(1) - np.einsum(
            "snj,sn->sj", self.mu, self.inverse_unit * r_unit)) * self.free
        r_x = (np.einsum("ejk,ej->k", self.X, self.residual[stack, team])
               - np.einsum("ek,e->k", self.unit_x, (self.inverse_unit * r_unit)[stack, team]))
        time_only = np.linalg.solve(self.time_time, r_time[..., None])[..., 0]
        beta = np.linalg.solve(self.reduced(), r_x - np.einsum("sjk,sj->k", self.time_x,
                                                               time_only))
        time = time_only - np.einsum("sjk,k->sj", self.on_time, beta)
        unit_beta = np.zeros(r_unit.shape)
        unit_beta[stack, team] = np.einsum("ek,k->e", self.unit_x, beta)
        unit = self.inverse_unit * (r_unit - np.einsum("snj,sj->sn", self.mu, time)
                                    - unit_beta)
        return unit, time, beta

    def team_scores(self) -> np.ndarray:
        """Each team's score for the regressors with the fixed effects partialled out."""
        stack, team = self.stack, self.team
        unit_x = np.zeros((*self.mu.shape[:2], self.X.shape[2]))
        unit_x[stack, team] = self.unit_x
        on_unit = self.inverse_unit[:, :, None] * (
            unit_x - np.einsum("snj,sjk->snk", self.mu, self.on_time))
        scores = -(np.einsum("snk,sn->nk", on_unit, self.residual.sum(2))
                   + np.einsum("sjk,snj->nk", self.on_time, self.residual))
        np.add.at(scores, team, np.einsum("ejk,ej->ek", self.X, self.residual[stack, team]))
        return scores


def _identified(information: np.ndarray, X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Indices of the regressors the data identify beside the fixed effects (pivoted
    Cholesky of the partialled-out information, each column scaled by its raw size).
    """
    from scipy.linalg import lapack

    raw = np.einsum("ej,ejk->k", mu, X**2)
    candidates = np.flatnonzero(raw > 0)
    if not len(candidates):
        return candidates
    scale = np.sqrt(raw[candidates])
    scaled = information[np.ix_(candidates, candidates)] / np.outer(scale, scale)
    _, pivot, rank, _ = lapack.dpstrf(scaled, lower=1, tol=1e-9)
    return np.sort(candidates[pivot[:rank] - 1])


def _informative(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mask without teams or months of a stack whose counts are all zero (their effects
    would be minus infinity: they carry no information).
    """
    mask = mask.copy()
    while True:
        counts = np.where(mask, y, 0.0)
        units, times = counts.sum(2) > 0, counts.sum(1) > 0
        keep = mask & units[:, :, None] & times[:, None, :]
        if (keep == mask).all():
            return mask
        mask = keep


def _log_likelihood(y: np.ndarray, mu: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sum(np.where(mask, y * np.log(np.maximum(mu, 1e-300)) - mu, 0.0)))
