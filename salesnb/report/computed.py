"""The analyses the notebooks share, computed once per segment and reused (``salesnb.cache``).

The brief, the drivers notebook, the leadership notebook and the curves notebook of one segment
need the same panel, model suite and curves. Each function here is the analysis of the same
name (same parameters, same result), with its result kept in the cache under the data's
fingerprint, the segment and period selected (the dataset's notes), the shape of its tables,
the parameters and salesnb's code. The first notebook of a segment computes it; the others
(and the next run on the same files) read it. Two kernels asking at once compute it once.

Use them on a dataset as :func:`salesnb.engine.segments.open_data` returns it; a table changed
by hand after loading (same shape, other values) is not seen by the key, so call the
uncached function (``salesnb.models.model_suite``...) on such data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from salesnb.cache import cached

if TYPE_CHECKING:
    import pandas as pd

    from salesnb.curves.response import ResponseCurves
    from salesnb.io.dataset import Dataset
    from salesnb.models.scorecard import LeaderScorecard
    from salesnb.models.situations import SituationalStyle
    from salesnb.models.suite import ModelSuite

T = TypeVar("T")
CURVES_FAILED = "Response curves are not shown: "
"""How :func:`curves_or_reason` starts the reason when the fit itself failed."""


def data_key(data: Dataset) -> dict[str, Any]:
    """What identifies a loaded (and selected) dataset in a cache key.

    The fingerprint (mapping and sources), the notes (what loading dropped, the segment and
    period selected) and the rows and columns of every table.
    """
    return {"fingerprint": data.fingerprint, "notes": list(data.notes),
            "tables": {name: [data.rows(name), _columns(data, name)]
                       for name in sorted(data.table_names())}}


def _columns(data: Dataset, name: str) -> list[str]:
    frame = data.tables.get(name)
    return [str(c) for c in (frame.columns if frame is not None else data.filled(name))]


def reused(kind: str, data: Dataset, compute: Callable[[], T], **parameters: Any) -> T:
    """``compute()`` for ``data`` and ``parameters``, or its result stored by an earlier call."""
    return cached(kind, {"data": data_key(data), "parameters": parameters}, compute)


def panel(data: Dataset) -> pd.DataFrame:
    """:func:`salesnb.metrics.panel` (team x tactic x month), computed once."""
    from salesnb.metrics import measures

    return reused("panel", data, lambda: measures.panel(data))


def model_suite(data: Dataset, month_effects: bool = False, model: str = "auto") -> ModelSuite:
    """:func:`salesnb.models.model_suite`, computed once per segment and parameters."""
    from salesnb.models.suite import model_suite as fit_suite

    def fit() -> ModelSuite:  # its style-change fit is the one notebook 04 shows
        return fit_suite(data, month_effects=month_effects, model=model,
                         style_change_fit=lambda _panel: style_change_effects(data))

    return reused("model_suite", data, fit, month_effects=month_effects, model=model)


def curves_or_reason(data: Dataset, form: str = "power", n_boot: int = 200, seed: int = 0
                     ) -> tuple[ResponseCurves | None, str | None]:
    """The response curves of ``data`` (:func:`salesnb.curves.fitting.fit_response_curves`
    of its panel), or None and the plain reason they cannot be fitted; computed once.

    The reason is the data's own (:meth:`salesnb.io.dataset.Dataset.lacks`), or the fit's
    error after :data:`CURVES_FAILED`.
    """
    from salesnb.curves import fitting
    from salesnb.errors import SalesnbError

    reason = data.lacks("curves")
    if reason is not None:
        return None, reason

    def fit() -> tuple[ResponseCurves | None, str | None]:
        try:
            return fitting.fit_response_curves(panel(data), form=form, n_boot=n_boot,
                                               seed=seed), None
        except SalesnbError as exc:  # a fit that cannot be made is a result too: kept
            return None, CURVES_FAILED + str(exc).splitlines()[0]

    return reused("curves_or_reason", data, fit, form=form, n_boot=n_boot, seed=seed)


def cac_intervals(data: Dataset, by: Sequence[str] = ("tactic",), n_boot: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """:func:`salesnb.metrics.cac_intervals`, computed once."""
    from salesnb.metrics import measures

    return reused("cac_intervals", data,
                  lambda: measures.cac_intervals(data, by=list(by), n_boot=n_boot, seed=seed),
                  by=list(by), n_boot=n_boot, seed=seed)


def style_by_situation(data: Dataset, by: Sequence[str] | None = None) -> SituationalStyle:
    """:func:`salesnb.models.style_by_situation` of the data's panel, computed once."""
    from salesnb.models.situations import style_by_situation as fit

    chosen = None if by is None else list(by)
    return reused("style_by_situation", data, lambda: fit(panel(data), by=chosen), by=chosen)


def leader_scorecard(data: Dataset) -> LeaderScorecard:
    """:func:`salesnb.models.leader_scorecard` of the data's panel, computed once."""
    from salesnb.models.scorecard import leader_scorecard as fit

    return reused("leader_scorecard", data, lambda: fit(panel(data)))


def style_change_effects(data: Dataset) -> dict[str, pd.DataFrame]:
    """:func:`salesnb.models.style_change_effects` of the data's panel, computed once."""
    from salesnb.models.style_changes import style_change_effects as fit

    return reused("style_change_effects", data, lambda: fit(panel(data)))


def rep_attrition(data: Dataset) -> pd.DataFrame:
    """:func:`salesnb.models.rep_attrition`, computed once."""
    from salesnb.models.attrition import rep_attrition as fit

    return reused("rep_attrition", data, lambda: fit(data))
