"""Small cells: which counts by nationality and outcome capmon may publish (CONTRACT.md section 4).

A count of three Eritreans rejected says something about those three persons. So every published cell
(nationality x outcome) is 0 or at least MIN_CELL, and no withheld cell can be worked out from what is
published, the national totals per outcome included (`capmon_decisions_total{outcome}` is published whole):

- a nationality is shown on its own only when every cell of its row is 0 or at least MIN_CELL, in the
  first-instance decisions and in the other decisions alike (the all-decisions count minus the first-instance
  one must not be a small cell either), and it is among the MAX_GROUPS largest (this bounds the series);
- the other rows are folded whole into `other`, so `other` stays one population with a meaningful grant rate;
- `other` per outcome is the national total minus the shown rows, so anyone can work it out: whenever it
  would be between 1 and MIN_CELL - 1, the shown row with the least in that column is folded too
  (secondary suppression), until it is 0 or at least MIN_CELL. Only when no shown row has any in that
  column is a small `other` cell left; it equals the national total, and is withheld all the same.

A 0 is published: the rule itself tells a reader that a shown nationality has no small cell, so hiding its
zeros would protect nothing. Pure: a function of the counts, used by every read-out (the API, `/metrics`,
the status page) through `readmodel.Figures`, so none of them can publish a cell the others withhold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MIN_CELL = 10  # the least count published for a nationality and outcome (CONTRACT.md section 4)
MAX_GROUPS = 40  # at most this many nationalities have their own series; the rest are `other`
OTHER = "other"
OUTCOMES = ("granted", "rejected", "dublin", "withdrawn", "other")  # CONTRACT.md section 2

Table = Mapping[tuple[str, str], int]  # (outcome, nationality) -> decisions


@dataclass(frozen=True)
class Release:
    """What may be published of the decisions by nationality. `groups`: the nationalities shown on their own
    (largest first), then `other`. The tables hold every published (outcome, group) cell, zeros included, for
    every group and outcome; a cell that is not there is withheld."""

    groups: tuple[str, ...]
    decisions: dict[tuple[str, str], int]  # all decisions
    first_instance: dict[tuple[str, str], int]  # first-instance asylum decisions (the grant rate's basis)

    def complete(self, group: str) -> bool:
        """Whether every first-instance cell of `group` is published (only then are its rate and its row
        total published: a rate's denominator with a withheld cell in it would give that cell away)."""
        return all((outcome, group) in self.first_instance for outcome in OUTCOMES)


def release(decisions: Table, first_instance: Table, min_cell: int = MIN_CELL,
            max_groups: int = MAX_GROUPS) -> Release:
    """The publishable cells of the decisions and the first-instance decisions by nationality (module doc)."""
    later = Counter({key: max(0, n - first_instance.get(key, 0)) for key, n in decisions.items()})
    parts = (Counter(first_instance), later)
    shown = _shown(parts, (*parts, Counter(decisions)), min_cell, max_groups)
    return Release((*shown, OTHER), _publish(decisions, shown, min_cell),
                   _publish(first_instance, shown, min_cell))


def _shown(parts: Sequence[Counter[tuple[str, str]]], tables: Sequence[Counter[tuple[str, str]]], min_cell: int,
           max_groups: int) -> list[str]:
    """The nationalities shown on their own, largest first: primary suppression (a small cell in any of the
    disjoint `parts` folds its whole row), then secondary (fold rows until no `other` column of any of the
    `tables` that can be worked out, the parts and their sum, is small, unless no shown row has any in it)."""
    sizes: Counter[str] = Counter()
    for table in tables:
        for (_outcome, nationality), n in table.items():
            sizes[nationality] += n
    small = {nat for part in parts for (_outcome, nat), n in part.items() if 0 < n < min_cell}
    ranked = sorted(sizes, key=lambda nat: (-sizes[nat], nat))
    shown = [nat for nat in ranked if nat not in small and nat != OTHER][:max_groups]
    while True:
        fold = _to_fold(tables, set(shown), sizes, min_cell)
        if fold is None:
            return shown
        shown.remove(fold)


def _to_fold(tables: Sequence[Counter[tuple[str, str]]], shown: set[str], sizes: Counter[str],
             min_cell: int) -> str | None:
    """A shown nationality whose folding helps a small `other` column: the one with the least in it."""
    for table in tables:
        remainder: Counter[str] = Counter()
        for (outcome, nationality), n in table.items():
            if nationality not in shown:
                remainder[outcome] += n
        for outcome in sorted(remainder):
            if 0 < remainder[outcome] < min_cell:
                holders = [(table[(outcome, nat)], sizes[nat], nat) for nat in shown if table.get((outcome, nat), 0)]
                if holders:
                    return min(holders)[2]
    return None


def _publish(table: Table, shown: Sequence[str], min_cell: int) -> dict[tuple[str, str], int]:
    """Every cell of the shown rows and of `other` (the rest summed), a cell of `other` only if 0 or at least
    `min_cell` (the rows' cells are so by construction; checked again here, so no caller can publish one)."""
    groups = set(shown)
    counts: Counter[tuple[str, str]] = Counter()
    for (outcome, nationality), n in table.items():
        counts[(outcome, nationality if nationality in groups else OTHER)] += n
    published = {}
    for group in (*shown, OTHER):
        for outcome in OUTCOMES:
            n = counts[(outcome, group)]
            if n == 0 or n >= min_cell:
                published[(outcome, group)] = n
    return published
