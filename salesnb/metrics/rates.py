"""Rates with uncertainty: intervals that know deals share a rep, and between-group tests.

Small tables in (a row per deal, or per group x rep with counts), tidy DataFrames out;
:mod:`salesnb.metrics.funnels` feeds them from the engine. How to read them: docs/rates.md.

- **Intervals** (:func:`rate_intervals`): Wilson score intervals; when rows share a cluster
  (deals of one rep), Wilson's interval on the *effective* sample size (N / design effect,
  Korn & Graubard 1998), the form Franco, Little, Louis & Slud (2019) recommend.
- **Between-group test** (:func:`compare_rates`): Pearson's chi-square for independent rows.
  Clustered rows: reps nested in the groups (reps under leaders): the chi-square divided by
  a pooled design effect (as Donner, Birkett & Buck 1981 adjust it for cluster samples) on
  F(groups - 1, reps - groups), as for a one-way ANOVA of rep rates; reps in several groups: the
  Rao-Scott second-order correction on F (Rao & Scott 1984, Thomas & Rao 1987; R
  ``survey::svychisq``'s default). Effect sizes: Cramer's V and the highest minus the lowest
  rate with Newcombe's hybrid score interval (Newcombe 1998) from the two groups' intervals.
- **Cycle times** (:func:`cycle_times`, :func:`compare_cycle_times`): median days, seeded
  bootstrap by rep; Kruskal-Wallis, p by permuting whole reps when they are nested in groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError

TEST_COLUMNS = ["test", "statistic", "df", "df_denominator", "p", "effect_size", "difference",
                "difference_low", "difference_high", "highest", "lowest", "groups", "n", "clusters",
                "method"]
"""The columns of :func:`compare_rates` and :func:`compare_cycle_times` (one row)."""


def wilson(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of successes / trials (nan where there are no trials).

    Parameters
    ----------
    successes, trials : counts (array-like, same shape), possibly fractional (effective n).
    level : confidence level.
    """
    from scipy import stats  # scipy.stats takes most of a second to import: only when used
    s, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    low, high = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    ok = n > 0
    z2 = stats.norm.ppf(0.5 + level / 2) ** 2
    p, m = s[ok] / n[ok], n[ok]
    centre = (p + z2 / (2 * m)) / (1 + z2 / m)
    half = np.sqrt(z2 * p * (1 - p) / m + z2 * z2 / (4 * m * m)) / (1 + z2 / m)
    low[ok], high[ok] = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    return low, high


def rate_intervals(successes, trials, groups=None, clusters=None, level: float = 0.95
                   ) -> pd.DataFrame:
    """Rate and Wilson interval per group, widened by the design effect when rows cluster.

    Method (Korn & Graubard 1998): the group's rate is the ratio estimate p = sum successes /
    sum trials; its variance is the between-cluster (linearisation) variance
    ``C / (C - 1) * sum_c (s_c - p n_c)**2 / N**2`` over the group's C clusters; the design
    effect ``deff`` is that variance over the binomial ``p (1 - p) / N`` (1 when p is 0 or 1);
    the effective sample size is ``N / deff * (z / t_{C-1})**2`` (t for few clusters), at most
    N (never narrower than plain Wilson), and the interval is Wilson's on it. Chosen over a
    beta-binomial fit: no distribution assumed for the reps' rates, a closed form, Wilson
    itself when deals are independent, and the standard survey method. A group with one
    cluster gets the plain Wilson interval (its rate is that cluster's own).

    Parameters
    ----------
    successes, trials
        Counts per row: a deal (0 or 1 of 1) or the totals of one rep within one group.
    groups
        Group label per row (array-like, or a DataFrame of key columns); None: one group.
    clusters
        Cluster id per row (rep id); missing ids are independent trials. None: all independent.
    level
        Confidence level.

    Returns
    -------
    DataFrame
        The group columns, ``trials``, ``successes``, ``rate``, ``low``, ``high``,
        ``clusters``, ``design_effect``, ``effective_n``, ``method``.
    """
    design = _Design(successes, trials, groups, clusters)
    return pd.concat([design.labels, pd.DataFrame(_intervals(design, level))], axis=1)


