"""Property tests: the pure state logic equals the reference for any order, duplicates and late events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.events import parse_event
from streams.state.chain import ChainState
from streams.state.grouped import sum_by
from streams.state.occupancy import UNKNOWN, Occupancy
from streams.state.people import Person
from streams.state.readmodel import Figures, ind_backlog
from streams.state.totals import Totals
from tests.support.examples import examples
from tests.support.reference import expected_figures

AMS = ZoneInfo("Europe/Amsterdam")
# Around the spring DST change and a year boundary, so day and year edges are exercised.
BASES = [datetime(2023, 3, 24, tzinfo=AMS), datetime(2023, 12, 29, tzinfo=AMS)]
PERSONS = [f"p{i}" for i in range(6)]
SITES = {"L0": "NL-GR", "L1": "NL-GR", "L2": "NL-UT", "L3": "NL-ZH"}


@st.composite
def events(draw) -> list[dict]:
    base = draw(st.sampled_from(BASES))
    n = draw(st.integers(1, 40))
    out = []
    for i in range(n):
        # mostly within six days; some registrations months before, so every backlog band is reached
        when = base + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
        if draw(st.integers(0, 5)) == 0:
            when -= timedelta(days=draw(st.sampled_from([20, 40, 100, 200, 500])))
        stamp = when.astimezone(draw(st.sampled_from([AMS, ZoneInfo("UTC")]))).isoformat()
        common = {"event_id": f"e{i:03d}", "occurred_at": stamp}
        kind = draw(st.sampled_from(["registration", "decision", "placement", "placement", "location", "forecast"]))
        person = draw(st.sampled_from(PERSONS))
        if kind == "registration":
            body = {"person_id": person, "nationality": "SYR", "unaccompanied_minor": draw(st.booleans()),
                    "application_type": draw(st.sampled_from(["first", "repeat", "relocation", "resettlement"]))}
        elif kind == "decision":
            body = {"person_id": person, "nationality": "SYR",
                    "outcome": draw(st.sampled_from(["granted", "rejected", "dublin"]))}
        elif kind == "placement":
            action = draw(st.sampled_from(["check_in", "transfer", "check_out"]))
            body = {"person_id": person, "action": action,
                    "location_id": draw(st.sampled_from([*SITES, "UNREGISTERED"]))}
            if action == "check_out":
                body["reason"] = "housed"
        elif kind == "location":
            loc = draw(st.sampled_from(list(SITES)))
            body = {"location_id": loc, "name": loc, "province": SITES[loc],
                    "location_type": draw(st.sampled_from(["regular", "application_centre", "emergency", "amv"])),
                    "capacity": draw(st.integers(0, 5)), "status": draw(st.sampled_from(["open", "closed"]))}
            if draw(st.booleans()):
                body["norm"] = draw(st.integers(0, 4))
        else:
            year = draw(st.sampled_from([2023, 2024]))
            body = {"forecast_id": f"MPP-{year}", "year": year,
                    "scenarios": {"min": 100, "medio": draw(st.integers(100, 200)), "max": 300}}
            if draw(st.booleans()):
                body["monthly_profile"] = [draw(st.integers(1, 5)) for _ in range(12)]
        out.append({"event_type": kind, **common, **body})
    return out


@st.composite
def deliveries(draw) -> tuple[list[dict], list[dict]]:
    """The events, and a delivery of them: shuffled, with some delivered two or three times."""
    evs = draw(events())
    delivered = evs + [e for e in evs if draw(st.integers(0, 3)) == 0] * draw(st.integers(1, 2))
    return evs, draw(st.permutations(delivered))


def run(delivered: list[dict]) -> ChainState:
    state = ChainState()
    for e in delivered:
        state.apply(parse_event(json.dumps(e)))
    return state


def grant_rates_of(totals: Totals):
    return Figures(totals, ChainState().register, None).grant_rates.overall


def check(state: ChainState, expected: dict) -> None:
    figures = Figures(state.totals, state.register, state.watermark_us)
    occ = figures.occupancy
    assert occ.national.occupancy == expected["national"]["occupancy"]
    assert occ.national.capacity == expected["national"]["capacity"]
    assert occ.national.headroom == expected["national"]["headroom"]
    assert occ.national.permit_holders == expected["permit_holders"]
    got_locations = {k: {"occupancy": v.occupancy, "capacity": v.capacity, "headroom": v.headroom,
                         "province": v.province} for k, v in occ.locations.items()}
    expected_locations = {k: v for k, v in expected["locations"].items() if v["occupancy"] or k in SITES}
    assert {k: v for k, v in got_locations.items() if v["occupancy"] or k in SITES} == expected_locations
    got_provinces = {k: {"occupancy": v.occupancy, "capacity": v.capacity, "headroom": v.headroom}
                     for k, v in occ.provinces.items() if v.occupancy or v.capacity or k != "unknown"}
    assert got_provinces == {k: v for k, v in expected["provinces"].items()
                             if v["occupancy"] or v["capacity"] or k != "unknown"}
    assert {k: getattr(occ.transfer, k) for k in ("occupancy", "capacity", "headroom")} == expected["transfer"]
    got_types = {t: {k: getattr(a, k) for k in ("occupancy", "capacity", "headroom")}
                 for t, a in occ.location_types.items() if a.occupancy or a.capacity}
    assert got_types == {t: v for t, v in expected["location_types"].items() if v["occupancy"] or v["capacity"]}
    assert {k: (v.norm, v.over_norm) for k, v in occ.locations.items() if v.norm is not None} == expected["norms"]
    if "backlog" in expected:
        backlog = ind_backlog(state.totals, state.watermark_us)
        assert {"total": backlog.total, "overdue": backlog.overdue, "past_term": backlog.past_term,
                "by_waiting": backlog.bands} == expected["backlog"]
    rates = grant_rates_of(state.totals)
    assert rates.decisions == expected["grant_rates"]["decisions"]
    for kind in ("without_dublin", "with_dublin"):
        got, want = getattr(rates, kind), expected["grant_rates"][kind]
        assert (got is None and want is None) or abs(got - want) < 1e-9
    flow = figures.inflow
    assert flow.now == expected["now"]
    assert flow.ytd == expected["inflow_ytd"]
    assert flow.rolling == expected["rolling"]
    if "expected" in expected:
        for scenario, value in expected["expected"].items():
            assert abs(flow.expected_ytd[scenario] - value) < 1e-6
        need = figures.capacity_need
        assert need is not None
        for scenario, value in expected["capacity_need"].items():
            assert abs(need.need[scenario] - value) < 1e-6, (scenario, need.need[scenario], value)
    else:
        assert flow.expected_ytd == {}


@settings(max_examples=examples(300), deadline=None)
@given(deliveries())
def test_figures_equal_the_reference_for_any_delivery(case):
    evs, delivered = case
    check(run(delivered), expected_figures(evs))


@settings(max_examples=examples(150), deadline=None)
@given(deliveries(), st.integers(2, 4))
def test_partitions_by_person_sum_to_the_whole(case, n_parts):
    """Workers that each own some persons' events (plus the whole register) add up to the exact figures."""
    evs, delivered = case
    parts = [ChainState() for _ in range(n_parts)]
    for e in delivered:
        event = parse_event(json.dumps(e))
        if e["event_type"] in ("location", "forecast"):
            for part in parts:
                part.apply(event)
        else:
            parts[PERSONS.index(e["person_id"]) % n_parts].apply(event)
    merged = ChainState(register=parts[0].register,
                        watermark_us=max((p.watermark_us for p in parts if p.watermark_us), default=None))
    for part in parts:
        merged.totals = merged.totals.merge(part.totals)
    merged_people = {k: v for part in parts for k, v in part.people.items()}
    assert Totals.of(merged_people.values()) == merged.totals  # totals rebuild from the person table exactly
    check(merged, expected_figures(evs))


