"""Table matching for :mod:`salesnb.io.propose`: which sampled export is which canonical table,
which column is which field (with lookups into other files), and the options the data calls
for: per column (``date_format``, ``number``, ``scale``, ``values``, ``ranges``, ...) and per
table (``unpivot``, ``distinct``, ``aggregate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from salesnb.io.propose_guess import (
    ColumnProfile,
    content_fit,
    header_score,
    translate,
    words,
)
from salesnb.io.schema import CORE_TABLES, TABLES, TOTALS_TABLES, Field, Table
from salesnb.io.values import TRUE_TOKENS

FACT_TABLES = ("deals", "spend", "leads", "touches")
"""Tables of events: one export is one of them (the other tables may share a source)."""
FILE_WORDS = {"deals": ("opportunit", "deal", "pipeline", "crm"), "leads": ("lead",),
              "spend": ("cost", "spend", "marketing", "budget"), "teams": ("team",),
              "leaders": ("leader", "manager"), "reps": ("hr", "people", "employee", "staff"),
              "touches": ("touch", "activit"), "style_changes": ("style",)}
MIN_REQUIRED, MIN_OPTIONAL, CONFIDENT = 0.2, 0.45, 0.45
"""Score floors: a required field's guess, an optional field's guess, a header that names it."""
KEYWORDS = {"hands_on": ["hands-on", "hands on"], "delegating": ["delegat"],
            "hybrid": ["mix", "both", "balance", "hybrid"], "autocratic": ["autocr", "direct"],
            "consultative": ["consult"], "collaborative": ["collab", "democr"]}


def column_options(profile: ColumnProfile, fld: Field, snapshot: str) -> tuple[dict, list[str]]:
    """The reading options a column needs for a field, and comments for the person checking.

    Parameters
    ----------
    profile : ColumnProfile
        The sampled source column.
    fld : salesnb.io.schema.Field
        The canonical field it is proposed for.
    snapshot : str
        ISO date used where a date must be derived (``years_before``, a yes/no exit flag).

    Returns
    -------
    tuple of (dict, list of str)
        Mapping options (``date_format``, ``number``, ``scale``, ``values``, ``ranges``, ...)
        and comment lines (``TODO: ...`` where a person must decide).
    """
    opts: dict[str, Any] = {}
    notes: list[str] = []
    dates, num = profile.date, profile.number
    if fld.kind in ("date", "month") and dates:
        if dates.format:
            opts["date_format"] = dates.format
        if dates.ambiguous:
            notes.append(f"TODO: day/month order is ambiguous: {dates.format!r} and "
                         f"{', '.join(map(repr, dates.ambiguous))} read every sampled value")
    elif fld.kind in ("date", "month") and num:
        opts["years_before"] = snapshot
        notes.append(f"TODO: a number of years, read as a date that many years before "
                     f"{snapshot}: set years_before to the date the export was taken")
    elif fld.kind in ("date", "month") and profile.boolean:
        opts["values"] = {v: (snapshot if v.casefold() in TRUE_TOKENS else "")
                          for v in profile.seen()}
        notes.append(f"TODO: a yes/no flag, not a date: 'yes' is read as {snapshot} (the "
                     "snapshot date); use real exit dates if another export has them")
    elif fld.kind == "number" and num:
        if num.style == "eu":
            opts["number"] = "eu"
        if num.ambiguous:
            notes.append("TODO: values such as '1,234' read differently as number: us and eu")
        if num.currency:
            notes.append(f"currency seen: {' '.join(num.currency)} (ignored when read)")
        if num.percent:
            notes.append("'%' values are read as shares (35% -> 0.35)")
        elif fld.max == 1 and 1 < num.high <= 100:
            opts["scale"] = 0.01
            notes.append(f"values {num.low:g}-{num.high:g}: scale 0.01 makes them 0-1 shares")
        if fld.name == "annual_cost" and "monthly" in words(profile.name):
            opts["scale"] = 12
            notes.append("monthly amounts: scale 12 makes them annual")
    elif fld.kind == "category":
        _category_rules(profile, fld, opts, notes)
    return opts, notes


def _category_rules(profile: ColumnProfile, fld: Field, opts: dict, notes: list[str]) -> None:
    seen = profile.seen(40)
    more = f" (+{profile.distinct - 12} more)" if profile.distinct > 12 else ""
    notes.append("seen: " + ", ".join(seen[:12]) + more)
    allowed, num = fld.allowed, profile.number
    if not allowed:
        return
    if num:
        top = 7 if num.high > 5 else 5
        if fld.name == "decision_style" and num.low >= 1 and num.high <= 7:
            opts["ranges"] = dict(zip(allowed, ([1, 2], [3, 5], [6, 7]) if top == 7 else (
                [1, 2], [3, 3], [4, 5]), strict=False))
            notes.append(f"TODO: a 1-{top} score: check the bands (bounds inclusive)")
        else:
            notes.append(f"TODO: numbers, not {'/'.join(allowed)}: add ranges: or values:")
        return
    if profile.distinct > 12 and any(a in KEYWORDS for a in allowed):
        opts["keywords"] = {a: KEYWORDS[a] for a in allowed if a in KEYWORDS}
        notes.append("TODO: free text: check the keywords (first match wins)")
        return
    rules, unknown = {}, []
    for value in seen:
        target = translate(value, allowed)
        if target is None:
            unknown.append(value)
        elif target != re.sub(r"[\s\-]+", "_", value.casefold()):
            rules[value] = target
    if unknown and "open" in allowed:
        rules.update({value: "open" for value in unknown})
        notes.append("the other values seen -> open; a value not listed is reported (add "
                     "otherwise: open to take every other value as open, typos too)")
    elif unknown:
        notes.append(f"TODO: not translated yet: {', '.join(unknown[:8])}")
    if rules:
        opts["values"] = rules


@dataclass
class Guess:
    """The proposed source column for one field (or a ``constant`` placeholder)."""

    column: str | None
    score: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    constant: Any = None


@dataclass
class TableProposal:
    """Where one canonical table would come from, its column guesses and table options
    (``encoding``, ``delimiter``, ``skip_footer``, ``distinct``, ``unpivot``, ``aggregate``).
    """

    table: str
    source: str
    sheet: str | None
    columns: dict[str, Guess]
    options: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0
    notes: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)


@dataclass
class Source:
    """A sampled file (or sheet) and its column profiles."""

    file: str
    sheet: str | None
    profiles: dict[str, ColumnProfile]
    rows: int
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    only: str | None = None  # a reshaped (unpivoted) view, for this table only
    frame: Any = None  # the sampled rows (a pandas DataFrame)

    @property
    def label(self) -> str:
        """The file, with its sheet."""
        return self.file + (f" [sheet {self.sheet}]" if self.sheet else "")


def match(table: Table, src: Source, snapshot: str) -> TableProposal:
    """The best column for each field of ``table`` in ``src`` (each column used once, except
    that an id field may share a column when none other fits), scored 0-1 by required fields.
    """
    ranked: dict[str, list[tuple[float, str]]] = {}
    for fld in table.fields:
        key = table.key == (fld.name,)
        cands = []
        for col, prof in src.profiles.items():
            head, fit = header_score(col, fld.name), content_fit(prof, fld, key)
            if fit >= 0.95 and fld.allowed and not head:
                cands.append((0.5, col))  # every value reads as one of the allowed ones
            elif fit > 0 and (head > 0 or fld.required):
                cands.append((round(0.7 * head + 0.3 * fit, 3), col))
        ranked[fld.name] = sorted(cands, key=lambda c: -c[0])
    chosen: dict[str, tuple[float, str]] = {}
    used: set[str] = set()
    for score, name, col in sorted(((s, f, c) for f, cs in ranked.items() for s, c in cs),
                                   key=lambda t: -t[0]):
        floor = MIN_REQUIRED if table.field(name).required else MIN_OPTIONAL
        if name not in chosen and col not in used and score >= floor:
            chosen[name] = (score, col)
            used.add(col)
    for name in table.required:
        best = ranked[name][0] if ranked[name] else None
        if best and table.field(name).kind == "id" and header_score(best[1], name) >= 0.5 and (
                name not in chosen or header_score(chosen[name][1], name) < CONFIDENT):
            chosen[name] = best
    guesses = {}
    for name, (score, col) in chosen.items():
        opts, notes = column_options(src.profiles[col], table.field(name), snapshot)
        alts = [(c, s) for s, c in ranked[name] if c != col and s >= 0.3][:3]
        guesses[name] = Guess(col, score, alts, opts, notes)
    required = [chosen[f][0] if f in chosen else 0.0 for f in table.required] or [0.5]
    bonus = 0.1 if any(w in src.file.casefold() for w in FILE_WORDS.get(table.name, ())) else 0
    optional = [chosen[f.name][0] for f in table.fields if not f.required and f.name in chosen]
    score = sum(required) / len(required) + bonus + 0.02 * len(optional)
    return TableProposal(table.name, src.file, src.sheet, guesses, dict(src.options),
                         round(score, 3), list(src.notes),
                         [c for c in src.profiles if c not in used])


def _confident(prop: TableProposal) -> bool:
    """Every required field has a column named like it (a missing team may be a constant)."""
    return all(f in prop.columns and header_score(prop.columns[f].column or "", f) >= CONFIDENT
               for f in TABLES[prop.table].required if f != "team_id")


def choose_tables(sources: list[Source], snapshot: str) -> dict[str, TableProposal]:
    """Pick a source per canonical table: fact tables (deals, spend, leads, touches) each from
    their own file, the others from any; a table that is not core needs every required field.
    Totals over time (the marketing-mix input) are not proposed: a spend file would match
    both shapes; docs/mapping.md shows their mapping.
    """
    cands = sorted(((match(t, s, snapshot), s) for t in TABLES.values() for s in sources
                    if s.only in (None, t.name) and t.name not in TOTALS_TABLES),
                   key=lambda c: -c[0].score)
    chosen: dict[str, TableProposal] = {}
    origin: dict[str, Source] = {}
    facts: set[tuple[str, str | None]] = set()
    for prop, src in cands:
        where = (prop.source, prop.sheet)
        fact = prop.table in FACT_TABLES
        if prop.table in chosen or (fact and where in facts):
            continue
        if not (_confident(prop) and prop.score >= 0.6) and prop.table not in CORE_TABLES:
            continue
        chosen[prop.table], origin[prop.table] = prop, src
        if fact:
            facts.add(where)
    for name, prop in chosen.items():
        _finish(prop, origin[name], [s for s in sources if s.only is None])
    return {t: chosen[t] for t in TABLES if t in chosen}


def _finish(prop: TableProposal, src: Source, sources: list[Source]) -> None:
    """Lookups for fields the table's own file lacks, placeholders, distinct and aggregate."""
    table = TABLES[prop.table]
    for fld in table.fields:
        guess = prop.columns.get(fld.name)
        weak = guess is None or header_score(guess.column or "", fld.name) < CONFIDENT
        if weak and (fld.required or fld.kind == "id"):
            found = find_lookup(fld.name, src, sources, fld.required)
            if found is not None:
                prop.columns[fld.name] = found
                prof = src.profiles[found.column or ""]
                if fld.required and len(prof.values) < prof.rows:
                    found.notes.append(f"TODO: {prof.rows - len(prof.values)} sampled rows have "
                                       f"no {found.column}: give default: (their {fld.name})")
                continue
        if fld.name == "team_id" and (fld.required or guess is not None) and (
                guess is None or not header_score(guess.column or "", fld.name)):
            guess = prop.columns[fld.name] = Guess(None, 0.0, constant="TODO", notes=[
                "TODO: no team column found: for an export of one team, give its name as the "
                "constant (the same in every table); else name the column"])
        if guess is not None and weak and guess.column is not None and not fld.allowed:
            guess.notes.insert(0, "TODO: a guess from the values only: check this column")
        if guess is not None and guess.column and fld.required and "lookup" not in guess.options:
            have = src.profiles.get(guess.column)
            if have is not None and 0 < len(have.values) < have.rows:
                guess.notes.append(f"TODO: {have.rows - len(have.values)} of {have.rows} sampled "
                                   f"rows have no {guess.column}: fill them, or keep the other "
                                   "rows with where:")
        if guess is None and fld.required:
            prop.columns[fld.name] = Guess(None, 0.0, constant="TODO", notes=[
                f"TODO: no column found for required field {fld.name}: name a column, or give "
                "a constant"])
    keyed = [prop.columns[k] for k in table.key if k in prop.columns]
    if prop.table == "teams" and keyed and keyed[0].column is None:
        prop.options["distinct"] = True  # a constant team: one row
    elif keyed and all(g.column and "lookup" not in g.options for g in keyed):
        repeats = [src.profiles[g.column].distinct < len(src.profiles[g.column].values)
                   for g in keyed if g.column in src.profiles]
        if len(keyed) == 1 and all(repeats) and prop.table not in FACT_TABLES:
            prop.options["distinct"] = True
            prop.notes.append("the key repeats (e.g. one row per rep): distinct keeps one row "
                              "per key; a key with different values in its rows is reported")
            if not _own_rows(prop, keyed[0].column or "", src):
                _keep_consistent(prop, keyed[0].column or "", src)
        elif len(keyed) == 1 and all(repeats):
            prop.notes.append(f"TODO: {keyed[0].column} repeats in the sample: check the file")
    period = prop.columns.get("period")
    if prop.table == "spend" and period is not None and period.column is not None:
        dates = src.profiles[period.column].date if period.column in src.profiles else None
        if dates is not None and dates.grain:
            prop.options["aggregate"] = "month"
            prop.notes.append(f"{dates.grain} periods: aggregate: month sums them per "
                              "month, team and tactic")


