"""The metrics read-out on its own: figures from the view at scrape time, bounded labels, no person ids,
the single reporter, and the health collector."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from readout.collectors import FiguresCollector, HealthCollector
from streams.contract.records.figures import partition_key
from streams.contract.topics import Topics
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.runtime.metrics import WorkerMetrics
from streams.state.view import FiguresView
from tests.streams.test_view import decision, location, placement


def registration(i: int, person: str, nationality: str, minor: bool = False) -> Incoming:
    body = {"event_id": f"r{i}", "occurred_at": "2023-07-01T09:00:00+02:00", "person_id": person,
            "application_type": "first", "nationality": nationality, "unaccompanied_minor": minor}
    return Incoming("registrations", 0, 100 + i, person.encode(), json.dumps(body).encode())


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def view_with_people() -> tuple[FiguresView, str]:
    proc = PeopleProcessor(Topics(""))
    persons = [f"person-{i:04d}-secret" for i in range(30)]
    # 30 nationalities: far more than the label list; each person registers, is decided and checks in.
    nationalities = [f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(28)] + ["SYR", "ERI"]
    batch = []
    for i, (person, nat) in enumerate(zip(persons, nationalities, strict=True)):
        batch += [registration(i, person, nat, minor=i < 3), decision(i, person, "granted" if i % 2 else "rejected",
                                                                      nat),
                  placement(200 + i, person, "check_in", "L1")]
    proc.process(batch)
    view = FiguresView()
    view.apply(b"site:L1", location(40))
    view.apply(partition_key(0), proc.partitions[0].summary())
    return view, persons[0]


def test_figures_come_from_the_view_at_scrape_time_with_bounded_labels_and_no_person_ids():
    view, a_person = view_with_people()
    registry = CollectorRegistry()
    registry.register(FiguresCollector(view, taakstelling={"2023-H2": 1000, "2023-H1": 5}))
    got = samples(registry)
    assert got[("capmon_national_occupancy", ())] == 30
    assert got[("capmon_national_headroom", ())] == 10
    assert got[("capmon_location_capacity", (("location_id", "L1"), ("location_type", "regular"),
                                              ("province", "NL-UT")))] == 40
    nationalities = {dict(k[1])["nationality"] for k in got if k[0] == "capmon_decisions_by_nationality"}
    assert nationalities == {"other"}  # 30 nationalities of one decision each: every cell is small
    assert got[("capmon_decisions_by_nationality", (("nationality", "other"), ("outcome", "granted")))] == 15
    assert got[("capmon_inflow_unaccompanied_minors_ytd", ())] == 3
    assert got[("capmon_national_days_until_full", ())] == 10 / (30 / 28)
    assert got[("capmon_taakstelling", ())] == 1000
    assert a_person not in generate_latest(registry).decode()
    # The view changes, the next scrape shows it: nothing was copied at event time.
    later = {**json.loads(location(35)), "occurred_at": "2023-08-01T00:00:00+02:00"}
    view.apply(b"site:L1", json.dumps(later).encode())
    assert samples(registry)[("capmon_national_headroom", ())] == 5


def test_only_the_reporter_exports_figures():
    view, _ = view_with_people()
    reporting = False
    registry = CollectorRegistry()
    registry.register(FiguresCollector(view, lambda: reporting))
    assert not any(name.startswith("capmon_national") for name, _ in samples(registry))
    reporting = True
    assert ("capmon_national_occupancy", ()) in samples(registry)


def test_health_collector_reads_lag_and_the_newest_events_age():
    view, _ = view_with_people()
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry)
    registry.register(HealthCollector(view, lambda: {("placements", 2): 17}, lambda: True, lambda: False,
                                      clock=lambda: view.now_us / 1e6 + 90))
    from collections import Counter
    metrics.observe_batch(Counter({("placements", "accepted"): 5, ("placements", "invalid"): 2}), 0.003,
                          oldest_timestamp_s=0.0)
    got = samples(registry)
    assert got[("capmon_consumer_lag", (("partition", "2"), ("topic", "placements")))] == 17
    assert got[("capmon_newest_event_age_seconds", ())] == 90
    assert got[("capmon_figures_reporter", ())] == 0
    assert got[("capmon_events_total", (("result", "accepted"), ("topic", "placements")))] == 5
    assert got[("capmon_dead_letters_total", (("topic", "placements"),))] == 2
    assert got[("capmon_event_delay_seconds_count", ())] == 1
