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
from salesnb.report import tables

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %% [markdown]
# ## What was loaded
#
# Each table of the data model that was found, the file or database table it came from, and
# how many rows were read, dropped and kept. Rows are dropped only when they are typical export
# noise (blank rows, a trailing "Total" row, exact duplicates); the notes at the end count them.
# A table missing here switches off the analyses that need it.

# %%
from salesnb import quality

display(Markdown(f"```\n{data_set.describe()}\n```"))
tables.styled(quality.table_overview(data_set))

# %% [markdown]
# ## Coverage: spend and new customers per month
#
# Spend (or new customers, without spend data) month by month, over the whole data. A gap or a
# sudden drop usually means a month missing from an export rather than a real change: check it
# before trusting trends or costs per customer of those months.

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
#
# The share of rows in which each optional field is filled, per table. A field well below 100%
# weakens what is built on it: a deal without a created date has no sales-cycle length, one
# without an amount no deal size. Required fields are not listed: a row missing one is refused
# at loading.

# %%
tables.styled(quality.completeness(data_set), percent=("filled",))

# %% [markdown]
# ## Notes from loading
#
# What loading dropped (totals rows, blank rows, exact duplicates) and which segment or
# period was selected, in sentences. Counts here match the "dropped" column of the first table.

# %%
display(Markdown(narrative.bullets(quality.loading_notes(data_set))))
