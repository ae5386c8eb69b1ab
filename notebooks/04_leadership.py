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
from salesnb.report import computed, tables

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %% [markdown]
# ## Cost per customer by leadership (descriptive; the drivers model adjusts for tactic mix)
#
# Spend, people cost and new customers of the teams under each decision style, each kind of
# involvement, and with or without a leader who recognises reps, and what a customer cost
# them. These are plain totals: a style whose teams run dear tactics looks dear here. The
# drivers model (05) takes tactic mix, region and segment out before comparing styles.

# %%
money = ("spend", "people_cost", "program_cac", "loaded_cac")
for dimension, analysis, caption in (
        ("decision_style", "style", "By the leader's decision style."),
        ("involvement", "involvement", "By how involved the leader is in deals."),
        ("recognition", "recognition", "By whether the leader recognises reps.")):
    if data_set.lacks(analysis) is None:
        display(tables.styled(metrics.cac(data_set, by=[dimension]), money=money,
                              currency=currency, hide=("cac_defined",), caption=caption))
    else:
        display(Markdown(data_set.lacks(analysis)))

# %% [markdown]
# ## Rep attrition and what it costs per customer
#
# How many reps left under each decision style, as a yearly rate, and their median tenure;
# the chart spreads the cost of replacing them (`replacement_share` of a leaver's annual cost)
# over the new customers won. The hazard table compares how fast reps leave, other leader
# traits held equal: a hazard ratio of 1.5 means leaving 50% faster than under the reference
# style; p-value, labels shuffled checks the gap against styles dealt out at random among
# leaders.

# %%
from salesnb import models, people
from salesnb.errors import SalesnbError

if data_set.lacks("people") is not None:
    display(Markdown(data_set.lacks("people")))
elif data_set.lacks("people_by_style") is not None:
    display(Markdown(data_set.lacks("people_by_style")))
    display(tables.styled(people.attrition(data_set, by=[]), percent=("attrition_rate",),
                          decimals=1))
else:
    display(tables.styled(people.attrition(data_set, by=["decision_style"]),
                          percent=("attrition_rate",), decimals=1))
    if data_set.lacks("attrition_cost") is None:
        cost = people.attrition_cost(data_set, by=["decision_style"],
                                     replacement_share=replacement_share)
        plots.group_bars(cost, by="decision_style", measure="turnover_cost_per_customer",
                         label="turnover cost per new customer", currency=currency)
        plt.show()
    else:
        display(Markdown(data_set.lacks("attrition_cost")))
    try:
        hazards = computed.rep_attrition(data_set)  # the style in force at each time at risk
        said = narrative.with_findings(hazards, models.ATTRITION_REFERENCES,
                                       subject="rep attrition")
        display(Markdown(narrative.bullets(list(said["finding"]))))
        display(tables.styled(hazards.rename(columns={"estimate": "hazard_ratio"}),
                              intervals={"hazard_ratio": ("ci_low", "ci_high")},
                              references=models.ATTRITION_REFERENCES, hide=("model",),
                              caption=f"Model: {', '.join(hazards['model'].unique())}."))
    except SalesnbError as reason:
        display(Markdown(f"_Attrition hazards not estimated: {reason}_"))

# %% [markdown]
# ## New hires: time to first win, early win rate and retention, by leadership style
#
# For reps hired within the data: the median days from hire to their first won deal, the win
# rate of the deals they decided in their first 90 days (out of "early decided"), and the
# share still employed a year after hire (out of "retention eligible", those hired at least a
# year before the end of the data), each with its 95% range. Few hires make wide ranges; a
# style is only clearly better when its range sits apart from the others.

# %%
ramp_rates = ("early_win_rate", "early_win_rate_low", "early_win_rate_high", "retention_rate",
              "retention_rate_low", "retention_rate_high")
ramp_ranges = {"median_days_to_first_win": ("median_days_to_first_win_low",
                                            "median_days_to_first_win_high"),
               "early_win_rate": ("early_win_rate_low", "early_win_rate_high"),
               "retention_rate": ("retention_rate_low", "retention_rate_high")}
win_ranges = {"win_rate": ("win_rate_low", "win_rate_high")}
try:
    display(tables.styled(metrics.ramp(data_set, by=["decision_style"]),
                          percent=ramp_rates, intervals=ramp_ranges,
                          hide=("early_won", "retained")))
except SalesnbError as reason:
    display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Do leaders differ in win rate? (a test across leaders; deals of one rep count together)
#
# The first table tests whether win rates differ between leaders by more than chance: a
# p-value below 0.05 says they do, and the difference column is how far apart the highest
# and lowest leader are (in win-rate points). The second shows the win rate under each
# decision style with its 95% range.

