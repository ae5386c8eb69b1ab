"""Synthetic data with planted, documented effects: the demo dataset and its ground truth.

Owns :mod:`.demo` (``generate``, the planted effects written to ``truth.json``).

May import: :mod:`salesnb.errors`, :mod:`salesnb.paths`, :mod:`salesnb.io`.
"""
