"""A receiver that is away or slow, with a real worker on the real broker (`make test-slow`).

PagerDuty is down for ten minutes (connections refused, then 503s, then healthy) or answers every request
30 s late, while the morning of tests/alerts/test_live.py fires and resolves two alerts: every trigger and
resolve is delivered afterwards, in order per alert, one incident per alert, no notification twice; the queue
holds the changes only (memory flat); Slack and stream processing carry on as if nothing happened.
"""

from __future__ import annotations

import time

import pytest

from capmon.harness import WorkerProcess, free_port, wait_until
from tests.alerts.test_live import backtest, morning_feed, per_alert, replay_paced, rules_yaml, slack_seen
from tests.streams.test_worker import ground_truth, wait_exact
from tests.support.receivers import FakeReceiver, ReceiversThread

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
WANT = {"national_low/national": ["fired", "resolved"], "province_low/NL-GR": ["fired", "resolved"]}


@pytest.fixture
def feed(tmp_path):
    """The morning of tests/alerts/test_live.py, with both rules paging."""
    return morning_feed(tmp_path, rules_yaml(national="pagerduty, slack", province="pagerduty, slack"))


def pagerduty_seen(pd: FakeReceiver) -> dict[str, list[str]]:
    return per_alert([(b["dedup_key"], "fired" if b["event_action"] == "trigger" else "resolved")
                      for b in pd.accepted])


def start(receivers: ReceiversThread, feed, capmon_env, tmp_path) -> WorkerProcess:
    env = {**capmon_env, "CAPMON_ALERT_RULES": str(feed[1]), "CAPMON_SLACK_WEBHOOK_URL": receivers["slack"].url,
           "CAPMON_PAGERDUTY_ROUTING_KEY": "test-routing-key", "CAPMON_PAGERDUTY_URL": receivers["pagerduty"].url}
    return WorkerProcess(env, tmp_path).start()


def rss(worker: WorkerProcess) -> float:
    return worker.metric("process_resident_memory_bytes")


def test_pagerduty_down_for_ten_minutes_gets_every_change_afterwards(feed, settings, capmon_env, tmp_path):
    assert per_alert([(e["alert_id"], "resolved" if e["kind"] == "resolved" else "fired")
                      for e in backtest(feed, tmp_path)]) == WANT
    port = free_port()
    pd = FakeReceiver("pagerduty")
    pd.url = f"http://127.0.0.1:{port}/v2/enqueue"  # nothing listens yet: connections are refused
    with ReceiversThread(slack=FakeReceiver("slack"), pagerduty=pd) as receivers:
        worker = start(receivers, feed, capmon_env, tmp_path)
        down_at = time.monotonic()
        replay = replay_paced(feed, capmon_env, tmp_path)
        try:
            # Slack and the figures carry on while PagerDuty refuses connections.
            wait_until(lambda: len(receivers["slack"].accepted) == 4, timeout=180, what="every Slack notification")
            assert per_alert(slack_seen(receivers["slack"])) == WANT
            assert replay.wait(timeout=60) == 0
            wait_exact(worker, ground_truth(settings)[0], timeout=120)
            wait_until(lambda: worker.metric("capmon_alert_delivery_queue", {"receiver": "pagerduty"}) == 4, timeout=60,
                       what="four PagerDuty notifications waiting")
            memory_before = rss(worker)

            wait_until(lambda: time.monotonic() - down_at > 300, timeout=330, interval=5, what="five minutes refused")
            pd.unavailable_until = down_at + 600  # then up, but answering 503 for the rest of the ten minutes
            receivers.start(pd, port)
            wait_until(lambda: len(pd.requests) > 0, timeout=60, what="a retry answered with 503")
            wait_until(lambda: time.monotonic() > pd.unavailable_until, timeout=330, interval=5, what="ten minutes")
            assert not pd.accepted
            assert worker.metric("capmon_alert_delivery_queue", {"receiver": "pagerduty"}) == 4  # changes, not retries
            memory_after = rss(worker)
            assert worker.metric("capmon_alert_delivery_retries_total", {"receiver": "pagerduty"}) > 10

            wait_until(lambda: len(pd.accepted) == 4, timeout=120, what="every PagerDuty change after the outage")
            assert pagerduty_seen(pd) == WANT  # in order per alert
            assert pd.incidents_opened == 2 and set(pd.incidents.values()) == {"resolved"}
            assert worker.metric("capmon_alert_delivery_queue", {"receiver": "pagerduty"}) == 0
            assert memory_after - memory_before < 16 * 2**20, (memory_before, memory_after)
            assert worker.proc is not None and worker.proc.poll() is None
        finally:
            replay.kill()
            worker.stop()


def test_a_receiver_answering_in_30_s_gets_each_change_once_and_holds_up_nothing(feed, settings, capmon_env,
                                                                                  tmp_path):
    with ReceiversThread(slack=FakeReceiver("slack"),
                         pagerduty=FakeReceiver("pagerduty", [("slow", 30)] * 8)) as receivers:
        worker = start(receivers, feed, capmon_env, tmp_path)
        replay = replay_paced(feed, capmon_env, tmp_path)
        pd = receivers["pagerduty"]
        try:
            wait_until(lambda: len(receivers["slack"].accepted) == 4, timeout=180, what="every Slack notification")
            assert replay.wait(timeout=60) == 0
            wait_exact(worker, ground_truth(settings)[0], timeout=120)
            assert len(pd.accepted) < 4  # Slack and the figures did not wait for PagerDuty
            wait_until(lambda: len(pd.accepted) == 4, timeout=240, what="every PagerDuty change, 30 s each")
            assert len(pd.requests) == 4, "a slow answer was taken for a failure and sent again"
            assert pagerduty_seen(pd) == WANT and pd.incidents_opened == 2
            assert receivers["slack"].arrivals[-1] < pd.arrivals[-1] - 30
        finally:
            replay.kill()
            worker.stop()
