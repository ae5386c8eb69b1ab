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
# # Leadership brief
#
# **Question.** Which sales tactics, under which kind of sales leadership, win customers at the lowest cost, and how sure are we?
#
# **Inputs.** The validated sales data (spend, deals, teams, leaders, reps), one segment and period.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 00_leadership_brief --by region`.
# One segment with papermill: `papermill notebooks/00_leadership_brief.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
model = "auto"        # drivers model: "auto" (overdispersion test decides), "negbin" or "poisson"
n_boot = 200          # bootstrap replicates for intervals (more: steadier, slower)
seed = 0              # random seed of the bootstraps (same seed, same intervals)
max_extrapolation = 1.0  # advice may go this many times past the highest spend seen (1: inside)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import narrative, plots, segments

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %%
from salesnb.report import brief

inputs = brief.brief_inputs(data_set, model=model, n_boot=n_boot, seed=seed,
                            max_extrapolation=max_extrapolation)
findings = narrative.key_findings(inputs.suite, inputs.tactic_cac, inputs.allocation,
                                  currency=currency)

# %% [markdown]
# ## What matters

# %%
display(Markdown(narrative.as_markdown(findings)))

# %%
display(Markdown(brief.headline_sentence(inputs.facts, currency)))
if inputs.missing:
    display(Markdown(narrative.bullets(inputs.missing)))

# %% [markdown]
# ## Cost per new customer by tactic

# %%
if inputs.tactic_cac is not None:
    plots.cac_bars(inputs.tactic_cac, currency=currency)
    plt.show()
else:
    display(Markdown(data_set.lacks("cac")))

# %% [markdown]
# ## What leadership changes (CAC multipliers from the drivers model)

# %%
if inputs.suite.effects is not None:
    plots.effects_forest(inputs.suite.effects,
                         terms=narrative.leadership_terms(inputs.suite.effects))
    plt.show()
else:
    display(Markdown(inputs.suite.notes[0]))

# %% [markdown]
# ## Budget: where the next dollar buys more customers

# %%
if inputs.allocation is not None:
    plots.allocation_bars(inputs.allocation)
    plt.show()
else:
    display(Markdown(narrative.bullets(inputs.missing)))

# %% [markdown]
# ## How sure we are

# %%
display(Markdown(narrative.bullets(inputs.notes)))
