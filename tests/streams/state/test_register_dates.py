"""Capacity by date (CONTRACT.md section 3, capacity(location)): the register's `opens_on` / `closes_on` against
the independent reference (tests/support/reference.py), at every level capacity is read, in any arrival order."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from alerts.evaluate import Evaluator
from alerts.rules import Rule
from alerts.timeline import run
from streams.contract.events import parse_event
from streams.contract.records.figures import decode_register_entry
from streams.contract.topics import Topics
from streams.errors import InvalidEvent
from streams.ingest.processors import Incoming, RegisterProcessor
from streams.state.chain import ChainState
from streams.state.readmodel import Figures
from streams.state.register import NO_DAY, Register, Site, capacity
from streams.state.stamp import micros
from tests.support.reference import expected_figures

T_LOCATIONS = "locations"


def location(event_id: str, at: str, location_id: str, beds: int, *, status: str = "open",
             province: str = "NL-GR", location_type: str = "crisis_emergency", **dates: str) -> dict:
    return {"event_type": "location", "event_id": event_id, "occurred_at": at, "location_id": location_id,
            "name": location_id.title(), "province": province, "location_type": location_type, "capacity": beds,
            "status": status, **dates}


def placement(event_id: str, at: str, person: str, location_id: str, action: str = "check_in") -> dict:
    return {"event_type": "placement", "event_id": event_id, "occurred_at": at, "person_id": person,
            "action": action, "location_id": location_id}


def figures_of(events: list[dict]) -> Figures:
    state = ChainState()
    for e in events:
        state.apply(parse_event(json.dumps(e)))
    return Figures(state.totals, state.register, state.watermark_us)


def capacities(figures: Figures) -> dict:
    """Capacity at every level the read model gives it."""
    occ = figures.occupancy
    return {"locations": {k: v.capacity for k, v in occ.locations.items()},
            "provinces": {k: v.capacity for k, v in occ.provinces.items() if k != "unknown"},
            "types": {k: v.capacity for k, v in occ.location_types.items() if k != "unknown"},
            "transfer": occ.transfer.capacity, "national": occ.national.capacity,
            "transfer_headroom": occ.transfer.headroom, "headroom": occ.national.headroom}


def reference_capacities(events: list[dict]) -> dict:
    exp = expected_figures(events)
    types = {t: 0 for t in ("application_centre", "regular", "emergency", "crisis_emergency", "small_scale", "amv")}
    types.update({k: v["capacity"] for k, v in exp["location_types"].items() if k != "unknown"})
    return {"locations": {k: v["capacity"] for k, v in exp["locations"].items()},
            "provinces": {k: v["capacity"] for k, v in exp["provinces"].items() if k != "unknown"},
            "types": types, "transfer": exp["transfer"]["capacity"], "national": exp["national"]["capacity"],
            "transfer_headroom": exp["transfer"]["headroom"], "headroom": exp["national"]["headroom"]}


# A crisis location whose contract ends on 31 August (closes_on 1 September), an emergency location that opens on
# 1 September, a regular one without dates, people in each, and events on either side of midnight (CEST: 22:00Z).
FEED = [
    location("l1", "2023-07-01T09:00:00+02:00", "crisis", 500, closes_on="2023-09-01"),
    location("l2", "2023-07-02T09:00:00+02:00", "nood", 800, province="NL-FR", location_type="emergency",
             opens_on="2023-09-01"),
    location("l3", "2023-07-03T09:00:00+02:00", "azc", 1000, province="NL-FR", location_type="regular"),
    placement("p1", "2023-08-30T10:00:00+02:00", "a", "crisis"),
    placement("p2", "2023-08-31T12:00:00+02:00", "b", "azc"),
    placement("p3", "2023-08-31T23:59:59+02:00", "a", "azc", "transfer"),
    placement("p4", "2023-09-01T00:00:00+02:00", "c", "elsewhere"),
    placement("p5", "2023-09-01T08:00:00+02:00", "d", "nood"),
]


@pytest.mark.parametrize("upto", range(1, len(FEED) + 1))
def test_capacity_by_date_equals_the_reference_after_every_event(upto):
    events = FEED[:upto]
    assert capacities(figures_of(events)) == reference_capacities(events)


def test_the_closure_and_the_opening_take_effect_with_the_first_event_of_their_day():
    before, after = figures_of(FEED[:6]), figures_of(FEED[:7])  # 31 August 23:59:59, then 1 September 00:00
    assert (before.occupancy.location("crisis").capacity, before.occupancy.location("nood").capacity) == (500, 0)
    assert (after.occupancy.location("crisis").capacity, after.occupancy.location("nood").capacity) == (0, 800)
    assert before.occupancy.transfer.capacity == 1500 and after.occupancy.transfer.capacity == 1800
    assert after.occupancy.provinces["NL-GR"].capacity == 0 and after.occupancy.provinces["NL-FR"].capacity == 1800


def test_any_order_with_duplicates_gives_the_reference():
    rng = random.Random(7)
    for _ in range(20):
        events = FEED + rng.sample(FEED, 3)  # duplicates: the same event ids again
        rng.shuffle(events)
        assert capacities(figures_of(events)) == reference_capacities(events)


def test_the_latest_location_event_wins_and_a_late_one_changes_nothing():
    extended = location("l4", "2023-08-20T09:00:00+02:00", "crisis", 500, closes_on="2023-10-01")  # contract extended
    late = location("l0", "2023-06-01T09:00:00+02:00", "crisis", 500, closes_on="2023-08-15")  # older: ignored
    undated = location("l5", "2023-08-25T09:00:00+02:00", "nood", 800, province="NL-FR", location_type="emergency")
    events = [*FEED, extended, late, undated]
    figures = figures_of(events)
    assert capacities(figures) == reference_capacities(events)
    assert figures.occupancy.location("crisis").capacity == 500  # extended: beds until 1 October
    assert figures.occupancy.location("nood").capacity == 800  # its latest event has no opening date
    assert figures_of([*FEED, late]).occupancy.location("crisis").capacity == 0  # the 1 September end stands


def test_capacity_reads_the_day_and_the_register_sums_agree_with_it():
    site = Site("X", "NL-GR", "crisis_emergency", 300, None, date(2023, 9, 1), date(2023, 12, 1))
    assert [capacity(site, date(2023, m, d)) for m, d in ((8, 31), (9, 1), (11, 30), (12, 1))] == [0, 300, 300, 0]
    assert capacity(site, NO_DAY) == 0  # no now yet: before every opening
    register = Register(sites={"x": ((0, "x"), site), "y": ((0, "y"), Site("Y", "NL-GR", "regular", 100))})
    assert register.beds_by_province(date(2023, 10, 1)) == {"NL-GR": 400}
    assert register.beds_by_province(date(2023, 12, 1)) == {"NL-GR": 100}
    assert register.beds_by_type(date(2023, 8, 1))["crisis_emergency"] == 0


def test_alerts_read_capacity_on_their_evaluation_times_day():
    """A grid point after midnight sees the closing even when the last event was the day before."""
    figures = figures_of(FEED[:4])  # the watermark: 30 August, one person in the crisis location
    rule = Rule.model_validate({"name": "crisis_gone", "scope": "location", "measure": "headroom", "below": 0,
                                "clear": 0, "for": 0, "severity": "warning"})
    evaluator = Evaluator([rule])
    assert evaluator.evaluate(figures, at_us=micros(parse_event(json.dumps(FEED[3])).occurred_at)) == []
    fired = evaluator.evaluate(figures, at_us=micros(parse_event(json.dumps(placement(
        "x", "2023-09-01T00:05:00+02:00", "z", "azc"))).occurred_at))
    assert [(t.scope, t.kind) for t in fired] == [("crisis", "fired")]


def test_dates_must_be_days_and_closes_on_after_opens_on():
    body = location("e", "2023-07-01T09:00:00+02:00", "x", 5)
    for dates, reason in (({"closes_on": "2023-9-1"}, "closes_on: must be a date YYYY-MM-DD"),
                          ({"opens_on": "2023-02-30"}, "opens_on: is not a real date"),
                          ({"closes_on": "2023-09-01T00:00:00Z"}, "closes_on: must be a date"),
                          ({"opens_on": "2023-09-01", "closes_on": "2023-09-01"}, "closes_on must be after opens_on")):
        with pytest.raises(InvalidEvent, match=reason):
            parse_event(json.dumps({**body, **dates}), "location")
    result = RegisterProcessor(Topics("")).process(
        [Incoming(T_LOCATIONS, 0, 0, b"x", json.dumps({**body, "opens_on": "2023-10-01",
                                                       "closes_on": "2023-09-01"}).encode())])
    assert result.dead and "closes_on must be after opens_on" in result.dead[0].reason


def test_the_register_entry_on_the_figures_topic_keeps_its_dates():
    raw = json.dumps(location("e", "2023-07-01T09:00:00+02:00", "x", 5, opens_on="2023-08-01",
                              closes_on="2023-09-01")).encode()
    entry = decode_register_entry(raw, "location")
    assert (entry.opens_on, entry.closes_on) == (date(2023, 8, 1), date(2023, 9, 1))


def test_the_backtest_sees_a_closing_at_the_first_grid_point_of_its_day():
    """No event between 30 August and 1 September 10:00: the grid point at midnight already reads the new day."""
    rule = Rule.model_validate({"name": "crisis_gone", "scope": "location", "measure": "headroom", "below": 0,
                                "clear": 0, "for": 0, "severity": "warning"})
    events = [*FEED[:4], placement("q", "2023-09-01T10:00:00+02:00", "z", "azc")]
    fired = [t for t in run([rule], (parse_event(json.dumps(e)) for e in events)) if t.kind == "fired"]
    midnight = micros(parse_event(json.dumps(placement("m", "2023-09-01T00:00:00+02:00", "z", "azc"))).occurred_at)
    assert [(t.scope, t.at_us) for t in fired] == [("crisis", midnight)]
