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
# # CAC overview
#
# **Question.** What does a new customer cost, how is it moving, and where is it high?
#
# **Inputs.** Spend, deals and people cost per team, tactic and month.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 02_cac_overview --by region`.
# One segment with papermill: `papermill notebooks/02_cac_overview.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
period = "quarter"    # trend grain: "month", "quarter" or "year"

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import metrics, narrative, plots, segments
from salesnb.report import tables

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %%
from salesnb.report import brief

facts = metrics.headline(data_set)
display(Markdown(brief.headline_sentence(facts, currency)))

# %% [markdown]
# ## Trend by leadership decision style
#
# Cost per new customer incl. people in each period (the `period` parameter), one line per
# decision style of the team's leader at the time. A gap that lasts across periods is worth a
# closer look; it is descriptive only, since styles run different tactic mixes: the drivers
# model (05) compares them like for like.

# %%
if data_set.lacks("style") is None:
    trend = metrics.cac(data_set, by=["decision_style"], period=period)
    plots.cac_trend(trend, by="decision_style", currency=currency)
    plt.show()
elif data_set.lacks("cac") is None:
    display(Markdown(data_set.lacks("style")))
    plots.cac_trend(metrics.cac(data_set, by=[], period=period), currency=currency)
    plt.show()
else:
    display(Markdown(data_set.lacks("cac")))

# %% [markdown]
# ## By tactic
#
# Program cost per customer is the tactic's spend divided by the new customers it won; cost
# per customer incl. people adds the reps' cost, shared out by each tactic's share of deals.
# Read the two together: a tactic can be cheap in spend and dear in people's time. A dash
# means the tactic won no new customer in the period (its cost is not lost, it has no
# customer to divide by).

# %%
money = ("spend", "people_cost", "program_cac", "loaded_cac", "cost_per_deal",
         "avg_deal_size")
if data_set.lacks("cac") is None:
    display(tables.styled(metrics.cac(data_set, by=["tactic"]), money=money, currency=currency,
                          hide=("cac_defined",)))
else:
    display(tables.styled(metrics.funnel(data_set, by=["tactic"]), money=money,
                          percent=("win_rate",), currency=currency))

# %% [markdown]
# ## By team (cheapest and dearest five)
#
# The five teams with the lowest and the five with the highest cost per customer incl.
# people (or win rate, without spend data), lowest first; the full list of teams is
# `metrics.cac(data_set, by=["team_id"])` in this notebook. Teams differ in region, segment
# and tactic mix, so a dear team is a question to ask, not a verdict.

# %%
if data_set.lacks("team_ranking") is not None:
    display(Markdown(data_set.lacks("team_ranking")))
elif data_set.lacks("cac") is None:
    by_team = metrics.cac(data_set, by=["team_id"])
    display(tables.styled(narrative.extremes(by_team, "loaded_cac", n=5), money=money,
                          currency=currency, hide=("cac_defined",)))
else:
    by_team = metrics.funnel(data_set, by=["team_id"])
    display(tables.styled(narrative.extremes(by_team, "win_rate", n=5), money=money,
                          percent=("win_rate",), currency=currency))
