"""The marketing-mix model's likelihood, its exact gradient and the fits (see
:mod:`salesnb.curves.mix` for the definitions).

The mean of row ``i`` (period ``t``, market ``m``) is

    mu_i = exp(Z_i @ gamma) + style_i * sum_k f_k(A_k[t, m])

with ``A_k`` the normalised geometric adstock of tactic ``k`` (``A[t] = lam * A[t-1] + (1 - lam)
* x[t]``, starting at steady state: ``A[-1]`` is the mean spend of the first ``WARM_PERIODS``)
and ``f_k`` a Hill or power curve written around the tactic's reference spend ``r_k`` (median
positive spend per market-period):

- Hill: ``f = c * g(A) / g(r)``, ``g(A) = A**s / (A**s + h**s)``; parameters ``c`` (customers
  a period at ``r``), ``lam``, ``log(h / r)`` and, unless fixed, ``log s``;
- power: ``f = c * (A / r) ** b``; parameters ``c``, ``lam``, ``b``.

All parameters are fitted jointly by Fisher scoring (the exact Jacobian of ``mu``; the
adstock's derivative in ``lam`` is a second recursive filter) with Levenberg-Marquardt damping
inside bounds that keep ``c >= 0`` and ``lam``, ``h``, ``s``, ``b`` in sensible ranges, on the
Poisson or negative binomial (NB2, dispersion fixed) log-likelihood. ``c`` enters linearly and
the baseline log-linearly, so the surface is smooth but ill-conditioned (level, carry-over and
half-saturation trade off): scoring converges in tens of iterations where L-BFGS-B took
hundreds to thousands of evaluations (measured on three years of weekly data: about 2 s per
bootstrap refit with L-BFGS-B, about 7 ms with scoring). Two starting carry-overs guard against
a local optimum. A weighted
likelihood (weights = how often the block bootstrap drew each period) gives the bootstrap
refits without copying data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HALF_RANGE = (np.log(0.1), np.log(100.0))  # log(half-saturation / reference spend)
SHAPE_RANGE = (np.log(0.5), np.log(3.0))  # log Hill shape
EXPONENT_RANGE = (0.05, 1.5)  # power exponent
STYLE_RANGE = (-3.0, 3.0)  # log response multiplier of a leadership style
TINY = 1e-12
WARM_PERIODS = 8  # periods whose mean spend is the stock before the data


@dataclass
class MixData:
    """The arrays one fit needs; rows are period-major (row = period * markets + market)."""

    y: np.ndarray  # (rows,) outcome
    spend: np.ndarray  # (tactics, periods, markets)
    design: np.ndarray  # (rows, baseline terms), columns standardised
    style: np.ndarray | None  # (rows,) style code (0 = reference) or None
    n_styles: int
    reference: np.ndarray  # (tactics,) reference spend per market-period
    scale: float  # mean outcome: c is fitted in these units

    @property
    def n_rows(self) -> int:
        """Rows (periods x markets)."""
        return len(self.y)


@dataclass(frozen=True)
class Layout:
    """Where each parameter sits in the vector: baseline | c | lam | curve shape | styles."""

    n_baseline: int
    n_tactics: int
    form: str
    shape: float | None  # a fixed Hill shape, or None: estimated
    n_styles: int

    @property
    def blocks(self) -> dict[str, slice]:
        """Slices of the parameter vector by name."""
        k, sizes = self.n_tactics, [("baseline", self.n_baseline)]
        sizes += [("level", k), ("carryover", k)]
        if self.form == "hill":
            sizes += [("half", k)] + ([("shape", k)] if self.shape is None else [])
        else:
            sizes += [("exponent", k)]
        sizes += [("style", max(self.n_styles - 1, 0))]
        out, at = {}, 0
        for name, size in sizes:
            out[name] = slice(at, at + size)
            at += size
        return out

    @property
    def size(self) -> int:
        """Length of the parameter vector."""
        return list(self.blocks.values())[-1].stop

    def bounds(self, max_carryover: float) -> list[tuple[float | None, float | None]]:
        """L-BFGS-B bounds, in vector order."""
        ranges = {"baseline": (None, None), "level": (0.0, None),
                  "carryover": (0.0, max_carryover), "half": HALF_RANGE, "shape": SHAPE_RANGE,
                  "exponent": EXPONENT_RANGE, "style": STYLE_RANGE}
        out: list[tuple[float | None, float | None]] = []
        for name, block in self.blocks.items():
            out += [ranges[name]] * (block.stop - block.start)
        return out

    def start(self, data: MixData, carryover: float) -> np.ndarray:
        """A starting point: baseline at 60% of the outcome, media sharing the rest evenly."""
        theta = np.zeros(self.size)
        blocks = self.blocks
        target = np.log(np.maximum(0.6 * data.y, 0.5 * data.scale * 1e-3))
        theta[blocks["baseline"]] = np.linalg.lstsq(data.design, target, rcond=None)[0]
        theta[blocks["level"]] = 0.4 / self.n_tactics
        theta[blocks["carryover"]] = carryover
        if self.form == "hill":
            theta[blocks["half"]] = np.log(2.0)
        else:
            theta[blocks["exponent"]] = 0.6
        return theta

    def shapes(self, theta: np.ndarray) -> np.ndarray:
        """Hill shape per tactic (fixed or fitted)."""
        if self.shape is not None:
            return np.full(self.n_tactics, float(self.shape))
        return np.exp(theta[self.blocks["shape"]])


def adstock(spend: np.ndarray, lam: float, warm: int = WARM_PERIODS
            ) -> tuple[np.ndarray, np.ndarray]:
    """(adstock, its derivative in ``lam``) of (periods, markets) spend.

    Before the data the stock is at the mean spend of the first ``warm`` periods (steady
    state): a flighted tactic whose first period happens to be off or on would otherwise
    start with no stock or too much.
    """
    from scipy.signal import lfilter

    prior = spend[:warm].mean(axis=0, keepdims=True)
    previous_first = prior
    if lam == 0:
        previous = np.concatenate([previous_first, spend[:-1]])
        return spend.astype(float), previous - spend
    stock = lfilter([1 - lam], [1, -lam], spend, axis=0, zi=lam * prior)[0]
    previous = np.concatenate([previous_first, stock[:-1]])
    return stock, lfilter([1.0], [1, -lam], previous - spend, axis=0)


def components(theta: np.ndarray, data: MixData, layout: Layout, gradient: bool = False):
    """Baseline, style multiplier and per-tactic curve values (and their derivatives).

    Returns
    -------
    tuple
        ``(baseline (rows,), multiplier (rows,), curves (tactics, rows), adstock (tactics,
        rows), derivatives)``; ``derivatives`` is None unless ``gradient``, else a dict of
        (tactics, rows) arrays: ``level``, ``carryover`` and ``half``/``shape`` or ``exponent``.
    """
    blocks = layout.blocks
    baseline = np.exp(np.clip(data.design @ theta[blocks["baseline"]], -50, 50))
    multiplier = np.ones(data.n_rows)
    if data.style is not None and layout.n_styles > 1:
        multiplier = np.exp(np.concatenate([[0.0], theta[blocks["style"]]]))[data.style]
    k = layout.n_tactics
    level = theta[blocks["level"]] * data.scale
    lams = theta[blocks["carryover"]]
    stocks, slopes = zip(*(adstock(data.spend[j], float(lams[j])) for j in range(k)),
                         strict=True)
    stock = np.stack(stocks).reshape(k, -1)
    safe = np.maximum(stock, TINY * data.reference[:, None])
    log_ratio = np.log(safe / data.reference[:, None])
    if layout.form == "hill":
        shape, half = layout.shapes(theta)[:, None], theta[blocks["half"]][:, None]
        at_x, at_r = shape * (log_ratio - half), -shape * half
        share_x, share_r = _sigmoid(at_x), _sigmoid(at_r)
        log_curve = _log_sigmoid(at_x) - _log_sigmoid(at_r)
        curves = level[:, None] * np.exp(log_curve)
    else:
        exponent = theta[blocks["exponent"]][:, None]
        curves = level[:, None] * np.exp(exponent * log_ratio)
    if not gradient:
        return baseline, multiplier, curves, stock, None
    slope = np.stack(slopes).reshape(k, -1) / safe
    if layout.form == "hill":
        per_level = np.exp(log_curve) * data.scale
        derivatives = {"level": per_level,
                       "carryover": curves * shape * (1 - share_x) * slope,
                       "half": curves * shape * (share_x - share_r)}
        if layout.shape is None:
            derivatives["shape"] = curves * (at_x * (1 - share_x) - at_r * (1 - share_r))
    else:
        per_level = np.exp(exponent * log_ratio) * data.scale
        derivatives = {"level": per_level, "carryover": curves * exponent * slope,
                       "exponent": curves * log_ratio}
    return baseline, multiplier, curves, stock, derivatives


def mean_and_jacobian(theta: np.ndarray, data: MixData, layout: Layout
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(mu (rows,), d mu / d theta (rows, parameters))."""
    baseline, multiplier, curves, _, derivatives = components(theta, data, layout, True)
    assert derivatives is not None
    media = curves.sum(axis=0)
    mu = baseline + multiplier * media
    jacobian = np.empty((data.n_rows, layout.size))
    blocks = layout.blocks
    jacobian[:, blocks["baseline"]] = baseline[:, None] * data.design
    for name, values in derivatives.items():
        jacobian[:, blocks[name]] = (multiplier[None] * values).T
    if layout.n_styles > 1 and data.style is not None:
        for j in range(1, layout.n_styles):
            jacobian[:, blocks["style"].start + j - 1] = multiplier * media * (data.style == j)
    return mu, jacobian


