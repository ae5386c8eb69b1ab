"""Words for results: one plain sentence per effect, human labels, money.

The statistics layer returns numbers; this module turns them into sentences that never
overstate: an interval that includes "no difference" is said as no clear difference, an
unbounded one as "the data cannot pin this down".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.models.drivers import CLAIM_LEVEL, leadership_term
from salesnb.report.labels import value_label


def describe_effect(term: str, estimate: float, ci_low: float, ci_high: float,
                    references: dict[str, str] | None = None,
                    subject: str = "cost per customer",
                    permutation_p: float | None = None) -> str:
    """One plain-English sentence about a CAC multiplier, never overstating.

    The range is the 95% interval, said as "likely between 18% and 42% lower".

    An interval that includes 1 is reported as "no clear difference" with its range; an
    unbounded one (the wild bootstrap with very few teams) as "the data cannot pin this
    down". A leadership term checked against permuted labels (``permutation_p``; NaN: the
    check could not run) is stated as a difference only when it beats them.
    """
    label = _label(term, references or {})
    if not (np.isfinite(ci_high) and ci_low > 0):
        return (f"{label}: the data cannot pin this down (too few teams to say even roughly "
                "how large it is).")
    if ci_low <= 1 <= ci_high:
        return (f"{label}: no clear difference in {subject} (likely between "
                f"{_change(ci_low)} and {_change(ci_high)}).")
    if permutation_p is not None and not permutation_p < CLAIM_LEVEL:
        why = ("a gap this size also appears when styles are shuffled at random between "
               "leaders" if np.isfinite(permutation_p) else
               "too few leaders to check it against styles shuffled at random")
        return (f"{label}: no difference in {subject} that the data can show ({why}; "
                f"likely between {_change(ci_low)} and {_change(ci_high)}).")
    direction = "lower" if estimate < 1 else "higher"
    size = abs(1 - estimate) * 100
    bounds = sorted(abs(1 - b) * 100 for b in (ci_low, ci_high))
    return (f"{label}: {size:.0f}% {direction} {subject} "
            f"(likely between {bounds[0]:.0f}% and {bounds[1]:.0f}% {direction}).")


def with_findings(effects: pd.DataFrame, references: dict[str, str] | None = None,
                  subject: str = "cost per customer") -> pd.DataFrame:
    """The effects table with one plain sentence per effect (column ``finding``).

    Parameters
    ----------
    effects
        A tidy effects table (``term``, ``estimate``, ``ci_low``, ``ci_high``), e.g.
        ``suite.effects`` or ``suite.attrition``. With a ``p_permutation`` column, a
        leadership term is said as a difference only when it beats the permuted labels.
    references
        The reference level of each categorical term (``suite.references``), named in
        the sentences ("vs consultative").
    subject
        What the multiplier applies to ("cost per customer", "rep attrition").

    Returns
    -------
    DataFrame
        A copy of ``effects`` with a ``finding`` column.
    """
    out = effects.copy()
    checked = out["p_permutation"] if "p_permutation" in out else pd.Series(np.nan, out.index)
    out["finding"] = [
        describe_effect(r.term, r.estimate, r.ci_low, r.ci_high, references, subject=subject,
                        permutation_p=p if "p_permutation" in out and leadership_term(r.term)
                        else None)
        for r, p in zip(out.itertuples(), checked, strict=True)]
    return out


def money(value: float | None, currency: str = "") -> str:
    """``1234.6`` -> ``"1,235 USD"`` (no decimals: these are planning figures)."""
    if value is None or not np.isfinite(value):
        return "undefined"
    return f"{value:,.0f} {currency}".strip()


def _change(multiplier: float) -> str:
    pct = (multiplier - 1) * 100
    return f"{abs(pct):.0f}% {'lower' if pct < 0 else 'higher'}"


def _label(term: str, references: dict[str, str]) -> str:
    words = value_label

    parts = dict(part.partition("=")[::2] for part in term.split(":"))
    if len(parts) == 2 and {"tactic", "decision_style"} <= set(parts):
        return (f"{words(parts['tactic']).capitalize()} under {words(parts['decision_style'])} "
                "leaders, beyond the tactic and style effects")
    name, value = next(iter(parts.items()))
    if name == "tactic":
        return f"{words(value).capitalize()} vs {words(references.get('tactic', 'reference'))}"
    if name in ("decision_style", "involvement"):
        return (f"Teams under {words(value)} leaders (vs "
                f"{words(references.get(name, 'reference'))})")
    if name == "region":
        return f"Region {value} (vs {references.get('region', 'reference')})"
    if name == "recognition":
        return "Teams whose leader recognises reps (vs not)"
    if name == "years10":
        return "Each 10 more years of the leader's industry experience"
    if name == "admin10":
        return "Each 10 more points of the leader's time on admin"
    if name == "training10":
        return "Each 10 more hours of the leader's training"
    return term
