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
# # Response curves and budget
#
# **Question.** What does the next dollar on each tactic buy, and which budget split wins the most customers?
#
# **Inputs.** Spend and new customers per team, tactic and month.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 06_response_curves_budget --by region`.
# One segment with papermill: `papermill notebooks/06_response_curves_budget.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
curve_form = "power"  # response curve: "power" or "hill"
n_boot = 200          # bootstrap replicates (teams resampled)
seed = 0              # random seed of the bootstrap
budget_total = None   # monthly budget to allocate (None: today's total)
max_extrapolation = 1.0  # advice may go this many times beyond the highest spend seen (1: inside)
target_cac = None     # a marginal CAC target: the spend per tactic where it is reached (None: skip)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import narrative, plots, segments

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %%
from salesnb import budget
from salesnb.report import brief

response, reason = brief.curves_or_reason(data_set, form=curve_form, n_boot=n_boot, seed=seed)
if response is not None:
    display(Markdown(narrative.bullets(response.notes)))
    display(narrative.formatted(response.parameters()))
else:
    display(Markdown(reason))

# %% [markdown]
# ## Response curves

# %%
if response is not None:
    plots.response_curves(response)
    plt.show()

# %% [markdown]
# ## Marginal CAC: the cost of the next customer

# %%
if response is not None:
    plots.marginal_cac(response)
    plt.show()
    display(narrative.formatted(response.marginal_cac(),
                                money_columns=("spend", "marginal_cac", "ci_low", "ci_high",
                                               "average_cac")))

# %% [markdown]
# ## The budget split that wins the most customers

# %%
if response is not None:
    allocation = budget.reallocate(response, budget=budget_total,
                                   max_extrapolation=max_extrapolation)
    plots.allocation_bars(allocation)
    plt.show()
    display(narrative.formatted(allocation.summary))
    display(Markdown(narrative.bullets(allocation.notes)))

# %%
if response is not None and target_cac is not None:
    display(narrative.formatted(response.spend_for_marginal_cac(target_cac)))
