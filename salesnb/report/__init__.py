"""Words and charts: what leaders and analysts read.

Owns human labels and fixed colours (:mod:`.labels`), one sentence per effect
(:mod:`.words`), the key findings (:mod:`.narrative`, also ``salesnb.narrative``), the
brief's answers (:mod:`.brief`, :mod:`.brief_text`) and its methods appendix
(:mod:`.methods`), tables fit to share (:mod:`.tables`) and the charts (:mod:`.plots`, also
``salesnb.plots``, drawing with :mod:`.plot_axes` and :mod:`.plot_curves`). Like seaborn,
plot functions take data first, accept ``ax=`` and return the Axes; nothing here shows or
saves a figure.

May import every layer below it: :mod:`salesnb.errors`, :mod:`salesnb.io`,
:mod:`salesnb.engine`, :mod:`salesnb.metrics`, :mod:`salesnb.models`, :mod:`salesnb.curves`.
"""
