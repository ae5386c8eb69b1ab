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
# # Drivers model
#
# **Question.** What do tactics, leadership style and leader traits do to cost per customer, other things equal, and how sure is that?
#
# **Inputs.** The team x tactic x month panel; the model suite of salesnb.models.

# %% [markdown] tags=["remove"]
# **Run it.** Change the inputs in the `parameters` cell below (every parameter has a comment).
# In JupyterLab (`make lab`, kernel "Python (salesnb)"): run all cells.
# In batch, for every region: `salesnb report --notebooks 05_drivers_model --by region`.
# One segment with papermill: `papermill notebooks/05_drivers_model.ipynb out.ipynb -p segment_by region -p segment North`.

# %% tags=["parameters"]
data = None           # exports folder, .xlsx/.duckdb/.sqlite file or database URL (None: demo)
mapping = None        # mapping file (None: mapping.yml inside the data folder)
segment_by = None     # one segment: None, "region", "segment", "industry", "team_id", "leader_id"
segment = None        # that segment's value, e.g. "North" (None: every team)
period_start = None   # first month "YYYY-MM" (None: from the first month of the data)
period_end = None     # last month "YYYY-MM" (None: to the last month of the data)
currency = "USD"      # currency label shown with money
model = "auto"        # "auto" (overdispersion test decides), "negbin" or "poisson"
month_effects = False # add one effect per month (seasonality, shocks)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from salesnb import narrative, plots, segments
from salesnb.report import computed, tables

data_set = segments.open_data(data, mapping, by=segment_by, value=segment,
                              start=period_start, end=period_end)
display(Markdown(narrative.bullets(data_set.notes or ["all teams, all months"])))

# %%
suite = computed.model_suite(data_set, month_effects=month_effects, model=model)
display(Markdown(narrative.bullets(suite.notes)))
display(Markdown(f"_The model suite took {suite.seconds:.1f} s to compute (once per segment: "
                 "the other notebooks and later runs on the same data reuse it)._"))

# %% [markdown]
# ## Effects as CAC multipliers (x0.85 = 15% cheaper per customer)
#
# Each line is one term of the model with its 95% interval, against the reference level named
# in brackets: left of 1 is cheaper per customer, right of 1 dearer, other terms held equal.
# An interval that crosses 1 is consistent with no difference; the sentences below say which
# effects are clear and which also beat styles shuffled at random between leaders.

# %%
if suite.effects is not None:
    plots.effects_forest(suite.effects, references=suite.references)
    plt.gcf().set_size_inches(8, 9)
    plt.show()
    said = narrative.with_findings(suite.effects, suite.references)
    display(Markdown(narrative.bullets(list(said["finding"]))))
else:
    display(Markdown(suite.notes[0]))

# %% [markdown]
# ## Estimated CAC per tactic under each decision style
#
# The model's cost per customer of every tactic run under every decision style, other things
# equal. The table compares the styles pairwise within each tactic: a cost ratio of 1.30
# means the first style pays 30% more per customer than the one it is compared with; the
# adjusted p-value allows for all the comparisons made (below 0.05: clear).

# %%
if suite.grid is not None:
    plots.cac_heatmap(suite.grid, currency=currency)
    plt.show()
    if suite.contrasts is not None:
        contrasts = suite.contrasts.rename(columns={"ratio": "cac_ratio"})
        display(tables.styled(
            contrasts[["tactic", "style", "versus", "cac_ratio", "ci_low", "ci_high", "p",
                       "p_adjusted"]],
            intervals={"cac_ratio": ("ci_low", "ci_high")},
            caption=f"{len(contrasts)} comparisons; p-values adjusted for all of them by the "
                    f"{', '.join(contrasts['method'].str.capitalize().unique())} method."))
else:
    display(Markdown(data_set.lacks("style") or "_The CAC grid could not be estimated "
                                                 "(see the notes above)._"))

# %% [markdown]
# ## Cross-checks and diagnostics
#
# How far to trust the model, table by table:
#
# - **Other models**: the leadership terms refitted as two other models (least squares on log
#   cost per customer, and a mixed model); estimates on the same side of 1 make the result
#   robust to the choice of model.
# - **Smallest detectable effect**: the smallest effect on cost per customer each leadership
#   term could detect (80% power); "no difference" for a term is only informative when this
#   is small.
# - **Overdispersion**: the test that picks the negative binomial over Poisson.
# - **Influential teams**: the teams whose removal would move an estimate most (in standard
#   errors); above about 1 the term leans on that team.
# - **Residuals**: mean near 0 and dispersion near 1 mean the model fits that group.
#
# Only the leadership terms are shown for the first two; every term is in `suite["alternatives"]`
# and `suite["mde"]` in this notebook.

# %%
leadership = narrative.leadership_terms(suite.effects) if suite.effects is not None else []
for name, title in (("alternatives", "Other models"), ("mde", "Smallest detectable effect"),
                    ("dispersion", "Overdispersion"), ("influential_teams", "Influential teams"),
                    ("residuals", "Residuals")):
    if name in suite.tables:
        table = suite[name]
        if name in ("alternatives", "mde"):
            table = table[table["term"].isin(leadership)]
        display(Markdown(f"**{title}**"))
        display(tables.styled(table, terms=("term", "group"),
                              references=None if name == "residuals" else suite.references,
                              intervals={"estimate": ("ci_low", "ci_high")},
                              percent=("power",), max_rows=20,
                              decimals=1 if name == "mde" else 2))
