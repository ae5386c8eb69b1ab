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

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %%
facts = metrics.headline(data_set)
display(Markdown(
    f"{facts['new_customers']:,} new customers; "
    f"tactic spend {narrative.money(facts['spend'], currency)}, "
    f"people cost {narrative.money(facts['people_cost'], currency)}; blended CAC "
    f"{narrative.money(facts['blended_cac'], currency)}."))

# %% [markdown]
# ## Trend by leadership decision style

# %%
trend = metrics.cac(data_set, by=["decision_style"], period=period)
plots.cac_trend(trend, by="decision_style", currency=currency)
plt.show()

# %% [markdown]
# ## By tactic

# %%
narrative.formatted(metrics.cac(data_set, by=["tactic"]),
                    money_columns=("spend", "people_cost", "program_cac", "loaded_cac"))

# %% [markdown]
# ## By team (cheapest and dearest five)

# %%
by_team = metrics.cac(data_set, by=["team_id", "region"])
narrative.formatted(narrative.extremes(by_team, "loaded_cac", n=5),
                    money_columns=("spend", "people_cost", "program_cac", "loaded_cac"))
