"""Guessing for :mod:`salesnb.io.propose`: what a sampled source column holds (dates and their
format, numbers and their style, flags, categories, ids) and how well it fits a canonical field.

Every guess here is a proposal for a person to check: the mapping written from it is explicit,
and loading never guesses (see docs/mapping.md).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from salesnb.io.schema import Field
from salesnb.io.values import FALSE_TOKENS, MISSING_TOKENS, TRUE_TOKENS

DATE_FORMATS: tuple[str | None, ...] = (
    None, "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%b %Y", "%B %Y", "%m/%d/%y",
    "%d/%m/%y", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%d-%m-%Y")
"""Date formats tried in order; None is ISO (``2024-02-15``, ``2024-02``), the default."""
DAY_MONTH_PAIRS = {("%m/%d/%Y", "%d/%m/%Y"), ("%m/%d/%y", "%d/%m/%y")}
TOTAL_WORDS = {"total", "totals", "grand total", "subtotal", "sub total"}
CURRENCY = re.compile(r"[$€£¥]|\b[A-Z]{3}\b|\s")
NUMBER_PATTERNS = {
    "us": re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^-?\.\d+$"),
    "eu": re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$|^-?,\d+$"),
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    # canonical field -> header spellings, best first; ":0.6" weakens a loose one
    "deal_id": ("deal id", "opportunity id", "opp id", "opportunity", "deal", "opportunity number",
                "deal number", "converted opportunity id", "converted deal id"),
    "lead_id": ("lead id", "lead", "prospect id", "lead number", "contact id:0.6"),
    "team_id": ("team", "team id", "sales team", "owner team", "team name", "squad",
                "department:0.4", "manager:0.7", "sales unit:0.8"),
    "leader_id": ("leader", "leader id", "manager", "manager id", "sales manager",
                  "team lead", "supervisor", "reports to", "head:0.6"),
    "rep_id": ("rep", "rep id", "sales rep", "sales agent", "agent", "owner", "owner id",
               "opportunity owner id", "lead owner", "salesperson", "employee id:0.8",
               "employee number:0.8", "employee:0.7", "seller"),
    "customer_id": ("customer id", "customer", "account id", "account", "company", "client",
                    "account name:0.8", "company name:0.8"),
    "tactic": ("tactic", "lead source", "source", "channel", "marketing channel", "product:0.7",
               "campaign type:0.8", "utm source:0.8", "medium:0.6"),
    "outcome": ("outcome", "stage", "deal stage", "status", "result", "opportunity stage"),
    "stage": ("stage", "status", "lead status", "lead stage"),
    "close_date": ("close date", "close", "closed", "closed date", "closed on", "won date"),
    "created_date": ("created date", "created", "engage date", "create date", "created on",
                     "date created", "lead date", "opened", "creation date"),
    "amount": ("amount", "value", "close value", "deal value", "deal amount", "revenue:0.7"),
    "period": ("period", "month", "week", "date:0.8", "week start", "week of", "day:0.7"),
    "cost": ("cost", "spend", "budget", "costs", "amount:0.5", "total cost"),
    "programme": ("programme", "program", "campaign"),
    "strategy": ("strategy",),
    "hire_date": ("hire date", "hired", "start date", "date of hire", "joined", "hire",
                  "years at company:0.8"),
    "exit_date": ("exit date", "termination date", "termination", "exit", "left", "leave date",
                  "end date", "attrition:0.8"),
    "annual_cost": ("annual cost", "salary", "annual salary", "compensation", "annual cost usd",
                    "monthly income:0.8", "cost:0.6"),
    "role": ("role", "job role", "job title:0.8", "position:0.8"),
    "region": ("region", "regional office", "office", "territory", "area", "geo"),
    "segment": ("segment",),
    "industry": ("industry", "sector"),
    "title": ("title", "job title", "position:0.8", "job role:0.7"),
    "decision_style": ("decision style", "decision score", "style", "decision making"),
    "involvement": ("involvement", "involvement style", "approach", "management approach"),
    "industry_years": ("industry years", "years in industry", "experience", "years of experience",
                       "total working years:0.8"),
    "admin_share": ("admin share", "admin time", "admin"),
    "training_hours": ("training hours", "training"),
    "recognition": ("recognition", "recognition program"),
    "effective_date": ("effective date", "effective", "from", "since", "change date"),
    "touch_date": ("touch date", "activity date", "interaction date", "touch"),
}
QUANTITY_WORDS = {"years", "year", "count", "hours", "share", "rate", "percent", "pct", "score",
                  "days", "amount", "total", "sum", "avg", "average", "cost", "value", "price"}
STYLE_WORDS = {"autocratic": r"autocr|direct|command|top.?down",
               "consultative": r"consult", "collaborative": r"collab|democr|particip",
               "hands_on": r"hands|involved|micro", "delegating": r"delegat",
               "hybrid": r"hybrid|mix|both|balance", "won": r"\bwon\b|\bwin\b",
               "lost": r"\blost\b|\blose\b|dead|disqualif", "open": r"open|progress"}


@dataclass
class DateGuess:
    """A date column: its format (None = ISO or real dates), the other formats that also fit,
    and how often it repeats within a month (``weekly``/``daily`` or None).
    """

    format: str | None
    ambiguous: tuple[str, ...] = ()
    native: bool = False
    grain: str | None = None


@dataclass
class NumberGuess:
    """A number column: style (us/eu), currency seen, ``%`` signs, range, whole numbers."""

    style: str = "us"
    currency: tuple[str, ...] = ()
    percent: bool = False
    low: float = 0.0
    high: float = 0.0
    integer: bool = True
    ambiguous: bool = False


@dataclass
class ColumnProfile:
    """What a sampled source column holds."""

    name: str
    values: list[Any]
    rows: int
    date: DateGuess | None = None
    number: NumberGuess | None = None
    boolean: bool = False
    counts: Counter = field(default_factory=Counter)

    @property
    def distinct(self) -> int:
        """Number of distinct non-empty values."""
        return len(self.counts)

    @property
    def unique(self) -> bool:
        """True when every non-empty value occurs once (and some occur)."""
        return bool(self.values) and self.distinct == len(self.values)

    def seen(self, limit: int = 12) -> list[str]:
        """The most frequent values as text, most frequent first."""
        return [v for v, _ in self.counts.most_common(limit)]


def text_of(value: Any) -> str:
    """A raw value as the text a person sees (``101.0`` from a spreadsheet as ``101``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value == datetime(value.year, value.month, value.day):
        return value.date().isoformat()
    return str(value).strip()


def profile_column(name: str, raw: list[Any]) -> ColumnProfile:
    """Profile one column from its sampled raw values (cells as read, text or typed).

    Parameters
    ----------
    name : str
        The source column's header.
    raw : list
        The sampled cells; empty cells, missing-value tokens and "Total" labels are ignored.

    Returns
    -------
    ColumnProfile
    """
    values = [v for v in raw if not _is_blank(v) and text_of(v).casefold() not in TOTAL_WORDS]
    profile = ColumnProfile(name, values, len(raw), counts=Counter(text_of(v) for v in values))
    if values:
        profile.date = detect_date_format(values)
        profile.number = None if profile.date else detect_number(values)
        folded = {text_of(v).casefold() for v in values}
        profile.boolean = len(folded) <= 2 and folded <= (TRUE_TOKENS | FALSE_TOKENS)
    return profile


def _is_blank(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return True
    return str(value).strip().casefold() in MISSING_TOKENS


def parse_date(value: Any, fmt: str | None) -> date | None:
    """A cell read as a date with ``fmt`` (None: ISO text or a real date), or None."""
    if isinstance(value, datetime | date):  # pandas Timestamps are datetimes
        return value.date() if isinstance(value, datetime) else value
    if isinstance(value, int | float):
        return None
    text = str(value).strip()
    try:
        if fmt is not None:
            return datetime.strptime(text, fmt).date()
        if len(text) >= 10 and text[4] == "-":
            return date.fromisoformat(text[:10])
        return datetime.strptime(text, "%Y-%m").date() if len(text) in (6, 7) else None
    except ValueError:
        return None


def detect_date_format(values: list[Any]) -> DateGuess | None:
    """The first date format that parses every value, or None if the values are not dates.

    Parameters
    ----------
    values : list
        Non-empty sampled cells (text, or dates from a typed source).

    Returns
    -------
    DateGuess or None
        ``format`` is None for ISO text or real dates (the mapping's default);
        ``ambiguous`` lists day/month-swapped formats that parse every value too;
        ``grain`` is ``weekly`` or ``daily`` when several distinct dates fall in one month.
    """
    if all(isinstance(v, datetime | date) for v in values):
        return DateGuess(None, native=True, grain=_grain([parse_date(v, None) for v in values]))
    distinct = list(dict.fromkeys(v if isinstance(v, datetime | date) else str(v).strip()
                                  for v in values))
    fitting = []
    for fmt in DATE_FORMATS:
        parsed = []
        for value in distinct:  # stop at the first value the format cannot read
            parsed.append(parse_date(value, fmt))
            if parsed[-1] is None:
                break
        else:
            fitting.append((fmt, parsed))
    if not fitting:
        return None
    fmt, parsed = fitting[0]
    others = tuple(f for f, _ in fitting[1:] if (fmt, f) in DAY_MONTH_PAIRS and f is not None)
    return DateGuess(fmt, ambiguous=others, grain=_grain(parsed))


def _grain(days: list[date | None]) -> str | None:
    distinct = sorted({d for d in days if d is not None})
    months = Counter((d.year, d.month) for d in distinct)
    if len(distinct) < 3 or max(months.values()) < 2:
        return None
    gaps = sorted((b - a).days for a, b in zip(distinct, distinct[1:], strict=False))
    median = gaps[len(gaps) // 2]
    return "daily" if median <= 2 else "weekly" if median <= 8 else None


def parse_number(text: str, style: str) -> float | None:
    """A number written as text in style ``us`` or ``eu`` (currency, spaces, ``()``, ``%``
    handled as loading does), or None.
    """
    cleaned = CURRENCY.sub("", text).strip()
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    percent = cleaned.endswith("%")
    cleaned = cleaned.strip("()%")
    if not NUMBER_PATTERNS[style].match(cleaned):
        return None
    cleaned = cleaned.replace(",", "") if style == "us" else cleaned.replace(".", "").replace(
        ",", ".")
    number = float(cleaned) * (-1 if negative else 1)
    return number / 100 if percent else number


def detect_number(values: list[Any]) -> NumberGuess | None:
    """The number style that reads every value, or None if the values are not numbers.

    Parameters
    ----------
    values : list
        Non-empty sampled cells.

    Returns
    -------
    NumberGuess or None
        ``style`` is ``eu`` when ``us`` cannot read some value, or when both can and the
        currency is the euro; ``ambiguous`` says that a value such as ``1,234`` reads
        differently in the two styles and no currency tells which.
    """
    if any(isinstance(v, bool) for v in values):
        return None
    texts = list(dict.fromkeys(str(v).strip() for v in values if not isinstance(v, int | float)))
    styles = [s for s in ("us", "eu")
              if all(parse_number(str(t), s) is not None for t in texts)]
    if not styles:
        return None
    currency = sorted({m for t in texts for m in re.findall(r"[$€£¥]|\b[A-Z]{3}\b", str(t))})
    style = "eu" if len(styles) == 2 and currency in (["€"], ["EUR"]) else styles[0]
    numbers = [float(v) if isinstance(v, int | float) else parse_number(str(v), style) or 0.0
               for v in values]
    return NumberGuess(
        style=style, currency=tuple(currency),
        percent=any(str(t).strip().endswith("%") for t in texts),
        low=min(numbers), high=max(numbers), integer=all(n.is_integer() for n in numbers),
        ambiguous=len(styles) == 2 and not currency and any(
            re.search(r"\d[,.]\d{3}\b", str(t)) for t in texts))


def words(header: str) -> list[str]:
    """A header as lower-case words: ``YearsAtCompany`` and ``years_at-company`` both give
    ``['years', 'at', 'company']``.
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", re.sub(r"\(.*?\)", " ", header) or header)
    return re.sub(r"[^0-9a-z]+", " ", spaced.casefold()).split() or header.casefold().split()


def header_score(header: str, field_name: str) -> float:
    """How well a header names a field, 0-1 (1: an exact known spelling)."""
    head = words(header)
    if not head:
        return 0.0
    best = 0.0
    for rank, entry in enumerate((field_name.replace("_", " "), *SYNONYMS.get(field_name, ()))):
        spelling, _, weight = entry.partition(":")
        syn = spelling.split()
        if head == syn:
            score = 1.0
        elif set(head) & QUANTITY_WORDS - set(syn):
            continue  # "Years in Industry" is not the industry, "Lead Count" not a lead id
        elif set(syn) <= set(head):
            score = 0.6 + 0.3 * len(syn) / len(head)
            core = [w for w in head if w not in {"id", "name", "number", "code", "no"}]
            score += 0.1 if core and core[-1] == syn[-1] else -0.05
        else:
            continue
        best = max(best, min(score, 1.0) * float(weight or 1) - 0.005 * rank)
    return max(best, 0.0)


def content_fit(profile: ColumnProfile, fld: Field, is_key: bool) -> float:
    """How well a column's values fit a field's kind, 0 (impossible) to 1."""
    if not profile.values:
        return 0.1
    kind, num, heard = fld.kind, profile.number, " ".join(words(profile.name))
    if kind in ("date", "month"):
        if profile.date:
            return 1.0
        if num and "year" in heard:
            return 0.8  # years at company -> years_before
        return 0.7 if profile.boolean and fld.name == "exit_date" else 0.0
    if kind == "number":
        return 1.0 if num else 0.0
    if kind == "bool":
        return 1.0 if profile.boolean else 0.0
    if profile.date or (kind == "id" and num and not num.integer):
        return 0.05
    if kind == "id":
        return (1.0 if profile.unique else 0.3) if is_key else 0.8
    few = profile.distinct <= max(12, len(profile.values) // 5)
    if kind == "category" and fld.allowed:
        if num:
            return 0.8 if fld.name == "decision_style" and num.low >= 1 and num.high <= 10 else 0.1
        known = sum(1 for v in profile.counts if translate(v, fld.allowed) is not None)
        return (0.5 + 0.5 * known / profile.distinct) if few else 0.2
    if kind == "category":
        return 0.9 if few and not num else 0.3
    return 0.3 if num else 0.6


def translate(value: str, allowed: tuple[str, ...]) -> str | None:
    """The allowed category a source value most likely means, or None."""
    folded = re.sub(r"[\s\-]+", "_", value.strip().casefold())
    if folded in allowed:
        return folded
    hits = [a for a in allowed if a in STYLE_WORDS and re.search(STYLE_WORDS[a], value.casefold())]
    return hits[0] if len(hits) == 1 else None

