"""Reading and validating exports: from raw files or databases to a clean :class:`Dataset`.

Owns the canonical data model (:mod:`.schema`), mapping files (:mod:`.mapping`), raw
sources (:mod:`.sources`), value conversion (:mod:`.values`), validation
(:mod:`.validation`), ``load()`` (:mod:`.loading`), the dataset (:mod:`.dataset`), segments
and periods (:mod:`.segments`), data-quality summaries (:mod:`.quality`), mapping options
for real exports (:mod:`.mapping_spec`, :mod:`.mapping_options`, :mod:`.reshaping`), what each
analysis needs (:mod:`.capabilities`) and ``salesnb map``'s proposals (:mod:`.propose`,
:mod:`.propose_guess`, :mod:`.propose_tables`). After loading, every later layer may assume
clean data.

May import: :mod:`salesnb.errors`, :mod:`salesnb.paths` (nothing above the foundation).
"""

from salesnb.io.dataset import Dataset
from salesnb.io.loading import load

__all__ = ["Dataset", "load"]
