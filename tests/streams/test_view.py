"""The figures view: summaries are absolute and versioned, so stale or repeated ones never double count;
and the JSON read-out built from it."""

from __future__ import annotations

import json

from readout.web import inflow_json, occupancy_json
from streams.contract.events import parse_event
from streams.contract.records.figures import partition_key
from streams.contract.topics import Topics
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.state.view import FiguresView

T = Topics("")


def placement(i: int, person: str, action: str, location: str, day: int = 1, reason: str | None = None) -> Incoming:
    body = {"event_id": f"e{i}", "occurred_at": f"2023-07-{day:02d}T10:00:00+02:00", "person_id": person,
            "action": action, "location_id": location}
    if reason:
        body["reason"] = reason
    return Incoming("placements", 0, i, person.encode(), json.dumps(body).encode())


def decision(i: int, person: str, outcome: str, nationality: str = "SYR") -> Incoming:
    body = {"event_id": f"d{i}", "occurred_at": "2023-07-01T12:00:00+02:00", "person_id": person,
            "outcome": outcome, "nationality": nationality}
    return Incoming("decisions", 0, i, person.encode(), json.dumps(body).encode())


def location(capacity: int) -> bytes:
    return json.dumps({"event_id": f"l{capacity}", "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": "L1",
                       "name": "AZC Een", "province": "NL-UT", "location_type": "regular", "capacity": capacity,
                       "status": "open"}).encode()


def test_a_stale_summary_is_ignored_and_a_repeated_one_changes_nothing():
    proc = PeopleProcessor(T)
    proc.process([placement(0, "a", "check_in", "L1"), placement(1, "b", "check_in", "L1")])
    early = proc.partitions[0].summary()
    proc.process([placement(2, "c", "check_in", "L1")])
    late = proc.partitions[0].summary()
    view = FiguresView()
    view.apply(b"site:L1", location(10))
    view.apply(partition_key(0), late)
    view.apply(partition_key(0), early)  # an old owner's last word arriving after the new owner's
    view.apply(partition_key(0), late)  # and a repeat
    assert view.figures().occupancy.national.occupancy == 3
    assert view.figures().occupancy.locations["L1"].headroom == 7


def test_partitions_add_up_and_the_register_labels_them():
    a, b = PeopleProcessor(T), PeopleProcessor(T)
    a.process([placement(0, "a", "check_in", "L1")])
    b.process([Incoming("placements", 1, 0, b"x", placement(5, "x", "check_in", "L9").value)])
    view = FiguresView()
    view.apply(partition_key(0), a.partitions[0].summary())
    view.apply(partition_key(1), b.partitions[1].summary())
    view.apply(b"site:L1", location(10))
    occ = occupancy_json(view.figures())
    assert occ["national"]["occupancy"] == 2 and occ["national"]["capacity"] == 10
    unregistered = occ["locations"]["unregistered"]  # L9 is not in the register: never shown by its id
    assert (unregistered["occupancy"], unregistered["province"], unregistered["name"]) == (1, "unknown", "unregistered")
    assert occ["provinces"]["NL-UT"]["headroom"] == 9
    assert sorted(occ["locations"]) == ["L1", "unregistered"]


def asked(i: int, person: str, kind: str = "first") -> Incoming:
    """A registration before the decisions of `decision` (which are at 2023-07-01 12:00)."""
    body = {"event_id": f"a{i}", "occurred_at": "2023-06-01T09:00:00+02:00", "person_id": person,
            "application_type": kind, "nationality": "SYR"}
    return Incoming("registrations", 0, i, person.encode(), json.dumps(body).encode())


def test_inflow_read_out_has_decisions_grant_rates_outflow_and_daily_inflow():
    proc = PeopleProcessor(T)
    proc.process([placement(0, "a", "check_in", "L1"), decision(1, "a", "granted"),
                  decision(2, "b", "rejected", "DZA"), decision(3, "c", "granted", "DZA"),
                  placement(4, "a", "check_out", "L1", day=2, reason="housed"),
                  asked(1, "a"), asked(2, "b"), asked(3, "c")])
    reg = {"event_id": "r1", "occurred_at": "2023-07-02T09:00:00+02:00", "person_id": "z",
           "application_type": "first", "nationality": "ERI", "unaccompanied_minor": True}
    proc.process([Incoming("registrations", 0, 9, b"z", json.dumps(reg).encode())])
    view = FiguresView()
    view.apply(partition_key(0), proc.partitions[0].summary())
    flow = inflow_json(view.figures(), taakstelling={"2023-H2": 100, "2024-H1": 50})
    assert flow["decisions"] == {"granted": 2, "rejected": 1}
    assert flow["grant_rate"] == {}  # `other` of 2 granted and 1 rejected: small cells, no rate published
    assert flow["grant_rates"]["overall"]["without_dublin"] == 2 / 3  # the national rate is exact
    assert flow["outflow"] == {"2023-H2": {"taakstelling": 100, "housed": 1, "housed_share_of_taakstelling": 0.01}}
    assert flow["taakstelling"] == {"half_year": "2023-H2", "target": 100, "housed": 1, "share": 0.01}
    other = inflow_json(view.figures(), taakstelling={"2024-H1": 50})  # no target for this half year: none shown
    assert other["taakstelling"]["target"] is None and other["outflow"]["2023-H2"]["taakstelling"] is None
    assert flow["daily"] == {"2023-07-02": 1}
    assert flow["ytd"] == 4 and flow["ytd_unaccompanied_minors"] == 1  # z, and the asylum requests of a, b, c
    assert flow["now"] == "2023-07-02T10:00:00+02:00"
    assert parse_event(location(3), "location").capacity == 3


