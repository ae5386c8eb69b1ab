"""A calibrated null for attrition claims: leader attributes permuted across leaders.

The attrition model's terms are all leader attributes (style, involvement, recognition,
training), so under the null that none matters the Cox model has no covariates at all and
its fit does not depend on the labels. Each permutation then needs only the score of each
term at that null: the log-rank statistic ``U = sum over exits (x_exit - mean x at risk)``,
studentised by its cluster score residuals (``T = sum_g S_g / sqrt(sum_g S_g^2)``, clusters
as in the model). Every leader takes another leader's attributes (as they were in the
month each spell starts); the p-value of a term is the share of permutations whose largest
``|T|`` over the terms reaches the term's observed ``|T|`` (single-step max-T), so it
controls the chance of any false attrition claim. As in :mod:`.permutation`, the observed
labels count as one permutation, and all are enumerated when there are few leaders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.models.permutation import DRAWS, permutation_orders

ATTRIBUTES = ("decision_style", "involvement", "recognition", "training_hours")


def attrition_permutation_p(frame: pd.DataFrame, design_info, columns: list[str],
                            groups: np.ndarray, draws: int = DRAWS,
                            seed: int = 0) -> np.ndarray:
    """Max-T permutation p-values of the Cox terms (one per design column; NaN when fewer
    than three leaders or teams hold the attributes).

    Parameters
    ----------
    frame : the model rows (spells) with ``entry``, ``exit``, ``exited``, ``leader_id`` or
        ``team_id``, ``start`` and the leader attributes.
    design_info, columns : the patsy design of the Cox model and its column names.
    groups : cluster id of each row.
    draws, seed : random permutations when the leaders are too many to enumerate.
    """
    from patsy import build_design_matrices

    unit = "leader_id" if "leader_id" in frame and frame["leader_id"].notna().all() \
        else "team_id"
    unit_codes, names = pd.factorize(frame[unit].astype(str))
    if len(names) < 3:
        return np.full(len(columns), np.nan)
    attributes = [c for c in ATTRIBUTES if c in frame]
    months = pd.to_datetime(frame["start"]).dt.to_period("M")
    month_codes, month_names = pd.factorize(months, sort=True)
    history = frame[attributes].assign(_unit=unit_codes, _month=month_codes).groupby(
        ["_unit", "_month"]).first()
    grid = pd.MultiIndex.from_product([range(len(names)), range(len(month_names))],
                                      names=["_unit", "_month"])
    with pd.option_context("future.no_silent_downcasting", True):
        table = history.reindex(grid).groupby(level="_unit").transform(
            lambda s: s.ffill().bfill()).reset_index(drop=True)
    if "recognition" in table:
        table["recognition"] = table["recognition"].astype(float)
    if "training_hours" in table:
        table["training10"] = table["training_hours"].astype(float) / 10.0
    lookup = np.asarray(build_design_matrices([design_info], table)[0])
    lookup = lookup[:, [list(design_info.column_names).index(c) for c in columns]]
    orders, _ = permutation_orders(len(names), draws, seed)
    ordered = np.stack(orders, axis=1)[unit_codes] * len(month_names) + month_codes[:, None]
    score = _LogRankScore(frame, groups)
    statistics = np.array([score.statistics(lookup[ordered, j])
                           for j in range(len(columns))])  # terms x orders
    largest = statistics.max(axis=0)
    return np.array([float(np.mean(largest >= t[0] - 1e-10)) for t in statistics])


class _LogRankScore:
    """Studentised cluster log-rank scores at the Cox model without covariates."""

    def __init__(self, frame: pd.DataFrame, groups: np.ndarray):
        from scipy.sparse import csr_matrix

        entry, stop = frame["entry"].to_numpy(float), frame["exit"].to_numpy(float)
        exited = frame["exited"].to_numpy(int) == 1
        self.event_rows = np.flatnonzero(exited)
        times = stop[self.event_rows]
        at_risk = (entry[None, :] < times[:, None]) & (times[:, None] <= stop[None, :])
        self.risk = csr_matrix(at_risk.astype(float))  # exits x rows
        self.size = at_risk.sum(axis=1).astype(float)
        self.weight = np.asarray(self.risk.T @ (1.0 / self.size)).ravel()  # sum_e R_ek / n_e
        codes = pd.factorize(groups)[0]
        self.by_cluster = csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))))

    def statistics(self, x: np.ndarray) -> np.ndarray:
        """|T| of one term's column under each order (``x``: rows x orders)."""
        means = (self.risk @ x) / self.size[:, None]  # exits x orders
        residual = -(x * self.weight[:, None]) + self.risk.T @ (means / self.size[:, None])
        residual[self.event_rows] += x[self.event_rows] - means
        sums = self.by_cluster @ residual
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.abs(sums.sum(axis=0)) / np.sqrt((sums**2).sum(axis=0))
        return np.nan_to_num(t, nan=0.0, posinf=0.0)
