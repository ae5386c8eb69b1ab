"""Mapping files: which column of which export is which canonical field.

A mapping is YAML. The bundled demo's ``data/demo/mapping.yml`` and
``data/examples/salesforce/mapping.yml`` are worked examples; the full
reference is in docs/mapping.md. Every problem in a mapping is
reported at once in one :class:`~salesnb.errors.MappingError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from salesnb.errors import MappingError
from salesnb.io import mapping_options
from salesnb.io.mapping_checks import (
    EXPECTED_TEXT,
    check_applicable,
    describe,
    ordered,
    section,
    show,
    single_value,
    text_list,
)
from salesnb.io.mapping_checks import text as text_option
from salesnb.io.mapping_spec import (
    COLUMN_OPTIONS,
    NUMBER_STYLES,
    TABLE_OPTIONS,
    ColumnSpec,
    Lookup,
    Mapping,
    RowFilter,
    TableSpec,
    Unpivot,
)
from salesnb.io.schema import TABLES, TOTALS_OUTCOMES

__all__ = ["ColumnSpec", "Lookup", "Mapping", "RowFilter", "TableSpec", "Unpivot",
           "parse_mapping", "read_mapping"]

CLOSED_FIELDS = {name for table in TABLES.values() for field in table.fields
                 if field.allowed for name in [f"{table.name}.{field.name}"]}
"""Fields with a fixed vocabulary (``otherwise:`` applies to these, and to a closed tactic)."""
MAPPING_VERSION = 1
"""The only mapping format version there is (``version:`` may be left out)."""
MAX_DEPTH = 64
"""How deeply sections may nest (a real mapping nests 6 levels; Python's stack would not take
thousands)."""
ALIAS_BUDGET = 10_000
"""How many values YAML aliases (``*name``) may add to a mapping: a bound against a small file
that expands to billions of values ("billion laughs")."""


class _AliasProblem(yaml.composer.ComposerError):
    """YAML aliases that expand too far or refer to a section that contains them, or sections
    nested too deeply.
    """


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses repeated keys instead of keeping the last one, keys
    that are lists or mappings, and aliases that expand beyond :data:`ALIAS_BUDGET` values or
    into themselves, and more than :data:`MAX_DEPTH` levels of nesting. A scalar that looks
    like a date or number but is none (``2024-13-45``, ``0x_``) stays text.
    """

    depth = 0

    def compose_document(self):
        node = super().compose_document()
        _check_aliases(node)
        return node

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _AliasProblem(None, None, f"nests sections more than {MAX_DEPTH} levels "
                                    "deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        pairs = node.value if isinstance(node, yaml.MappingNode) else []  # super() refuses
        for key_node, _ in pairs:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *anchor' (merged by super)
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict | set):
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key is {describe(key)}; keys must be names",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in the same section",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _lenient(construct):
    """A scalar constructor that keeps a scalar it cannot build (``2024-02-30``) as text."""

    def build(loader, node):
        try:
            return construct(loader, node)
        except (ValueError, OverflowError, IndexError):  # '2024-02-30', '0x_', '!!int '
            return loader.construct_scalar(node)

    return build


for _tag in ("int", "float", "timestamp"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _lenient(
        yaml.SafeLoader.yaml_constructors[f"tag:yaml.org,2002:{_tag}"]))


