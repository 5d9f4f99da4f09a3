"""Producer-chosen location ids stay inside (issue 18, CONTRACT.md section 2): a small alphabet, and only
registered locations become labels, alert scopes or words in a notification; everyone placed elsewhere is one
location, "unregistered"."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alerts.evaluate import Evaluator
from alerts.rules import parse_rules
from alerts.text import details, summary
from readout.collectors import FiguresCollector
from readout.web import occupancy_json
from streams.contract.events import parse_event
from streams.contract.records.figures import partition_key
from streams.contract.topics import Topics
from streams.errors import InvalidEvent
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.state.view import FiguresView

AT = "2023-07-01T10:00:00+02:00"
HOSTILE = ["<!channel> <https://evil.example|x>", "unregistered", "a" * 65, "L1\n", "ter apel", "Zwolle/2", ""]


def placement(i: int, location: str) -> bytes:
    return json.dumps({"event_id": f"c{i}", "occurred_at": AT, "person_id": f"p{i}", "action": "check_in",
                       "location_id": location}).encode()


@pytest.mark.parametrize("location_id", HOSTILE)
def test_a_location_id_outside_the_alphabet_or_reserved_makes_every_event_that_carries_it_invalid(location_id):
    site = {"event_id": "l", "occurred_at": AT, "location_id": location_id, "name": "AZC", "province": "NL-UT",
            "location_type": "regular", "capacity": 10, "status": "open"}
    registration = {"event_id": "r", "occurred_at": AT, "person_id": "p", "application_type": "first",
                    "nationality": "SYR", "registration_centre": location_id}
    for raw, kind in ((placement(0, location_id), "placement"), (json.dumps(site).encode(), "location"),
                      (json.dumps(registration).encode(), "registration")):
        with pytest.raises(InvalidEvent, match=r"location_id not allowed|at least 1 character"):
            parse_event(raw, kind)
    assert parse_event(placement(0, "ter-apel_2.b"), "placement").location_id == "ter-apel_2.b"


def test_only_registered_locations_are_labels_scopes_and_names_the_rest_is_one_unregistered_series():
    processor = PeopleProcessor(Topics(""))
    processor.process([Incoming("placements", 0, i, None, placement(i, f"P{i:04d}")) for i in range(3_000)])
    processor.process([Incoming("placements", 0, 3_000 + i, None, placement(3_000 + i, "azc-1")) for i in range(12)])
    view = FiguresView()
    view.apply(b"site:azc-1", json.dumps({"event_id": "l", "occurred_at": AT, "location_id": "azc-1",
                                          "name": "AZC <Budel> & co", "province": "NL-NB",
                                          "location_type": "regular", "capacity": 10, "status": "open"}).encode())
    view.apply(partition_key(0), processor.partitions[0].summary())

    registry = CollectorRegistry()
    registry.register(FiguresCollector(view))
    series = [line for line in generate_latest(registry).decode().splitlines()
              if line.startswith("capmon_location_occupancy{")]
    assert sorted(series) == [
        'capmon_location_occupancy{location_id="azc-1",location_type="regular",province="NL-NB"} 12.0',
        'capmon_location_occupancy{location_id="unregistered",location_type="unknown",province="unknown"} 3000.0']
    occ = occupancy_json(view.figures())
    assert sorted(occ["locations"]) == ["azc-1", "unregistered"] and occ["national"]["occupancy"] == 3_012

    rules = parse_rules({"rules": [{"name": "full", "scope": "location", "measure": "headroom", "below": 0,
                                    "clear": 1, "for": "0m", "severity": "critical"}]})
    changes = Evaluator(rules).evaluate(view.figures())
    assert [(t.scope, t.kind) for t in changes] == [("azc-1", "fired")]  # not "unregistered", not P0001...
    assert "in AZC <Budel> & co:" in summary(changes[0]) and "P0" not in summary(changes[0])
    assert details(changes[0], None, None)[0].startswith("Rule `full` (critical), scope AZC <Budel> & co (azc-1)")
