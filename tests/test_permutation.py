"""Leadership claims: errors at the leader level, a permutation null, an analyst's formula.

Planted truth: the demo plants style, trait and tactic x style effects; its null variants
(:mod:`salesnb.synthetic.null_variants`) make the leader labels arbitrary, so any
leadership finding on them is false by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesnb import load, metrics, models
from salesnb.errors import SalesnbError
from salesnb.models.clusters import inference_clusters
from salesnb.models.permutation import leadership_null
from salesnb.report import narrative
from salesnb.synthetic import demo, null_variants

LEADERSHIP_TOPICS = ("leadership style", "tactic x leadership style", "leader traits")


def rows(pairs: list[tuple[str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["team_id", "leader_id"])


def test_clusters_are_teams_when_each_team_has_its_own_leader():
    clusters = inference_clusters(rows([("T1", "L1"), ("T1", "L1"), ("T2", "L2"),
                                        ("T3", "L3")]))
    assert clusters.kind == "team" and clusters.count == 3
    assert list(clusters.ids) == [0, 0, 1, 2]


def test_clusters_are_leaders_when_a_leader_runs_several_teams():
    clusters = inference_clusters(rows([("T1", "L1"), ("T2", "L1"), ("T3", "L2"),
                                        ("T4", None)]))
    assert clusters.kind == "leader" and clusters.count == 3
    assert clusters.ids[0] == clusters.ids[1] != clusters.ids[2] != clusters.ids[3]
    assert "3 clusters: 2 leaders over 4 teams" in clusters.describe()


def test_a_team_that_changed_leader_joins_both_leaders_into_one_cluster():
    clusters = inference_clusters(rows([("T1", "L1"), ("T1", "L2"), ("T2", "L2"),
                                        ("T3", "L3"), ("T4", "L3")]))
    assert clusters.kind == "leader and team" and clusters.count == 2
    assert len(set(clusters.ids[:3])) == 1


def test_without_leaders_the_clusters_are_teams():
    clusters = inference_clusters(pd.DataFrame({"team_id": ["T1", "T2", "T2"]}))
    assert clusters.kind == "team" and list(clusters.ids) == [0, 1, 1]


@pytest.fixture(scope="module")
def small_panel(small_demo):
    return metrics.panel(load(small_demo))


@pytest.fixture(scope="module")
def twelve_team_panel(tmp_path_factory):
    """12 teams: with the small demo's 8, two more leader terms are more than its leaders
    can carry (the design is singular)."""
    out = tmp_path_factory.mktemp("twelve") / "data"
    demo.generate(out=out, seed=3, teams=12, months=8)
    return metrics.panel(load(out))


def test_terms_add_to_the_default_model_and_formula_replaces_it(small_panel,
                                                                 twelve_team_panel):
    panel = twelve_team_panel
    extended = models.fit_drivers(panel, terms=["training10", "recognition"])
    assert {"training10", "recognition"} <= set(extended.coefficients().index)
    assert extended.formula.startswith(models.fit_drivers(panel).formula)
    with pytest.raises(SalesnbError, match="collinear"):  # 8 teams: refused, not "fitted"
        models.fit_drivers(small_panel, terms=["training10", "recognition"])
    own = models.fit_drivers(panel, formula="C(tactic) + training10")
    assert own.formula == "new_customers ~ C(tactic) + training10"
    assert not any("decision_style" in t for t in own.coefficients().index)


def test_a_formula_naming_a_missing_variable_fails_in_words(small_panel):
    with pytest.raises(SalesnbError, match=r"names coaching_score, which this data does not"):
        models.fit_drivers(small_panel, terms=["coaching_score"])
    with pytest.raises(SalesnbError, match="cannot be read"):
        models.fit_drivers(small_panel, formula="C(tactic) + (")


def test_few_leaders_are_permuted_exactly(small_demo):
    """4 leaders: all 24 orders are enumerated, so p-values are multiples of 1/24. Four
    leaders carry at most four leader-level terms: the full model's seven are refused, a
    model of tactics and style is fitted."""
    tables = demo.generate(seed=5, teams=8, months=8)
    variant = null_variants.few_leaders(tables, leaders=4, seed=5)
    with _written(variant) as folder:
        panel = metrics.panel(load(folder))
    with pytest.raises(SalesnbError, match="collinear"):
        models.fit_drivers(panel)
    fit = models.fit_drivers(panel, formula="C(tactic) + C(decision_style)")
    null = leadership_null(fit)
    assert null.exact and null.permutations == 24 and null.unit == "leaders"
    assert fit.cluster is not None and fit.cluster.kind == "leader" and fit.clusters == 4
    p = null.table["p_permutation"].to_numpy()
    assert np.allclose(p * 24, np.round(p * 24)) and (p >= 1 / 24).all()
    assert set(null.table["family"]) == {"style"}


def test_a_custom_situation_term_is_its_own_family(twelve_team_panel):
    fit = models.fit_drivers(twelve_team_panel, terms=["C(segment):years10"])
    null = leadership_null(fit, draws=49)
    assert set(null.table["family"]) == {"style", "style x tactic", "traits",
                                         "traits x segment"}
    assert null.permutations == 50 and not null.exact
    assert (null.table["p_permutation"] >= 1 / 50).all()


def test_a_singular_formula_fails_in_words(small_panel):
    with pytest.raises(SalesnbError, match="cannot be estimated on this data"):
        models.fit_drivers(small_panel, terms=["C(segment):C(decision_style)"])


def test_a_model_without_leadership_has_nothing_to_check(small_panel):
    fit = models.fit_drivers(small_panel, formula="C(tactic)")
    with pytest.raises(SalesnbError, match="no leadership term"):
        leadership_null(fit)


@pytest.mark.slow
def test_planted_style_effects_beat_the_permuted_labels(demo_suite):
    """The demo plants autocratic x1.25 and events under collaborative x0.7: both are
    stated; the null families around them (other tactics x style) are not."""
    _, suite = demo_suite
    effects = suite.effects.set_index("term")
    assert effects.loc["decision_style=autocratic", "p_permutation"] < 0.05
    assert effects.loc["tactic=events:decision_style=collaborative", "p_permutation"] < 0.05
    others = effects[effects.index.str.contains(":") & ~effects.index.str.startswith(
        "tactic=events:decision_style=collaborative")]
    assert (others["p_permutation"] >= 0.05).mean() >= 0.9
    assert effects["p_permutation"].notna().sum() == effects["family"].notna().sum()
    findings = narrative.key_findings(suite, limit=20)
    style = findings[findings["topic"] == "leadership style"]["finding"].iloc[0]
    assert style.startswith("Teams under autocratic leaders") and "higher" in style
    assert any("permutations of styles and traits across the 34 leaders" in n
               for n in suite.notes)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_shuffled_leader_labels_give_no_leadership_finding(seed):
    """The planted leader effects stay in the outcomes, tied to leaders: with labels
    shuffled across leaders the brief says there is no difference it can show."""
    variant = null_variants.shuffled_leaders(demo.generate(seed=seed), seed)
    with _written(variant) as folder:
        suite = models.model_suite(load(folder))
    findings = narrative.key_findings(suite, limit=20)
    claims = findings[findings["topic"].isin(LEADERSHIP_TOPICS) & (findings["strength"] < 1)]
    assert claims.empty, claims["finding"].tolist()
    style = findings[findings["topic"] == "leadership style"]["finding"].iloc[0]
    assert "that the data can show" in style or "cannot be told" in style


@pytest.mark.slow
def test_six_leaders_over_35_teams_is_too_few_to_tell():
    """The shape of the public CRM that once gave '80% lower cost per customer'."""
    variant = null_variants.few_leaders(demo.generate(seed=21, teams=35), leaders=6, seed=21)
    with _written(variant) as folder:
        suite = models.model_suite(load(folder))
    assert suite.cluster_kind == "leader" and suite.clusters == 6
    assert suite.leaders_too_few  # seven leader-level terms over six leaders: not estimable
    assert any("with 6 leaders their styles, involvement and traits cannot be told apart" in n
               for n in suite.notes)
    findings = narrative.key_findings(suite, limit=20)
    claims = findings[findings["topic"].isin(LEADERSHIP_TOPICS) & (findings["strength"] < 1)]
    assert claims.empty, claims["finding"].tolist()
    sentences = narrative.with_findings(suite.effects, suite.references)
    leadership = sentences[sentences["term"].str.contains("decision_style|involvement|years10")]
    assert not leadership["finding"].str.contains(r"\d+% (?:lower|higher) cost").any()


@pytest.mark.slow
def test_too_few_leaders_for_the_full_model_still_answers_on_tactics():
    """6 leaders whose styles, involvement and traits are collinear (seed 5): the full model
    is singular; tactics are modelled without leadership, their planted multipliers inside
    the intervals, and the brief says why leadership is not answered."""
    tables = demo.generate(seed=5, teams=35)
    truth = tables["truth"].attrs["truth"]
    with _written(null_variants.few_leaders(tables, leaders=6, seed=5)) as folder:
        suite = models.model_suite(load(folder))
    assert suite.leaders_too_few and suite.clusters == 6
    effects = suite.effects.set_index("term")
    assert not effects.index.str.contains("decision_style|involvement|years10").any()
    planted = {t: v for t, v in demo.planted_effects(truth).items()
               if t.startswith("tactic=") and ":" not in t}
    rows = effects.loc[list(planted)]
    truth_values = pd.Series(planted)
    inside = (rows["ci_low"] <= truth_values) & (truth_values <= rows["ci_high"])
    assert inside.sum() >= 5, rows  # of 6 (outbound calls 3.48, CI 3.34-3.64, planted 3.33)
    assert (np.log(rows["estimate"] / truth_values).abs() < 0.15).all(), rows
    style = narrative.key_findings(suite, limit=20).set_index("topic").loc[
        "leadership style", "finding"]
    assert "only 6 leaders hold the styles" in style


class _written:
    """Write a variant's tables to a temporary folder for :func:`salesnb.load`."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = tables

    def __enter__(self):
        import tempfile
        from pathlib import Path

        self._folder = tempfile.TemporaryDirectory()
        return null_variants.write_variant(self.tables, Path(self._folder.name) / "data",
                                           "test")

    def __exit__(self, *exc):
        self._folder.cleanup()
        return False


def test_two_leaders_are_too_few_to_permute(small_demo):
    """With 2 leaders there is nothing to compare against: the check says so, and a gap
    that cannot be checked is not stated as a difference."""
    variant = null_variants.few_leaders(demo.generate(seed=6, teams=8, months=8), leaders=2,
                                        seed=6)
    with _written(variant) as folder:
        fit = models.fit_drivers(metrics.panel(load(folder)),
                                 formula="C(tactic) + C(decision_style)")
    with pytest.raises(SalesnbError, match="only 2 leaders: too few to check"):
        leadership_null(fit)
    sentence = narrative.describe_effect("decision_style=autocratic", 1.5, 1.2, 1.9,
                                         permutation_p=float("nan"))
    assert "no difference in cost per customer that the data can show" in sentence
    assert "too few leaders to check it" in sentence
