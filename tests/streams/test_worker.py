"""The real worker on the real broker: exact figures under faults, dead letters, kill -9, two workers."""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime

import pytest

from capmon.harness import WorkerProcess, wait_until
from streams.contract.events import DEFAULT_MAX_CLOCK_SKEW_S, check_not_in_future, parse_event
from streams.contract.topics import EVENT_TYPES, Topics
from streams.errors import InvalidEvent
from tests.support.helpers import read_all, run_capmon, start_capmon
from tests.support.reference import expected_figures, figures_differences

# CAPMON_TEST_FEED_DAYS=365 runs the same checks on a whole simulated year (about 4 minutes longer).
DAYS = os.environ.get("CAPMON_TEST_FEED_DAYS", "40")
FEED = ["--days", DAYS, "--seed", "21", "--duplicates", "0.03", "--disorder", "43200", "--invalid", "0.01"]
FEED_START = date(2023, 1, 1)
LIVE_SPEED = 86_400 * int(DAYS) / 45  # the feed's days in about 45 s of wall clock
KILL_AT_DAYS = [int(DAYS) * k // 5 for k in (1, 2, 3, 4)]
MAX_INVALID_IN_ONE_BATCH = 40  # a batch is at most 2,000 events; the feed has 1 % invalid ones


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
            check_not_in_future(parse_event(message.value, event_type), message.timestamp * 1000,
                                DEFAULT_MAX_CLOCK_SKEW_S)
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
        wait_until(exact, timeout=timeout, interval=0.5, what="exact figures")
    except BaseException:
        try:
            progress = [line for line in worker.text("/metrics").splitlines()
                        if line.startswith(("capmon_consumer_lag{", "capmon_events_total{", "capmon_events_redelivered",
                                            "capmon_figures_view_caught_up", "capmon_newest_event_timestamp"))]
        except OSError as exc:
            progress = [f"/metrics not answering: {exc}"]
        story = [line for line in worker.log().splitlines()
                 if re.search(r"partition|revoked|assigned|kept|Elected|Worker ready|ERROR|CRITICAL|exit", line)]
        print("last differences:", last, "\nprogress:\n", "\n".join(progress),
              "\nworker log, what happened to the partitions:\n", "\n".join(story[-80:]),
              "\nworker log tail:\n", worker.log()[-3000:])
        raise


def produce_from_the_future(settings) -> None:
    """A registration and a location dated 2099 (CONTRACT.md section 2): they must not move `now` for everybody."""
    from kafka import KafkaProducer

    topics = Topics(settings.topic_prefix)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    producer.send(topics.registrations, key=b"future-person", value=json.dumps(
        {"event_id": "future-1", "occurred_at": "2099-01-01T00:00:00Z", "person_id": "future-person",
         "application_type": "first", "nationality": "SYR"}).encode())
    producer.send(topics.locations, key=b"future-site", value=json.dumps(
        {"event_id": "future-2", "occurred_at": "2099-01-01T00:00:00Z", "location_id": "future-site", "name": "x",
         "province": "NL-UT", "location_type": "regular", "capacity": 10, "status": "open"}).encode())
    producer.flush()
    producer.close()


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_worker_figures_equal_the_reference_and_invalid_events_are_dead_letters(settings, capmon_env, tmp_path):
    produce_feed(capmon_env)
    produce_from_the_future(settings)
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
        assert worker.metric("capmon_events_total", {"result": "invalid"}) == len(invalid)
        assert worker.metric("capmon_events_total", {"result": "duplicate"}) > 0
        assert worker.metric("capmon_national_headroom") == expected["national"]["headroom"]
        assert worker.get("/api/occupancy")["now"].startswith("2023-")  # the events from 2099 did not move it
        reasons = {dict(m.headers)["capmon.reason"].decode() for m in dead}
        assert any(r.startswith("occurred_at in the future") for r in reasons)
        assert any("out of range" in r for r in reasons)
        for message in valid[:2000]:
            if "person_id" in message:
                assert message["person_id"] not in worker.text("/api/occupancy")
                break
        assert worker.stop() < 10  # SIGTERM: stops within seconds
    finally:
        worker.stop()


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_kill_9_mid_stream_then_restart_gives_exact_figures(settings, capmon_env, tmp_path):
    produce_feed(capmon_env)
    expected, valid, invalid = ground_truth(settings)
    worker = WorkerProcess(capmon_env, tmp_path, "first").start()
    wait_until(lambda: worker.metric("capmon_events_total") > len(valid) / 3, timeout=120, what="a third processed")
    assert figures_differences(worker, expected)  # really in the middle
    worker.kill9()
    again = WorkerProcess(capmon_env, tmp_path, "first").start()  # same state directory: a restart in place
    try:
        wait_exact(again, expected)
        assert_dead_letters_describe_the_input(settings, invalid, kills=1)
    finally:
        again.stop()


def assert_dead_letters_describe_the_input(settings, invalid: list, kills: int) -> None:
    """Every invalid input has a dead letter and nothing else has one. After a kill -9, Kafka delivers again
    everything since the last commit (about a second of input); those are recognised and not dead-lettered
    again. Only the batch in flight at the kill can send its dead letters twice (at least once: they go out
    before the changelog marks their offsets processed), as exact copies naming the same source."""
    dead = read_all(settings.kafka_bootstrap, [Topics(settings.topic_prefix).dead_letters])
    sources = [(dict(m.headers)["capmon.topic"].decode(), int(dict(m.headers)["capmon.partition"]),
                int(dict(m.headers)["capmon.offset"])) for m in dead]
    assert set(sources) == {(m.topic, m.partition, m.offset) for m in invalid}
    assert len(dead) - len(invalid) <= kills * MAX_INVALID_IN_ONE_BATCH, (len(dead), len(invalid))


def watermark_day(worker: WorkerProcess) -> int:
    """How many days of the feed the figures have reached (0 before any event)."""
    try:
        now = worker.get("/api/occupancy")["now"]
    except OSError:
        return 0
    return 0 if now is None else (datetime.fromisoformat(now).date() - FEED_START).days


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_two_workers_stay_exact_through_kill_9_at_several_points_of_a_live_feed(settings, capmon_env, tmp_path):
    """Each kill makes the survivor rebalance while it processes, and each restart in place recovers a state
    directory that a kill interrupted: the two ways a processed event could go missing."""
    workers = [WorkerProcess(capmon_env, tmp_path, name).start() for name in ("a", "b")]
    feed = None
    try:
        wait_until(lambda: all(w.get("/health")["assigned_partitions"] for w in workers), timeout=60,
                   what="both workers to have partitions")
        feed = start_capmon("simulate", *FEED, "--speed", str(LIVE_SPEED), env=capmon_env,
                            log=tmp_path / "simulate.log")
        for n, day in enumerate(KILL_AT_DAYS):
            wait_until(lambda day=day: max(watermark_day(w) for w in workers) >= day, timeout=180,
                       what=f"the figures to reach day {day}")
            leader = [w for w in workers if w.metric("capmon_figures_reporter") == 1]
            victim = leader[0] if leader and n == 0 else workers[n % 2]  # the first kill hits the reporter
            victim.kill9()
            victim.start()  # the same state directory: a restart in place
        assert feed.wait(timeout=300) == 0, (tmp_path / "simulate.log").read_text()
        expected, _valid, invalid = ground_truth(settings)
        for worker in workers:
            wait_exact(worker, expected)
        wait_until(lambda: sum(w.metric("capmon_figures_reporter") for w in workers) == 1, timeout=60,
                   what="exactly one figures reporter")
        reporter = next(w for w in workers if w.metric("capmon_figures_reporter") == 1)
        assert reporter.metric("capmon_national_headroom") == expected["national"]["headroom"]
        assert_dead_letters_describe_the_input(settings, invalid, kills=len(KILL_AT_DAYS))
    finally:
        if feed is not None and feed.poll() is None:
            feed.kill()
        for worker in workers:
            worker.stop()


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_expiry_and_erasure_keep_the_figures_exact_and_reach_the_changelog(settings, capmon_env, tmp_path):
    """With a short retention persons expire while the feed is processed, and tombstones erase persons still in
    reception; the figures stay the reference's throughout, also after a kill -9 and a restart (which rebuilds
    the counts from the table and its forgotten histories); the changelog keeps only the minimum."""
    from kafka import KafkaProducer

    from streams.contract.records.values import decode_person

    result = run_capmon("simulate", "--days", "20", "--seed", "5", "--duplicates", "0.02", env=capmon_env,
                        timeout=300)
    assert result.returncode == 0, result.stderr
    expected, valid, _invalid = ground_truth(settings)
    env = {**capmon_env, "CAPMON_PERSON_RETENTION_DAYS": "5"}
    worker = WorkerProcess(env, tmp_path, "r").start()
    try:
        wait_exact(worker, expected)
        assert worker.metric("capmon_persons_expired_total") > 0
        latest: dict[str, tuple[str, str]] = {}
        for e in valid:
            if e["event_type"] == "placement":
                latest[e["person_id"]] = max(latest.get(e["person_id"], ("", "")), (e["occurred_at"], e["action"]))
        erased = sorted(p for p, (_at, action) in latest.items() if action != "check_out")[:20]
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        for person in erased:
            producer.send(Topics(settings.topic_prefix).placements, key=person.encode(), value=None)
        producer.flush()
        producer.close()
        wait_until(lambda: worker.metric("capmon_erasures_total") == len(erased), timeout=60, what="the erasures")
        assert figures_differences(worker, expected) == []  # an erasure changes no figure
        worker.kill9()
        worker.start()
        wait_exact(worker, expected)
        changelog = read_all(settings.kafka_bootstrap, [Topics(settings.topic_prefix).people_changelog])
        last = {m.key: m.value for m in changelog}
        for person in erased:
            stored = decode_person(last[person.encode()])
            assert stored.erased and stored.location is not None and not stored.registrations
            assert not stored.decisions and not stored.check_ins
        assert sum(1 for v in last.values() if v is None) > 0  # expired persons: tombstones
    finally:
        worker.stop()


def test_a_changelog_with_another_partition_count_is_refused_in_one_line(settings, capmon_env):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(Topics(settings.topic_prefix).people_changelog, 2, 1)])
    admin.close()
    result = run_capmon("worker", env=capmon_env, timeout=60)
    assert result.returncode == 2
    assert re.fullmatch(r"capmon worker: changelog topic \S+ has 2 partitions but the person topics have 4: "
                        r"use a new CAPMON_TOPIC_PREFIX.*\n", result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_worker_of_the_version_before_the_person_reader_in_the_group_is_refused_in_one_line(settings, capmon_env):
    """An earlier worker subscribes to the person topics itself; Faust's assignor would give both versions every
    person partition, so the new worker refuses to join instead of processing them twice."""
    from kafka import KafkaConsumer

    topics = Topics(settings.topic_prefix)
    run_capmon("topics", env=capmon_env, timeout=60)
    old = KafkaConsumer(topics.registrations, topics.decisions, topics.placements,
                        bootstrap_servers=settings.kafka_bootstrap, group_id=topics.app_id, client_id="capmon-0.9")
    try:
        wait_until(lambda: old.poll(100) is not None and old.assignment(), timeout=60, what="the old worker's join")
        result = run_capmon("worker", env=capmon_env, timeout=60)
    finally:
        old.close()
    assert result.returncode == 2
    assert re.fullmatch(r"capmon worker: 1 worker\(s\) of an earlier capmon version still run in consumer group "
                        r"\S+ \(capmon-0\.9\): .*not a rolling restart across this upgrade\)\n", result.stderr), \
        result.stderr


pytestmark = pytest.mark.kafka
