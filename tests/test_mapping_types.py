"""Wrong YAML types anywhere in a mapping give one MappingError naming the file, the option's
path and what is expected: never a traceback, never silently accepted.

Each case edits the valid mapping of :mod:`tests.test_bad_inputs` and reads it with
:func:`salesnb.io.mapping.read_mapping`; a few run ``salesnb validate`` end to end. Three
hypothesis properties put random YAML values at every option position, random edits in the
mapping's text and random text in the file: reading either gives a Mapping or raises
MappingError.
"""

from __future__ import annotations

import copy
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesnb
from salesnb.cli import main
from salesnb.errors import MappingError
from salesnb.io import file_readers, mapping_checks, sources
from salesnb.io.mapping import ALIAS_BUDGET, Mapping, parse_mapping, read_mapping
from salesnb.io.mapping_spec import COLUMN_OPTIONS, TABLE_OPTIONS
from tests.test_bad_inputs import MAPPING, make_base

TEAMS_SOURCE = "    source: teams.csv\n"
SPEND_SOURCE = "    source: spend.csv\n"
LEADERS_SOURCE = "    source: leaders.csv\n"
TOUCHES_SOURCE = "    source: touches.csv\n"


def edited(*pairs: tuple[str, str]) -> str:
    """MAPPING with each ``old`` (which must occur once) replaced by ``new``."""
    text = MAPPING
    for old, new in pairs:
        assert text.count(old) == 1, f"test bug: {old!r} is not unique in MAPPING"
        text = text.replace(old, new)
    return text


def add(anchor: str, lines: str) -> tuple[str, str]:
    """Insert option lines after the unique line ``anchor``."""
    return anchor, anchor + lines


