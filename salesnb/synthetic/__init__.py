"""Synthetic data with planted, documented effects: the demo dataset and its ground truth.

Owns :mod:`.demo` (``generate``, the planted effects written to ``truth.json``) and
:mod:`.mix_demo` (totals over time per period and market with planted per-tactic carry-over,
saturation and a confounder, for the marketing-mix model).

May import: :mod:`salesnb.errors`, :mod:`salesnb.paths`, :mod:`salesnb.io`.
"""
