"""Live alerting end to end: the real worker on the real broker notifies real HTTP receivers on loopback,
exactly as `capmon backtest` says, through receiver failures and a kill -9 while an alert fires."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.alerts.receivers import FakeReceiver, ReceiversThread
from tests.helpers import REPO, run_capmon, wait_for
from tests.worker_harness import WorkerProcess

RULES = REPO / "deploy" / "alerts" / "rules.yaml"


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    path = tmp_path_factory.mktemp("alerts") / "feed.jsonl"
    made = run_capmon("simulate", "--days", "45", "--seed", "1", "--out", str(path))
    assert made.returncode == 0, made.stderr
    return path


def expected_notifications(feed, tmp_path) -> list[dict]:
    out = tmp_path / "timeline.json"
    result = run_capmon("backtest", str(feed), "--rules", str(RULES), "--json", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def alert_env(capmon_env, receivers: ReceiversThread) -> dict[str, str]:
    return {**capmon_env, "CAPMON_ALERT_RULES": str(RULES), "CAPMON_SLACK_WEBHOOK_URL": receivers["slack"].url,
            "CAPMON_PAGERDUTY_ROUTING_KEY": "test-routing-key", "CAPMON_PAGERDUTY_URL": receivers["pagerduty"].url}


def slack_seen(slack: FakeReceiver) -> list[tuple[str, str]]:
    """(alert id, kind) of every accepted Slack message, from its context block."""
    seen = []
    for body in slack.accepted:
        alert = body["blocks"][2]["elements"][0]["text"].split("`")[1]
        kind = "resolved" if body["text"].startswith("[RESOLVED]") else "fired"
        seen.append((alert, kind))
    return seen


def test_live_notifications_equal_the_backtest_through_receiver_failures(feed, settings, capmon_env, tmp_path):
    expected = expected_notifications(feed, tmp_path)
    want_slack = sorted((e["alert_id"], "resolved" if e["kind"] == "resolved" else "fired") for e in expected)
    want_pd = [e for e in expected if e["severity"] == "critical"]
    assert want_pd and any(e["kind"] == "resolved" for e in expected)
    replayed = run_capmon("replay", str(feed), env=capmon_env, timeout=300)
    assert replayed.returncode == 0, replayed.stderr
    with ReceiversThread(slack=FakeReceiver("slack", [500, ("429", 1)]),
                         pagerduty=FakeReceiver("pagerduty", [503, ("slow", 1.5)])) as receivers:
        worker = WorkerProcess(alert_env(capmon_env, receivers), tmp_path).start()
        try:
            wait_for(lambda: len(receivers["slack"].accepted) >= len(want_slack), timeout=120,
                     what="every Slack notification")
            wait_for(lambda: len(receivers["pagerduty"].accepted) >= len(want_pd), timeout=60,
                     what="every PagerDuty event")
            assert sorted(slack_seen(receivers["slack"])) == want_slack
            pd = receivers["pagerduty"]
            assert pd.incidents_opened == sum(e["kind"] in ("fired", "escalated") for e in want_pd)
            assert pd.incidents == {e["alert_id"]: "resolved" if e["kind"] == "resolved" else "triggered"
                                    for e in want_pd}  # the last word per alert wins
            last = {e["alert_id"]: e["kind"] for e in expected}
            alerts = worker.get("/api/alerts")
            assert {a["alert_id"] for a in alerts["active"]} == {k for k, kind in last.items() if kind != "resolved"}
            metrics = worker.text("/metrics")
            assert 'capmon_alert_active{rule="province_headroom_low",scope="NL-ZE",severity="warning"} 1.0' in metrics
        finally:
            worker.stop()


def test_kill_9_while_an_alert_fires_opens_no_second_incident_and_still_resolves(feed, settings, capmon_env,
                                                                                 tmp_path):
    expected = expected_notifications(feed, tmp_path)
    want_pd = [e for e in expected if e["severity"] == "critical"]
    replayed = run_capmon("replay", str(feed), env=capmon_env, timeout=300)
    assert replayed.returncode == 0, replayed.stderr
    # PagerDuty is down at first, so the worker is killed while the critical alert fires, undelivered or not.
    with ReceiversThread(slack=FakeReceiver("slack"), pagerduty=FakeReceiver("pagerduty", [500] * 3)) as receivers:
        env = alert_env(capmon_env, receivers)
        first = WorkerProcess(env, tmp_path, "w").start()
        wait_for(lambda: receivers["pagerduty"].requests, timeout=120, what="the first page attempt")
        first.kill9()
        again = WorkerProcess(env, tmp_path, "w").start()
        try:
            pd = receivers["pagerduty"]
            wait_for(lambda: pd.incidents and all(v == "resolved" for v in pd.incidents.values()), timeout=120,
                     what="the incident to be resolved")
            assert pd.incidents_opened == sum(e["kind"] in ("fired", "escalated") for e in want_pd) == 1
            assert {b["dedup_key"] for b in pd.accepted} == {e["alert_id"] for e in want_pd}
        finally:
            again.stop()


def test_a_real_alertmanager_receives_and_routes_capmons_alerts(feed, settings, capmon_env, tmp_path):
    from tests.alerts.alertmanager import Alertmanager

    expected = expected_notifications(feed, tmp_path)
    routed = expected  # every default rule notifies Alertmanager too
    replayed = run_capmon("replay", str(feed), env=capmon_env, timeout=300)
    assert replayed.returncode == 0, replayed.stderr
    with ReceiversThread(hook=FakeReceiver("webhook")) as receivers, \
            Alertmanager(tmp_path, receivers["hook"].url) as am:
        env = {**capmon_env, "CAPMON_ALERT_RULES": str(RULES), "CAPMON_ALERTMANAGER_URL": am.url,
               "CAPMON_ALERTMANAGER_RESEND_S": "1"}
        worker = WorkerProcess(env, tmp_path, "am").start()
        try:
            last = {e["alert_id"]: e["kind"] for e in routed}

            def webhook_states() -> dict[tuple[str, str], str]:
                states = {}
                for body in receivers["hook"].accepted:
                    for alert in body["alerts"]:
                        states[(alert["labels"]["alertname"], alert["labels"]["scope"])] = alert["status"]
                return states

            want = {tuple(k.split("/")): ("resolved" if v == "resolved" else "firing") for k, v in last.items()}
            wait_for(lambda: all(webhook_states().get(k) == v for k, v in want.items()), timeout=120,
                     what="Alertmanager to route every alert to the webhook")
            labels = receivers["hook"].accepted[0]["alerts"][0]["labels"]
            assert {"alertname", "severity", "scope"} <= set(labels) and labels["service"] == "capmon"
            with urllib.request.urlopen(f"{am.url}/api/v2/alerts?active=true", timeout=5) as response:
                active = {(a["labels"]["alertname"], a["labels"]["scope"]) for a in json.loads(response.read())}
            assert active == {k for k, v in want.items() if v == "firing"}
        finally:
            worker.stop()