def evaluate(theta: np.ndarray, data: MixData, layout: Layout, alpha: float,
             weights: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, gradient, expected information) of the negative weighted Poisson or NB2
    log-likelihood, per row and outcome unit (constants dropped).
    """
    mu, jacobian = mean_and_jacobian(theta, data, layout)
    mu = np.maximum(mu, TINY * data.scale)
    y, norm = data.y, data.n_rows * data.scale
    if alpha > 0:
        size = 1 / alpha
        loglik = y * np.log(mu) - (y + size) * np.log(size + mu)
        score = y / mu - (y + size) / (size + mu)
    else:
        loglik = y * np.log(mu) - mu
        score = y / mu - 1
    weighted = jacobian * (weights / (mu + alpha * mu ** 2))[:, None]
    return (float(-(weights * loglik).sum() / norm), -(jacobian.T @ (weights * score)) / norm,
            (jacobian.T @ weighted) / norm)


def fit(data: MixData, layout: Layout, start: np.ndarray, alpha: float, max_carryover: float,
        weights: np.ndarray | None = None, max_iter: int = 200, tolerance: float = 1e-3
        ) -> tuple[np.ndarray, float, bool]:
    """(parameters, loss, converged) of one fit from ``start``.

    Fisher scoring with Levenberg-Marquardt damping inside the bounds: parameters at a bound
    whose gradient points outward are held there, the others take the damped scoring step,
    projected onto the bounds; a step that does not lower the loss raises the damping.
    Converged: two steps in a row raise the log-likelihood by less than ``tolerance`` (log-
    likelihood units: far below what any interval can see; along a flat ridge, e.g. a
    half-saturation drifting beyond the data, further steps change nothing that matters), or
    no damped step can lower the loss any more.
    """
    weights = np.ones(data.n_rows) if weights is None else weights
    bounds = layout.bounds(max_carryover)
    low = np.array([-np.inf if lo is None else lo for lo, _ in bounds])
    high = np.array([np.inf if hi is None else hi for _, hi in bounds])
    theta = np.clip(start, low, high)
    loss, gradient, information = evaluate(theta, data, layout, alpha, weights)
    damping, norm, small = 1e-3, data.n_rows * data.scale, 0
    for _ in range(max_iter):
        held = ((theta <= low) & (gradient > 0)) | ((theta >= high) & (gradient < 0))
        free = ~held
        if np.abs(gradient[free]).max(initial=0.0) < 1e-9:
            return theta, loss, True
        sub = information[np.ix_(free, free)]
        diagonal = np.maximum(np.diag(sub), 1e-12)
        while True:
            if damping > 1e10:
                return theta, loss, True  # no step lowers the loss: at the optimum
            step = np.zeros_like(theta)
            try:
                step[free] = -np.linalg.solve(sub + damping * np.diag(diagonal), gradient[free])
            except np.linalg.LinAlgError:
                damping *= 10
                continue
            trial = np.clip(theta + step, low, high)
            trial_loss, trial_gradient, trial_information = evaluate(trial, data, layout,
                                                                     alpha, weights)
            if trial_loss <= loss:
                break
            damping *= 4
        change = loss - trial_loss
        theta, loss, gradient, information = trial, trial_loss, trial_gradient, trial_information
        damping = max(damping / 5, 1e-9)
        small = small + 1 if change * norm < tolerance else 0
        if small >= 2:
            return theta, loss, True
    return theta, loss, False


def best_fit(data: MixData, layout: Layout, alpha: float, max_carryover: float,
             carryover_starts: tuple[float, ...]) -> tuple[np.ndarray, bool]:
    """The best of fits from several starting carry-overs: (parameters, success)."""
    found = [fit(data, layout, layout.start(data, min(lam, max_carryover)), alpha,
                 max_carryover) for lam in carryover_starts]
    theta, _, success = min(found, key=lambda item: item[1])
    return theta, success


def moment_dispersion(data: MixData, layout: Layout, theta: np.ndarray) -> float:
    """NB2 dispersion by the method of moments (degrees of freedom corrected), >= 0."""
    mu = mean_and_jacobian(theta, data, layout)[0]
    free = max(data.n_rows - layout.size, 1)
    excess = ((data.y - mu) ** 2).sum() * data.n_rows / free - mu.sum()
    return max(float(excess / (mu ** 2).sum()), 0.0)


def block_weights(rng: np.random.Generator, n_periods: int, n_markets: int, block: int
                  ) -> np.ndarray:
    """Row weights of one circular block bootstrap draw over periods (markets move together)."""
    blocks = -(-n_periods // block)
    starts = rng.integers(0, n_periods, blocks)
    picked = ((starts[:, None] + np.arange(block)[None]) % n_periods).ravel()[:n_periods]
    return np.repeat(np.bincount(picked, minlength=n_periods).astype(float), n_markets)


def bootstrap(data: MixData, layout: Layout, estimate: np.ndarray, alpha: float,
              max_carryover: float, n_boot: int, block: int, seed: int
              ) -> tuple[np.ndarray, int]:
    """(draws (n_boot, parameters), draws whose optimiser reported failure).

    Each draw refits the model, warm-started at the estimate, with every period weighted by
    how often a circular block bootstrap of ``block`` consecutive periods drew it.
    """
    rng = np.random.default_rng(seed)
    n_markets = data.spend.shape[2]
    n_periods = data.n_rows // n_markets
    draws = np.full((n_boot, layout.size), np.nan)
    failed = 0
    for b in range(n_boot):
        weights = block_weights(rng, n_periods, n_markets, block)
        theta, _, success = fit(data, layout, estimate, alpha, max_carryover, weights)
        failed += not success
        if np.isfinite(theta).all():
            draws[b] = theta
    return draws, failed


def fisher_draws(data: MixData, layout: Layout, estimate: np.ndarray, alpha: float,
                 max_carryover: float, n_draws: int, seed: int) -> np.ndarray:
    """Parametric draws from the normal approximation: mean the estimate, covariance the
    inverse Fisher information times the Pearson dispersion; clipped to the bounds.
    """
    mu, jacobian = mean_and_jacobian(estimate, data, layout)
    variance = mu + alpha * mu ** 2
    information = jacobian.T @ (jacobian / variance[:, None])
    free = max(data.n_rows - layout.size, 1)
    pearson = float(((data.y - mu) ** 2 / variance).sum() / free)
    covariance = np.linalg.pinv(information) * max(pearson, 1.0)
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(estimate, (covariance + covariance.T) / 2, n_draws,
                                    method="eigh")
    bounds = layout.bounds(max_carryover)
    low = np.array([-np.inf if lo is None else lo for lo, _ in bounds])
    high = np.array([np.inf if hi is None else hi for _, hi in bounds])
    return np.clip(draws, low, high)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.exp(_log_sigmoid(values))


def _log_sigmoid(values: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0, -values)
