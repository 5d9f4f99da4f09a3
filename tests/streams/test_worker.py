"""The real worker on the real broker: exact figures under faults, dead letters, kill -9, two workers."""

from __future__ import annotations

import json
import os
import re

import pytest

from streams.errors import InvalidEvent
from streams.events import parse_event
from streams.topics import EVENT_TYPES, Topics
from tests.helpers import read_all, run_capmon, wait_for
from tests.reference import expected_figures
from tests.worker_harness import WorkerProcess, figures_differences

# CAPMON_TEST_FEED_DAYS=365 runs the same checks on a whole simulated year (about 4 minutes longer).
DAYS = os.environ.get("CAPMON_TEST_FEED_DAYS", "40")
FEED = ["--days", DAYS, "--seed", "21", "--duplicates", "0.03", "--disorder", "43200", "--invalid", "0.01"]


def produce_feed(capmon_env: dict, *extra: str) -> None:
    result = run_capmon("simulate", *FEED, *extra, env=capmon_env, timeout=300)
    assert result.returncode == 0, result.stderr


def ground_truth(settings) -> tuple[dict, list, list]:
    """Reference figures from what is really in the input topics, plus the valid and invalid messages."""
    topics = Topics(settings.topic_prefix)
    valid, invalid = [], []
    for message in read_all(settings.kafka_bootstrap, [topics.for_event_type(t) for t in EVENT_TYPES]):
        event_type = topics.event_type_of(message.topic)
        try:
            parse_event(message.value, event_type)
        except InvalidEvent:
            invalid.append(message)
            continue
        valid.append({**json.loads(message.value), "event_type": event_type})
    return expected_figures(valid), valid, invalid


def wait_exact(worker: WorkerProcess, expected: dict, timeout: float = 180 + 2 * int(DAYS)) -> None:
    last: list[str] = []

    def exact() -> bool:
        nonlocal last
        last = figures_differences(worker, expected)
        return not last

    try:
        wait_for(exact, timeout=timeout, interval=0.5, what="exact figures")
    except BaseException:
        print("last differences:", last, "\nworker log tail:\n", worker.log()[-3000:])
        raise


def metric(worker: WorkerProcess, name: str, **labels: str) -> float:
    text = worker.text("/metrics")
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_worker_figures_equal_the_reference_and_invalid_events_are_dead_letters(settings, capmon_env, tmp_path):
    produce_feed(capmon_env)
    expected, valid, invalid = ground_truth(settings)
    worker = WorkerProcess(capmon_env, tmp_path).start()
    try:
        wait_exact(worker, expected)
        dead = read_all(settings.kafka_bootstrap, [Topics(settings.topic_prefix).dead_letters])
        assert len(invalid) > 100
        originals = {(m.topic, m.partition, m.offset): m for m in invalid}
        for letter in dead:
            headers = {k: v.decode() for k, v in letter.headers}
            source = originals[(headers["capmon.topic"], int(headers["capmon.partition"]),
                                int(headers["capmon.offset"]))]
            assert (letter.key, letter.value) == (source.key, source.value)
            assert headers["capmon.reason"]
        assert len({(k) for k in ((dict(m.headers)["capmon.offset"], dict(m.headers)["capmon.topic"],
                                    dict(m.headers)["capmon.partition"]) for m in dead)}) == len(invalid)
        assert metric(worker, "capmon_events_total", result="invalid") == len(invalid)
        assert metric(worker, "capmon_events_total", result="duplicate") > 0
        assert metric(worker, "capmon_national_headroom") == expected["national"]["headroom"]
        for message in valid[:2000]:
            if "person_id" in message:
                assert message["person_id"] not in worker.text("/api/occupancy")
                break
        assert worker.stop() < 10  # SIGTERM: stops within seconds
    finally:
        worker.stop()


def test_kill_9_mid_stream_then_restart_gives_exact_figures(settings, capmon_env, tmp_path):
    produce_feed(capmon_env)
    expected, valid, _ = ground_truth(settings)
    worker = WorkerProcess(capmon_env, tmp_path, "first").start()
    wait_for(lambda: metric(worker, "capmon_events_total") > len(valid) / 3, timeout=120, what="a third processed")
    assert figures_differences(worker, expected)  # really in the middle
    worker.kill9()
    again = WorkerProcess(capmon_env, tmp_path, "first").start()  # same state directory: a restart in place
    try:
        wait_exact(again, expected)
    finally:
        again.stop()


def test_two_workers_share_the_work_and_stay_exact_when_one_dies(settings, capmon_env, tmp_path):
    a = WorkerProcess(capmon_env, tmp_path, "a").start()
    b = WorkerProcess(capmon_env, tmp_path, "b").start()
    try:
        wait_for(lambda: a.get("/health")["assigned_partitions"] and b.get("/health")["assigned_partitions"],
                 timeout=60, what="both workers to have partitions")
        produce_feed(capmon_env)
        expected, _valid, _ = ground_truth(settings)
        wait_for(lambda: metric(a, "capmon_events_total") > 0 and metric(b, "capmon_events_total") > 0,
                 timeout=60, what="both workers processing")
        # Exactly one worker (the leader) exports the figures on /metrics; kill that one.
        reporters = wait_for(lambda: [w for w in (a, b) if metric(w, "capmon_figures_reporter") == 1] or None,
                             timeout=60, what="a figures reporter")
        assert len(reporters) == 1
        exporting = [w for w in (a, b) if "\ncapmon_national_headroom " in w.text("/metrics")]
        assert exporting == reporters
        dead, survivor = (a, b) if reporters[0] is a else (b, a)
        dead.kill9()
        wait_exact(survivor, expected)
        wait_for(lambda: metric(survivor, "capmon_figures_reporter") == 1, timeout=60, what="the survivor to report")
        assert metric(survivor, "capmon_national_headroom") == expected["national"]["headroom"]
    finally:
        a.stop()
        b.stop()


def test_a_changelog_with_another_partition_count_is_refused_in_one_line(settings, capmon_env):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(f"{Topics(settings.topic_prefix).app_id}-people-changelog", 2, 1)])
    admin.close()
    result = run_capmon("worker", env=capmon_env, timeout=60)
    assert result.returncode == 2
    assert re.fullmatch(r"capmon worker: changelog topic \S+ has 2 partitions but the person topics have 4: "
                        r"use a new CAPMON_TOPIC_PREFIX.*\n", result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


pytestmark = pytest.mark.kafka
