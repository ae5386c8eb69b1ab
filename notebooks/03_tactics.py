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

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %% [markdown]
# ## Program and loaded CAC per tactic, with 95% intervals

# %%
if data_set.lacks("cac") is None:
    intervals = metrics.cac_intervals(data_set, by=["tactic"], n_boot=n_boot, seed=seed)
    plots.cac_bars(intervals, currency=currency)
    plt.show()
    display(narrative.formatted(intervals.drop(columns=["n_boot", "seed"]),
                                money_columns=tuple(c for c in intervals if "cac" in c)))
else:
    display(Markdown(data_set.lacks("cac")))

# %% [markdown]
# ## Funnel per tactic

# %%
funnel = metrics.funnel(data_set, by=["tactic"], gross_margin=gross_margin,
                        lifetime_years=lifetime_years)
narrative.formatted(funnel, money_columns=("spend", "cost_per_deal", "avg_deal_size"),
                    percent_columns=("win_rate",))

# %% [markdown]
# ## Open pipeline per tactic

# %%
narrative.formatted(metrics.pipeline(data_set, by=["tactic"]), money_columns=("open_amount",))

# %% [markdown]
# ## Lead conversion by source

# %%
if data_set.lacks("conversion") is None:
    display(narrative.formatted(metrics.conversion(data_set, by=["tactic"]),
                                percent_columns=("conversion_rate", "conversion_rate_low",
                                                 "conversion_rate_high", "win_rate",
                                                 "win_rate_low", "win_rate_high",
                                                 "lead_to_won")))
else:
    display(Markdown(data_set.lacks("conversion")))

# %% [markdown]
# ## Multi-touch attribution

# %%
from salesnb import attribution

if data_set.lacks("attribution") is None and data_set.lacks("cac") is None:
    display(narrative.formatted(attribution.attributed_cac(data_set, model=attribution_model),
                                money_columns=("spend", "attributed_cac")))
else:
    display(Markdown(data_set.lacks("attribution") or data_set.lacks("cac")))
