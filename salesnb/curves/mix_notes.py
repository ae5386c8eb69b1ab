"""The honest limits of a marketing-mix fit, in words: collinear spend, too few rows per
parameter, extrapolation, confounders, and how the fit and its intervals went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesnb.curves.mix_fit import components

if TYPE_CHECKING:
    from salesnb.curves.mix_result import MixModel

ROWS_PER_PARAMETER = 10  # practitioners' rule of thumb
VIF_LIMIT = 10.0
CONDITION_LIMIT = 30.0
LOW_SPEND_SHARE = 0.25  # 5th percentile spend above this share of the mean: zero never seen
UNSATURATED = 10.0  # half-saturation beyond this x the observed top: no saturation seen
FAILED_DRAWS_WARNING = 0.05


def notes_for(model: MixModel, converged: bool, failed: int) -> list[str]:
    """Every note of a fitted model, most important first."""
    notes: list[str] = []
    if not converged:
        notes.append("WARNING: the fit stopped at its iteration limit; estimates may not be the "
                     "best fit (check for collinear spend or too few periods)")
    notes += _kind(model) + _rows_per_parameter(model) + _collinearity(model)
    notes += _confounders(model) + _extrapolation(model) + _bounds(model)
    notes += _intervals(model, failed) + _pooling(model)
    alpha = f" (NB2 dispersion {model.dispersion:.4f})" if model.dispersion > 0 else ""
    notes.append(f"likelihood: {model.family}{alpha}; {model.data.n_rows} rows, "
                 f"{len(model.periods)} {model.period}s x {len(model.markets)} market(s)")
    return notes


def _kind(model: MixModel) -> list[str]:
    if model.kind == "customers":
        return []
    return [f"the outcome {model.outcome!r} is an amount, not a count: read every CAC as cost "
            f"per unit of {model.outcome} (e.g. cost per dollar of revenue; its inverse is the "
            "return per dollar spent), and shares as shares of the amount"]


def _rows_per_parameter(model: MixModel) -> list[str]:
    parameters = model.layout.size + (model.dispersion > 0)
    ratio = model.data.n_rows / parameters
    if ratio >= ROWS_PER_PARAMETER:
        return []
    return [f"{model.data.n_rows} rows for {parameters} parameters ({ratio:.1f} per parameter; "
            f"practitioners want about {ROWS_PER_PARAMETER}): intervals are wide and the curve "
            "shapes (carry-over, saturation) are weakly determined; more periods, pooling "
            "markets, a fixed Hill shape, fewer harmonics or fewer tactics (merge small ones) "
            "help"]


def _design(model: MixModel, adstocked: bool) -> tuple[np.ndarray, list[str]]:
    """Spend (raw, or adstocked at the fitted carry-over) and the baseline terms, without
    intercept.
    """
    if adstocked:
        spend = components(model.estimate, model.data, model.layout)[3]
    else:
        spend = model.data.spend.reshape(len(model.tactics), -1)
    keep = [j for j, term in enumerate(model.baseline_terms) if term != "intercept"]
    columns = np.column_stack([spend.T, model.data.design[:, keep]])
    return columns, model.tactics + [model.baseline_terms[j] for j in keep]


def variance_inflation(model: MixModel, adstocked: bool = False) -> dict[str, float]:
    """VIF of each tactic's spend (raw, or adstocked at the fitted carry-over) given the other
    tactics' and the baseline terms.
    """
    columns, _ = _design(model, adstocked)
    out = {}
    for j, tactic in enumerate(model.tactics):
        others = np.column_stack([np.ones(len(columns)), np.delete(columns, j, axis=1)])
        target = columns[:, j]
        fitted = others @ np.linalg.lstsq(others, target, rcond=None)[0]
        residual = ((target - fitted) ** 2).sum()
        total = ((target - target.mean()) ** 2).sum()
        out[tactic] = float(total / residual) if residual > total * 1e-12 else float("inf")
    return out


def _collinearity(model: MixModel) -> list[str]:
    """VIF and condition number on raw spend and on adstocked spend; the worse of the two
    (carry-overs fitted apart can make collinear raw spend look separable).
    """
    found = []
    for adstocked in (False, True):
        columns, names = _design(model, adstocked)
        scale = np.where(columns.std(axis=0) > 0, columns.std(axis=0), 1.0)
        standard = (columns - columns.mean(axis=0)) / scale
        singular = np.linalg.svd(standard, compute_uv=False)
        found.append((variance_inflation(model, adstocked),
                      float(singular[0] / max(singular[-1], 1e-12)), standard, names))
    vif, condition, standard, names = max(found, key=lambda f: max(f[0].values()))
    condition = max(f[1] for f in found)
    high = {t: v for t, v in vif.items() if v > VIF_LIMIT}
    if not high and condition <= CONDITION_LIMIT:
        return []
    correlation = np.corrcoef(standard.T)
    parts = []
    for tactic, value in high.items():
        j = model.tactics.index(tactic)
        others = np.delete(np.arange(len(names)), j)
        partner = others[np.argmax(np.abs(correlation[j, others]))]
        parts.append(f"{tactic} (VIF {value:,.0f}; most correlated with {names[partner]}, "
                     f"r = {correlation[j, partner]:.2f})")
    what = ("; ".join(parts) if parts else "no single tactic, but the spend and baseline terms "
            "together")
    return [f"collinear spend: {what} (condition number {condition:,.0f}). When spend moves "
            "together the data cannot tell whose customers they were: those tactics' CACs "
            "trade off against each other and their intervals are wide; vary spend "
            "independently (tests, pauses, staggered regions) or judge them together"]


def _confounders(model: MixModel) -> list[str]:
    text = ("the model reads each tactic's customers from how the outcome moves with its spend "
            "over time; anything else that moves both (demand the team reacts to, launches, "
            "price changes, competitors) must be a control, or the CACs are biased (usually "
            "too low)")
    if not model.controls:
        return [f"WARNING: no controls: {text}"]
    return [f"controls in the baseline: {model.controls}; {text}"]


def _extrapolation(model: MixModel) -> list[str]:
    notes = []
    low = model.observed[:, 0]
    never_low = [t for t, lo, x in zip(model.tactics, low, model.current_spend, strict=True)
                 if lo > LOW_SPEND_SHARE * x]
    if never_low:
        notes.append(f"average CAC counts every customer from zero spend up; {never_low} never "
                     f"spent below {LOW_SPEND_SHARE:.0%} of their mean in the data (5th "
                     "percentile), so their average CAC rests on the curve's form below that, "
                     "while marginal CAC near current spend is read from the data")
    ranges = ", ".join(f"{t} {lo:,.0f}-{hi:,.0f}" for t, (lo, hi)
                       in zip(model.tactics, model.observed, strict=True))
    notes.append(f"observed spend per market-{model.period} (adstock, 5th-95th percentile): "
                 f"{ranges}; curves and budgets beyond it are extrapolation")
    if model.form == "hill":
        half = model.data.reference * np.exp(model.estimate[model.layout.blocks["half"]])
        flat = [t for t, h, top in zip(model.tactics, half, model.observed[:, 1], strict=True)
                if h > UNSATURATED * top]
        if flat:
            notes.append(f"no saturation in the observed spend for {flat}: the Hill half-"
                         "saturation lies far beyond the data, so their marginal CAC is "
                         "close to their average and extra spend may look cheaper than it is")
    return notes


def _bounds(model: MixModel) -> list[str]:
    lam = model.estimate[model.layout.blocks["carryover"]]
    top = [t for t, v in zip(model.tactics, lam, strict=True)
           if v >= model.max_carryover - 1e-6]
    if not top:
        return []
    return [f"carry-over at its upper bound ({model.max_carryover:g} per {model.period}) for "
            f"{top}: a longer memory than allowed, or a slow trend the baseline misses"]


def _intervals(model: MixModel, failed: int) -> list[str]:
    draws = len(model.draws)
    if draws == 0:
        return ["no intervals (n_boot=0)"]
    if model.intervals == "fisher":
        notes = [f"intervals: {draws} parametric draws from the normal approximation at the "
                 "estimate (blind to autocorrelation and to skew near the bounds; "
                 "intervals='bootstrap' is the safer choice)"]
    else:
        blocks = len(model.periods) / model.block
        notes = [f"intervals: {draws} refits on a circular block bootstrap of periods (blocks "
                 f"of {model.block} {model.period}s, markets together, seed {model.seed})"]
        if blocks < 10:
            notes.append(f"only {blocks:.0f} bootstrap blocks of {model.block} {model.period}s: "
                         "intervals understate the uncertainty; use more periods or a shorter "
                         "block")
    lost = int(np.isnan(model.draws).any(axis=1).sum())
    if failed or lost:
        share = max(failed, lost) / draws
        text = (f"{failed} of {draws} refits stopped at their iteration limit and {lost} "
                "failed (left out)")
        notes.insert(0, ("WARNING: " if share > FAILED_DRAWS_WARNING else "") + text)
    if draws < 100:
        notes.append(f"only {draws} draws: interval ends are rough")
    return notes


def _pooling(model: MixModel) -> list[str]:
    notes = []
    if len(model.markets) > 1:
        notes.append(f"curves are pooled over {len(model.markets)} markets (one curve per "
                     "tactic in absolute spend, a baseline per market): a market whose response "
                     "differs is averaged in; make markets comparable (per capita) if they "
                     "differ much in size")
    if model.styles:
        notes.append(f"leadership style ({model.style}) scales every tactic's response "
                     f"(reference {model.styles[0]}); it is read from differences between "
                     "markets and periods led in different styles, not from an experiment")
    return notes
