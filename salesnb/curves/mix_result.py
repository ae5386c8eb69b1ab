"""The fitted marketing-mix model (:class:`MixModel`) and its answers: average and marginal
CAC with intervals, contribution shares, response curves, and the curves as
:class:`salesnb.curves.ResponseCurves` for the budget questions. Definitions:
:mod:`salesnb.curves.mix`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.curves.formulas import percentile_interval, safe_ratio
from salesnb.curves.mix_fit import Layout, MixData, components
from salesnb.curves.response import OBSERVED_QUANTILES, ResponseCurves


@dataclass
class MixModel:
    """A fitted marketing-mix model (see :func:`salesnb.curves.mix.fit_mix_model`).

    Attributes
    ----------
    tactics : tactic names (spend columns without ``spend_``), in fit order.
    kind : ``"customers"`` (counts) or ``"revenue"`` (amounts: every CAC is cost per unit).
    period : ``"week"`` or ``"month"``; ``periods_per_month`` (52.18 / 12 or 1).
    markets : market names (``["all"]`` without markets); ``styles``: style levels, reference
        first (empty without ``style``).
    family, dispersion : the likelihood (negative binomial with NB2 dispersion, Poisson, or
        quasi-Poisson for amounts).
    estimate : the parameter vector; ``draws``: (draws, parameters), nan where a draw failed.
    notes : what to keep in mind (collinearity, rows per parameter, extrapolation, ...).
    seconds : fit time, intervals included.
    """

    tactics: list[str]
    spend_columns: list[str]
    outcome: str
    kind: str
    period: str
    periods_per_month: float
    form: str
    shape: float | None
    market: str | None
    markets: list
    controls: list[str]
    style: str | None
    styles: list[str]
    family: str
    dispersion: float
    layout: Layout = field(repr=False)
    data: MixData = field(repr=False)
    baseline_terms: list[str] = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    draws: np.ndarray = field(repr=False)
    periods: pd.DatetimeIndex = field(repr=False)
    intervals: str = "bootstrap"
    block: int = 8
    seed: int = 0
    max_carryover: float = 0.9
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notes: list[str] = field(default_factory=list)
    seconds: float = float("nan")

    def __post_init__(self) -> None:
        rows = self.all_parameters()
        k = len(self.tactics)
        self._contribution = np.full((len(rows), k), np.nan)
        self._fitted = np.full(len(rows), np.nan)
        self._multiplier = np.full(len(rows), np.nan)
        for i, theta in enumerate(rows):
            if not np.isfinite(theta).all():
                continue
            baseline, multiplier, curves, _, _ = components(theta, self.data, self.layout)
            self._contribution[i] = (multiplier[None] * curves).sum(axis=1)
            self._fitted[i] = baseline.sum() + self._contribution[i].sum()
            self._multiplier[i] = multiplier.mean()
        self.current_spend = self.data.spend.reshape(k, -1).mean(axis=1)
        stock = components(self.estimate, self.data, self.layout)[3]
        self.observed = np.quantile(stock, OBSERVED_QUANTILES, axis=1).T  # (tactics, 2)

    # ----- parameters ----------------------------------------------------------------------
    def all_parameters(self) -> np.ndarray:
        """Estimate (row 0) and draws stacked: (1 + draws, parameters)."""
        return np.vstack([self.estimate[None], self.draws])

    def block_of(self, name: str) -> np.ndarray:
        """One parameter block (``level``, ``carryover``, ``half``, ``shape``, ``exponent``,
        ``style``, ``baseline``) for the estimate and every draw: (1 + draws, size).
        """
        return self.all_parameters()[:, self.layout.blocks[name]]

    def curve(self, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steady-state curve values and slopes at spend per market-period.

        Parameters
        ----------
        spend : (points, tactics) spend per market-period held steady.

        Returns
        -------
        (ndarray, ndarray)
            Customers per market-period and d customers / d spend, each (1 + draws, points,
            tactics), including the average style multiplier.
        """
        x = np.maximum(np.asarray(spend, dtype=float), 1e-300)[None]
        reference = self.data.reference[None, None]
        level = self.block_of("level")[:, None] * self.data.scale * self._multiplier[:, None,
                                                                                      None]
        ratio = np.log(x / reference)
        if self.form == "hill":
            shapes = (np.full_like(self.block_of("level"), float(self.shape))
                      if self.shape is not None else np.exp(self.block_of("shape")))[:, None]
            half = self.block_of("half")[:, None]
            share = _sigmoid(shapes * (ratio - half))
            values = level * share / _sigmoid(-shapes * half)
            return values, values * shapes * (1 - share) / x
        exponent = self.block_of("exponent")[:, None]
        values = level * np.exp(exponent * ratio)
        return values, values * exponent / x

    # ----- answers -----------------------------------------------------------------------------
    def cac(self, level: float = 0.95) -> pd.DataFrame:
        """Average and marginal CAC per tactic with intervals, cheapest first.

        Returns
        -------
        DataFrame
            ``tactic``, ``spend`` (total over the data), ``contribution`` (customers the
            tactic's curve gives over the data), ``average_cac`` with ``average_cac_low`` /
            ``_high``, ``current_spend`` (mean per market-period), ``marginal_cac`` with
            ``marginal_cac_low`` / ``_high``, ``share`` of all fitted customers with
            ``share_low`` / ``_high``, and ``rank`` (1 = lowest average CAC). With a revenue
            outcome every CAC is cost per unit of outcome.
        """
        spend = self.data.spend.reshape(len(self.tactics), -1).sum(axis=1)
        average = safe_ratio(spend[None], self._contribution)
        marginal = safe_ratio(1.0, self.curve(self.current_spend[None])[1][:, 0])
        share = self._contribution / self._fitted[:, None]
        frame = pd.DataFrame({"tactic": self.tactics, "spend": spend,
                              "contribution": self._contribution[0]})
        for name, values in (("average_cac", average), ("marginal_cac", marginal),
                             ("share", share)):
            low, high = percentile_interval(values[1:], level)
            frame[name], frame[f"{name}_low"], frame[f"{name}_high"] = values[0], low, high
            if name == "average_cac":
                frame["current_spend"] = self.current_spend
        frame["rank"] = frame["average_cac"].rank(method="min").astype(int)
        return frame.sort_values("rank").reset_index(drop=True)

    def contribution_shares(self, level: float = 0.95) -> pd.DataFrame:
        """Share of all fitted customers per tactic and for the baseline, with intervals.

        Returns
        -------
        DataFrame
            ``source`` (tactic or ``baseline``), ``customers`` (over the data), ``share``,
            ``ci_low``, ``ci_high``.
        """
        customers = np.column_stack([self._fitted - self._contribution.sum(axis=1),
                                     self._contribution])
        shares = customers / self._fitted[:, None]
        low, high = percentile_interval(shares[1:], level)
        return pd.DataFrame({"source": ["baseline", *self.tactics], "customers": customers[0],
                             "share": shares[0], "ci_low": low, "ci_high": high})

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Every per-tactic figure as a tidy table: ``tactic``, ``measure``, ``estimate``,
        ``ci_low``, ``ci_high``. Measures: ``average_cac``, ``marginal_cac``, ``share``,
        ``carryover``, and ``half_saturation`` (spend per market-period) and ``shape``, or
        ``exponent``.
        """
        table = self.cac(level).set_index("tactic").loc[self.tactics]
        rows = []
        for measure in ("average_cac", "marginal_cac", "share"):
            for tactic, row in table.iterrows():
                rows.append((tactic, measure, row[measure], row[f"{measure}_low"],
                             row[f"{measure}_high"]))
        curve = {"carryover": self.block_of("carryover")}
        if self.form == "hill":
            curve["half_saturation"] = self.data.reference[None] * np.exp(self.block_of("half"))
            if self.shape is None:
                curve["shape"] = np.exp(self.block_of("shape"))
        else:
            curve["exponent"] = self.block_of("exponent")
        for measure, values in curve.items():
            low, high = percentile_interval(values[1:], level)
            rows += [(t, measure, values[0, j], low[j], high[j])
                     for j, t in enumerate(self.tactics)]
        return pd.DataFrame(rows, columns=["tactic", "measure", "estimate", "ci_low", "ci_high"])

    def response_curves(self, points: int = 40, up_to: float = 1.5, level: float = 0.95
                        ) -> pd.DataFrame:
        """Each tactic's steady-state response: customers per market-period against spend per
        market-period, from 0 to ``up_to`` x the top of its observed range.

        Returns
        -------
        DataFrame
            ``tactic``, ``spend``, ``customers`` with ``ci_low`` / ``ci_high``,
            ``marginal_cac`` with ``marginal_low`` / ``marginal_high``, ``average_cac``,
            ``extrapolated`` (outside the observed range).
        """
        grid = np.linspace(0, 1, points + 1)[1:, None] * up_to * self.observed[None, :, 1]
        values, slopes = self.curve(grid)
        marginal = safe_ratio(1.0, slopes)
        low, high = percentile_interval(values[1:], level)
        m_low, m_high = percentile_interval(marginal[1:], level)
        frames = []
        for j, tactic in enumerate(self.tactics):
            spend = grid[:, j]
            frames.append(pd.DataFrame({
                "tactic": tactic, "spend": spend, "customers": values[0, :, j],
                "ci_low": low[:, j], "ci_high": high[:, j], "marginal_cac": marginal[0, :, j],
                "marginal_low": m_low[:, j], "marginal_high": m_high[:, j],
                "average_cac": safe_ratio(spend, values[0, :, j]),
                "extrapolated": (spend < self.observed[j, 0]) | (spend > self.observed[j, 1])}))
        return pd.concat(frames, ignore_index=True)

    def decomposition(self) -> pd.DataFrame:
        """Per row (period x market): the outcome, the fitted value, the baseline and each
        tactic's customers (for stacked charts).
        """
        baseline, multiplier, curves, _, _ = components(self.estimate, self.data, self.layout)
        frame = pd.DataFrame({"period": np.repeat(self.periods, len(self.markets)),
                              "market": np.tile(self.markets, len(self.periods)),
                              "outcome": self.data.y, "baseline": baseline})
        for j, tactic in enumerate(self.tactics):
            frame[tactic] = multiplier * curves[j]
        frame["fitted"] = frame[["baseline", *self.tactics]].sum(axis=1)
        return frame

    def baseline_effects(self, level: float = 0.95) -> pd.DataFrame:
        """Baseline terms on the log scale (controls per unit of the control), with intervals:
        ``term``, ``estimate``, ``ci_low``, ``ci_high``.
        """
        values = self.block_of("baseline").copy()
        for j, term in enumerate(self.baseline_terms):
            if term in self.controls:
                values[:, j] /= self.table[term].to_numpy(dtype=float).std()
        low, high = percentile_interval(values[1:], level)
        return pd.DataFrame({"term": self.baseline_terms, "estimate": values[0],
                             "ci_low": low, "ci_high": high})

    def style_effects(self, level: float = 0.95) -> pd.DataFrame:
        """Per leadership style: ``response_multiplier`` (customers per unit of response,
        relative to the reference style) and ``cac_multiplier`` (its inverse), with intervals.
        """
        if not self.styles:
            return pd.DataFrame(columns=["style", "response_multiplier", "ci_low", "ci_high",
                                         "cac_multiplier", "cac_low", "cac_high"])
        logs = np.column_stack([np.zeros(len(self.all_parameters())), self.block_of("style")])
        low, high = percentile_interval(logs[1:], level)
        return pd.DataFrame({"style": self.styles, "response_multiplier": np.exp(logs[0]),
                             "ci_low": np.exp(low), "ci_high": np.exp(high),
                             "cac_multiplier": np.exp(-logs[0]), "cac_low": np.exp(-high),
                             "cac_high": np.exp(-low)})

    # ----- the budget questions ------------------------------------------------------------------
    def to_response_curves(self) -> ResponseCurves:
        """The fitted curves as :class:`salesnb.curves.ResponseCurves`, for
        :func:`salesnb.curves.budget.reallocate` and
        :func:`salesnb.curves.budget.budget_for_target`.

        Each tactic is one unit; its "teams" are the market-periods of a month
        (``teams_per_month`` = markets x periods per month), so organisation amounts are
        *monthly* spend and customers summed over markets, spend spread evenly over markets,
        as the budget code reads them. Curves are steady state (carry-over settled) and include
        the average style multiplier. ``cells`` hold each tactic's adstock and partial residual
        (its fitted customers plus the row's residual) for plots.
        """
        teams = len(self.markets) * self.periods_per_month
        rows = self.all_parameters()
        level = self.block_of("level") * self.data.scale * self._multiplier[:, None]
        reference = float(np.median(self.data.reference))
        if self.form == "hill":
            shapes = (np.full_like(level, float(self.shape)) if self.shape is not None
                      else np.exp(self.block_of("shape")))
            half = self.block_of("half")
            params = np.stack([level / _sigmoid(-shapes * half),
                               self.data.reference[None] * np.exp(half), shapes], axis=2)
        else:
            exponent = self.block_of("exponent")
            params = np.stack([level * (reference / self.data.reference[None]) ** exponent,
                               exponent], axis=2)
        units = pd.DataFrame({"tactic": self.tactics, "teams_per_month": teams,
                              "n_cells": self.data.n_rows, "teams": len(self.markets),
                              "current_spend": self.current_spend * teams,
                              "observed_low": self.observed[:, 0],
                              "observed_high": self.observed[:, 1]})
        notes = [f"curves of the marketing-mix model ({self.period}ly totals, "
                 f"{len(self.markets)} market(s)): a 'team-month' is one market-{self.period}; "
                 "carry-over differs by tactic (see the model's summary)", *self.notes]
        draws = params[1:] if len(rows) > 1 else np.empty((0, *params.shape[1:]))
        return ResponseCurves(self.form, None, float("nan"), reference, units, params[0],
                              draws, self._cells(), self.dispersion, self.seed, notes)

    def _cells(self) -> pd.DataFrame:
        baseline, multiplier, curves, stock, _ = components(self.estimate, self.data,
                                                            self.layout)
        residual = self.data.y - baseline - multiplier * curves.sum(axis=0)
        k, n = curves.shape
        return pd.DataFrame({"unit": np.repeat(np.arange(k), n),
                             "tactic": np.repeat(self.tactics, n),
                             "team_id": np.tile(np.tile(self.markets, len(self.periods)), k),
                             "period": np.tile(np.repeat(self.periods, len(self.markets)), k),
                             "effective_spend": stock.ravel(),
                             "new_customers": (multiplier[None] * curves + residual[None]).ravel()})


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -values))
