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
# # Data quality
#
# **Question.** Is the data complete and clean enough to trust the analysis?
#
# **Inputs.** The raw exports through the mapping file; every check of the data model.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 01_data_quality --by region`.
# One segment with papermill: `papermill notebooks/01_data_quality.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import metrics, narrative, plots, segments

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %% [markdown]
# ## What was loaded

# %%
from salesnb import quality

display(Markdown(f"```\n{data_set.describe()}\n```"))
narrative.formatted(quality.table_overview(data_set))

# %% [markdown]
# ## Coverage: spend and new customers per month

# %%
monthly = metrics.cac(data_set, by=[], period="month")
if data_set.lacks("cac") is None:
    plots.cac_trend(monthly, measure="spend", currency=currency)
else:
    display(Markdown(data_set.lacks("cac")))
    plots.cac_trend(monthly, measure="new_customers")
plt.show()

# %% [markdown]
# ## Completeness of optional fields

# %%
narrative.formatted(quality.completeness(data_set), percent_columns=("filled",))

# %% [markdown]
# ## Notes from loading

# %%
display(Markdown(narrative.bullets(quality.loading_notes(data_set))))
