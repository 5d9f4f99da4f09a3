"""Small cells (CONTRACT.md section 4): the pure release of the cells by nationality, its properties, the cases
the review found, and that no counter goes down while the decisions only grow."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from readout.collectors import FiguresCollector
from streams.contract.records.figures import PartitionSummary, partition_key
from streams.state.cells import MIN_CELL, OTHER, OUTCOMES, Release, release
from streams.state.readmodel import Figures
from streams.state.register import Register
from streams.state.totals import Totals
from streams.state.view import FiguresView
from tests.support.examples import examples

NATIONALITIES = ("SYR", "ERI", "AFG", "TUR", "MDA", "DZA", "YEM")
Cell = tuple[str, str]

cells = st.tuples(st.sampled_from(OUTCOMES), st.sampled_from(NATIONALITIES))
# Counts drawn around the threshold, where it matters: many 0-12, some larger.
counts = st.one_of(st.integers(0, 12), st.integers(0, 60))
tables = st.dictionaries(cells, counts, max_size=25).map(Counter)


@st.composite
def decisions(draw: st.DrawFn) -> tuple[Counter[Cell], Counter[Cell]]:
    """(all decisions, first-instance decisions): the first-instance ones are a part of all."""
    first, later = draw(tables), draw(tables)
    return first + later, first


def column(table: Counter[Cell], outcome: str, nationalities: object) -> int:
    return sum(n for (o, nat), n in table.items() if o == outcome and nat in nationalities)  # type: ignore[operator]


def check(release_: Release, table: Counter[Cell], name: str, derived: bool = False) -> None:
    """What the contract asks of one published table, given that its national totals per outcome are published.
    `derived`: a table a reader can work out from two published ones; its `other` may then be small where it
    is the national total (no shown nationality has any in the column): that much the national totals say."""
    published: dict[Cell, int] = getattr(release_, name)
    shown = set(release_.groups) - {OTHER}
    everyone = {nat for _o, nat in table}
    folded = everyone - shown
    # No published cell is small (a 0 says no more than the rule: a shown nationality has no small cell).
    assert all(n == 0 or n >= MIN_CELL or (derived and g == OTHER and column(table, o, shown) == 0)
               for (o, g), n in published.items()), published
    # Only the groups are labels; a shown nationality has every cell published, exact: no row can be recovered.
    assert {g for _o, g in published} <= set(release_.groups)
    for nat in shown:
        assert all(published[(o, nat)] == table[(o, nat)] for o in OUTCOMES)
    for outcome in OUTCOMES:
        # The withheld cells of a column sum to what `other` holds: national total minus the shown cells.
        withheld = column(table, outcome, folded)
        assert withheld == column(table, outcome, everyone) - sum(published[(outcome, nat)] for nat in shown)
        if (outcome, OTHER) in published:
            assert published[(outcome, OTHER)] == withheld
        # Not recoverable: the withheld cells of a column sum to 0 or to at least 10, or (nothing left to fold:
        # no shown nationality has any in the column) to the national total itself, which is published whole.
        assert withheld == 0 or withheld >= MIN_CELL or column(table, outcome, shown) == 0, (outcome, withheld)


@given(decisions())
@settings(max_examples=examples(400), deadline=None)
def test_no_published_cell_is_small_and_no_withheld_cell_can_be_recovered(tables_: tuple):
    everything, first = tables_
    out = release(everything, first)
    check(out, everything, "decisions")
    check(out, first, "first_instance")
    # Nor from the difference of the two tables (all decisions minus the first-instance ones).
    difference = {k: n - out.first_instance[k] for k, n in out.decisions.items() if k in out.first_instance}
    check(Release(out.groups, difference, {}), everything - first, "decisions", derived=True)


@given(decisions())
@settings(max_examples=examples(200), deadline=None)
def test_a_rate_is_published_only_from_published_cells(tables_: tuple):
    everything, first = tables_
    totals = Totals(decisions=everything, first_instance=first)
    figures = Figures(totals, Register(), None)
    for group, rate in figures.grant_rates.by_nationality.items():
        cells_ = {o: figures.first_instance_by_nationality[(o, group)] for o in OUTCOMES}  # KeyError: withheld
        assert rate.decisions == sum(cells_.values()) and rate.decisions >= MIN_CELL
        granted, rejected = cells_["granted"], cells_["rejected"]
        assert rate.without_dublin == (granted / (granted + rejected) if granted + rejected else None)
    overall = figures.grant_rates.overall  # national: exact, whatever is withheld
    assert overall.decisions == sum(first.values())


def test_rejected_eri_1_with_9_granted_is_not_published():
    everything = Counter({("granted", "SYR"): 40, ("rejected", "SYR"): 20, ("granted", "ERI"): 9,
                          ("rejected", "ERI"): 1, ("granted", "AFG"): 5, ("rejected", "AFG"): 12})
    out = release(everything, everything)
    assert "ERI" not in out.groups and "AFG" not in out.groups  # each has a small cell: folded whole
    assert out.decisions[("granted", OTHER)] == 14 and out.decisions[("rejected", OTHER)] == 13
    assert out.decisions[("granted", "SYR")] == 40 and out.groups == ("SYR", OTHER)


def test_other_of_one_small_nationality_takes_more_nationalities_or_shows_no_rate():
    # `other` would be ERI alone, 5 granted and 3 rejected: small, and the national totals minus SYR give it
    # away. SYR is folded too (secondary suppression): `other` is everyone, and no ERI figure can be told.
    everything = Counter({("granted", "SYR"): 30, ("rejected", "SYR"): 10, ("granted", "ERI"): 5,
                          ("rejected", "ERI"): 3})
    out = release(everything, everything)
    assert out.groups == (OTHER,)
    assert out.first_instance[("granted", OTHER)] == 35 and out.first_instance[("rejected", OTHER)] == 13
    rates = Figures(Totals(decisions=everything, first_instance=everything), Register(), None).grant_rate
    assert rates == {OTHER: 35 / 48}
    # With nothing to fold, a small `other` (the national total itself) is withheld, and so is its rate.
    alone = Counter({("granted", "ERI"): 5, ("rejected", "ERI"): 3})
    assert release(alone, alone).first_instance == {(o, OTHER): 0 for o in ("dublin", "withdrawn", "other")}
    assert Figures(Totals(decisions=alone, first_instance=alone), Register(), None).grant_rate == {}


def test_the_difference_of_all_and_first_instance_decisions_is_no_small_cell_either():
    # SYR's first-instance grants (40) and all grants (43) would each be large; their difference (3 nareis
    # grants) is not: SYR goes into `other`, with enough others to hide it.
    first = Counter({("granted", "SYR"): 40, ("granted", "AFG"): 30, ("granted", "TUR"): 20})
    everything = first + Counter({("granted", "SYR"): 3, ("granted", "AFG"): 10})
    out = release(everything, first)
    assert "SYR" not in out.groups
    assert out.decisions[("granted", OTHER)] - out.first_instance[("granted", OTHER)] == 3 + 10


def test_at_most_forty_nationalities_are_shown():
    many = Counter({("granted", f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}"): 10 + i for i in range(60)})
    out = release(many, many)
    assert len(out.groups) == 41 and out.groups[-1] == OTHER
    assert out.decisions[("granted", OTHER)] == sum(10 + i for i in range(20))  # the 20 smallest


def scrape(view: FiguresView) -> list[Metric]:
    registry = CollectorRegistry()
    registry.register(FiguresCollector(view))
    return list(registry.collect())


# Few nationalities and outcomes, long sequences: nationalities cross the threshold, `other` shrinks.
arrivals = st.lists(st.tuples(st.tuples(st.sampled_from(OUTCOMES[:3]), st.sampled_from(NATIONALITIES[:3])),
                              st.booleans()), min_size=20, max_size=90)


@given(arrivals)
@settings(max_examples=examples(60), deadline=None)
def test_counters_never_go_down_while_decisions_only_grow(steps: list):
    """Decisions arrive one by one (some first-instance); after each, every counter on /metrics is at least what
    it was. The figures that move between a nationality and `other` are gauges."""
    totals = Totals()
    view = FiguresView()
    seen: dict[tuple, float] = {}
    for i, (cell, first) in enumerate(steps):
        totals.decisions[cell] += 1
        if first:
            totals.first_instance[cell] += 1
        summary = PartitionSummary(1_688_200_000_000_000 + i, {"decisions": i + 1}, totals)
        view.apply(partition_key(0), summary.encode())
        for family in scrape(view):
            if "nationality" in {label for sample in family.samples for label in sample.labels}:
                assert family.type == "gauge", family.name
            if family.type != "counter":
                continue
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                assert sample.value >= seen.get(key, 0), (key, seen.get(key), sample.value)
                seen[key] = sample.value
    assert ("capmon_decisions_total", (("outcome", steps[-1][0][0]),)) in seen  # the national counter is there
