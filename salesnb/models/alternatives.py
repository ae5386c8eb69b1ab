"""Cross-checks of the drivers model: log-CAC OLS (clustered as the main model) and MixedLM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesnb.errors import SalesnbError
from salesnb.models.clusters import inference_clusters
from salesnb.models.drivers import (
    TIDY_COLUMNS,
    DriversFit,
    captured_warnings,
    cheapest_tactic,
    drivers_formula,
    model_frame,
    plain_term,
)


def fit_log_cac(panel: pd.DataFrame, mixed: bool = False) -> DriversFit:
    """Alternative: OLS of log CAC per cell (clustered like the main model, see
    :mod:`.clusters`), or MixedLM with team intercepts.

    Only cells with at least one new customer have a CAC, so this drops the
    zero-customer cells the count model keeps: it leans towards cheaper cells
    when customers are few. Use it as a cross-check, not as the main model.
    """
    import statsmodels.formula.api as smf

    frame = model_frame(panel)
    frame = frame[frame["new_customers"] > 0].reset_index(drop=True)
    frame["log_cac"] = np.log(frame["spend"] / frame["new_customers"])
    reference_tactic = cheapest_tactic(frame)
    formula = drivers_formula(frame, reference_tactic, elasticity=False,
                              month_effects=False).replace("new_customers ~", "log_cac ~")
    notes = [f"{(panel['spend'] > 0).sum() - len(frame)} cells without a new customer left out"]
    with captured_warnings(notes):
        if mixed:
            result = smf.mixedlm(formula, frame, groups=frame["team_id"]).fit(reml=True)
        else:
            groups = inference_clusters(frame).ids
            result = smf.ols(formula, frame).fit(cov_type="cluster", cov_kwds={"groups": groups})
    model = "mixedlm (team intercepts)" if mixed else "ols log-CAC"
    return LogCacFit(result, frame, formula, model, reference_tactic, False, notes)


class LogCacFit(DriversFit):
    """log-CAC models: the coefficient *is* log of the multiplier (no sign flip)."""

    def effects(self, level: float = 0.95, wild: Sequence[str] | bool = ()) -> pd.DataFrame:
        """Each term as a CAC multiplier (exp of the coefficient) with its interval."""
        if wild:
            raise SalesnbError("the wild cluster bootstrap is implemented for the count "
                               "model (fit_drivers) only")
        names = [n for n in self.result.params.index if n != "Group Var"]
        params, se = self.result.params.loc[names], self.result.bse.loc[names]
        crit = self.critical(level)
        frame = pd.DataFrame({"term": [plain_term(t) for t in names],
                              "estimate": np.exp(params.to_numpy()),
                              "ci_low": np.exp((params - crit * se).to_numpy()),
                              "ci_high": np.exp((params + crit * se).to_numpy()),
                              "p": self.p_values(params, se)})
        frame["model"], frame["n"] = self.model, self.n
        return frame[frame["term"] != "Intercept"][TIDY_COLUMNS].reset_index(drop=True)