def _own_rows(prop: TableProposal, key: str, src: Source) -> bool:
    """When the key column refers to another row of the same file (ManagerNumber ->
    EmployeeNumber), read the other fields from that row by lookup; True if so.
    """
    values = src.profiles[key].counts
    own = [c for c, p in src.profiles.items() if c != key and p.unique and values
           and sum(1 for v in values if v in p.counts) >= 0.9 * len(values)]
    if not own:
        return False
    moved = []
    for name, guess in prop.columns.items():
        if guess.column not in (None, key) and "lookup" not in guess.options:
            lookup = {"source": src.file, "key": own[0], "value": guess.column}
            if src.sheet:
                lookup["sheet"] = src.sheet
            guess.options = {"lookup": lookup}
            guess.notes = [f"{key} names a row of {src.label} ({own[0]}): its {guess.column}"
                           f" gives {name}"]
            guess.column = key
            moved.append(name)
    if moved:
        prop.notes.append(f"{key} refers to {own[0]} in the same file: {_and(moved)} are "
                          "looked up in that row")
    return True


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _keep_consistent(prop: TableProposal, key: str, src: Source) -> None:
    """Drop optional fields whose column has several values for one key (distinct would fail)."""
    if src.frame is None or key not in src.frame:
        return
    for name, guess in list(prop.columns.items()):
        col = guess.column
        if TABLES[prop.table].field(name).required or col in (None, key) or col not in src.frame:
            continue
        pairs = src.frame[[key, col]].astype(str).drop_duplicates()
        if pairs[key].duplicated().any():
            del prop.columns[name]
            prop.notes.append(f"{name} not mapped: {col} has several values for one {key}")


