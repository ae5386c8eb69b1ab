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
# # Leadership brief
#
# **Question.** Which sales tactics, under which kind of sales leadership, win customers at the lowest cost, and how sure are we?
#
# **Inputs.** Your sales data (spend, deals, teams, leaders and reps) for one segment and period.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 00_leadership_brief --by region`.
# One segment with papermill: `papermill notebooks/00_leadership_brief.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
model = "auto"        # drivers model: "auto" (overdispersion test decides), "negbin" or "poisson"
n_boot = 200          # bootstrap replicates for intervals (more: steadier, slower)
seed = 0              # random seed of the bootstraps (same seed, same intervals)
max_extrapolation = 1.0  # advice may go this many times past the highest spend seen (1: inside)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import narrative, plots, segments
from salesnb.report import brief, brief_text, labels, methods

segment_name = ("All teams" if segment is None else
                f"{labels.value_label(segment_by).capitalize()} {labels.value_label(segment)}")
data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
inputs = brief.shared_brief_inputs(data_set, model=model, n_boot=n_boot, seed=seed,
                                   max_extrapolation=max_extrapolation)
findings = narrative.key_findings(inputs.suite, inputs.tactic_cac, inputs.allocation,
                                  currency=currency, limit=20).groupby("topic")["finding"]
titles = brief_text.chart_titles(inputs)
display(Markdown(brief_text.scope_line(data_set, segment_name, currency)))

# %% [markdown]
# ## What a customer costs

# %%
display(Markdown(brief_text.cost_answer(inputs.facts, inputs.cac_trend, currency)))
if inputs.cac_trend is not None and inputs.cac_trend["cac_defined"].sum() > 1:
    plots.cac_trend(inputs.cac_trend[inputs.cac_trend["cac_defined"].astype(bool)],
                    currency=currency, title=titles["trend"])
    plt.show()

# %% [markdown]
# ## Which tactics win customers cheapest

# %%
if inputs.tactic_cac is not None:
    display(Markdown(" ".join(findings.get_group("tactics")) if "tactics" in findings.groups
                     else "Too few tactics with customers to compare."))
    plots.cac_bars(inputs.tactic_cac, currency=currency,
                   title=titles["tactics"])
    plt.show()
else:
    display(Markdown(data_set.lacks("cac")))

# %% [markdown]
# ## Which leadership style is best here

# %%
display(Markdown(brief_text.style_answer(inputs.suite)))
display(Markdown(brief_text.situation_answer(inputs.situations, inputs.situations_reason)))
more = [*findings.get_group("tactic x leadership style")] if (
    "tactic x leadership style" in findings.groups) else []
more += [*findings.get_group("leader traits")] if "leader traits" in findings.groups else []
if more:
    display(Markdown("Also clear from the data:\n\n" + narrative.bullets(more)))
if inputs.suite.effects is not None:
    plots.effects_forest(inputs.suite.effects, references=inputs.suite.references,
                         terms=narrative.leadership_terms(inputs.suite.effects),
                         title=titles["leadership"])
    plt.show()

# %% [markdown]
# ## What to do next

# %%
display(Markdown("\n".join(f"{i}. {step}" for i, step in enumerate(
    brief_text.next_steps(inputs, currency), start=1))))
if inputs.allocation is not None:
    plots.allocation_bars(inputs.allocation, currency=currency, scope=segment_name,
                          title=titles["budget"])
    plt.show()

# %% [markdown]
# ## What the people side costs

# %%
display(Markdown(brief_text.people_answer(inputs.suite, inputs.facts, currency)))
if "people" in findings.groups:
    display(Markdown(" ".join(findings.get_group("people"))))

# %% [markdown]
# ## How sure we are
#
# Every range on this page is where the true value likely lies (95% of the time). A leadership
# difference is stated only when it also beats styles shuffled at random between leaders,
# allowing for every comparison made. How the answers were reached, and what each check found:
# the [methods appendix](00_leadership_brief_methods.html) in this report folder.

# %%
if inputs.missing:
    display(Markdown("Not shown, and why:\n\n" + narrative.bullets(inputs.missing)))

# %% [markdown] tags=["appendix"]
# # Methods appendix
#
# How the leadership brief reached its answers, the checks it made and what each means for
# trusting them. Ranges are 95% intervals; "cheaper" and "dearer" are cost per new customer.

# %% tags=["appendix"]
display(methods.checks_table(inputs))

# %% [markdown] tags=["appendix"]
# ## Technical notes
#
# Every note the analysis wrote, as written, for analysts checking the work.

# %% tags=["appendix"]
display(Markdown(narrative.bullets(methods.technical_notes(inputs))))

# %% tags=["remove"]
display({"application/vnd.salesnb.headline+json": brief_text.headline_facts(
    inputs, segment_name, brief_text.period_text(data_set), currency)}, raw=True)
