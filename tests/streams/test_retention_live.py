"""Retention and erasure in a real worker on the real broker (CONTRACT.md section 3): a quiet topic cannot hold
persons for ever, tombstones for unknown ids create nothing, an erased person's later event leaves nothing about
them in dead letters, and workers racing for the deployment's event-id hash key agree on one."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from capmon.harness import WorkerProcess, wait_until
from streams.contract.records.figures import EVENT_ID_KEY_PREFIX
from streams.contract.topics import Topics
from streams.ingest.pseudonyms import keyed_event_id
from streams.runtime.hash_key import deployment_key
from streams.runtime.kafka_io import prepare_worker_topics
from tests.support.helpers import read_all, read_topics

DAY_S = 86_400


def at(day: float, hour: int = 10) -> str:
    return (datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)).isoformat()


class Producer:
    def __init__(self, settings) -> None:
        self.topics = Topics(settings.topic_prefix)
        self.kafka = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)

    def send(self, event_type: str, person: str, body: dict | None, **kwargs: object) -> None:
        value = None if body is None else json.dumps({"person_id": person, **body}).encode()
        self.kafka.send(self.topics.for_event_type(event_type), key=person.encode(), value=value, **kwargs)

    def arrive(self, person: str, day: float, i: str, check_out_day: float | None = None,
               where: str = "L1") -> None:
        """A family reunification (never awaits a decision), checked in, and out again if `check_out_day`."""
        self.send("registration", person, {"event_id": f"r-{i}", "occurred_at": at(day),
                                           "application_type": "family_reunification", "nationality": "SYR"})
        self.send("placement", person, {"event_id": f"in-{i}", "occurred_at": at(day, 11), "action": "check_in",
                                        "location_id": where})
        if check_out_day is not None:
            self.send("placement", person, {"event_id": f"out-{i}", "occurred_at": at(check_out_day, 12),
                                            "action": "check_out", "location_id": where, "reason": "housed"})

    def flush(self) -> None:
        self.kafka.flush()


def test_a_quiet_topic_holds_nobody_for_ever_and_erasure_leaves_nothing_behind(settings, capmon_env, tmp_path):
    topics = Topics(settings.topic_prefix)
    # decisions exists already, with producer time (as on a cluster capmon did not set up): its last message
    # was appended two days ago, longer than the one day's retention
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(topics.decisions, settings.partitions, 1,
                                  topic_configs={"message.timestamp.type": "CreateTime"})])
    admin.close()
    prepare_worker_topics(settings)  # the rest as capmon creates them
    feed = Producer(settings)
    two_days_ago_ms = int((time.time() - 2 * DAY_S) * 1000)
    for p in range(settings.partitions):  # every partition's decisions stop on day 0
        feed.send("decision", f"d{p}", {"event_id": f"d-{p}", "occurred_at": at(0), "outcome": "rejected",
                                        "nationality": "SYR"}, partition=p, timestamp_ms=two_days_ago_ms)
    for i in range(10):  # done on day 1: forgotten once the other topics are past day 2
        feed.arrive(f"x{i}", 1, f"x{i}", check_out_day=1)
    for p in range(settings.partitions):  # registrations and placements go on to day 10 on every partition
        feed.send("registration", f"c{p}", {"event_id": f"r-c{p}", "occurred_at": at(10),
                                            "application_type": "family_reunification", "nationality": "SYR"},
                  partition=p)
        feed.send("placement", f"c{p}", {"event_id": f"in-c{p}", "occurred_at": at(10), "action": "check_in",
                                         "location_id": "L1"}, partition=p)
    feed.send("registration", "y", {"event_id": "r-y", "occurred_at": at(9.5), "application_type": "resettlement",
                                     "nationality": "SYR"})  # held half a day before the newest event
    feed.flush()
    worker = WorkerProcess({**capmon_env, "CAPMON_PERSON_RETENTION_DAYS": "1"}, tmp_path, "ret").start()
    try:
        wait_until(lambda: worker.metric("capmon_persons_expired_total") == 14, timeout=120,
                   what="the 10 persons done on day 1 and the 4 decided on day 0 to expire")
        assert worker.metric("capmon_person_oldest_event_age_seconds") == DAY_S / 2  # y, and no id anywhere
        held = worker.metric("capmon_persons_in_state")
        assert held == 5  # c0..c3 in reception, y

        # Tombstones for ids never seen: counted, no state, and those ids' later registrations are accepted.
        for i in range(10):
            feed.send("registration", f"u{i}", None)
        feed.flush()
        wait_until(lambda: worker.metric("capmon_erasures_total") == 10, timeout=60, what="the tombstones")
        assert worker.metric("capmon_persons_in_state") == held
        registrations = {"topic": "registrations", "result": "accepted"}
        accepted = worker.metric("capmon_events_total", registrations)
        for i in range(10):
            feed.send("registration", f"u{i}", {"event_id": f"r-u{i}", "occurred_at": at(10, 3),
                                                "application_type": "resettlement", "nationality": "ERI"})
        feed.flush()
        wait_until(lambda: worker.metric("capmon_events_total", registrations) == accepted + 10, timeout=60,
                   what="the unknown-tombstoned ids' registrations to be accepted")
        assert not worker.metric("capmon_dead_letters_total"), [
            (dict(m.headers), m.value[:200]) for m in read_all(settings.kafka_bootstrap, [topics.dead_letters])]

        # An erased person's later event: a dead letter with no key and nothing about them.
        placements = {"topic": "placements", "result": "accepted"}
        placed = worker.metric("capmon_events_total", placements)
        feed.arrive("erin-4711", 10, "e", check_out_day=10, where="TerApel")
        feed.flush()
        wait_until(lambda: worker.metric("capmon_events_total", placements) == placed + 2, timeout=60,
                   what="erin's placements")
        feed.send("placement", "erin-4711", None)
        feed.flush()
        wait_until(lambda: worker.metric("capmon_erasures_total") == 11, timeout=60, what="erin's erasure")
        feed.send("placement", "erin-4711", {"event_id": "in-e2", "occurred_at": at(10, 14), "action": "check_in",
                                             "location_id": "Budel"})
        feed.flush()
        (dead,) = read_topics(settings.kafka_bootstrap, [topics.dead_letters], expected=1)
        headers = dict(dead.headers)
        assert headers["capmon.reason"].startswith(b"erased") and dead.key is None
        body = json.loads(dead.value)
        key = deployment_key(settings)  # the key the worker agreed on, read back from the figures topic
        assert body == {"event_type": "placement", "event_id_hash": keyed_event_id(key, "in-e2"),
                        "occurred_at": "2023-01-11T14:00:00+00:00", "reason": headers["capmon.reason"].decode()}
        assert b"erin" not in dead.value and b"Budel" not in dead.value
    finally:
        worker.stop()


def test_workers_racing_for_the_event_id_hash_key_agree_on_one(settings):
    prepare_worker_topics(settings)
    keys: list[bytes] = []
    start = threading.Barrier(3)

    def one() -> None:
        start.wait()
        keys.append(deployment_key(settings))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    written = [m for m in read_all(settings.kafka_bootstrap, [Topics(settings.topic_prefix).figures])
               if m.key.startswith(EVENT_ID_KEY_PREFIX)]
    assert len(keys) == 3 and len(set(keys)) == 1 and len(keys[0]) == 32
    assert keys[0] == bytes.fromhex(min(written, key=lambda m: m.offset).value.decode())
    assert deployment_key(settings) == keys[0]  # and so does every later worker