def test_duplicates_are_reported_and_change_nothing():
    e = {"event_type": "placement", "event_id": "x1", "occurred_at": "2023-05-01T10:00:00Z", "person_id": "p",
         "action": "check_in", "location_id": "L0"}
    later = {**e, "event_id": "x2", "occurred_at": "2023-05-02T10:00:00Z", "action": "transfer",
             "location_id": "L1"}
    state = ChainState()
    assert state.apply(parse_event(json.dumps(e))) == "accepted"
    assert state.apply(parse_event(json.dumps(later))) == "accepted"
    snapshot = (dict(state.people), state.totals.occupancy.copy())
    assert state.apply(parse_event(json.dumps(e))) == "duplicate"
    assert state.apply(parse_event(json.dumps(later))) == "duplicate"
    assert (dict(state.people), state.totals.occupancy) == snapshot
    assert state.people["p"].location == "L1"
    assert Person().location is None


@settings(max_examples=examples(60), deadline=None)
@given(deliveries())
def test_sums_per_province_and_type_kept_as_people_move_equal_summing_every_location(case):
    """The sums the totals keep up to date (read after every event, so they are moved, not made again) equal
    adding up every location afresh, through register changes and unregistered locations."""
    _evs, delivered = case
    state = ChainState()
    for e in delivered:
        state.apply(parse_event(json.dumps(e)))
        kept = Occupancy(state.totals, state.register)
        fresh = Occupancy(Totals.sum([state.totals]), state.register)  # a new Totals: summed from the counters
        assert not fresh._totals.groupings
        assert kept.provinces == fresh.provinces
        assert kept.location_types == fresh.location_types
        for name in ("province", "type"):
            group_of = state.register.province_of if name == "province" else state.register.type_of
            sums = state.totals.groupings[name]
            assert sums.occupancy == sum_by(state.totals.occupancy, group_of, UNKNOWN)
            assert sums.permit_holders == sum_by(state.totals.permit_holders, group_of, UNKNOWN)
