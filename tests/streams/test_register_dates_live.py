"""The real worker on the real broker: a location's capacity changes on its `closes_on` / `opens_on` with the first
event of that day, wherever that event happens (CONTRACT.md section 3, "Day-based figures"), in the API, the
metrics, the status page and after a restart (the register entry on the figures topic keeps its dates)."""

from __future__ import annotations

import json
import re

from capmon.harness import WorkerProcess, wait_until
from streams.contract.topics import Topics
from tests.support.reference import expected_figures, figures_differences


def location(event_id: str, at: str, location_id: str, beds: int, location_type: str = "crisis_emergency",
             **dates: str) -> dict:
    return {"event_id": event_id, "occurred_at": at, "location_id": location_id, "name": location_id.title(),
            "province": "NL-GR", "location_type": location_type, "capacity": beds, "status": "open", **dates}


def placement(event_id: str, at: str, person: str, location_id: str) -> dict:
    return {"event_id": event_id, "occurred_at": at, "person_id": person, "action": "check_in",
            "location_id": location_id}


def page_figure(worker: WorkerProcess, name: str) -> int | None:
    found = re.search(rf'data-figure="{name}" data-value="(-?\d+)"', worker.text("/"))
    return int(found.group(1)) if found else None


def test_capacity_changes_on_closes_on_with_the_first_event_of_that_day_at_any_location(settings, capmon_env,
                                                                                       tmp_path):
    from kafka import KafkaProducer

    topics = Topics(settings.topic_prefix)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    sent: list[dict] = []

    def send(kind: str, body: dict) -> None:
        topic = topics.locations if kind == "location" else topics.placements
        key = body["location_id"] if kind == "location" else body["person_id"]
        producer.send(topic, key=key.encode(), value=json.dumps(body).encode())
        producer.flush()
        sent.append({**body, "event_type": kind})

    def capacities() -> dict:
        occ = worker.get("/api/occupancy")
        return {loc: v["capacity"] for loc, v in occ["locations"].items()} | {"transfer": occ["transfer"]["capacity"]}

    def settled(expected: dict) -> None:
        wait_until(lambda: not figures_differences(worker, expected_figures(sent)) and capacities() == expected,
                   timeout=60, interval=0.2, what=f"capacities {expected}")

    worker = WorkerProcess(capmon_env, tmp_path).start()
    try:
        # crisis: its contract ends on 31 August; later: opens on 1 September; azc: no dates
        send("location", location("l1", "2023-08-01T09:00:00+02:00", "crisis", 500, closes_on="2023-09-01"))
        send("location", location("l2", "2023-08-01T09:05:00+02:00", "later", 300, "emergency",
                                  opens_on="2023-09-01"))
        send("location", location("l3", "2023-08-01T09:10:00+02:00", "azc", 1000, "regular"))
        send("placement", placement("p1", "2023-08-31T23:59:00+02:00", "a", "crisis"))
        settled({"crisis": 500, "later": 0, "azc": 1000, "transfer": 1500})
        assert page_figure(worker, "transfer-capacity") == 1500

        # a person event at another location moves now past midnight: the closing and the opening take effect
        send("placement", placement("p2", "2023-09-01T00:00:10+02:00", "b", "azc"))
        settled({"crisis": 0, "later": 300, "azc": 1000, "transfer": 1300})
        assert worker.metric("capmon_location_capacity", {"location_id": "crisis"}) == 0
        assert worker.metric("capmon_national_transfer_capacity") == 1300
        assert page_figure(worker, "transfer-capacity") == 1300
        assert page_figure(worker, "province-capacity:NL-GR") == 1300

        # the next closing day arrives with a location event of another location (a register event moves now too)
        send("location", location("l4", "2023-09-01T10:00:00+02:00", "short", 200, closes_on="2023-09-03"))
        settled({"crisis": 0, "later": 300, "azc": 1000, "short": 200, "transfer": 1500})
        send("location", location("l5", "2023-09-03T06:00:00+02:00", "azc", 1100, "regular"))
        settled({"crisis": 0, "later": 300, "azc": 1100, "short": 0, "transfer": 1400})
    finally:
        worker.stop()

    worker = WorkerProcess(capmon_env, tmp_path).start()  # a restart reads the register back with its dates
    try:
        settled({"crisis": 0, "later": 300, "azc": 1100, "short": 0, "transfer": 1400})
    finally:
        worker.stop()
        producer.close()
