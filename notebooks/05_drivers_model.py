# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Drivers model
#
# **Question.** What do tactics, leadership style and leader traits do to cost per customer, other things equal, and how sure is that?
#
# **Inputs.** The team x tactic x month panel; the model suite of salesnb.models.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 05_drivers_model --by region`.
# One segment with papermill: `papermill notebooks/05_drivers_model.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
model = "auto"        # "auto" (overdispersion test decides), "negbin" or "poisson"
month_effects = False # add one effect per month (seasonality, shocks)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import narrative, plots, segments

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %%
from salesnb import models

suite = models.model_suite(data_set, month_effects=month_effects, model=model)
display(Markdown(narrative.bullets(suite.notes)))
display(Markdown(f"_Model suite ran in {suite.seconds:.1f} s._"))

# %% [markdown]
# ## Effects as CAC multipliers (x0.85 = 15% cheaper per customer)

# %%
if suite.effects is not None:
    plots.effects_forest(suite.effects)
    plt.gcf().set_size_inches(8, 9)
    plt.show()
    said = narrative.with_findings(suite.effects, suite.references)
    display(Markdown(narrative.bullets(list(said["finding"]))))
else:
    display(Markdown(suite.notes[0]))

# %% [markdown]
# ## Estimated CAC per tactic under each decision style

# %%
if suite.grid is not None:
    plots.cac_heatmap(suite.grid, currency=currency)
    plt.show()
    if suite.contrasts is not None:
        display(narrative.formatted(suite.contrasts))
else:
    display(Markdown(data_set.lacks("style") or "_The CAC grid could not be estimated "
                                                 "(see the notes above)._"))

# %% [markdown]
# ## Cross-checks and diagnostics

# %%
for name in ("alternatives", "mde", "dispersion", "influential_teams", "residuals"):
    if name in suite.tables:
        display(Markdown(f"**{name.replace('_', ' ')}**"))
        display(narrative.formatted(suite[name]))