def find_lookup(name: str, src: Source, sources: list[Source], required: bool = True
                ) -> Guess | None:
    """A column of ``src`` whose values are the key of another file that has a column for
    field ``name`` (e.g. deals' ``sales_agent`` -> ``manager`` in a sales-teams file).
    """
    best: tuple[float, Guess] | None = None
    for other in sources:
        for vcol in other.profiles:
            fit = header_score(vcol, name)
            if fit < 0.5:
                continue
            for kcol, kprof in other.profiles.items():
                if kcol == vcol or not kprof.unique:
                    continue
                for col, prof in src.profiles.items():
                    if prof.distinct < 2 or (other.label == src.label and col in (kcol, vcol)):
                        continue
                    found = sum(1 for v in prof.counts if v in kprof.counts)
                    cover, back = found / prof.distinct, found / kprof.distinct
                    if cover < 0.9 and (back < 0.9 or required):
                        continue  # back: a lookup the other way round (leads -> their deal)
                    score = 0.5 * fit + 0.3 * max(cover, back) + 0.2 * (words(col) == words(
                        kcol))
                    lookup = {"source": other.file, "key": kcol, "value": vcol}
                    if other.sheet:
                        lookup["sheet"] = other.sheet
                    guess = Guess(col, round(score, 3), options={"lookup": lookup}, notes=[
                        f"{col} is looked up in {other.label}: its {vcol} gives {name}"])
                    if {"encoding", "delimiter"} & set(other.options):
                        guess.notes.append(f"TODO: {other.file} is not a plain UTF-8 CSV, and "
                                           "lookup: cannot say its encoding or delimiter")
                    if cover < 0.9:
                        guess.options["default"] = ""
                        guess.notes.append(f"only {found} of {prof.distinct} sampled values "
                                           f"are in {other.label}: default '' leaves the rest "
                                           "empty")
                    if best is None or score > best[0]:
                        best = (score, guess)
    return best[1] if best else None
