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
# # Tactics
#
# **Question.** Which tactics win customers cheaply, and how do their funnels differ?
#
# **Inputs.** Spend and deals per tactic; touches for multi-touch attribution when mapped.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 03_tactics --by region`.
# One segment with papermill: `papermill notebooks/03_tactics.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
n_boot = 500          # bootstrap replicates for the CAC intervals
seed = 0              # random seed of the bootstrap
gross_margin = 0.7    # gross margin on deal amounts, for payback and LTV:CAC
lifetime_years = 3    # customer lifetime in years, for LTV:CAC
attribution_model = "position"  # credit: "first", "last", "linear", "time_decay" or "position"

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import metrics, narrative, plots, segments
from salesnb.report import computed, tables

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %% [markdown]
# ## Program and loaded CAC per tactic, with 95% intervals
#
# What a new customer costs through each tactic, in spend only (program) and with the reps'
# cost (incl. people). The 95% range comes from redrawing each team's deals `n_boot` times: it
# shows how much the figure moves with the luck of which deals closed. Two tactics whose
# ranges do not overlap clearly differ; ranges that overlap may still differ, but this data
# cannot show it.

# %%
if data_set.lacks("cac") is None:
    intervals = computed.cac_intervals(data_set, by=["tactic"], n_boot=n_boot, seed=seed)
    plots.cac_bars(intervals, currency=currency)
    plt.show()
    display(tables.styled(intervals, money=("program_cac", "loaded_cac"), currency=currency,
                          intervals={"program_cac": ("program_cac_low", "program_cac_high"),
                                     "loaded_cac": ("loaded_cac_low", "loaded_cac_high")},
                          hide=("n_boot", "seed")))
else:
    display(Markdown(data_set.lacks("cac")))

# %% [markdown]
# ## Funnel per tactic
#
# Deals each tactic brought, how many were won, lost or are still open, what a deal costs and
# how often it is won, how long a won deal took to close and how large it was. Payback months
# is how long a new customer's margin takes to repay their cost incl. people; lifetime value
# to cost (per customer) uses the `gross_margin` and `lifetime_years` parameters (above 3 is
# commonly read as healthy). A cheap deal with a low win rate is not a cheap customer.

# %%
funnel = metrics.funnel(data_set, by=["tactic"], gross_margin=gross_margin,
                        lifetime_years=lifetime_years)
tables.styled(funnel, money=("spend", "cost_per_deal", "avg_deal_size"),
              percent=("win_rate",), currency=currency, decimals=1)

# %% [markdown]
# ## Open pipeline per tactic
#
# Deals not yet won or lost and their total amount: what each tactic may still bring. Open
# deals never count as lost; "without close date" counts those with no expected close, often
# stale deals worth cleaning up in the CRM.

# %%
tables.styled(metrics.pipeline(data_set, by=["tactic"]), money=("open_amount",),
              currency=currency)

# %% [markdown]
# ## Lead conversion by source
#
# How many leads of each source became deals (conversion rate) and how many of those deals
# were won, each with its 95% range; lead to won multiplies the two. A source with many
# leads and a low conversion costs the reps' time before it costs money.

# %%
if data_set.lacks("conversion") is None:
    display(tables.styled(metrics.conversion(data_set, by=["tactic"]),
                          percent=("conversion_rate", "conversion_rate_low",
                                   "conversion_rate_high", "win_rate", "win_rate_low",
                                   "win_rate_high", "lead_to_won"),
                          intervals={"conversion_rate": ("conversion_rate_low",
                                                         "conversion_rate_high"),
                                     "win_rate": ("win_rate_low", "win_rate_high")}))
else:
    display(Markdown(data_set.lacks("conversion")))

# %% [markdown]
# ## Multi-touch attribution
#
# Each new customer's credit shared between every tactic that touched the deal (the
# `attribution_model` parameter says how), instead of all of it going to the lead source.
# Attributed customers are fractional for that reason. A tactic much cheaper here than in the
# first table helps deals that other tactics bring in.

# %%
from salesnb import attribution

if data_set.lacks("attribution") is None and data_set.lacks("cac") is None:
    attributed = attribution.attributed_cac(data_set, model=attribution_model)
    display(tables.styled(attributed, money=("spend", "cac", "attributed_cac"),
                          currency=currency, hide=("cac_defined", "model"),
                          caption=f"Attribution model: {attribution_model}."))
else:
    display(Markdown(data_set.lacks("attribution") or data_set.lacks("cac")))