def test_a_nationality_with_one_small_cell_is_shown_only_within_other_and_other_has_no_small_cell():
    # The review's case: ERI has 10 decisions, but rejected/ERI = 1 (and granted/ERI = 9) are small cells.
    people = [("SYR", "granted", 20), ("SYR", "rejected", 10), ("ERI", "granted", 9), ("ERI", "rejected", 1),
              ("MDA", "rejected", 9), ("DZA", "granted", 1)]
    batch, i = [], 0
    for nationality, outcome, n in people:
        for _ in range(n):
            batch += [decision(i, f"p{i}", outcome, nationality), asked(i, f"p{i}")]
            i += 1
    proc = PeopleProcessor(T)
    proc.process(batch)
    view = FiguresView()
    view.apply(partition_key(0), proc.partitions[0].summary())
    figures = view.figures()
    assert figures.grant_rate == {"SYR": 20 / 30, "other": 10 / 20}  # ERI, MDA and DZA together
    published = {k: n for k, n in figures.decisions_by_nationality.items() if n}
    assert published == {("granted", "SYR"): 20, ("rejected", "SYR"): 10,
                         ("granted", "other"): 10, ("rejected", "other"): 10}
    text = json.dumps(inflow_json(figures))
    assert "ERI" not in text and "MDA" not in text


def test_the_grant_rate_counts_first_instance_asylum_decisions_only_whatever_the_arrival_order():
    proc = PeopleProcessor(T)
    # a: asylum, granted. b: family reunification (nareis), granted: not first-instance. c: rejected, but its
    # registration arrives after the decision. d: dublin. e: resettled, granted: not counted.
    proc.process([decision(1, "a", "granted"), asked(1, "a"), decision(2, "b", "granted"),
                  asked(2, "b", "family_reunification"), decision(3, "c", "rejected"), decision(4, "d", "dublin"),
                  asked(4, "d", "repeat"), decision(5, "e", "granted"), asked(5, "e", "resettlement")])
    proc.process([asked(6, "c", "relocation")])
    view = FiguresView()
    view.apply(partition_key(0), proc.partitions[0].summary())
    rates = view.figures().grant_rates
    assert (rates.overall.decisions, rates.overall.without_dublin, rates.overall.with_dublin) == (3, 0.5, 1 / 3)
    assert view.figures().decisions_by_outcome == {"dublin": 1, "granted": 3, "rejected": 1}  # all decisions


def test_capacity_need_per_scenario_follows_the_method():
    proc = PeopleProcessor(T)
    batch = []
    # Four new applicants in the last 90 days, three of whom checked in; six check-outs in the last 28 days.
    for i in range(4):
        batch.append(Incoming("registrations", 0, i, b"n", json.dumps(
            {"event_id": f"n{i}", "occurred_at": "2023-06-20T10:00:00+02:00", "person_id": f"n{i}",
             "application_type": "first", "nationality": "SYR"}).encode()))
        if i < 3:
            batch.append(placement(10 + i, f"n{i}", "check_in", "L1", day=1))
    for i in range(6):
        batch.append(placement(20 + i, f"o{i}", "check_in", "L1", day=1))
        batch.append(placement(30 + i, f"o{i}", "check_out", "L1", day=1 + i % 2, reason="housed"))
    proc.process(batch)
    view = FiguresView()
    view.apply(b"site:L1", location(10))
    forecast = {"event_id": "f", "occurred_at": "2023-01-01T00:00:00+01:00", "forecast_id": "MPP-2023", "year": 2023,
                "scenarios": {"min": 100, "medio": 200, "max": 300}}
    view.apply(b"forecast:2023", json.dumps(forecast).encode())
    view.apply(partition_key(0), proc.partitions[0].summary())
    need = view.figures().capacity_need
    assert need is not None and need.target.isoformat() == "2024-01-01"
    days = (need.target - view.figures().inflow.now.date()).days
    assert need.bed_share == 0.75 and need.checkouts_per_day == 6 / 28
    occupied, ytd = 3, 4  # n0-n2 are in; the o's left again
    for scenario, annual in (("min", 100), ("medio", 200), ("max", 300)):
        expected = occupied + (annual - ytd) * 0.75 - 6 / 28 * days
        assert abs(need.need[scenario] - expected) < 1e-9
        assert abs(need.short[scenario] - (expected - 10)) < 1e-9
    assert occupancy_json(view.figures())["capacity_need"]["scenarios"]["medio"]["need"] == need.need["medio"]
