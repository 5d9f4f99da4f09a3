"""The broker goes away in the middle of a feed and comes back on the same data directory.

Workers must ride it out: no exit, no crash loop; `/health` 503 while they cannot consume and 200 after; the
read-outs never show a half-read view (before, during and after: only the figures of what was in Kafka before
or after the last events); the figures end exact; a threshold crossed by events produced just before the
outage (the workers were frozen, so they had not read them) is paged once the broker is back, and resolved
after, one PagerDuty incident; the metrics show the outage. 30 s in `make test`, 3 minutes with two workers in
`make test-slow`.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from capmon.harness import WorkerProcess, wait_until
from streams.config import load_settings
from tests.streams.test_worker import ground_truth, wait_exact
from tests.support.brokers import OwnBroker
from tests.support.helpers import replay, run_capmon
from tests.support.receivers import FakeReceiver, ReceiversThread

pytestmark = pytest.mark.kafka
PREFIX = "outage."
CROWD = 10  # people checked in just before the outage


@pytest.fixture
def broker(tmp_path: Path):
    with OwnBroker(tmp_path / "kafka") as broker:
        yield broker


def placements(at: datetime, location: str, action: str) -> list[dict]:
    events = []
    for i in range(CROWD):
        event = {"event_type": "placement", "event_id": f"outage-{action}-{i}",
                 "occurred_at": (at + timedelta(minutes=i)).isoformat(), "person_id": f"outage-p{i}",
                 "action": action, "location_id": location}
        events.append({**event, "reason": "housed"} if action == "check_out" else event)
    return events


def freeze(workers: list[WorkerProcess], sig: signal.Signals) -> None:
    for worker in workers:
        assert worker.proc is not None
        os.killpg(worker.proc.pid, sig)


@pytest.mark.parametrize("outage_s, n_workers", [
    pytest.param(30, 1, id="30s"),
    pytest.param(180, 2, id="3min-two-workers", marks=pytest.mark.slow),
])
def test_workers_ride_out_a_broker_outage(broker, tmp_path, outage_s, n_workers):
    settings = load_settings({}, kafka_bootstrap=broker.bootstrap, topic_prefix=PREFIX)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=broker.bootstrap, CAPMON_TOPIC_PREFIX=PREFIX)
    fed = run_capmon("simulate", "--days", "2", "--seed", "31", "--initial-occupancy", "0.05", "--duplicates", "0.02",
                     "--disorder", "600", "--invalid", "0.01", env=env, timeout=300)
    assert fed.returncode == 0, fed.stderr
    before, valid, _invalid = ground_truth(settings)
    last = max(datetime.fromisoformat(e["occurred_at"]) for e in valid)
    headroom = before["national"]["headroom"]
    roomy = next(loc for loc, f in sorted(before["locations"].items()) if f["capacity"] - f["occupancy"] >= CROWD)
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""rules:
  - name: national_crowded
    scope: national
    measure: headroom
    below: {headroom - CROWD // 2}
    clear: {headroom - 2}
    severity: critical
    notify: [pagerduty, slack]
""")
    with ReceiversThread(slack=FakeReceiver("slack"), pagerduty=FakeReceiver("pagerduty")) as receivers:
        env.update(CAPMON_ALERT_RULES=str(rules), CAPMON_SLACK_WEBHOOK_URL=receivers["slack"].url,
                   CAPMON_PAGERDUTY_ROUTING_KEY="test-routing-key", CAPMON_PAGERDUTY_URL=receivers["pagerduty"].url)
        workers = [WorkerProcess(env, tmp_path, f"w{i}").start() for i in range(n_workers)]
        try:
            for worker in workers:
                wait_exact(worker, before)

            # Events produced just before the outage, while the workers are frozen: none has read them.
            freeze(workers, signal.SIGSTOP)
            replay(placements(last + timedelta(minutes=1), roomy, "check_in"), tmp_path / "crowd.jsonl", env)
            after, _valid, _invalid = ground_truth(settings)
            assert after["national"]["headroom"] == headroom - CROWD
            broker.stop()
            down_at = time.monotonic()
            freeze(workers, signal.SIGCONT)

            unhealthy = set()
            while time.monotonic() - down_at < outage_s:
                for worker in workers:
                    assert worker.proc is not None and worker.proc.poll() is None, worker.log()[-3000:]
                    if worker.get_status("/health") == 503:
                        unhealthy.add(worker.port)
                    occupancy = worker.get("/api/occupancy")["national"]["occupancy"]  # the last whole view
                    assert before["national"]["occupancy"] <= occupancy <= after["national"]["occupancy"]
                time.sleep(1)  # the outage's own length: the loop checks the workers all through it
            assert unhealthy == {w.port for w in workers}, "/health stayed 200 while Kafka was gone"
            for worker in workers:
                assert worker.metric("capmon_kafka_reachable") == 0
                assert "Kafka unreachable for" in worker.text("/")  # the duty officer's page says it too

            broker.start()
            for worker in workers:
                wait_until(worker.healthy, timeout=120, what="/health 200 again after the outage")
                wait_exact(worker, after)
            wait_until(lambda: receivers["pagerduty"].incidents_opened == 1, timeout=60,
                       what="the page after the outage")

            replay(placements(last + timedelta(minutes=30), roomy, "check_out"), tmp_path / "leave.jsonl", env)
            end, _valid, _invalid = ground_truth(settings)
            for worker in workers:
                wait_exact(worker, end)
            pagerduty = receivers["pagerduty"]
            wait_until(lambda: set(pagerduty.incidents.values()) == {"resolved"}, timeout=60, what="the resolve")
            assert pagerduty.incidents_opened == 1
            actions = [body["event_action"] for body in pagerduty.accepted]
            assert actions == ["trigger", "resolve"], actions
            # Slack is a receiver of its own (paced, delivered apart from PagerDuty): its resolve may come later
            wait_until(lambda: len(receivers["slack"].accepted) >= 2, timeout=60, what="Slack's resolve")
            slack = [body["text"] for body in receivers["slack"].accepted]
            assert len(slack) == 2 and "national_crowded" in slack[0], slack

            for worker in workers:
                assert worker.metric("capmon_kafka_reachable") == 1 and "Kafka unreachable" not in worker.text("/")
                assert worker.metric("capmon_kafka_outages_total") >= 1
                assert worker.metric("capmon_kafka_unreachable_seconds_total") >= outage_s - 10
                assert "Kafka unreachable" in worker.log() and "Kafka reachable again" in worker.log()
                assert worker.proc is not None and worker.proc.poll() is None
        finally:
            for worker in workers:
                worker.stop()