def _check_aliases(root: yaml.Node | None) -> None:
    """Raise :class:`_AliasProblem` when aliases add more than :data:`ALIAS_BUDGET` values
    (counting each node once per place it appears) or refer to a section that holds them.
    """
    if root is None:
        return
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        children = ([n for pair in node.value for n in pair]
                    if isinstance(node, yaml.MappingNode)
                    else node.value if isinstance(node, yaml.SequenceNode) else [])
        if closing:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
        elif id(node) in open_nodes:
            raise _AliasProblem(None, None, "uses a YAML alias inside the section it refers "
                                "to (an endless section)", node.start_mark)
        elif id(node) not in sizes:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack += [(child, False) for child in children]
    if sizes[id(root)] - len(sizes) > ALIAS_BUDGET:
        raise _AliasProblem(None, None, f"uses YAML aliases that expand to more than "
                            f"{ALIAS_BUDGET} values", None)


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file.

    Raises
    ------
    MappingError
        If the file is missing or is not valid YAML, or if it names unknown
        tables, fields or options, or leaves out a required field. Every
        problem is listed.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(
            f"mapping file {path} does not exist.\n    hint: pass --mapping FILE, or put a "
            "mapping.yml in the data folder (`salesnb demo` writes an example)."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"mapping file {path} is not UTF-8: byte 0x{exc.object[exc.start]:02x} at byte "
            f"position {exc.start}.\n    hint: save the mapping with UTF-8 encoding."
        ) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _AliasProblem as exc:
        line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        hint = ("write the repeated sections out, or use fewer aliases (*name)"
                if "alias" in str(exc.problem) else "see data/demo/mapping.yml for the shape "
                "of a mapping")
        raise MappingError(f"mapping file {path} {exc.problem}{line}.\n    hint: {hint}."
                           ) from None
    except RecursionError:
        raise MappingError(f"mapping file {path} nests sections too deeply to be read.\n"
                           "    hint: see data/demo/mapping.yml for the shape of a mapping."
                           ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(
            f"mapping file {path} is not valid YAML{where}: {problem}.\n"
            "    hint: check indentation and quote values containing ':' or '#'."
        ) from None
    return parse_mapping(raw, path=path, text=text)


def parse_mapping(raw: Any, path: Path | None = None, text: str = "") -> Mapping:
    """Build a :class:`Mapping` from already-parsed YAML, listing every problem.

    Parameters
    ----------
    raw : Any
        The YAML document as read (a mapping with ``tables:``, when it is right).
    path : pathlib.Path, optional
        The mapping file, named in every message.
    text : str
        The file's text, kept on the :class:`Mapping`.

    Raises
    ------
    MappingError
        For any wrong name, type or combination of options, all listed at once, each with
        its path in the mapping (``tables.spend.encoding``) and what is expected.
    """
    name = str(path) if path else "<mapping>"
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        found = ("it is empty" if raw is None else f"it is {describe(raw)}"
                 if not isinstance(raw, dict) else "it has no 'tables:'"
                 if raw.get("tables") is None else f"tables is {describe(raw['tables'])}")
        raise MappingError(
            f"mapping file {name} must be a YAML mapping with a 'tables:' section (table name "
            f"-> its options); {found}.\n"
            "    hint: see data/demo/mapping.yml for a complete example."
        )
    problems: list[str] = []
    version = raw.get("version", MAPPING_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version != MAPPING_VERSION:
        problems.append(f"unknown mapping version ({describe(version)}); this salesnb reads "
                        f"version {MAPPING_VERSION}: write version: {MAPPING_VERSION}")
    unknown_top = set(raw) - {"version", "tables", "tactics", "date_range"}
    if unknown_top:
        problems.append(f"unknown top-level key(s) {ordered(unknown_top)}")
    tables = {}
    for table_name, spec in raw["tables"].items():
        if table_name not in TABLES:
            problems.append(f"unknown table {show(table_name)}; known tables: {sorted(TABLES)}")
            continue
        table_spec = _parse_table(table_name, spec, problems)
        if table_spec is not None:
            tables[table_name] = table_spec
    tactics = None
    if raw.get("tactics") is not None:
        tactics = text_list(raw["tactics"], "tactics", problems, "tactic")
    date_range = mapping_options.parse_date_range(raw.get("date_range"), problems)
    problems += _open_fallbacks(tables, tactics is not None)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise MappingError(
            f"mapping file {name} has {len(problems)} problem(s):\n{listing}\n"
            "    hint: the mapping reference is docs/mapping.md in the salesnb repository."
        )
    return Mapping(tables, tactics, date_range, path, text)


def _parse_table(table_name: str, spec: Any, problems: list[str]) -> TableSpec | None:
    where = f"tables.{table_name}"
    if not isinstance(spec, dict):
        problems.append(f"{where} must be a mapping of options (source:, columns:, ...), not "
                        f"{describe(spec)}")
        return None
    unknown = set(spec) - TABLE_OPTIONS
    if unknown:
        problems.append(f"{where}: unknown option(s) {ordered(unknown)}")
    if spec.get("columns") is None:
        problems.append(f"{where} needs a 'columns:' section mapping fields to columns")
        return None
    fields = section(spec["columns"], f"{where}.columns", problems,
                     "canonical fields to source columns")
    if fields is None:
        return None
    table = TABLES[table_name]
    columns = {}
    for field_name, col in fields.items():
        if field_name not in table.field_names:
            problems.append(f"{where}.columns: unknown field {show(field_name)}; "
                            f"fields of {table_name}: {list(table.field_names)}")
            continue
        parsed = _parse_column(f"{where}.columns.{field_name}", table_name, field_name, col,
                               problems)
        if parsed is not None:
            columns[field_name] = parsed
    missing = [f for f in table.required if f not in fields]
    if missing:
        problems.append(f"{where}: required field(s) not mapped: {missing}")
    if table_name == "totals" and not set(TOTALS_OUTCOMES) & set(fields):
        problems.append(f"{where}: map an outcome, one of {list(TOTALS_OUTCOMES)} (new "
                        "customers per period, or revenue when customers are not counted)")
    skip_footer = spec.get("skip_footer", 0)
    if not isinstance(skip_footer, int) or isinstance(skip_footer, bool) or skip_footer < 0:
        problems.append(f"{where}.skip_footer must be a row count >= 0, not "
                        f"{describe(skip_footer)}")
        skip_footer = 0
    distinct = spec.get("distinct", False)
    if not isinstance(distinct, bool):
        problems.append(f"{where}.distinct must be true or false, not {describe(distinct)}")
        distinct = False
    reading = {option: text_option(spec.get(option), f"{where}.{option}", problems,
                               EXPECTED_TEXT[option])
               for option in ("source", "sheet", "encoding", "delimiter", "query")}
    check_applicable(where, reading["source"], reading["query"], reading, problems)
    return TableSpec(
        table=table_name,
        skip_footer=skip_footer,
        columns=columns,
        source=reading["source"],
        sheet=reading["sheet"],
        encoding=reading["encoding"] or "utf-8",
        delimiter=reading["delimiter"],
        query=reading["query"],
        where=mapping_options.parse_where(where, spec.get("where"), problems),
        distinct=distinct,
        unpivot=mapping_options.parse_unpivot(table_name, spec.get("unpivot"), problems),
        aggregate=mapping_options.parse_aggregate(table_name, spec.get("aggregate"), problems),
        attributes=mapping_options.parse_attributes(table_name, spec.get("attributes"), problems),
        controls=mapping_options.parse_controls(table_name, spec.get("controls"), problems),
    )


def _parse_column(where: str, table_name: str, field_name: str, col: Any,
                  problems: list[str]) -> ColumnSpec | None:
    if isinstance(col, str):
        return ColumnSpec(field_name, column=col)
    if not isinstance(col, dict):
        problems.append(f"{where} must be a source column name (text) or a mapping with "
                        f"column: or constant:, not {describe(col)}" + (
                            f" (quote a numeric header: '{col}'; for the same value in every "
                            f"row write {{constant: {col}}})"
                            if isinstance(col, int | float) and not isinstance(col, bool)
                            else ""))
        return None
    unknown = set(col) - COLUMN_OPTIONS
    if unknown:
        problems.append(f"{where}: unknown option(s) {ordered(unknown)}; allowed: "
                        f"{sorted(COLUMN_OPTIONS)}")
    if ("column" in col) == ("constant" in col):
        problems.append(f"{where}: give exactly one of 'column:' or 'constant:'")
        return None
    before = len(problems)
    column = text_option(col.get("column"), f"{where}.column", problems, "a source column name")
    if "column" in col and col["column"] is None:
        problems.append(f"{where}.column must be a source column name, not null (nothing)")
    number = text_option(col.get("number"), f"{where}.number", problems, "us or eu") or "us"
    if number not in NUMBER_STYLES:
        problems.append(f"{where}.number: {show(number)} is not one of {list(NUMBER_STYLES)}")
    for option in ("constant", "default"):
        single_value(col.get(option), f"{where}.{option}", problems)
    kind = TABLES[table_name].field(field_name).kind
    rules = mapping_options.parse_value_rules(where, col, problems)
    spec = ColumnSpec(
        field=field_name,
        column=column,
        constant=col.get("constant"),
        number=number,
        date_format=text_option(col.get("date_format"), f"{where}.date_format", problems,
                                "a strptime format such as '%d/%m/%Y'"),
        values=rules[0],
        keywords=rules[1],
        ranges=rules[2],
        otherwise=text_option(col.get("otherwise"), f"{where}.otherwise", problems,
                              "the fallback category"),
        lookup=mapping_options.parse_lookup(where, col.get("lookup"), problems),
        scale=mapping_options.parse_scale(where, kind, col.get("scale"), problems),
        years_before=mapping_options.parse_years_before(where, kind, col.get("years_before"),
                                                        problems),
        default=col.get("default"),
        has_default="default" in col,
    )
    return spec if len(problems) == before else None


def _open_fallbacks(tables: dict[str, TableSpec], tactics_closed: bool) -> list[str]:
    """``otherwise:`` on a field without a fixed vocabulary would send every value there."""
    problems = []
    for name, spec in tables.items():
        for field_name, column in spec.columns.items():
            if column.otherwise is None:
                continue
            closed = f"{name}.{field_name}" in CLOSED_FIELDS or (
                field_name == "tactic" and tactics_closed)
            if not closed:
                problems.append(
                    f"tables.{name}.columns.{field_name}.otherwise: {field_name} has no fixed "
                    "vocabulary, so every value would be sent to the fallback; translate "
                    "values with values:/keywords: instead" + (
                        ", or close the tactic vocabulary with tactics: [...]"
                        if field_name == "tactic" else ""))
    return problems