# %%
try:
    test = metrics.win_rate_test(data_set, by=["leader_id"])
    display(tables.styled(test, percent=("difference", "difference_low", "difference_high"),
                          intervals={"difference": ("difference_low", "difference_high")},
                          hide=("highest", "lowest", "method", "groups", "n", "clusters"),
                          caption=f"{test['groups'].iloc[0]} leaders, {test['n'].iloc[0]:,} "
                                  f"deals, {test['clusters'].iloc[0]} reps. Method: "
                                  f"{test['method'].iloc[0]}."))
    display(tables.styled(metrics.win_rates(data_set, by=["decision_style"]),
                          percent=("win_rate", "win_rate_low", "win_rate_high"),
                          intervals=win_ranges))
except SalesnbError as reason:
    display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Which style works where (style effect by situation, partially pooled)
#
# Whether the effect of decision style on cost per customer changes with the segment or the
# tactic. The first table tests it per situation (a p-value below 0.05: the style effect does
# differ across the situation's levels). The second pools the style's effect over the levels,
# as a cost-per-customer multiplier against the reference style (below 1: cheaper), with the
# variance between levels beside it.

# %%
if data_set.lacks("cac") or data_set.lacks("style"):
    display(Markdown(data_set.lacks("cac") or data_set.lacks("style")))
else:
    try:
        situations = computed.style_by_situation(data_set, by=("segment", "tactic"))
        display(tables.styled(situations.tests, hide=("model",)))
        display(tables.styled(situations.pooling.rename(columns={"pooled": "cac_multiplier"}),
                              intervals={"cac_multiplier": ("pooled_low", "pooled_high")}))
        if situations.notes:
            display(Markdown(narrative.bullets(situations.notes)))
    except SalesnbError as reason:
        display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Leader scorecard: each leader against what their situation predicts (shrunk; not a ranking)
#
# Each leader's cost per customer against what their teams' tactics, spend and situation
# would predict, pulled towards "as expected" where the data on them is thin. Only leaders
# whose 95% range excludes "as expected" are counted as differing; the others are within
# noise. The per-leader table is for analysts only.

# %%
scorecard = None
if data_set.lacks("cac"):
    display(Markdown(data_set.lacks("cac")))
else:
    try:
        scorecard = computed.leader_scorecard(data_set)
        table = scorecard.table
        display(Markdown(
            f"{int(table['clear'].sum())} of {len(table)} leaders differ clearly in cost per "
            "customer from what their situation predicts (95% intervals, shrunk towards "
            "'as expected'); the per-leader table is in the analyst notebook, not on this "
            "page."))
    except SalesnbError as reason:
        display(Markdown(f"_Not estimated: {reason}_"))

# %% tags=["remove"]
# Analyst view (not on the leadership page, which shows no names or ids): per leader, every
# leader (these tables are the reference an analyst looks leaders up in, so they are not cut).
if scorecard is not None:
    display(tables.styled(scorecard.table, percent=("win_rate", "win_expected", "win_shrunk",
                                                    "win_low", "win_high"),
                          intervals={"ratio_shrunk": ("ci_low", "ci_high"),
                                     "win_shrunk": ("win_low", "win_high")}))
    if scorecard.notes:
        display(Markdown(narrative.bullets(scorecard.notes)))
try:
    display(tables.styled(metrics.win_rates(data_set, by=["leader_id"]),
                          percent=("win_rate", "win_rate_low", "win_rate_high"),
                          intervals=win_ranges))
    display(tables.styled(metrics.ramp(data_set, by=["leader_id"]), percent=ramp_rates,
                          intervals=ramp_ranges, hide=("early_won", "retained")))
except SalesnbError as reason:
    display(Markdown(f"_Not estimated: {reason}_"))

# %% [markdown]
# ## Style changes as natural experiments
#
# When a leader changes style, their teams' cost per customer before and after is compared
# with teams whose leader did not change at the same time. The first table is the effect as a
# cost-per-customer multiplier against the reference style (below 1: cheaper); the second
# checks that the teams were not already drifting apart before the change (a p-value above
# 0.05 is what we want to see).

# %%
if data_set.lacks("style_changes") is not None:
    display(Markdown(data_set.lacks("style_changes")))
else:
    try:
        changes = computed.style_change_effects(data_set)
        effects = changes["effects"].rename(columns={"estimate": "cac_multiplier"})
        display(tables.styled(effects, intervals={"cac_multiplier": ("ci_low", "ci_high")},
                              hide=("model",),
                              caption=f"Model: {', '.join(effects['model'].unique())}."))
        display(tables.styled(changes["pretrend"], hide=("method",)))
    except SalesnbError as reason:
        display(Markdown(f"_Not estimated: {reason}_"))
