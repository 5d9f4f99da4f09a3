"""The statutory IND decision term by registration day: the schedule, its parsing, and the calendar cut by it.

The term is six months by default; in 2022 it was extended to fifteen months for applications whose six months
had not passed on 27 September 2022 and those lodged until the end of 2023 (DOMAIN.md). Past the term an
applicant may go to court for a decision; no penalty payment follows by itself. The schedule is configuration
(`CAPMON_DECISION_TERMS`), so a court ruling or a new law changes a setting, not the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import yaml

DEFAULT_TERM_DAYS = 183  # six months: the term for a registration day no schedule entry covers


@dataclass(frozen=True)
class DecisionTerm:
    """Registrations from `first` to `last` (both days inclusive) have `days` days for a decision."""

    first: date
    last: date
    days: int


DecisionTerms = tuple[DecisionTerm, ...]
# the nine-month extension: fifteen months (457 days) for registrations from 2022-03-27 to 2023-12-31
DEFAULT_DECISION_TERMS: DecisionTerms = (DecisionTerm(date(2022, 3, 27), date(2023, 12, 31), 457),)
EXAMPLE = '[{"from": "2022-03-27", "to": "2023-12-31", "days": 457}]'


def term_days(day: date, terms: DecisionTerms) -> int:
    """The term of a registration on `day`: the first entry that covers it wins, else six months."""
    for term in terms:
        if term.first <= day <= term.last:
            return term.days
    return DEFAULT_TERM_DAYS


@lru_cache(maxsize=16)
def segments(terms: DecisionTerms) -> tuple[tuple[int, int, int], ...]:
    """The calendar cut where the term changes, as (first day number, last day number, term days), covering every
    day: past term is then a few slices of the registration days by date, not a look-up per day (the backtest
    reads the backlog at every 5-minute grid point)."""
    edges = sorted({date.min.toordinal(), *(t.first.toordinal() for t in terms),
                    *(t.last.toordinal() + 1 for t in terms if t.last < date.max)})
    ends = [*(edge - 1 for edge in edges[1:]), date.max.toordinal()]
    return tuple((first, last, term_days(date.fromordinal(first), terms)) for first, last in zip(edges, ends,
                                                                                               strict=True))


def parse_decision_terms(value: object) -> DecisionTerms:
    """A schedule from YAML or JSON text (or already parsed): a list of {from, to, days}; ValueError says what
    is wrong in one line."""
    if isinstance(value, tuple) and all(isinstance(t, DecisionTerm) for t in value):
        return value
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value) if value.strip() else []
        except yaml.YAMLError:
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError(f"give a YAML or JSON list like {EXAMPLE}") from None
    if not isinstance(value, list | tuple):
        raise ValueError(f"give a YAML or JSON list like {EXAMPLE}")
    return tuple(_entry(i, entry) for i, entry in enumerate(value, 1))


def _entry(i: int, entry: object) -> DecisionTerm:
    if isinstance(entry, DecisionTerm):
        return entry
    if not isinstance(entry, dict) or set(entry) != {"from", "to", "days"}:
        raise ValueError(f"entry {i} must have exactly the keys from, to and days, like {EXAMPLE}")
    first, last = _day(i, "from", entry["from"]), _day(i, "to", entry["to"])
    days = entry["days"]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        raise ValueError(f"entry {i}: days must be a whole number from 1 to 3650")
    if last < first:
        raise ValueError(f"entry {i}: to ({last}) is before from ({first})")
    return DecisionTerm(first, last, days)


def _day(i: int, key: str, value: object) -> date:
    if isinstance(value, date):  # YAML reads an unquoted 2022-03-27 as a date
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"entry {i}: {key} must be a day as YYYY-MM-DD, not {value!r}") from None