def _intervals(design: _Design, level: float) -> dict[str, np.ndarray]:
    from scipy import stats
    n, s, p, units = design.n, design.s, design.p, design.units
    z = stats.norm.ppf(0.5 + level / 2)
    clustered = design.clustered & (units >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        binomial = p * (1 - p) / n
        deff = np.where(clustered & (binomial > 0),
                        units / (units - 1) * design.within_ss() / n ** 2 / binomial, 1.0)
        t_factor = np.where(clustered, (z / stats.t.ppf(0.5 + level / 2, np.maximum(
            units - 1, 1))) ** 2, 1.0)
        effective = np.minimum(n / deff * t_factor, n)
    low, high = wilson(p * effective, effective, level)
    return {"trials": n, "successes": s, "rate": np.where(n > 0, p, np.nan), "low": low,
            "high": high, "clusters": design.reps if design.has_clusters else np.nan,
            "design_effect": deff, "effective_n": effective,
            "method": np.where(clustered, "wilson, clustered", "wilson")}


def compare_rates(frame: pd.DataFrame, group: str | Sequence[str], outcome: str,
                  trials: str | None = None, cluster: str | None = None,
                  level: float = 0.95) -> pd.DataFrame:
    """Do the groups' rates differ? A chi-square test with its effect sizes, in one row.

    Independent rows: Pearson's X2 on G - 1 df (G groups). Clusters nested in the groups:
    ``F = X2 / ((G - 1) D)`` on F(G - 1, C - G) (C clusters), with the pooled design effect
    ``D = sum (s_c - p_g n_c)**2 / (p q sum n_c (1 - n_c / N_g))``, unbiased when the groups
    share one. Clusters in several groups: Rao-Scott second order,
    ``F = X2 / sum(delta)`` on F(nu, nu (C - 1)), ``delta`` the generalised design effects
    (eigenvalues of the binomial covariance of the group contrasts, inverted, times their
    between-cluster covariance), ``nu = (G - 1) / (1 + a2)``, ``a2`` the squared coefficient of
    variation of ``delta``; a group with one cluster adds its binomial variance.

    Parameters
    ----------
    frame
        One row per deal (``outcome`` is 0/1 or boolean) or, with ``trials``, per group x rep
        with counts (``outcome`` successes out of ``trials``).
    group, outcome, trials, cluster
        Columns: the grouping (one or more), successes, trials (counted rows) and the cluster
        id (rep id; a missing id is an independent trial).
    level
        Confidence level of the difference interval.

    Returns
    -------
    DataFrame
        One row of :data:`TEST_COLUMNS`: ``df_denominator`` for F tests, ``effect_size``
        Cramer's V, ``difference`` the highest minus the lowest rate (Newcombe interval).
    """
    from scipy import stats
    keys = [group] if isinstance(group, str) else list(group)
    _require_columns(frame, [*keys, outcome, *[c for c in (trials, cluster) if c]])
    counts = frame[trials].to_numpy(float) if trials else np.ones(len(frame))
    frame, counts = (frame, counts) if (counts > 0).all() else (frame[counts > 0],
                                                                 counts[counts > 0])
    design = _Design(frame[outcome].to_numpy(float), counts, frame[keys],
                     frame[cluster] if cluster else None)
    n, p, G = design.n, design.p, len(design.n)
    if G < 2:
        raise SalesnbError(f"comparing rates needs two groups with trials; {'+'.join(keys)} "
                           f"has {G}")
    pooled = design.s.sum() / n.sum()
    pearson = float(np.sum(n * (p - pooled) ** 2) / (pooled * (1 - pooled)) if 0 < pooled < 1
                    else 0.0)
    row: dict[str, object] = dict.fromkeys(TEST_COLUMNS, np.nan)
    row.update(groups=G, n=int(n.sum()), effect_size=np.sqrt(pearson / n.sum()),
               clusters=design.total_units if design.has_clusters else np.nan)
    if not 0 < pooled < 1:
        row.update(test="none", statistic=0.0, df=G - 1, p=1.0,
                   method=f"every trial has the same outcome ({pooled:.0%}): no difference")
    elif design.has_clusters and design.nested and design.total_units > G:
        deff = design.pooled_design_effect(pooled)
        statistic, df2 = pearson / ((G - 1) * deff), design.total_units - G
        row.update(test="design-effect F", statistic=statistic, df=G - 1, df_denominator=df2,
                   p=float(stats.f.sf(statistic, G - 1, df2)),
                   method=f"chi-square / pooled design effect {deff:.2f} ({cluster} nested)")
    elif design.has_clusters and not design.nested and design.total_units > 2:
        delta = design.design_effects(pooled)
        a2 = float(np.var(delta) / np.mean(delta) ** 2)
        nu, df2 = (G - 1) / (1 + a2), design.total_units - 1
        statistic = pearson / delta.sum()
        row.update(test="Rao-Scott F", statistic=statistic, df=nu, df_denominator=nu * df2,
                   p=float(stats.f.sf(statistic, nu, nu * df2)),
                   method=f"Rao-Scott ({cluster} in several groups, deff {np.mean(delta):.2f})")
    else:
        row.update(test="Pearson chi-square", statistic=pearson, df=G - 1,
                   p=float(stats.chi2.sf(pearson, G - 1)),
                   method="Pearson chi-square, trials independent")
    intervals = _intervals(design, level)
    rate, low, high = (intervals[c] for c in ("rate", "low", "high"))
    hi, lo = int(np.nanargmax(rate)), int(np.nanargmin(rate))
    (p1, l1, u1), (p2, l2, u2) = ((rate[i], low[i], high[i]) for i in (hi, lo))
    row.update(difference=p1 - p2, difference_low=p1 - p2 - np.hypot(p1 - l1, u2 - p2),
               difference_high=p1 - p2 + np.hypot(u1 - p1, p2 - l2),
               highest=_label(design.labels, keys, hi), lowest=_label(design.labels, keys, lo))
    return pd.DataFrame([row], columns=TEST_COLUMNS)


def cycle_times(frame: pd.DataFrame, group: str | Sequence[str], days: str,
                cluster: str | None = None, weight: str | None = None, level: float = 0.95,
                n_boot: int = 999, seed: int = 0) -> pd.DataFrame:
    """Median days (created to close) per group, with a seeded percentile bootstrap interval
    that redraws whole clusters (reps) within a group of two or more of them, else deals.

    Parameters
    ----------
    frame
        One row per deal, or per distinct (group, rep, days) with a ``weight`` count.
    group, days, cluster, weight
        Columns: grouping, days, rep id (optional), deal count per row (optional).
    level, n_boot, seed
        Confidence level, bootstrap draws, random seed.

    Returns
    -------
    DataFrame
        The group columns, ``deals``, ``median_days``, ``median_low``, ``median_high``,
        ``mean_days``, ``clusters``, ``method``.
    """
    keys = [group] if isinstance(group, str) else list(group)
    return _cycle_table(_cycle_rows(frame, keys, days, cluster, weight), keys, cluster, level,
                        n_boot, seed)


def _cycle_table(rows, keys, cluster, level, n_boot, seed) -> pd.DataFrame:
    rng, out = np.random.default_rng(seed), []
    order = np.lexsort((rows["_d"], rows["_g"]))
    d, w, c, g = (rows[k].to_numpy()[order] for k in ("_d", "_w", "_c", "_g"))
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(g)], strict=True):
        units, low, high = len(np.unique(c[a:b])), np.nan, np.nan
        by_cluster = cluster is not None and units >= 2  # else deals are redrawn
        if n_boot:
            draws = _boot_medians(d[a:b], w[a:b], c[a:b] if by_cluster else None, n_boot, rng)
            low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
        out.append({"deals": int(w[a:b].sum()), "median_days": _medians(d[a:b], w[None, a:b])[0],
                    "median_low": low, "median_high": high,
                    "mean_days": float(np.average(d[a:b], weights=w[a:b])),
                    "clusters": units if cluster else np.nan,
                    "method": "bootstrap by rep" if by_cluster else "bootstrap by deal"})
    labels = rows[keys].iloc[order[starts]].reset_index(drop=True)
    return pd.concat([labels, pd.DataFrame(out)], axis=1)


