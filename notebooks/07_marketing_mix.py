# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,salesnb
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   salesnb:
#     inputs:
#     - totals
# ---

# %% [markdown]
# # Cost per customer from totals over time
#
# **Question.** When customers are not tagged with the tactic that won them, what does each tactic's customer cost, and which budget split wins the most?
#
# **Inputs.** New customers (or revenue) per week or month, spend per tactic in the same periods, and the things besides spend that move the outcome (season, price, demand, events), for the whole company or per market.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch: `salesnb report --notebooks 07_marketing_mix --data my-totals-folder` (the default suite runs it whenever the data has totals).
# With papermill: `papermill notebooks/07_marketing_mix.ipynb out.ipynb -p data my-totals-folder`.
# The mapping of totals (one wide file of weeks, outcome, spend per channel, controls) is in docs/mapping.md.

# %% tags=["parameters"]
data = None           # totals folder (with its mapping.yml), file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # segments do not apply: markets are modelled together (keep None)
segment = None        # (keep None; to model one market alone, map only its rows with where:)
period_start = None   # first month "YYYY-MM" (None: from the first period of the data)
period_end = None     # last month "YYYY-MM" (None: to the last period of the data)
currency = "USD"      # currency label shown with money
outcome = None        # "new_customers" or "revenue" (None: new customers when mapped)
curve_form = "hill"   # saturation curve: "hill" or "power"
n_boot = 200          # bootstrap refits (blocks of consecutive periods resampled)
seed = 0              # random seed of the bootstrap
budget_total = None   # monthly budget to allocate (None: today's monthly total)
max_extrapolation = 1.0  # advice may go this many times beyond the highest spend seen (1: inside)
target_cac = None     # marginal CAC target: monthly spend per tactic that reaches it (None: skip)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import budget, curves, narrative, plots, segments

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all periods"])))
reason = data_set.lacks("mix")
if reason is None:
    model_input = curves.totals_input(data_set, outcome=outcome)
    model = model_input.fit(form=curve_form, n_boot=n_boot, seed=seed)
    display(Markdown(narrative.bullets(model.notes)))
else:
    model = None
    display(Markdown(reason + " This data tags customers with their tactic, so the other "
                     "reports measure cost per customer directly." if "deals" in data_set
                     else reason))

# %% [markdown]
# ## Average cost per customer of each tactic, with 95% intervals

# %%
if model is not None:
    cac = model.cac()
    plots.cac_bars(cac, measure="average_cac", currency=currency)
    plt.show()
    display(narrative.formatted(
        cac[["tactic", "spend", "average_cac", "average_cac_low", "average_cac_high",
             "marginal_cac", "share"]],
        money_columns=("spend", "average_cac", "average_cac_low", "average_cac_high",
                       "marginal_cac"), percent_columns=("share",)))

# %% [markdown]
# ## Response curves: customers against spend, per market and period

# %%
if model is not None:
    response = model.to_response_curves()
    plots.response_curves(response, per=f"market per {model.period}")
    plt.show()

# %% [markdown]
# ## The budget split that wins the most customers

# %%
if model is not None:
    allocation = budget.reallocate(response, budget=budget_total,
                                   max_extrapolation=max_extrapolation)
    plots.allocation_bars(allocation)
    plt.show()
    display(narrative.formatted(allocation.summary))
    display(Markdown(narrative.bullets(allocation.notes)))

# %%
if model is not None and target_cac is not None:
    display(Markdown(f"Monthly spend per tactic at which the next customer costs {target_cac:,} "
                     f"{currency}:"))
    display(narrative.formatted(response.spend_for_marginal_cac(target_cac),
                                money_columns=("spend", "ci_low", "ci_high", "current_spend")))

# %% [markdown] tags=["remove"]
# ## For analysts: the baseline, the leadership style and the fit

# %% tags=["remove"]
if model is not None:
    display(narrative.formatted(model.baseline_effects()))
    if model.style:
        display(narrative.formatted(model.style_effects()))
    display(narrative.formatted(cac))
    display(narrative.formatted(model.decomposition().head(12)))
