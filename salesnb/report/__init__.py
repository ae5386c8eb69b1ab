"""Words and charts: what leaders and analysts read.

Owns sentences and human labels (:mod:`.words`), the key findings of a brief
(:mod:`.narrative`, also ``salesnb.narrative``) and the charts (:mod:`.plots`, also
``salesnb.plots``). Like seaborn, plot functions take data first, accept ``ax=`` and return
the Axes; nothing here shows or saves a figure.

May import every layer below it: :mod:`salesnb.errors`, :mod:`salesnb.io`,
:mod:`salesnb.engine`, :mod:`salesnb.metrics`, :mod:`salesnb.models`, :mod:`salesnb.curves`.
"""
