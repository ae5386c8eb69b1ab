"""Totals over time through a mapping (issue 16): a marketing-mix export loads like every
other export, becomes the mix model's input unchanged, and every bad input is named.

The exports are written from :mod:`salesnb.synthetic.mix_demo` tables, so a fit through the
mapping can be compared with a fit on the table as generated (it must be the same fit).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from salesnb import load
from salesnb.batch.plan import find_notebooks, notebooks_for
from salesnb.curves import fit_mix_model, totals_input
from salesnb.errors import MappingError, SalesnbError, ValidationError
from salesnb.io import segments
from salesnb.metrics.headline_figures import headline
from salesnb.synthetic import mix_demo

CONTROLS = ["demand_index", "price", "event"]
EXPORT_MAPPING = """\
version: 1
tables:
  totals:
    source: weekly_report.csv
    skip_footer: 1
    columns:
      period: {column: Week Starting, date_format: "%d/%m/%Y"}
      new_customers: {column: New Customers, number: eu}
    controls: {price: Avg Price, promo: Promo Week, demand: Demand Index}
  totals_spend:
    source: weekly_report.csv
    skip_footer: 1
    unpivot: {matches: '^(.*) Spend \\(EUR\\)$', names_to: Channel, values_to: Spend}
    columns:
      period: {column: Week Starting, date_format: "%d/%m/%Y"}
      tactic: {column: Channel, values: {Email: email, Paid Search: paid_search, Events: events}}
      cost: {column: Spend, number: eu}
"""
CHANNELS = {"email": "Email", "paid_search": "Paid Search", "events": "Events"}


def eu(value: float) -> str:
    """1234.5 -> '1.234,50' (the way a German spreadsheet exports it)."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def as_written(value: float) -> float:
    """What the file says for ``value`` once written by :func:`eu` and read back."""
    return float(eu(value).replace(".", "").replace(",", "."))


def write_export(folder, seed: int = 3, edit=None) -> pd.DataFrame:
    """A weekly report as a marketing team keeps it: day-first dates, EU numbers, a spend
    column per channel named '<Channel> Spend (EUR)', a few weeks without events spend
    (empty cells), controls under their own names and a 'Total' row at the bottom.
    Returns the generated table (the truth of what the file says).
    """
    frame, _ = mix_demo.generate(seed=seed, years=2, tactics=list(CHANNELS))
    frame.loc[frame.index[5:9], "spend_events"] = 0.0  # a flight off: empty cells
    export = pd.DataFrame({"Week Starting": frame["period"].dt.strftime("%d/%m/%Y"),
                           "New Customers": frame["new_customers"].map(lambda v: eu(v)[:-3])})
    for tactic, channel in CHANNELS.items():
        export[f"{channel} Spend (EUR)"] = [eu(v) if v else "" for v in frame[
            f"spend_{tactic}"]]
    export["Avg Price"] = frame["price"].map(eu)
    export["Promo Week"] = frame["event"]
    export["Demand Index"] = frame["demand_index"].map(eu)
    total = {c: "" for c in export} | {"Week Starting": "Total"}
    export = pd.concat([export, pd.DataFrame([total])], ignore_index=True)
    if edit:
        export = edit(export)
    folder.mkdir(parents=True, exist_ok=True)
    export.to_csv(folder / "weekly_report.csv", index=False)
    (folder / "mapping.yml").write_text(EXPORT_MAPPING, encoding="utf-8")
    return frame


