"""A worker against a real broker survives what a producer can write (issue 18, point 1): a 1,010,000-byte
value (the broker accepts it), records nested too deeply on capmon's own figures and alerts topics, and
thousands of location ids on one partition (a summary that outgrows one record; none of them a label). Before
the fix the first stopped every worker for good (the dead letter was refused by the producer: exit 70 on every
restart)."""

from __future__ import annotations

import time

from kafka import KafkaProducer

from capmon.harness import WorkerProcess, wait_until
from streams.contract.topics import Topics
from tests.support.helpers import read_all, replay

AT = "2023-07-01T10:00:00+02:00"
PLACED = 10_000  # distinct location ids on the one partition: a summary of ~300 KB, over one part (256 KiB)
DEEP = b"[" * 100_000 + b"]" * 100_000


def placements(start: int, n: int) -> list[dict]:
    return [{"event_type": "placement", "event_id": f"c{i}", "occurred_at": AT, "person_id": f"p{i}",
             "action": "check_in", "location_id": f"L{i:06d}"} for i in range(start, start + n)]


def test_an_oversized_value_nested_records_and_a_huge_summary_stop_no_worker(settings, capmon_env, tmp_path):
    env = {**capmon_env, "CAPMON_PARTITIONS": "1"}
    topics = Topics(settings.topic_prefix)
    worker = WorkerProcess(env, tmp_path).start()
    try:
        pid = worker.proc.pid
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, max_request_size=2_000_000)
        producer.send(topics.placements, key=b"p-big", value=b"\x00" * 1_010_000).get(timeout=30)
        producer.send(topics.figures, key=b"partition:0", value=DEEP).get(timeout=30)
        producer.send(topics.alerts, key=b"rule/national", value=DEEP).get(timeout=30)
        producer.close()
        replay(placements(0, PLACED), tmp_path / "feed.jsonl", env)

        def exact() -> bool:
            if worker.get_status("/api/occupancy") != 200:
                return False
            return worker.get("/api/occupancy")["national"]["occupancy"] == PLACED
        wait_until(exact, timeout=120, what=f"national occupancy {PLACED} ({worker.log_path})")
        assert worker.proc.poll() is None and worker.proc.pid == pid and worker.healthy()

        [dead] = read_all(settings.kafka_bootstrap, [topics.dead_letters])
        headers = dict(dead.headers)
        assert headers["capmon.size"] == b"1010000" and len(dead.value) == 1_024
        assert headers["capmon.reason"].startswith(b"too large: 1010000 bytes")
        keys = [m.key for m in read_all(settings.kafka_bootstrap, [topics.figures])]
        assert b"partition:0:part:0" in keys  # the summary went out in parts (and was read back whole above)
        wait_until(lambda: worker.metric("capmon_internal_records_skipped_total", {"topic": "capmon-figures"}) == 1
                   and worker.metric("capmon_internal_records_skipped_total", {"topic": "alerts"}) == 1,
                   timeout=30, what="the two unreadable records counted")
        assert "Traceback" not in worker.log()
        metrics = worker.text("/metrics").splitlines()
        series = [line for line in metrics if line.startswith("capmon_location_occupancy{")]
        assert series == ['capmon_location_occupancy{location_id="unregistered",location_type="unknown",'
                          f'province="unknown"}} {PLACED:.1f}']  # 10,000 producer-chosen ids, not one a label
        assert "L000123" not in worker.text("/api/occupancy") and "L000123" not in worker.text("/")

        # and again after a restart: the oversized message and the unreadable records are read again, and skipped
        worker.kill9()
        started = time.monotonic()
        worker.start()
        wait_until(exact, timeout=120, what="the figures again after a restart")
        assert worker.healthy() and time.monotonic() - started < 120
    finally:
        worker.stop()