def compare_cycle_times(frame: pd.DataFrame, group: str | Sequence[str], days: str,
                        cluster: str | None = None, weight: str | None = None,
                        n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """Kruskal-Wallis test of cycle days between groups, in one row like :func:`compare_rates`.

    Mid-ranks for ties, with the tie correction. p: chi-square for independent deals; when
    every cluster (rep) lies in one group, from permuting whole clusters between groups
    (seeded); reps in several groups: deals taken as independent, and ``method`` says so.
    ``effect_size`` is epsilon-squared, H / (n - 1); ``difference`` the highest minus the
    lowest median (no interval). Columns: :data:`TEST_COLUMNS`.
    """
    from scipy import stats
    keys = [group] if isinstance(group, str) else list(group)
    rows = _cycle_rows(frame, keys, days, cluster, weight)
    G = rows["_g"].nunique()
    if G < 2:
        raise SalesnbError(f"comparing cycle times needs two groups; {'+'.join(keys)} has {G}")
    values, w, g = rows["_d"].to_numpy(float), rows["_w"].to_numpy(float), rows["_g"].to_numpy()
    inverse = np.unique(values, return_inverse=True)[1]
    ties = np.bincount(inverse, weights=w)
    ranks, N = (np.cumsum(ties) - ties + (ties + 1) / 2)[inverse], w.sum()
    scale = (1 - np.sum(ties ** 3 - ties) / (N ** 3 - N)) * N * (N + 1) / 12

    def kruskal(rank_sums, sizes):
        return (np.sum(rank_sums ** 2 / sizes, axis=-1) - N * (N + 1) ** 2 / 4) / scale \
            if scale > 0 else np.zeros(np.shape(rank_sums)[:-1])

    observed = float(kruskal(np.bincount(g, w * ranks, G), np.bincount(g, w, G)))
    unit_ids, unit = np.unique(rows["_c"].to_numpy(), return_inverse=True)
    pairs = np.unique(unit * G + g)  # (rep, group) pairs, ordered by rep
    if cluster is not None and len(pairs) == len(unit_ids):
        sums = [np.bincount(unit, w * ranks), np.bincount(unit, w)]
        perm = np.random.default_rng(seed).permuted(np.tile(pairs % G, (n_perm, 1)), axis=1)
        flat = (perm + G * np.arange(n_perm)[:, None]).ravel()
        null = kruskal(*(np.bincount(flat, np.tile(x, n_perm), G * n_perm).reshape(n_perm, G)
                         for x in sums))
        p = (1 + np.sum(null >= observed - 1e-9)) / (n_perm + 1)
        method = f"Kruskal-Wallis, p by permuting whole clusters ({cluster}) between groups"
    else:
        p = float(stats.chi2.sf(observed, G - 1))
        method = "Kruskal-Wallis, deals independent" + (
            f" ({cluster} in several groups)" if cluster else "")
    medians = _cycle_table(rows, keys, cluster, 0.95, 0, seed)
    hi, lo = int(medians["median_days"].idxmax()), int(medians["median_days"].idxmin())
    row: dict[str, object] = dict.fromkeys(TEST_COLUMNS, np.nan)
    row.update(test="Kruskal-Wallis", statistic=observed, df=G - 1, p=float(p),
               effect_size=observed / (N - 1), groups=G, n=int(N), method=method,
               difference=medians.loc[hi, "median_days"] - medians.loc[lo, "median_days"],
               highest=_label(medians, keys, hi), lowest=_label(medians, keys, lo),
               clusters=len(unit_ids) if cluster else np.nan)
    return pd.DataFrame([row], columns=TEST_COLUMNS)


class _Design:
    """Group and cluster totals of counted rows (missing cluster ids: independent trials)."""

    def __init__(self, successes, trials, groups, clusters):
        s, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
        if np.any(n < 0) or np.any(s < 0) or np.any(s > n) or not np.all(np.isfinite(s)):
            raise SalesnbError("rates need 0 <= successes <= trials in every row")
        self.labels, g = _group_codes(groups, len(n))
        G, self.has_clusters = len(self.labels), clusters is not None
        self.n, self.s = np.bincount(g, n, G), np.bincount(g, s, G)
        self.p = np.divide(self.s, self.n, out=np.zeros(G), where=self.n > 0)
        c = pd.factorize(np.asarray(clusters, dtype=object))[0] if clusters is not None \
            else np.full(len(n), -1)
        s, n, g, c = s[n > 0], n[n > 0], g[n > 0], c[n > 0]  # rows without trials: no unit
        alone = c < 0
        cells, inverse = np.unique(c[~alone] * G + g[~alone], return_inverse=True)
        self.cell_c, self.cell_g = cells // G, cells % G
        self.cell_n = np.bincount(inverse, n[~alone], len(cells))
        self.cell_r = np.bincount(inverse, s[~alone], len(cells)) - self.p[self.cell_g] \
            * self.cell_n
        n1, s1 = np.bincount(g[alone], n[alone], G), np.bincount(g[alone], s[alone], G)
        self.alone = (n1, s1 * (1 - self.p) ** 2 + (n1 - s1) * self.p ** 2)
        per_group = np.bincount(self.cell_g, minlength=G)
        self.clustered, self.reps, self.units = per_group > 0, per_group, per_group + n1
        self.total_units = int(len(np.unique(self.cell_c)) + n1.sum())
        self.nested = len(np.unique(self.cell_c)) == len(cells)

    def within_ss(self) -> np.ndarray:
        """Per group: sum of ``(s_c - p n_c)**2`` over its clusters."""
        return np.bincount(self.cell_g, self.cell_r ** 2, len(self.n)) + self.alone[1]

    def pooled_design_effect(self, pooled: float) -> float:
        """One design effect from the within-group between-cluster variance (nested)."""
        size = self.cell_n
        expected = np.sum(size * (1 - size / self.n[self.cell_g])) + np.sum(
            self.alone[0] * (1 - 1 / np.where(self.n > 0, self.n, 1)))
        return float(self.within_ss().sum() / (pooled * (1 - pooled) * expected))

    def design_effects(self, pooled: float) -> np.ndarray:
        """Generalised design effects of the group contrasts (Rao-Scott deltas)."""
        G, C, size = len(self.n), self.total_units, np.where(self.n > 0, self.n, 1)
        u = np.zeros((int(self.cell_c.max()) + 1 if len(self.cell_c) else 0, G))
        u[self.cell_c, self.cell_g] = self.cell_r / size[self.cell_g]
        cov = C / (C - 1) * (u.T @ u + np.diag(self.alone[1] / size ** 2))
        one = self.units < 2  # a single cluster: its deals taken as independent
        cov[np.diag_indices(G)] += np.where(one, self.p * (1 - self.p) / size, 0.0)
        contrast = np.hstack([np.eye(G - 1), -np.ones((G - 1, 1))])
        null = contrast @ np.diag(pooled * (1 - pooled) / size) @ contrast.T
        return np.real(np.linalg.eigvals(np.linalg.solve(null, contrast @ cov @ contrast.T)))


def _group_codes(groups, size: int) -> tuple[pd.DataFrame, np.ndarray]:
    if groups is None:
        return pd.DataFrame(index=[0]), np.zeros(size, dtype=int)
    keys = groups if isinstance(groups, pd.DataFrame) else pd.DataFrame(
        {getattr(groups, "name", None) or "group": np.asarray(groups)})
    keys = keys.reset_index(drop=True)
    if keys.shape[1] == 1:
        codes, uniques = pd.factorize(keys.iloc[:, 0], sort=True, use_na_sentinel=False)
        return pd.DataFrame({keys.columns[0]: uniques}), codes
    codes = keys.groupby(list(keys.columns), dropna=False, sort=True).ngroup().to_numpy()
    labels = keys.assign(_code=codes).drop_duplicates("_code").sort_values("_code")
    return labels.drop(columns="_code").reset_index(drop=True), codes


def _cycle_rows(frame, keys, days, cluster, weight) -> pd.DataFrame:
    _require_columns(frame, [*keys, days, *[c for c in (cluster, weight) if c]])
    rows = frame[keys].reset_index(drop=True).copy()
    rows["_d"] = pd.to_numeric(frame[days], errors="coerce").to_numpy()
    rows["_w"] = frame[weight].to_numpy(float) if weight else 1.0
    rows["_c"] = pd.factorize(frame[cluster])[0] if cluster else np.arange(len(rows))
    rows = rows[rows["_d"].notna() & (rows["_w"] > 0)].reset_index(drop=True)
    if rows.empty:
        raise SalesnbError(f"no {days}: cycle times need deals with created and close dates")
    rows["_c"] = np.where(rows["_c"] < 0, -1 - np.arange(len(rows)), rows["_c"])
    rows["_g"] = _group_codes(rows[keys], len(rows))[1]
    return rows


def _medians(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median of sorted ``values`` per row of ``weights`` (even totals: mid-point)."""
    cum = np.cumsum(weights, axis=1)
    below, above = (cum < cum[:, -1:] / 2).sum(axis=1), (cum <= cum[:, -1:] / 2).sum(axis=1)
    return (values[below] + values[np.minimum(above, len(values) - 1)]) / 2


def _boot_medians(values, w, units, n_boot, rng) -> np.ndarray:
    """Medians of bootstrap replicates: deals redrawn, or whole ``units`` (rows sorted)."""
    if units is None:  # a row of weight k holds k deals
        owner, inverse = np.repeat(np.arange(len(w)), w.astype(int)), None
    else:
        inverse = np.unique(units, return_inverse=True)[1]
        owner = np.arange(inverse.max() + 1)
    out, chunk = [], max(1, min(100, 10 ** 7 // len(owner)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        picks = owner[rng.integers(0, len(owner), size=(b, len(owner)))]
        size = len(w) if inverse is None else len(owner)
        counts = np.bincount((picks + size * np.arange(b)[:, None]).ravel(),
                             minlength=b * size).reshape(b, size)
        out.append(_medians(values, counts if inverse is None else counts[:, inverse] * w))
    return np.concatenate(out)


def _label(table: pd.DataFrame, keys: list[str], i: int) -> str:
    return " / ".join(map(str, table.loc[i, keys]))


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SalesnbError(f"no column {', '.join(map(repr, missing))}; use {list(frame.columns)}")