def loaded(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(folder)


def test_a_wide_weekly_export_loads_and_is_the_table_it_came_from(tmp_path):
    frame = write_export(tmp_path / "export")
    data = loaded(tmp_path / "export")
    assert "deals" not in data and {"totals", "totals_spend"} <= set(data.tables)
    spend = data.totals_spend
    assert set(spend["tactic"]) == set(CHANNELS)  # the regex group, then values:
    spent = int((frame[[f"spend_{t}" for t in CHANNELS]] > 0).to_numpy().sum())
    assert len(spend) == spent  # an empty cell (no events flight) gives no row
    model_input = totals_input(data)
    assert model_input.period == "week" and model_input.market is None
    assert model_input.controls == ["price", "promo", "demand"]
    assert any(f"{3 * len(frame) - spent} period x tactic cell(s) without spend" in n
               for n in model_input.notes)
    table = model_input.frame
    assert len(table) == len(frame)  # the 'Total' row was skipped (skip_footer)
    for tactic in CHANNELS:
        np.testing.assert_allclose(table[f"spend_{tactic}"], frame[f"spend_{tactic}"],
                                   atol=0.005)
    np.testing.assert_array_equal(table["new_customers"], frame["new_customers"])
    np.testing.assert_allclose(table["price"], frame["price"], atol=0.005)


def test_the_fit_through_the_mapping_is_the_fit_on_the_table(tmp_path):
    frame = write_export(tmp_path / "export")
    through = totals_input(loaded(tmp_path / "export")).fit(n_boot=0)
    rounded = frame.assign(**{c: frame[c].map(as_written) for c in frame
                              if c not in ("period", "market")})
    direct = fit_mix_model(rounded.rename(columns={"event": "promo",
                                                   "demand_index": "demand"}),
                           spend=[f"spend_{t}" for t in sorted(CHANNELS)],
                           controls=["price", "promo", "demand"], n_boot=0)
    ours = through.cac().set_index("tactic")["average_cac"]
    theirs = direct.cac().set_index("tactic")["average_cac"]
    np.testing.assert_allclose(ours.loc[theirs.index], theirs, rtol=1e-6)
    assert through.notes[0].startswith("totals over time: 104 weeks, 1 market(s), 3 tactics")


def test_markets_with_leaders_bring_the_style_in_force(tmp_path):
    frame, truth = mix_demo.generate(out=tmp_path / "m", seed=4, period="month", markets=6,
                                     leaders=True)
    data = loaded(tmp_path / "m")
    model_input = totals_input(data)
    assert (model_input.period, model_input.market, model_input.style) == (
        "month", "market", "decision_style")
    by_market = model_input.frame.groupby("market")["decision_style"].first()
    assert by_market.to_dict() == dict(zip([f"M{i + 1}" for i in range(6)],
                                           truth["market_decision_style"], strict=True))
    through = model_input.fit(n_boot=0)
    direct = fit_mix_model(frame, spend=model_input.spend, controls=CONTROLS, period="month",
                           market="market", style="decision_style", n_boot=0)
    ours = through.cac().set_index("tactic")
    theirs = direct.cac().set_index("tactic").loc[ours.index]
    for column in ("average_cac", "marginal_cac", "share"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-5)
    np.testing.assert_allclose(through.style_effects()["response_multiplier"],
                               direct.style_effects()["response_multiplier"], rtol=1e-5)


def test_revenue_as_the_outcome_reads_cac_as_cost_per_unit(tmp_path):
    write_export(tmp_path / "r")
    mapping = tmp_path / "r" / "mapping.yml"
    mapping.write_text(mapping.read_text().replace("new_customers: {column: New Customers",
                                                   "revenue: {column: New Customers"))
    data = loaded(tmp_path / "r")
    model_input = totals_input(data)
    assert (model_input.outcome, model_input.kind) == ("revenue", "revenue")
    assert "outcome: revenue (every CAC reads as cost per unit of revenue)" in \
        model_input.notes[0]
    assert headline(data)["new_customers"] is None  # the index says "not counted"
    with pytest.raises(SalesnbError, match="outcome 'new_customers' is not in the totals"):
        totals_input(data, outcome="new_customers")


def test_spend_for_a_target_cac_when_a_tactic_also_ran_at_zero(tmp_path):
    """The mix curves' observed range may start at 0 (a tactic off for weeks); the spend
    that reaches a target marginal CAC is still found, and found the same."""
    write_export(tmp_path / "z")
    curves = totals_input(loaded(tmp_path / "z")).fit(n_boot=0).to_response_curves()
    before = curves.spend_for_marginal_cac(400)
    curves.units.loc[:, "observed_low"] = 0.0
    after = curves.spend_for_marginal_cac(400)
    assert after["spend"].notna().sum() >= 2
    np.testing.assert_allclose(after["spend"], before["spend"], rtol=1e-6)


def test_describe_headline_and_period_selection(tmp_path):
    mix_demo.generate(out=tmp_path / "w", seed=1, years=1)
    data = loaded(tmp_path / "w")
    text = data.describe()
    assert "periods of a week" in text and "markets:       1" in text
    assert "controls:      demand_index, price, event" in text
    figures = headline(data)
    assert figures["total_cost"] == pytest.approx(data.totals_spend["cost"].sum())
    assert figures["new_customers"] == int(data.totals["new_customers"].sum())
    assert figures["blended_cac"] == pytest.approx(figures["total_cost"]
                                                   / figures["new_customers"])
    later = segments.select(data, start="2023-04")
    assert later.totals["period"].min() >= pd.Timestamp("2023-04-01")
    assert "period: 2023-04 to last month" in later.notes
    with pytest.raises(SalesnbError, match="cannot segment totals over time by 'region'"):
        segments.select(data, by="region", value="North")
    assert data.lacks("mix") is None and "no spend table" in data.lacks("cac")


def test_the_suite_picks_the_notebooks_the_data_can_feed(tmp_path, small_demo):
    mix_demo.generate(out=tmp_path / "w", seed=1, years=1)
    demo_dataset = loaded(small_demo)
    suite = find_notebooks()
    totals = loaded(tmp_path / "w")
    assert [p.stem for p in notebooks_for(totals, suite, explicit=False)] == [
        "07_marketing_mix"]
    assert "07_marketing_mix" not in [p.stem for p in notebooks_for(demo_dataset, suite,
                                                                    explicit=False)]
    with pytest.raises(SalesnbError, match="(?s)03_tactics need deals.*totals over time"):
        notebooks_for(totals, find_notebooks(["03"]), explicit=True)
    with pytest.raises(SalesnbError, match="(?s)07_marketing_mix need totals.*map totals"):
        notebooks_for(demo_dataset, find_notebooks(["07"]), explicit=True)


# ----- bad input: named with the file, column and rows -----------------------------------------
def test_an_unreadable_spend_cell_names_file_column_and_row(tmp_path):
    def edit(export):
        export.loc[10, "Email Spend (EUR)"] = "12,3x"
        return export
    write_export(tmp_path / "e", edit=edit)
    with pytest.raises(ValidationError) as error:
        loaded(tmp_path / "e")
    text = str(error.value)
    assert "weekly_report.csv" in text and "'Spend'" in text and "(rows 12)" in text
    assert "12,3x" in text


def test_an_unreadable_control_names_its_column_and_row(tmp_path):
    def edit(export):
        export.loc[3, "Avg Price"] = "ask sales"
        return export
    write_export(tmp_path / "c", edit=edit)
    with pytest.raises(ValidationError) as error:
        loaded(tmp_path / "c")
    text = str(error.value)
    assert "control variable" in text and "'Avg Price'" in text and "(rows 5)" in text


def test_a_repeated_week_is_a_key_problem(tmp_path):
    def edit(export):
        export.loc[7, "Week Starting"] = export.loc[6, "Week Starting"]
        return export
    write_export(tmp_path / "d", edit=edit)
    with pytest.raises(ValidationError, match=r"key \(Week Starting, market\) is repeated "
                                              r"\(rows 8, 9\)"):
        loaded(tmp_path / "d")


def test_a_missing_week_is_named_before_fitting(tmp_path):
    write_export(tmp_path / "g", edit=lambda export: export.drop(index=[20, 21]))
    with pytest.raises(SalesnbError, match="not consecutive weeks"):
        totals_input(loaded(tmp_path / "g")).fit(n_boot=0)


def test_daily_rows_are_refused_with_a_hint(tmp_path):
    def edit(export):
        days = pd.date_range("2024-01-01", periods=len(export) - 1, freq="D")
        export.loc[export.index[:-1], "Week Starting"] = days.strftime("%d/%m/%Y")
        return export
    write_export(tmp_path / "day", edit=edit)
    with pytest.raises(SalesnbError, match="(?s)neither weeks nor months.*sum daily rows"):
        totals_input(loaded(tmp_path / "day"))


def test_an_empty_outcome_is_named(tmp_path):
    def edit(export):
        export.loc[[4, 9], "New Customers"] = ""
        return export
    write_export(tmp_path / "o", edit=edit)
    with pytest.raises(SalesnbError, match="2 period\\(s\\) without new_customers"):
        totals_input(loaded(tmp_path / "o"))



def test_an_empty_control_is_named_and_can_be_left_out(tmp_path):
    def edit(export):
        export.loc[[2], "Avg Price"] = ""
        return export
    write_export(tmp_path / "p", edit=edit)
    data = loaded(tmp_path / "p")
    with pytest.raises(SalesnbError, match="1 period\\(s\\) where control 'price' is empty"):
        totals_input(data)
    assert totals_input(data, controls=["promo", "demand"]).controls == ["promo", "demand"]


def test_spend_for_a_market_the_totals_lack_is_named(tmp_path):
    mix_demo.generate(out=tmp_path / "m", seed=2, period="month", markets=3)
    mapping = tmp_path / "m" / "mapping.yml"
    mapping.write_text(mapping.read_text().replace(  # outcome rows of M3 filtered out
        "    source: totals.csv\n    columns:\n      period",
        "    source: totals.csv\n    where: {column: market, matches: '^M[12]$'}\n"
        "    columns:\n      period", 1))
    data = loaded(tmp_path / "m")
    assert set(data.totals["market"]) == {"M1", "M2"}
    with pytest.raises(SalesnbError, match=r"totals_spend in .*totals.csv: 216 spend row\(s\) "
                                           "for periods or markets the totals do not have"):
        totals_input(data)


def test_mapping_mistakes_of_totals_are_listed(tmp_path):
    write_export(tmp_path / "x")
    mapping = tmp_path / "x" / "mapping.yml"
    mapping.write_text(EXPORT_MAPPING.replace(
        "      new_customers: {column: New Customers, number: eu}\n", ""))
    with pytest.raises(MappingError, match="map an outcome, one of"):
        loaded(tmp_path / "x")
    mapping.write_text(EXPORT_MAPPING.split("  totals_spend:")[0])
    with pytest.raises(MappingError, match="but not \\['totals_spend'\\]"):
        loaded(tmp_path / "x")
    mapping.write_text(EXPORT_MAPPING.replace("    controls:", "    attributes:"))
    with pytest.raises(MappingError, match="only \\['reps'\\] keep extra attributes"):
        loaded(tmp_path / "x")


def test_demo_and_validate_on_the_command_line(tmp_path, capsys):
    from salesnb.cli import main

    assert main(["demo", "--out", str(tmp_path / "t"), "--totals", "month", "--markets", "3",
                 "--seed", "9"]) == 0
    assert "wrote monthly totals over time" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "valid: all checks passed" in out and "(36 periods of a month)" in out
    assert "markets:       3" in out
    model_input = totals_input(loaded(tmp_path / "t"))
    assert model_input.style == "decision_style" and model_input.market == "market"


def test_a_style_change_of_a_market_leader_applies_from_its_date(tmp_path):
    frame, truth = mix_demo.generate(out=tmp_path / "s", seed=4, period="month", markets=4,
                                     leaders=True)
    first = truth["market_decision_style"][0]
    new = next(s for s in ("autocratic", "consultative", "collaborative") if s != first)
    (tmp_path / "s" / "changes.csv").write_text(
        f"leader_id,effective_date,decision_style,involvement\nM1,2024-01-01,{new},hybrid\n")
    mapping = tmp_path / "s" / "mapping.yml"
    mapping.write_text(mapping.read_text() + (
        "  style_changes:\n    source: changes.csv\n    columns: {leader_id: leader_id, "
        "effective_date: effective_date, decision_style: decision_style, "
        "involvement: involvement}\n"))
    table = totals_input(loaded(tmp_path / "s")).frame
    m1 = table[table["market"] == "M1"].set_index("period")["decision_style"]
    assert set(m1[m1.index < "2024-01-01"]) == {first}
    assert set(m1[m1.index >= "2024-01-01"]) == {new}
