"""A calibrated null for leadership claims: styles permuted across leaders.

A leadership finding is stated only when it beats the permuted labels. The check:

- Leadership terms fall into **families**: the style main effects (decision style,
  involvement), each style x situation interaction (tactic, segment...), and leader traits
  (industry years, admin share, training, recognition).
- For each leadership term, the model is refitted once *without* that term (the
  restricted fit, every other term kept, dispersion of the full fit). Under the null that
  the term does nothing, that fit does not depend on the term's labels, so a permutation
  needs **no refit**: only the term's design column changes.
- Each permutation gives every leader the whole attribute history (styles over time,
  traits) of another leader; teams keep their outcomes and their leader. The term's
  column is rebuilt from the permuted labels and its studentised cluster score
  ``T = sum_g S_g / sqrt(sum_g S_g^2)`` computed from the efficient scores (the other
  terms partialled out), clusters as in the model (:mod:`.clusters`). Studentised
  permutation tests stay valid when leaders are not exactly exchangeable (DiCiccio &
  Romano 2017); permuting one term's column at a time keeps a true effect elsewhere from
  leaking into its null (the Freedman-Lane idea).
- The adjusted p-value of a term is the share of permutations whose *largest* ``|T|``
  reaches the term's observed ``|T|`` (single-step max-T, Westfall & Young 1993).
  ``p_family`` takes the largest within the term's family; ``p_permutation`` over every
  leadership term of the model, so that it controls the chance of *any* false leadership
  claim: the brief states a leadership finding only on ``p_permutation`` (the families are
  tested together because a reader takes any of them as "leadership matters").

With few leaders every permutation is enumerated (exact, up to :data:`EXACT_UP_TO`);
otherwise ``draws`` random ones plus the observed labels, so the smallest p-value is
1 / (draws + 1). 499 draws cost about 2 s on the default demo (18 terms, 34 leaders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.drivers import (
    LEADER_VARIABLES,
    STYLE_TERMS,
    DriversFit,
    factor_words,
    plain_term,
)
from salesnb.models.wild_bootstrap import fisher_scoring

DRAWS = 499
EXACT_UP_TO = 1000
"""Every permutation is enumerated when there are at most this many (6 leaders: 720)."""
MAX_TABLE_ROWS = 2_000_000


@dataclass
class LeadershipNull:
    """The permutation check of a fit's leadership terms.

    Attributes
    ----------
    table : one row per leadership term: term (plain name), family, statistic (observed
        ``|T|``), p_family (adjusted within the family), p_permutation (adjusted over every
        leadership term).
    permutations : how many label sets were compared (the observed one included).
    exact : True when every permutation of the leaders was enumerated.
    units : what was permuted (``"leaders"`` or ``"teams"``) and how many there are.
    """

    table: pd.DataFrame
    permutations: int
    exact: bool
    unit: str
    units: int

    def describe(self) -> str:
        """A plain sentence: what was permuted, how often, and the resolution."""
        how = "all" if self.exact else "random"
        families = ", ".join(sorted(self.table["family"].unique()))
        return (f"leadership findings are checked against {how} {self.permutations} "
                f"permutations of styles and traits across the {self.units} {self.unit} "
                f"(smallest possible p = {1 / self.permutations:.3f}), adjusted over all "
                f"{len(self.table)} leadership terms ({families}): a finding is stated only "
                "when it beats the permuted labels")


def leadership_null(fit: DriversFit, draws: int = DRAWS, seed: int = 0) -> LeadershipNull:
    """Family-adjusted permutation p-values for the leadership terms of a drivers fit.

    Parameters
    ----------
    fit : a count-model fit from :func:`salesnb.models.fit_drivers`.
    draws : random permutations when the leaders are too many to enumerate.
    seed : random seed of the permutations.

    Returns
    -------
    LeadershipNull
        The per-term table and what was permuted.

    Raises
    ------
    SalesnbError
        When the fit has no leadership term, or only one leader (nothing to permute).
    """
    columns = _leadership_columns(fit)
    if not columns:
        raise SalesnbError("the model has no leadership term to check")
    frame = fit.data
    unit = "leader_id" if "leader_id" in frame and frame["leader_id"].notna().all() \
        else "team_id"
    unit_codes, unit_names = pd.factorize(frame[unit].astype(str))
    if len(unit_names) < 3:
        raise SalesnbError(f"only {len(unit_names)} {unit.removesuffix('_id')}s: too few to "
                           "check leadership claims against permuted labels")
    from threadpoolctl import threadpool_limits

    lookup = _DesignLookup(fit, columns, unit_codes, len(unit_names))
    orders, exact = permutation_orders(len(unit_names), draws, seed)
    problem = _ScoreProblem(fit)
    rows = []
    # small matrices: BLAS threads only contend (400x slower on a busy 2-core machine)
    with threadpool_limits(1, user_api="blas"):
        statistics = {name: problem.statistics(name, lookup, orders) for name in columns}
    overall = np.max(list(statistics.values()), axis=0)  # the largest |T| of each order
    for family, family_columns in _families(columns).items():
        largest = np.max([statistics[name] for name in family_columns], axis=0)
        rows += [{"term": plain_term(name), "family": family,
                  "statistic": statistics[name][0],
                  "p_family": _share_at_least(largest, statistics[name][0]),
                  "p_permutation": _share_at_least(overall, statistics[name][0])}
                 for name in family_columns]
    return LeadershipNull(pd.DataFrame(rows), len(orders), exact,
                          "leaders" if unit == "leader_id" else "teams", len(unit_names))


def _share_at_least(largest: np.ndarray, value: float) -> float:
    """Share of orders whose largest |T| reaches ``value`` (the observed order included)."""
    return float(np.mean(largest >= value - 1e-10))


def _term_variables(fit: DriversFit) -> dict[str, set[str]]:
    """Model-frame variables of each patsy term, by term name."""
    spec = fit.result.model.data.model_spec
    known = set(fit.data.columns)
    return {term.name(): set().union(set(), *(factor_words(f.name()) for f in term.factors))
            & known for term in spec.terms}


def _leadership_columns(fit: DriversFit) -> dict[str, tuple[str, set[str]]]:
    """Design column -> (its term's name, the term's variables), for terms with a leader
    variable.
    """
    spec = fit.result.model.data.model_spec
    variables = _term_variables(fit)
    names = list(spec.column_names)
    out = {}
    for term, columns in spec.term_name_slices.items():
        if variables[term] & set(LEADER_VARIABLES):
            for name in names[columns]:
                out[name] = (term, variables[term])
    return out


def _families(columns: dict[str, tuple[str, set[str]]]) -> dict[str, list[str]]:
    """Columns by family: style, traits, and style (or traits) x each situation."""
    families: dict[str, list[str]] = {}
    for name, (_term, variables) in columns.items():
        leader = variables & set(LEADER_VARIABLES)
        context = sorted(variables - leader)
        kind = "style" if leader <= set(STYLE_TERMS) else "traits"
        family = " x ".join([kind, *context])
        families.setdefault(family, []).append(name)
    return families


class _DesignLookup:
    """The leadership design columns of every row under any permutation of the units,
    from one patsy evaluation over (context, unit, month) combinations.
    """

    def __init__(self, fit: DriversFit, columns: dict, unit_codes: np.ndarray, units: int):
        from patsy import build_design_matrices

        frame = fit.data
        spec = fit.result.model.data.model_spec
        self.names = list(spec.column_names)
        self.units = units
        self.unit_codes = unit_codes
        self.leadership = [n for n in self.names if n in columns]
        leader_vars = sorted({v for _, vs in columns.values() for v in vs}
                             & set(LEADER_VARIABLES))
        context_vars = sorted({v for _, vs in columns.values() for v in vs} - set(leader_vars))
        history = frame.assign(_unit=unit_codes).groupby(["_unit", "month"])[leader_vars].first()
        varies = history.groupby(level="_unit").nunique().gt(1).any(axis=None)
        months = sorted(frame["month"].unique()) if varies else ["all"]
        self.month_codes = (pd.Categorical(frame["month"], categories=months).codes
                            if varies else np.zeros(len(frame), dtype=int))
        if not varies:
            history = history.groupby(level="_unit").first()
            history.index = pd.MultiIndex.from_arrays([history.index, ["all"] * units],
                                                      names=["_unit", "month"])
        grid = pd.MultiIndex.from_product([range(units), months], names=["_unit", "month"])
        with pd.option_context("future.no_silent_downcasting", True):
            history = history.reindex(grid).groupby(level="_unit").transform(
                lambda s: s.ffill().bfill()).reset_index()
        contexts = frame[context_vars].drop_duplicates().reset_index(drop=True) \
            if context_vars else pd.DataFrame(index=[0])
        self.context_codes = (frame[context_vars].merge(
            contexts.reset_index(), on=context_vars, how="left")["index"].to_numpy()
            if context_vars else np.zeros(len(frame), dtype=int))
        size = len(contexts) * len(history)
        if size > MAX_TABLE_ROWS:
            raise SalesnbError("too many situation x leader x month combinations to check "
                               f"leadership claims by permutation ({size:,})")
        table = contexts.merge(history, how="cross")
        if not varies:
            table["month"] = frame["month"].iloc[0]
        typical = frame.iloc[[0]].drop(columns=[*leader_vars, *context_vars, "month"],
                                       errors="ignore")
        table = table.assign(**{c: typical[c].iloc[0] for c in typical.columns})
        design = np.asarray(build_design_matrices([spec], table)[0])
        self.design = design[:, [self.names.index(n) for n in self.leadership]]
        self.months = len(months)

    def column(self, name: str, orders: list[np.ndarray]) -> np.ndarray:
        """Design column ``name`` under each order (rows x orders): unit k's attributes
        taken from unit order[k].
        """
        j = self.leadership.index(name)
        ordered = np.stack(orders, axis=1)[self.unit_codes]  # rows x orders
        rows = (self.context_codes[:, None] * self.units + ordered) * self.months \
            + self.month_codes[:, None]
        return self.design[rows, j]


class _ScoreProblem:
    """The fitted model's design, for restricted fits and studentised cluster scores."""

    def __init__(self, fit: DriversFit):
        from scipy.sparse import csr_matrix

        model = fit.result.model
        self.names = list(fit.coefficients().index)
        self.X = np.asarray(model.exog, float)
        self.y = np.asarray(model.endog, float)
        offset = getattr(model, "offset", None)
        self.offset = np.zeros(len(self.y)) if offset is None else np.asarray(offset, float)
        self.alpha = float(fit.result.params.get("alpha", 0.0))
        self.params = fit.coefficients().to_numpy()
        assert fit.cluster is not None  # set by DriversFit.__post_init__
        ids = fit.cluster.ids
        self.sum_by_cluster = csr_matrix((np.ones(len(ids)), (ids, np.arange(len(ids)))))

    def statistics(self, name: str, lookup: _DesignLookup, orders: list[np.ndarray],
                   block: int = 100) -> np.ndarray:
        """|T| of term ``name`` under each order, at the fit without that term."""
        keep = np.arange(len(self.names)) != self.names.index(name)
        N = self.X[:, keep]
        beta = fisher_scoring(self.y, N, self.offset, self.alpha, self.params[keep])
        if beta is None:
            raise SalesnbError(f"the model without {plain_term(name)} cannot be fitted")
        mu = np.exp(self.offset + N @ beta)
        scale = 1.0 + self.alpha * mu
        residual, weight = (self.y - mu) / scale, mu / scale
        information = N.T @ (N * weight[:, None])
        residual_sums = self.sum_by_cluster @ (N * residual[:, None])  # clusters x others
        out = []
        for start in range(0, len(orders), block):
            columns = lookup.column(name, orders[start:start + block])  # rows x orders
            projection = np.linalg.lstsq(information, (N * weight[:, None]).T @ columns,
                                         rcond=None)[0]
            sums = self.sum_by_cluster @ (columns * residual[:, None]) \
                - residual_sums @ projection
            with np.errstate(invalid="ignore", divide="ignore"):
                t = np.abs(sums.sum(axis=0)) / np.sqrt((sums**2).sum(axis=0))
            out.append(np.nan_to_num(t, nan=0.0, posinf=0.0))
        return np.concatenate(out)


def permutation_orders(units: int, draws: int, seed: int) -> tuple[list[np.ndarray], bool]:
    """The label orders to compare, the observed (identity) first: all of them when there
    are at most :data:`EXACT_UP_TO` (then True), else ``draws`` random ones.
    """
    if math.factorial(units) <= max(EXACT_UP_TO, draws + 1):
        return [np.array(p) for p in permutations(range(units))], True
    rng = np.random.default_rng(seed)
    return [np.arange(units), *(rng.permutation(units) for _ in range(draws))], False
