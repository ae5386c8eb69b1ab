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
from salesnb.report import computed, tables

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))
scope = "all teams" if segment is None else f"{segment_by} {segment}"  # named on the charts

# %%
from salesnb import budget

response, reason = computed.curves_or_reason(data_set, form=curve_form, n_boot=n_boot, seed=seed)
if response is not None:
    display(Markdown(narrative.bullets(response.notes)))
    display(Markdown("The parameters of each tactic's fitted curve, with 95% ranges from "
                     "resampling teams. Level is new customers per team-month at the reference "
                     "spend; with the power curve, an exponent below 1 means each extra dollar "
                     "buys less than the one before."))
    display(tables.styled(response.parameters(), intervals={"estimate": ("ci_low", "ci_high")},
                          hide=("n_teams", "n_cells", "form"),
                          caption=f"Curve: {curve_form}; fitted on "
                                  f"{response.parameters()['n_teams'].max()} teams."))
else:
    display(Markdown(reason))

# %% [markdown]
# ## Response curves
#
# New customers against spend per team and month, one panel per tactic: the dots are the
# team-months observed, the line the fitted curve and the band its 95% range. Where a curve
# flattens, more spend buys few extra customers.

# %%
if response is not None:
    plots.response_curves(response, currency=currency)
    plt.show()

# %% [markdown]
# ## Marginal CAC: the cost of the next customer
#
# What one more customer would cost through each tactic at today's spend, beside the average
# cost per customer so far. The next customer always costs more than the average when returns
# fall; budget should move from tactics with a high next-customer cost to those with a low
# one.

# %%
if response is not None:
    plots.marginal_cac(response, currency=currency, scope=scope)
    plt.show()
    display(tables.styled(response.marginal_cac(), money=("spend", "marginal_cac",
                                                          "average_cac"),
                          intervals={"marginal_cac": ("ci_low", "ci_high")},
                          currency=currency, hide=("extrapolated",)))

# %% [markdown]
# ## The budget split that wins the most customers
#
# The monthly spend per tactic that wins the most new customers for the budget, staying within
# `max_extrapolation` times the spend levels seen so far. The table compares today's split
# with the suggested one: spend, expected new customers a month and program cost per
# customer, each with its 95% range.

# %%
if response is not None:
    allocation = budget.reallocate(response, budget=budget_total,
                                   max_extrapolation=max_extrapolation)
    plots.allocation_bars(allocation, currency=currency, scope=scope)
    plt.show()
    display(tables.styled(allocation.summary,
                          intervals={"before": ("before_low", "before_high"),
                                     "after": ("after_low", "after_high"),
                                     "change": ("change_low", "change_high")},
                          caption=f"Money in {currency}; customers a month.", decimals=0))
    display(Markdown(narrative.bullets(allocation.notes)))

# %%
if response is not None and target_cac is not None:
    display(Markdown(f"Monthly spend per tactic at which the next customer costs {target_cac:,} "
                     f"{currency}, with its 95% range, beside today's spend."))
    at_target = response.spend_for_marginal_cac(target_cac)
    display(tables.styled(at_target.rename(columns={"spend": "spend_at_target"}),
                          money=("spend_at_target", "current_spend"),
                          intervals={"spend_at_target": ("ci_low", "ci_high")},
                          currency=currency,
                          hide=("target_marginal_cac", "extrapolated")))