def read(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "mapping.yml"
    path.write_text(text, encoding="utf-8")
    return read_mapping(path)


def refused(tmp_path: Path, text: str, *expected: str) -> str:
    """Read ``text`` as a mapping file: a MappingError (nothing else) naming the file and
    every ``expected`` substring. Returns the message.
    """
    with pytest.raises(MappingError) as caught:
        read(tmp_path, text)
    message = str(caught.value)
    missing = [s for s in (str(tmp_path / "mapping.yml"), *expected) if s not in message]
    assert not missing, f"the message lacks {missing}:\n{message}"
    assert "Traceback" not in message
    return message


# --------------------------------------------------------------------------- version

VERSION_CASES = {
    "seven": "version: 7\n",
    "text": "version: one\n",
    "list": "version: [1]\n",
    "boolean": "version: true\n",
    "float": "version: 1.5\n",
    "null": "version:\n",
}


@pytest.mark.parametrize("line", VERSION_CASES.values(), ids=VERSION_CASES.keys())
def test_an_unknown_version_is_refused(tmp_path, line):
    message = refused(tmp_path, edited(("version: 1\n", line)), "unknown mapping version",
                      "this salesnb reads version 1")
    assert message.count("problem(s)") == 1


def test_version_1_or_no_version_is_read(tmp_path):
    assert read(tmp_path, MAPPING).tables.keys() >= {"deals", "teams"}
    assert read(tmp_path, edited(("version: 1\n", ""))).tables.keys() >= {"deals", "teams"}


# --------------------------------------------------------------------------- text options

TEXT_CASES = {
    "source_list": (("source: spend.csv", "source: [spend.csv]"), "tables.spend.source"),
    "source_number": (("source: teams.csv", "source: 5"), "tables.teams.source"),
    "source_mapping": (("source: deals.csv", "source: {file: deals.csv}"),
                       "tables.deals.source"),
    "encoding_number": (add(TEAMS_SOURCE, "    encoding: 5\n"), "tables.teams.encoding"),
    "encoding_list": (add(TEAMS_SOURCE, "    encoding: [cp1252]\n"), "tables.teams.encoding"),
    "delimiter_number": (add(TEAMS_SOURCE, "    delimiter: 9\n"), "tables.teams.delimiter"),
    "delimiter_boolean": (add(TEAMS_SOURCE, "    delimiter: no\n"), "tables.teams.delimiter"),
    "sheet_number": ((LEADERS_SOURCE, "    source: leaders.xlsx\n    sheet: 2024\n"),
                     "tables.leaders.sheet"),
    "query_list": (("    source: teams.csv\n", "    query: [SELECT 1]\n"), "tables.teams.query"),
    "column_number": (("      cost: cost\n", "      cost: {column: 5}\n"),
                      "tables.spend.columns.cost.column"),
    "column_short_number": (("      cost: cost\n", "      cost: 5\n"),
                            "tables.spend.columns.cost"),
    "column_short_list": (("      cost: cost\n", "      cost: [cost]\n"),
                          "tables.spend.columns.cost"),
    "column_null": (("      cost: cost\n", "      cost: {column: null}\n"),
                    "tables.spend.columns.cost.column"),
    "date_format_number": (("      close_date: close_date\n",
                            "      close_date: {column: close_date, date_format: 2024}\n"),
                           "tables.deals.columns.close_date.date_format"),
    "otherwise_list": (("      outcome: outcome\n",
                        "      outcome: {column: outcome, otherwise: [open]}\n"),
                       "tables.deals.columns.outcome.otherwise"),
    "number_list": (("      cost: cost\n", "      cost: {column: cost, number: [eu]}\n"),
                    "tables.spend.columns.cost.number"),
    "where_column_number": (add(TOUCHES_SOURCE, "    where: {column: 5, matches: x}\n"),
                            "tables.touches.where.column"),
    "where_matches_list": (add(TOUCHES_SOURCE, "    where: {column: tactic, matches: [a]}\n"),
                           "tables.touches.where.matches"),
    "where_item_matches_number": (
        add(TOUCHES_SOURCE, "    where: [{column: tactic, matches: e}, "
                            "{column: tactic, matches: 2024}]\n"),
        "tables.touches.where[1].matches"),
    "lookup_key_number": (("      rep_id: rep_id\n      created_date",
                           "      rep_id: {column: rep_id, lookup: {source: reps.csv, key: 1, "
                           "value: rep_id}}\n      created_date"),
                          "tables.deals.columns.rep_id.lookup.key"),
    "lookup_source_list": (("      rep_id: rep_id\n      created_date",
                            "      rep_id: {column: rep_id, lookup: {source: [reps.csv], "
                            "key: rep_id, value: rep_id}}\n      created_date"),
                           "tables.deals.columns.rep_id.lookup.source"),
    "unpivot_names_to_number": (add(SPEND_SOURCE, "    unpivot: {columns: [a], names_to: 1, "
                                                  "values_to: v}\n"),
                                "tables.spend.unpivot.names_to"),
    "unpivot_column_number": (add(SPEND_SOURCE, "    unpivot: {columns: [a, 2024], "
                                                "names_to: n, values_to: v}\n"),
                              "tables.spend.unpivot.columns[1]"),
    "attribute_column_list": (("    source: reps.csv\n",
                               "    source: reps.csv\n    attributes: {band: [Band]}\n"),
                              "tables.reps.attributes.band"),
    "tactic_number": (("tactics: [email, events, referrals, outbound_calls]",
                       "tactics: [email, events, referrals, 5]"), "tactics[3]"),
    "tactic_boolean": (("tactics: [email, events, referrals, outbound_calls]",
                        "tactics: [email, events, referrals, on]"), "tactics[3]"),
}


@pytest.mark.parametrize(("pair", "where"), TEXT_CASES.values(), ids=TEXT_CASES.keys())
def test_a_text_option_of_another_type_is_refused(tmp_path, pair, where):
    message = refused(tmp_path, edited(pair), where)
    assert any(word in message for word in ("must be", "needs")), message


def test_a_number_where_text_is_expected_says_to_quote_it(tmp_path):
    message = refused(tmp_path, edited(add(TEAMS_SOURCE, "    encoding: 5\n")),
                      "tables.teams.encoding must be a codec name", "the number 5", "'5'")
    assert "5'" in message


def test_quoted_numbers_and_value_positions_keep_working(tmp_path):
    mapping = read(tmp_path, edited(
        ("      cost: cost\n", "      cost: {column: '2024', default: 0}\n"),
        ("      region: region\n", "      region: {constant: 5}\n"),
        ("      recognition: recognition\n",
         "      recognition: {column: recognition, values: {Y: yes, 1: true, 2024-01-01: no}}\n"),
        ("    source: reps.csv\n", "    source: reps.csv\n"
                                   "    where: {column: team_id, matches: '2024'}\n"),
    ))
    assert mapping.tables["spend"].columns["cost"].column == "2024"
    assert mapping.tables["spend"].columns["cost"].default == 0
    assert mapping.tables["teams"].columns["region"].constant == 5
    assert mapping.tables["leaders"].columns["recognition"].values == {
        "y": "True", "1": "True", "2024-01-01": "False"}


# --------------------------------------------------------------------------- applicability

NOT_APPLICABLE = {
    "sheet_on_csv": (add(TEAMS_SOURCE, "    sheet: Teams\n"), "tables.teams.sheet",
                     "teams.csv is a CSV file"),
    "sheet_on_parquet": ((SPEND_SOURCE, "    source: spend.parquet\n    sheet: Spend\n"),
                         "tables.spend.sheet", "a Parquet file"),
    "sheet_on_database_url": ((TEAMS_SOURCE, "    source: sqlite:///crm.db\n    sheet: T\n"),
                              "tables.teams.sheet", "a database"),
    "encoding_on_parquet": ((SPEND_SOURCE, "    source: spend.pq\n    encoding: cp1252\n"),
                            "tables.spend.encoding", "a Parquet file"),
    "encoding_on_xlsx": ((LEADERS_SOURCE, "    source: leaders.xlsx\n    encoding: cp1252\n"),
                         "tables.leaders.encoding", "an .xlsx workbook"),
    "delimiter_on_xlsx": ((LEADERS_SOURCE, "    source: leaders.xlsm\n    delimiter: ';'\n"),
                          "tables.leaders.delimiter", "an .xlsx workbook"),
    "delimiter_on_duckdb": ((TEAMS_SOURCE, "    source: crm.duckdb\n    delimiter: ';'\n"),
                            "tables.teams.delimiter", "a database"),
    "encoding_with_query": ((TEAMS_SOURCE, "    query: SELECT * FROM 'teams.csv'\n"
                                           "    encoding: cp1252\n"),
                            "tables.teams.encoding", "query"),
    "sheet_with_query": ((TEAMS_SOURCE, "    query: SELECT * FROM teams\n    sheet: T\n"),
                         "tables.teams.sheet", "query"),
    "query_and_file_source": (add(TEAMS_SOURCE, "    query: SELECT * FROM 'teams.csv'\n"),
                              "tables.teams", "source: or query:, not both"),
    "lookup_encoding_on_parquet": (
        ("      rep_id: rep_id\n      created_date",
         "      rep_id: {column: rep_id, lookup: {source: reps.parquet, key: rep_id, "
         "value: rep_id, encoding: cp1252}}\n      created_date"),
        "tables.deals.columns.rep_id.lookup.encoding", "a Parquet file"),
    "lookup_sheet_on_csv": (
        ("      rep_id: rep_id\n      created_date",
         "      rep_id: {column: rep_id, lookup: {source: reps.csv, key: rep_id, "
         "value: rep_id, sheet: Reps}}\n      created_date"),
        "tables.deals.columns.rep_id.lookup.sheet", "a CSV file"),
}


@pytest.mark.parametrize(("pair", "where", "reason"), NOT_APPLICABLE.values(),
                         ids=NOT_APPLICABLE.keys())
def test_an_option_that_does_not_apply_to_the_source_is_refused(tmp_path, pair, where, reason):
    refused(tmp_path, edited(pair), where, reason)


APPLICABLE = {
    "sheet_on_xlsx": (LEADERS_SOURCE, "    source: leaders.xlsx\n    sheet: Export\n"),
    "sheet_without_source": (LEADERS_SOURCE, "    sheet: Leaders\n"),  # DATA is a workbook
    "encoding_without_source": (LEADERS_SOURCE, "    encoding: cp1252\n"),  # DATA is a CSV
    "encoding_and_delimiter_on_tsv": (LEADERS_SOURCE, "    source: leaders.tsv\n    encoding: "
                                                      "latin-1\n    delimiter: '|'\n"),
    "encoding_on_a_name_without_suffix": (LEADERS_SOURCE, "    source: leaders\n"
                                                          "    encoding: cp1252\n"),
    "query_alone": (LEADERS_SOURCE, "    query: SELECT * FROM 'leaders.csv'\n"),
    "query_with_database_url": (LEADERS_SOURCE, "    source: sqlite:///crm.db\n"
                                                "    query: SELECT * FROM leaders\n"),
}


@pytest.mark.parametrize(("old", "new"), APPLICABLE.values(), ids=APPLICABLE.keys())
def test_options_that_apply_are_read(tmp_path, old, new):
    assert "leaders" in read(tmp_path, edited((old, new))).tables


def test_the_suffixes_agree_with_the_source_readers():
    kinds = {suffix: "database" for suffix in sources.DATABASE_SUFFIXES}
    readers = {**file_readers.FILE_SUFFIXES, **kinds}
    assert readers == mapping_checks.SOURCE_KINDS


# --------------------------------------------------------------------------- containers

CONTAINER_CASES = {
    "tables_list": ("version: 1\ntables: [spend, deals]\n", ("tables is a list",)),
    "tables_text": ("version: 1\ntables: deals\n", ("tables is the text",)),
    "tables_null": ("version: 1\ntables:\n", ("no 'tables:'",)),
    "table_list": (edited((TOUCHES_SOURCE + "    columns:\n      deal_id: deal_id\n"
                           "      touch_date: touch_date\n      tactic: tactic\n",
                           "    - touches.csv\n")), ("tables.touches must be a mapping",)),
    "table_null": (edited(("  touches:\n" + TOUCHES_SOURCE + "    columns:\n"
                           "      deal_id: deal_id\n      touch_date: touch_date\n"
                           "      tactic: tactic\n", "  touches:\n")),
                   ("tables.touches must be a mapping", "null")),
    "columns_text": (edited(("    columns:\n      deal_id: deal_id\n      touch_date: touch_date"
                             "\n      tactic: tactic\n", "    columns: deal_id\n")),
                     ("tables.touches.columns must be a mapping",)),
    "columns_list": (edited(("    columns:\n      deal_id: deal_id\n      touch_date: touch_date"
                             "\n      tactic: tactic\n", "    columns: [deal_id, tactic]\n")),
                     ("tables.touches.columns must be a mapping",)),
    "columns_missing": (edited(("    columns:\n      deal_id: deal_id\n      touch_date: "
                                "touch_date\n      tactic: tactic\n", "")),
                        ("tables.touches needs a 'columns:'",)),
    "values_list": (edited(("      outcome: outcome\n",
                            "      outcome: {column: outcome, values: [won, lost]}\n")),
                    ("tables.deals.columns.outcome.values must be a mapping",)),
    "values_empty_text": (edited(("      outcome: outcome\n",
                                  "      outcome: {column: outcome, values: ''}\n")),
                          ("tables.deals.columns.outcome.values must be a mapping",)),
    "value_target_list": (edited(("      outcome: outcome\n",
                                  "      outcome: {column: outcome, values: {W: [won]}}\n")),
                          ("tables.deals.columns.outcome.values.W must be a single value",)),
    "values_null_key": (edited(("      outcome: outcome\n",
                                "      outcome: {column: outcome, values: {~: won}}\n")),
                        ("tables.deals.columns.outcome.values: a key is null",)),
    "keywords_scalar": (edited(("      involvement: involvement\n      industry",
                                "      involvement: {column: involvement, keywords: 5}\n"
                                "      industry")),
                        ("tables.leaders.columns.involvement.keywords must be a mapping",)),
    "keyword_mapping": (edited(("      involvement: involvement\n      industry",
                                "      involvement: {column: involvement, "
                                "keywords: {hybrid: [{a: b}]}}\n      industry")),
                        ("tables.leaders.columns.involvement.keywords.hybrid",)),
    "ranges_list": (edited(("      title: title\n      decision_style: decision_style\n",
                            "      title: title\n"
                            "      decision_style: {column: decision_style, ranges: [1, 2]}\n")),
                    ("tables.leaders.columns.decision_style.ranges must be a mapping",)),
    "range_booleans": (edited(("      title: title\n      decision_style: decision_style\n",
                               "      title: title\n      decision_style: {column: "
                               "decision_style, ranges: {autocratic: [true, 2]}}\n")),
                       ("tables.leaders.columns.decision_style.ranges.autocratic",)),
    "constant_list": (edited(("      region: region\n", "      region: {constant: [a, b]}\n")),
                      ("tables.teams.columns.region.constant must be a single value",)),
    "default_mapping": (edited(("      region: region\n",
                                "      region: {column: region, default: {a: b}}\n")),
                        ("tables.teams.columns.region.default must be a single value",)),
    "tactics_text": (edited(("tactics: [email, events, referrals, outbound_calls]",
                             "tactics: email")), ("tactics must be a non-empty list",)),
    "tactics_mapping": (edited(("tactics: [email, events, referrals, outbound_calls]",
                                "tactics: {email: 1}")), ("tactics must be a non-empty list",)),
    "tactics_empty": (edited(("tactics: [email, events, referrals, outbound_calls]",
                              "tactics: []")), ("tactics must be a non-empty list",)),
    "where_text": (edited(add(TOUCHES_SOURCE, "    where: tactic\n")),
                   ("tables.touches.where needs 'column:' and 'matches:'",)),
    "where_list_of_texts": (edited(add(TOUCHES_SOURCE, "    where: [tactic, email]\n")),
                            ("tables.touches.where[0] needs", "tables.touches.where[1] needs")),
    "where_unknown_key": (edited(add(TOUCHES_SOURCE, "    where: {column: tactic, matches: e, "
                                                     "match_case: true}\n")),
                          ("tables.touches.where: unknown option(s) ['match_case']",)),
    "unpivot_list": (edited(add(SPEND_SOURCE, "    unpivot: [a, b]\n")),
                     ("tables.spend.unpivot needs names_to:",)),
    "unpivot_columns_text": (edited(add(SPEND_SOURCE, "    unpivot: {columns: Email, "
                                                      "names_to: n, values_to: v}\n")),
                             ("tables.spend.unpivot.columns must be a non-empty list",)),
    "lookup_text": (edited(("      rep_id: rep_id\n      created_date",
                            "      rep_id: {column: rep_id, lookup: reps.csv}\n"
                            "      created_date")),
                    ("tables.deals.columns.rep_id.lookup needs source:",)),
    "attributes_list": (edited(("    source: reps.csv\n",
                                "    source: reps.csv\n    attributes: [band]\n")),
                        ("tables.reps.attributes must map names to source columns",)),
    "attribute_name_number": (edited(("    source: reps.csv\n",
                                      "    source: reps.csv\n    attributes: {1: Band}\n")),
                              ("tables.reps.attributes: 1 is not a valid name",)),
    "aggregate_list": (edited(add(SPEND_SOURCE, "    aggregate: [month]\n")),
                       ("tables.spend.aggregate must be one of ['month']",)),
    "date_range_text": (edited(("version: 1\n", "version: 1\ndate_range: 2015-2030\n")),
                        ("'date_range' must be [first, last]",)),
    "date_range_numbers": (edited(("version: 1\n", "version: 1\ndate_range: [20150101, 2030]\n")),
                           ("'date_range' must be ISO dates",)),
    "years_before_number": (edited(("      hire_date: hire_date\n",
                                    "      hire_date: {column: hire_date, "
                                    "years_before: 20241231}\n")),
                            ("tables.reps.columns.hire_date.years_before must be the snapshot",)),
    "distinct_text": (edited(add(TEAMS_SOURCE, "    distinct: yes please\n")),
                      ("tables.teams.distinct must be true or false",)),
}


@pytest.mark.parametrize(("text", "expected"), CONTAINER_CASES.values(),
                         ids=CONTAINER_CASES.keys())
def test_a_section_of_the_wrong_type_is_refused(tmp_path, text, expected):
    refused(tmp_path, text, *expected)


KEY_CASES = {
    "table_number": ("tables:\n", "tables:\n  1: {columns: {a: b}}\n", "unknown table 1"),
    "table_null": ("tables:\n", "tables:\n  ~: {columns: {a: b}}\n", "unknown table None"),
    "field_number": ("      cost: cost\n", "      cost: cost\n      2024: x\n",
                     "tables.spend.columns: unknown field 2024"),
    "field_null": ("      cost: cost\n", "      cost: cost\n      null: x\n",
                   "tables.spend.columns: unknown field None"),
    "option_boolean": (SPEND_SOURCE, SPEND_SOURCE + "    yes: x\n",
                       "tables.spend: unknown option(s) [True]"),
    "top_level_mixed": ("version: 1\n", "version: 1\n1: a\nzz: b\n",
                        "unknown top-level key(s) [1, 'zz']"),
}


@pytest.mark.parametrize(("old", "new", "expected"), KEY_CASES.values(), ids=KEY_CASES.keys())
def test_keys_that_are_not_names_are_problems_not_crashes(tmp_path, old, new, expected):
    refused(tmp_path, edited((old, new)), expected)


@pytest.mark.parametrize("key", ["[a]", "{a: b}", "[a, [b]]"])
def test_a_list_or_mapping_as_key_is_refused(tmp_path, key):
    refused(tmp_path, edited(("version: 1\n", f"version: 1\n{key}: x\n")), "keys must be names")


SKIP_FOOTER = {"text": "two", "negative": "-1", "fraction": "1.5", "boolean": "true",
               "list": "[1]"}


@pytest.mark.parametrize("value", SKIP_FOOTER.values(), ids=SKIP_FOOTER.keys())
def test_skip_footer_must_be_a_row_count(tmp_path, value):
    refused(tmp_path, edited(add(TEAMS_SOURCE, f"    skip_footer: {value}\n")),
            "tables.teams.skip_footer must be a row count >= 0")


def test_all_problems_are_listed_at_once(tmp_path):
    message = refused(tmp_path, edited(
        ("version: 1\n", "version: 2\n"),
        add(TEAMS_SOURCE, "    sheet: Teams\n"),
        ("source: spend.csv", "source: [spend.csv]"),
        ("      cost: cost\n", "      cost: 5\n"),
    ), "4 problem(s)", "version", "tables.teams.sheet", "tables.spend.source",
        "tables.spend.columns.cost")
    assert len(message) < 3000


# --------------------------------------------------------------------------- YAML itself


def bomb(levels: int) -> str:
    """A "billion laughs" mapping: each level lists the one before it ten times."""
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join([*lines, f"tables: {{deals: {{columns: *a{levels - 1}}}}}", ""])


@pytest.mark.parametrize("levels", [5, 9])
def test_an_alias_bomb_is_refused_quickly_and_briefly(tmp_path, levels):
    text = bomb(levels)
    assert len(text) < 1024
    start = time.perf_counter()
    message = refused(tmp_path, text, f"uses YAML aliases that expand to more than "
                                      f"{ALIAS_BUDGET} values")
    assert time.perf_counter() - start < 0.5
    assert len(message) < 500


def test_an_alias_inside_its_own_section_is_refused(tmp_path):
    refused(tmp_path, "version: 1\ntables: &t {deals: *t}\n", "alias", "line 2")


def test_a_few_aliases_and_merge_keys_still_load(tmp_path):
    text = edited(
        ("    source: teams.csv\n", "    source: teams.csv\n    where: &t2 {column: team_id, "
                                    "matches: '^T[12]$'}\n"),
        ("    source: reps.csv\n", "    source: reps.csv\n    where: *t2\n"),
        ("      leader_id: leader_id\n      title: title\n",
         "      <<: &ids {leader_id: leader_id}\n      title: title\n"),
        ("    columns:\n      leader_id: leader_id\n      effective_date",
         "    columns:\n      <<: *ids\n      effective_date"),
    )
    mapping = read(tmp_path, text)
    assert mapping.tables["reps"].where == mapping.tables["teams"].where
    assert mapping.tables["style_changes"].columns["leader_id"].column == "leader_id"
    assert isinstance(parse_mapping(yaml.safe_load(MAPPING)), Mapping)


def test_an_alias_expanding_to_a_thousand_values_loads(tmp_path):
    values = "{" + ", ".join(f"v{i}: won" for i in range(200)) + "}"
    text = edited(("      outcome: outcome\n", f"      outcome: {{column: outcome, values: &v "
                                                 f"{values}}}\n"))
    text = text.replace("      title: title\n", "      title: {column: title, values: *v}\n")
    assert len(read(tmp_path, text).tables["leaders"].columns["title"].values) == 200


YAML_ODDITIES = {
    "impossible_date": ("      hire_date: hire_date\n",
                        "      hire_date: {column: hire_date, years_before: 2024-13-45}\n",
                        "tables.reps.columns.hire_date.years_before"),
    "impossible_hex": ("      cost: cost\n", "      cost: {column: cost, scale: 0x_}\n",
                       "tables.spend.columns.cost.scale"),
    "set": ("      cost: cost\n", "      cost: !!set {cost}\n", "tables.spend.columns.cost"),
    "binary": ("source: spend.csv", "source: !!binary c3BlbmQuY3N2",
               "tables.spend.source"),
    "pairs": ("tactics: [email, events, referrals, outbound_calls]",
              "tactics: !!pairs [a: b]", "tactics[0]"),
}


@pytest.mark.parametrize(("old", "new", "expected"), YAML_ODDITIES.values(),
                         ids=YAML_ODDITIES.keys())
def test_unusual_yaml_values_are_problems_not_crashes(tmp_path, old, new, expected):
    refused(tmp_path, edited((old, new)), expected)


@pytest.mark.parametrize("text", ["[" * 3000 + "]" * 3000, "a:\n" + "".join(
    " " * i + "- \n" for i in range(1, 2000)), "{a: " * 70 + "}" * 70])
def test_a_deeply_nested_file_is_refused(tmp_path, text):
    start = time.perf_counter()
    refused(tmp_path, text, "levels deep")
    assert time.perf_counter() - start < 2  # PyYAML's scanner alone takes ~0.5 s on "[[[["


TOP_LEVEL = {"list": "- version: 1\n- tables: {}\n", "scalar": "hello\n", "number": "42\n",
             "empty": "", "comment_only": "# nothing\n", "null": "~\n",
             "no_tables": "version: 1\ntactics: [email]\n"}


@pytest.mark.parametrize("text", TOP_LEVEL.values(), ids=TOP_LEVEL.keys())
def test_the_top_level_must_be_a_mapping_with_tables(tmp_path, text):
    refused(tmp_path, text, "must be a YAML mapping with a 'tables:' section")


# --------------------------------------------------------------------------- end to end

CLI_CASES = {
    "version": (("version: 1\n", "version: 7\n"), "unknown mapping version"),
    "sheet_on_csv": (add(TEAMS_SOURCE, "    sheet: Teams\n"), "tables.teams.sheet"),
    "encoding_number": (add(TEAMS_SOURCE, "    encoding: 5\n"), "tables.teams.encoding"),
    "values_list": (("      outcome: outcome\n",
                     "      outcome: {column: outcome, values: [won]}\n"),
                    "tables.deals.columns.outcome.values"),
}


@pytest.mark.parametrize(("pair", "expected"), CLI_CASES.values(), ids=CLI_CASES.keys())
def test_validate_reports_a_wrong_type_without_a_traceback(tmp_path, capsys, pair, expected):
    folder = make_base(tmp_path)
    (folder / "mapping.yml").write_text(edited(pair), encoding="utf-8")
    with pytest.raises(MappingError, match=expected.replace(".", r"\.")):
        salesnb.load(folder)
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "mapping.yml" in err and expected in err


def test_validate_refuses_an_alias_bomb_without_a_traceback(tmp_path, capsys):
    folder = make_base(tmp_path)
    (folder / "mapping.yml").write_text(bomb(9), encoding="utf-8")
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "aliases" in err and len(err) < 2000


# --------------------------------------------------------------------------- properties

RICH = yaml.safe_load(MAPPING)
"""The valid mapping with every kind of option in use, so that each has a position to fuzz."""
RICH["date_range"] = ["2015-01-01", "2030-12-31"]
RICH["tables"]["spend"].update({"skip_footer": 0, "aggregate": "month",
                                "unpivot": {"columns": ["Email"], "names_to": "n",
                                            "values_to": "v"}})
RICH["tables"]["spend"]["columns"]["cost"] = {"column": "cost", "number": "eu", "scale": 1}
RICH["tables"]["deals"]["columns"]["outcome"] = {
    "column": "outcome", "values": {"Closed Won": "won"}, "otherwise": "open", "default": "open"}
RICH["tables"]["deals"]["columns"]["close_date"] = {"column": "close_date",
                                                    "date_format": "%Y-%m-%d"}
RICH["tables"]["deals"]["columns"]["rep_id"] = {
    "column": "rep_id", "lookup": {"source": "reps.csv", "key": "rep_id", "value": "rep_id",
                                   "encoding": "utf-8", "delimiter": ","}}
RICH["tables"]["teams"].update({"encoding": "utf-8", "delimiter": ",", "distinct": True,
                                "where": [{"column": "team_id", "matches": "T"}]})
RICH["tables"]["teams"]["columns"]["region"] = {"constant": "EMEA"}
RICH["tables"]["leaders"]["columns"]["decision_style"] = {
    "column": "decision_style", "ranges": {"autocratic": [1, 2], "collaborative": [3, 7]}}
RICH["tables"]["leaders"]["columns"]["involvement"] = {
    "column": "involvement", "keywords": {"hands_on": ["hands"], "hybrid": "mix"}}
RICH["tables"]["reps"].update({"attributes": {"band": "Band"}, "where": {"column": "rep_id",
                                                                         "matches": "R"}})
RICH["tables"]["reps"]["columns"]["hire_date"] = {"column": "hire_date",
                                                  "years_before": "2024-12-31"}
RICH["tables"]["touches"].update({"query": "SELECT * FROM 'touches.csv'"})
del RICH["tables"]["touches"]["source"]
RICH["tables"]["totals"] = {"source": "weekly.xlsx", "sheet": "Weeks",
                            "controls": ["price"], "columns": {"period": "Week",
                                                               "new_customers": "New"}}
RICH["tables"]["totals_spend"] = {"source": "weekly.xlsx", "skip_footer": 1,
                                  "columns": {"period": "Week", "tactic": "t", "cost": "c"}}


def _positions(node, path=()):
    """Every path to a value in ``node``, and to each option a section could have."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _positions(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _positions(value, (*path, i))
    return found


POSITIONS = _positions(RICH)
POSITIONS += [("tables", t, option) for t in RICH["tables"] for option in TABLE_OPTIONS]
POSITIONS += [("tables", t, "columns", f, option) for t, spec in RICH["tables"].items()
              for f, col in spec["columns"].items() if isinstance(col, dict)
              for option in COLUMN_OPTIONS]
POSITIONS += [(key,) for key in ("version", "tactics", "date_range", "extra")]
POSITIONS += [("tables", "leads"), ("tables", "deals", "columns", "lead_id")]

SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats()
           | st.text(max_size=12) | st.dates()
           | st.sampled_from(["month", "eu", "us", "2024-12-31", "won", "a.csv", "b.xlsx",
                              "c.parquet", "sqlite:///x.db", "e[", "^T"]))
KEYS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8) | st.sampled_from(
    ["column", "constant", "source", "columns", "names_to", "values_to", "matches", "key",
     "value", "won", "deal_id"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


def _put(document, path, value):
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _outcome(read, name: Path) -> str:
    """``read()`` gives a Mapping, or a MappingError naming the file (nothing else escapes)."""
    try:
        result = read()
    except MappingError as exc:
        assert str(name) in str(exc) and len(str(exc)) < 20_000, str(exc)
        return "refused"
    assert isinstance(result, Mapping)
    return "read"


def test_the_rich_mapping_is_valid():
    assert isinstance(parse_mapping(copy.deepcopy(RICH)), Mapping)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(POSITIONS), VALUES), min_size=1, max_size=3))
def test_any_value_at_any_position_is_read_or_refused(changes):
    document = copy.deepcopy(RICH)
    for path, value in changes:
        if path:
            try:
                _put(document, path, value)
            except (KeyError, IndexError, TypeError):  # an earlier change removed the parent
                continue
        else:
            document = value
    _outcome(lambda: parse_mapping(document, Path("fuzz.yml")), Path("fuzz.yml"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yml"
        try:
            path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        except (yaml.YAMLError, UnicodeEncodeError):  # not every Python value dumps
            return
        _outcome(lambda: read_mapping(path), path)


YAML_PIECES = st.sampled_from([
    "tables:", "  deals:", "    columns:", "      deal_id: a", "version: 1", "&a ", "*a", "<<: ",
    "[", "]", "{", "}", ": ", ", ", "- ", "? ", "!!set ", "!!binary ", "!!str ", "!!int ",
    "'", '"', "#", "|", ">", "\n", "  ", "\t", "~", "null", "yes", "2024-13-45", "0x_",
    "1e999", ".nan", "%YAML 1.1\n", "---\n", "...\n", "source: [a]", "sheet: 5", "\\u0000",
])


@settings(max_examples=250, deadline=None)
@given(st.lists(YAML_PIECES | st.text(max_size=5), max_size=30).map("".join))
def test_any_text_in_the_mapping_file_is_read_or_refused(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _outcome(lambda: read_mapping(path), path)


MAPPING_LINES = MAPPING.splitlines(keepends=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(MAPPING_LINES) - 1), st.integers(0, 40),
                          st.lists(YAML_PIECES | st.text(max_size=4), max_size=3).map("".join),
                          st.booleans()), min_size=1, max_size=4))
def test_any_edit_of_the_mapping_text_is_read_or_refused(edits):
    lines = list(MAPPING_LINES)
    for line, column, piece, replace in edits:  # insert the piece, or replace the line's rest
        old = lines[line]
        column = min(column, len(old))
        lines[line] = old[:column] + piece + ("\n" if replace else old[column:])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yml"
        path.write_text("".join(lines), encoding="utf-8", errors="surrogatepass")
        _outcome(lambda: read_mapping(path), path)


def test_a_date_value_is_a_date_for_years_before_and_date_range(tmp_path):
    mapping = read(tmp_path, edited(
        ("version: 1\n", "version: 1\ndate_range: [2015-01-01, '2030-12-31']\n"),
        ("      hire_date: hire_date\n",
         "      hire_date: {column: hire_date, years_before: 2024-12-31}\n")))
    assert mapping.date_range == ("2015-01-01", "2030-12-31")
    assert mapping.tables["reps"].columns["hire_date"].years_before == date(2024, 12, 31
                                                                            ).isoformat()
