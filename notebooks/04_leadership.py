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
# # Leadership
#
# **Question.** How do leadership style, traits and people practices relate to cost per customer and to rep attrition?
#
# **Inputs.** Leaders (style, involvement, traits), style changes, reps.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 04_leadership --by region`.
# One segment with papermill: `papermill notebooks/04_leadership.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
replacement_share = 0.5  # cost of replacing a rep who leaves, as a share of their annual cost

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import metrics, narrative, plots, segments

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %% [markdown]
# ## Cost per customer by leadership (descriptive; the drivers model adjusts for tactic mix)

# %%
for dimension, analysis in (("decision_style", "style"), ("involvement", "involvement"),
                            ("recognition", "recognition")):
    if data_set.lacks(analysis) is None:
        display(narrative.formatted(
            metrics.cac(data_set, by=[dimension]),
            money_columns=("spend", "people_cost", "program_cac", "loaded_cac")))
    else:
        display(Markdown(data_set.lacks(analysis)))

# %% [markdown]
# ## Rep attrition and what it costs per customer

# %%
from salesnb import models, people
from salesnb.errors import SalesnbError

if data_set.lacks("people") is not None:
    display(Markdown(data_set.lacks("people")))
elif data_set.lacks("people_by_style") is not None:
    display(Markdown(data_set.lacks("people_by_style")))
    display(narrative.formatted(people.attrition(data_set, by=[]),
                                percent_columns=("attrition_rate",)))
else:
    display(narrative.formatted(people.attrition(data_set, by=["decision_style"]),
                                percent_columns=("attrition_rate",)))
    if data_set.lacks("attrition_cost") is None:
        cost = people.attrition_cost(data_set, by=["decision_style"],
                                     replacement_share=replacement_share)
        plots.group_bars(cost, by="decision_style", measure="turnover_cost_per_customer",
                         label=f"turnover cost per new customer {currency}")
        plt.show()
    else:
        display(Markdown(data_set.lacks("attrition_cost")))
    try:
        hazards = models.rep_attrition(data_set)  # the style in force at each time at risk
        said = narrative.with_findings(hazards, models.ATTRITION_REFERENCES,
                                       subject="rep attrition")
        display(Markdown(narrative.bullets(list(said["finding"]))))
        display(narrative.formatted(hazards))
    except SalesnbError as reason:
        display(Markdown(f"_Attrition hazards not estimated: {reason}_"))

# %% [markdown]
# ## New hires: time to first win, early win rate and retention, by leadership style

# %%
ramp_rates = ("early_win_rate", "early_win_rate_low", "early_win_rate_high", "retention_rate",
              "retention_rate_low", "retention_rate_high")
try:
    display(narrative.formatted(metrics.ramp(data_set, by=["decision_style"]),
                                percent_columns=ramp_rates))
except SalesnbError as reason:
    display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Do leaders differ in win rate? (a test across leaders; deals of one rep count together)

# %%
try:
    test = metrics.win_rate_test(data_set, by=["leader_id"])
    display(narrative.formatted(test.drop(columns=["highest", "lowest"])))
    display(narrative.formatted(metrics.win_rates(data_set, by=["decision_style"]),
                                percent_columns=("win_rate", "win_rate_low", "win_rate_high")))
except SalesnbError as reason:
    display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Which style works where (style effect by situation, partially pooled)

# %%
if data_set.lacks("cac") or data_set.lacks("style"):
    display(Markdown(data_set.lacks("cac") or data_set.lacks("style")))
else:
    try:
        situations = models.style_by_situation(metrics.panel(data_set),
                                               by=("segment", "tactic"))
        display(narrative.formatted(situations.tests))
        display(narrative.formatted(situations.pooling))
        if situations.notes:
            display(Markdown(narrative.bullets(situations.notes)))
    except SalesnbError as reason:
        display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Leader scorecard: each leader against what their situation predicts (shrunk; not a ranking)

# %%
scorecard = None
if data_set.lacks("cac"):
    display(Markdown(data_set.lacks("cac")))
else:
    try:
        scorecard = models.leader_scorecard(metrics.panel(data_set))
        table = scorecard.table
        display(Markdown(
            f"{int(table['clear'].sum())} of {len(table)} leaders differ clearly in cost per "
            "customer from what their situation predicts (95% intervals, shrunk towards "
            "'as expected'); the per-leader table is in the analyst notebook, not on this "
            "page."))
    except SalesnbError as reason:
        display(Markdown(f"_Not estimated: {reason}_"))

# %% tags=["remove"]
# Analyst view (not on the leadership page, which shows no names or ids): per leader.
if scorecard is not None:
    display(narrative.formatted(scorecard.table))
    if scorecard.notes:
        display(Markdown(narrative.bullets(scorecard.notes)))
try:
    display(narrative.formatted(metrics.win_rates(data_set, by=["leader_id"]),
                                percent_columns=("win_rate", "win_rate_low", "win_rate_high")))
    display(narrative.formatted(metrics.ramp(data_set, by=["leader_id"]),
                                percent_columns=ramp_rates))
except SalesnbError as reason:
    display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Style changes as natural experiments

# %%
if data_set.lacks("style_changes") is not None:
    display(Markdown(data_set.lacks("style_changes")))
else:
    try:
        changes = models.style_change_effects(metrics.panel(data_set))
        display(narrative.formatted(changes["effects"]))
        display(narrative.formatted(changes["pretrend"]))
    except SalesnbError as reason:
        display(Markdown(f"_Not estimated: {reason}_"))
