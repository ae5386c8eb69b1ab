"""Reshaping raw exports the way a mapping says: unpivot, lookups, distinct rows, months.

Each step keeps the source row number of every record (the ``_source_row`` column), so a
later problem still points at the row a user can open, and says in a note what it did.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from salesnb.errors import Problem
from salesnb.io.mapping_spec import ColumnSpec, Lookup, TableSpec
from salesnb.io.validation import ROW
from salesnb.io.values import is_missing

if TYPE_CHECKING:
    from salesnb.io.sources import DataLocation


def unpivot(frame: pd.DataFrame, spec: TableSpec, label: str
            ) -> tuple[pd.DataFrame, list[Problem], int]:
    """Wide columns into rows (``unpivot:``); empty cells of the wide columns give no row.

    With ``matches:`` holding a group (``'^spend_(.*)$'``), the group's text names each row
    (``spend_email`` gives ``email``); otherwise the whole column name does.

    Returns
    -------
    tuple
        The long frame, problems (a named column missing, nothing matched) and the number of
        empty wide cells left out.
    """
    rule = spec.unpivot
    assert rule is not None
    if rule.matches is not None:
        pattern = re.compile(rule.matches)
        wide = [c for c in frame.columns if c != ROW and pattern.search(str(c))]
    else:
        wide = list(rule.columns)
    absent = [c for c in wide if c not in frame.columns]
    if absent or not wide:
        what = (f"no column matches {rule.matches!r}" if not wide
                else "unpivot names a column the source does not have")
        return frame, [Problem(spec.table, what, source=label, column=", ".join(absent) or None,
                               hint=f"columns in the source are: {list(frame.columns)[:30]}")], 0
    keep = [c for c in frame.columns if c not in wide]
    long = frame.melt(id_vars=keep, value_vars=wide, var_name=rule.names_to,
                      value_name=rule.values_to)
    if rule.matches is not None and pattern.groups:  # '^spend_(.*)$': the group names the row
        found = {c: pattern.search(str(c)) for c in wide}  # every wide column matched
        names = {c: (m.group(1) if m else None) or str(c) for c, m in found.items()}
        long[rule.names_to] = long[rule.names_to].map(names)
    empty = is_missing(long[rule.values_to])
    long = long[~empty].sort_values([ROW, rule.names_to], kind="stable")
    return long.reset_index(drop=True), [], int(empty.sum())


def looked_up(raw: pd.Series, spec: ColumnSpec, frame: pd.DataFrame, table: str, label: str,
              location: DataLocation) -> tuple[pd.Series, list[Problem], str]:
    """The column's values translated through ``lookup:`` (the other file's key -> value).

    A present value the other file does not have is a problem (its rows listed), unless the
    column has a ``default:``; a key the other file gives two different values is a problem.
    Also returns the other file's digest (it is an input of the dataset's fingerprint).
    """
    rule = spec.lookup
    assert rule is not None
    pairs, problems, digest = _lookup_table(rule, table, location)
    if pairs is None:
        return raw, problems, digest
    keys = raw.astype("string").str.strip()
    values = keys.map(pairs)
    unmatched = ~is_missing(raw) & values.isna()
    if unmatched.any() and not spec.has_default:
        problems.append(Problem(
            table, f"value not found in {rule.source} column {rule.key!r}", source=label,
            column=spec.column, rows=sorted(int(r) for r in frame.loc[unmatched, ROW]),
            examples=tuple(pd.unique(keys[unmatched]))[:3],
            hint=f"add the missing rows to {rule.source}, correct the values, or give "
                 "default: for values the lookup does not know"))
    return values.astype(object).where(~unmatched, None), problems, digest


def _lookup_table(rule: Lookup, table: str, location: DataLocation
                  ) -> tuple[dict[str, str] | None, list[Problem], str]:
    from salesnb.io.sources import SourceProblem

    spec = TableSpec(table=table, columns={}, source=rule.source, sheet=rule.sheet,
                     encoding=rule.encoding, delimiter=rule.delimiter)
    try:
        other = location.read(spec)
    except SourceProblem as exc:
        return None, [exc.problem], ""
    absent = [c for c in (rule.key, rule.value) if c not in other.frame.columns]
    if absent:
        return None, [Problem(table, "the lookup names a column its file does not have",
                              source=other.label, column=absent[0],
                              hint=f"columns there are: {list(other.frame.columns)[:30]}")], ""
    both = other.frame[[rule.key, rule.value]].astype("string").apply(lambda c: c.str.strip())
    both = both[~is_missing(both[rule.key])].drop_duplicates()
    clashing = both[rule.key].duplicated(keep=False)
    if clashing.any():
        return None, [Problem(
            table, f"the lookup key {rule.key!r} has several {rule.value!r} values",
            source=other.label, column=rule.key,
            rows=sorted(int(i) + other.first_row for i in both.index[clashing]),
            examples=tuple(pd.unique(both.loc[clashing, rule.key]))[:3],
            hint="a lookup needs one value per key; fix the file or map the column directly")], ""
    return dict(zip(both[rule.key], both[rule.value], strict=True)), [], other.digest


def distinct_rows(out: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows that repeat another row in every canonical column dropped (``distinct: true``)."""
    repeated = out.drop(columns=ROW).astype(object).duplicated(keep="first")
    return out[~repeated], int(repeated.sum())


MONTH_KEYS = ("period", "team_id", "tactic")


def months(out: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Spend rows of the same month, team and tactic summed into one (``aggregate: month``).

    ``period`` is already the first day of its month; ``programme``/``strategy`` come from the
    first row of each month. Returns the frame and how many rows were summed away.
    """
    keys = [k for k in MONTH_KEYS if k in out]
    groups = out.groupby(keys, dropna=False, sort=False)
    summed = out.assign(cost=groups["cost"].transform(lambda c: c.sum(min_count=1)))
    first = ~summed.duplicated(keys, keep="first")
    return summed[first], int((~first).sum())
