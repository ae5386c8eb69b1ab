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
from salesnb.report import tables

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
#
# The model splits the new customers of each period between the baseline (what would come
# without spend: season, price, demand) and each tactic, and divides each tactic's spend by its
# share. The next customer's cost is what one more would cost at today's spend; share is the
# tactic's part of all new customers. The 95% ranges come from refitting on resampled blocks
# of consecutive periods.

# %%
if model is not None:
    cac = model.cac()
    plots.cac_bars(cac, measure="average_cac", currency=currency)
    plt.show()
    display(tables.styled(
        cac[["tactic", "spend", "average_cac", "average_cac_low", "average_cac_high",
             "marginal_cac", "share"]],
        money=("spend", "average_cac", "marginal_cac"), percent=("share",), currency=currency,
        intervals={"average_cac": ("average_cac_low", "average_cac_high")}))

# %% [markdown]
# ## Response curves: customers against spend, per market and period
#
# New customers each tactic brings against its spend in a period, as the model fits them:
# where a curve flattens, more spend buys few extra customers. The band is the 95% range.

# %%
if model is not None:
    response = model.to_response_curves()
    plots.response_curves(response, per=f"market per {model.period}", currency=currency)
    plt.show()

# %% [markdown]
# ## The budget split that wins the most customers
#
# The monthly spend per tactic that wins the most new customers for the budget, staying within
# `max_extrapolation` times the spend levels seen so far. The table compares today's split
# with the suggested one: spend, expected new customers a month and program cost per
# customer, each with its 95% range.

# %%
if model is not None:
    allocation = budget.reallocate(response, budget=budget_total,
                                   max_extrapolation=max_extrapolation)
    plots.allocation_bars(allocation, currency=currency, scope="all markets")
    plt.show()
    display(tables.styled(allocation.summary,
                          intervals={"before": ("before_low", "before_high"),
                                     "after": ("after_low", "after_high"),
                                     "change": ("change_low", "change_high")},
                          caption=f"Money in {currency}; customers a month.", decimals=0))
    display(Markdown(narrative.bullets(allocation.notes)))

# %%
if model is not None and target_cac is not None:
    display(Markdown(f"Monthly spend per tactic at which the next customer costs {target_cac:,} "
                     f"{currency}:"))
    at_target = response.spend_for_marginal_cac(target_cac)
    display(tables.styled(at_target.rename(columns={"spend": "spend_at_target"}),
                          money=("spend_at_target", "current_spend"),
                          intervals={"spend_at_target": ("ci_low", "ci_high")},
                          currency=currency,
                          hide=("target_marginal_cac", "extrapolated")))

# %% [markdown] tags=["remove"]
# ## For analysts: the baseline, the leadership style and the fit
#
# The baseline terms (trend, season and the other drivers, on the log scale of the outcome),
# the leadership style effects when styles are mapped, the full table of costs per customer,
# and the first 12 periods of the decomposition of the outcome into baseline and tactics (the
# whole decomposition is `model.decomposition()` in this notebook).

# %% tags=["remove"]
if model is not None:
    display(tables.styled(model.baseline_effects(),
                          intervals={"estimate": ("ci_low", "ci_high")}))
    if model.style:
        display(tables.styled(model.style_effects(),
                              intervals={"response_multiplier": ("ci_low", "ci_high"),
                                         "cac_multiplier": ("cac_low", "cac_high")}))
    display(tables.styled(cac, money=("spend", "contribution", "current_spend", "average_cac",
                                      "average_cac_low", "average_cac_high", "marginal_cac",
                                      "marginal_cac_low", "marginal_cac_high"),
                          percent=("share", "share_low", "share_high"), currency=currency,
                          intervals={"average_cac": ("average_cac_low", "average_cac_high"),
                                     "marginal_cac": ("marginal_cac_low", "marginal_cac_high"),
                                     "share": ("share_low", "share_high")}))
    display(tables.styled(model.decomposition(), max_rows=12))
