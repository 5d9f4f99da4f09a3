"""Live alerting end to end: the real worker on the real broker notifies real HTTP receivers on loopback.

The feed is a morning at two locations, replayed at a realistic pace (300x real time: a summary every 2.5
minutes of event time, shorter than any state in it), so live evaluation must agree with `capmon backtest`:
the same alerts fire and resolve, in the same order, through receiver failures, a kill -9 while an alert
fires, and a real Alertmanager."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from capmon.harness import WorkerProcess, wait_until
from tests.support.helpers import run_capmon, start_capmon, write_jsonl
from tests.support.receivers import FakeReceiver, ReceiversThread

pytestmark = pytest.mark.kafka

START = datetime.fromisoformat("2023-07-01T06:00:00+02:00")
PACE = 300  # event time per wall-clock time


def rules_yaml(national: str = "pagerduty, slack, alertmanager", province: str = "slack, alertmanager") -> str:
    """National headroom (critical) and province headroom (warning) rules, notifying these receivers."""
    return f"""
rules:
  - name: national_low
    scope: national
    measure: headroom
    below: 5
    clear: 8
    for: 30m
    severity: critical
    notify: [{national}]
  - name: province_low
    scope: province
    measure: headroom
    below: 3
    clear: 6
    for: 10m
    severity: warning
    notify: [{province}]
"""


def morning() -> list[dict]:
    """Two locations (NL-UT 20 beds, NL-GR 10) fill up from 06:00, NL-GR runs out at 08:42 and the country at
    09:00; check-outs from 11:00 bring both back. Registrations every two minutes keep every partition's
    event time moving, as real inflow does."""
    def at(minutes: float) -> str:
        return (START + timedelta(minutes=minutes)).isoformat()

    events: list[dict] = [
        {"event_type": "location", "event_id": f"loc-{loc}", "occurred_at": at(-1), "location_id": loc,
         "name": name, "province": province, "location_type": "regular", "capacity": beds, "status": "open"}
        for loc, name, province, beds in (("L1", "AZC Een", "NL-UT", 20), ("L2", "AZC Twee", "NL-GR", 10))]

    def place(minute: float, n: int, action: str, location: str) -> dict:
        body = {"event_type": "placement", "event_id": f"pl-{n}-{action}", "occurred_at": at(minute),
                "person_id": f"p{n:03d}", "action": action, "location_id": location}
        return {**body, "reason": "housed"} if action == "check_out" else body

    events += [place(6 * i, i, "check_in", "L1") for i in range(15)]
    events += [place(120 + 6 * i, 15 + i, "check_in", "L2") for i in range(10)]
    events += [place(180 + 6 * i, 25 + i, "check_in", "L1") for i in range(2)]
    events += [place(300 + 5 * i, 15 + i, "check_out", "L2") for i in range(8)]
    events += [{"event_type": "registration", "event_id": f"reg-{i}", "occurred_at": at(2 * i),
                "person_id": f"r{i:03d}", "application_type": "first", "nationality": "SYR"} for i in range(181)]
    return sorted(events, key=lambda e: e["occurred_at"])


def morning_feed(folder: Path, rules: str) -> tuple[Path, Path]:
    """The morning as a JSONL file, and `rules` as a rules file, in `folder`."""
    (folder / "rules.yaml").write_text(rules)
    return write_jsonl(folder / "feed.jsonl", morning()), folder / "rules.yaml"


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> tuple[Path, Path]:
    return morning_feed(tmp_path_factory.mktemp("alerts"), rules_yaml())


def backtest(feed: tuple[Path, Path], tmp_path: Path) -> list[dict]:
    out = tmp_path / "timeline.json"
    result = run_capmon("backtest", str(feed[0]), "--rules", str(feed[1]), "--json", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def replay_paced(feed: tuple[Path, Path], capmon_env: dict, tmp_path: Path):
    return start_capmon("replay", str(feed[0]), "--speed", str(PACE), env=capmon_env, log=tmp_path / "replay.log")


def alert_env(capmon_env, receivers: ReceiversThread, rules: Path) -> dict[str, str]:
    return {**capmon_env, "CAPMON_ALERT_RULES": str(rules), "CAPMON_SLACK_WEBHOOK_URL": receivers["slack"].url,
            "CAPMON_PAGERDUTY_ROUTING_KEY": "test-routing-key", "CAPMON_PAGERDUTY_URL": receivers["pagerduty"].url}


def slack_seen(slack: FakeReceiver) -> list[tuple[str, str]]:
    """(alert id, kind) of every accepted Slack message, from its context block, in arrival order."""
    seen = []
    for body in slack.accepted:
        alert = body["blocks"][2]["elements"][0]["text"].split("`")[1]
        kind = "resolved" if body["text"].startswith("[RESOLVED]") else "fired"
        seen.append((alert, kind))
    return seen


def per_alert(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alert, kind in pairs:
        out.setdefault(alert, []).append(kind)
    return out


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_live_notifications_agree_with_the_backtest_at_a_realistic_pace_through_receiver_failures(
        feed, capmon_env, tmp_path):
    expected = backtest(feed, tmp_path)
    want = per_alert([(e["alert_id"], "resolved" if e["kind"] == "resolved" else "fired") for e in expected])
    assert want == {"national_low/national": ["fired", "resolved"], "province_low/NL-GR": ["fired", "resolved"]}
    with ReceiversThread(slack=FakeReceiver("slack", [500, ("429", 1)]),
                         pagerduty=FakeReceiver("pagerduty", [503, ("slow", 1.5)])) as receivers:
        worker = WorkerProcess(alert_env(capmon_env, receivers, feed[1]), tmp_path).start()
        replay = replay_paced(feed, capmon_env, tmp_path)
        try:
            wait_until(lambda: len(receivers["slack"].accepted) >= 4, timeout=180, what="every Slack notification")
            assert replay.wait(timeout=60) == 0
            assert per_alert(slack_seen(receivers["slack"])) == want
            pd = receivers["pagerduty"]
            wait_until(lambda: pd.incidents == {"national_low/national": "resolved"}, timeout=30,
                       what="the PagerDuty incident to be resolved")
            assert pd.incidents_opened == 1
            fired = {e["alert_id"]: e["at"] for e in expected if e["kind"] == "fired"}
            history = {a["alert_id"]: a for a in worker.get("/api/alerts")["all"]}
            assert set(history) == set(fired) and not worker.get("/api/alerts")["active"]
        finally:
            replay.kill()
            worker.stop()


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_kill_9_while_an_alert_fires_opens_no_second_incident_and_still_resolves(feed, capmon_env, tmp_path):
    # PagerDuty is down at first, so the worker is killed while the critical alert fires, undelivered or not.
    with ReceiversThread(slack=FakeReceiver("slack"), pagerduty=FakeReceiver("pagerduty", [500] * 3)) as receivers:
        env = alert_env(capmon_env, receivers, feed[1])
        first = WorkerProcess(env, tmp_path, "w").start()
        replay = replay_paced(feed, capmon_env, tmp_path)
        again = None
        try:
            wait_until(lambda: receivers["pagerduty"].requests, timeout=180, what="the first page attempt")
            first.kill9()
            again = WorkerProcess(env, tmp_path, "w").start()
            pd = receivers["pagerduty"]
            wait_until(lambda: pd.incidents and all(v == "resolved" for v in pd.incidents.values()), timeout=180,
                       what="the incident to be resolved")
            assert pd.incidents_opened == 1
            assert {b["dedup_key"] for b in pd.accepted} == {"national_low/national"}
        finally:
            replay.kill()
            if again is not None:
                again.stop()


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_a_real_alertmanager_receives_and_routes_capmons_alerts(feed, capmon_env, tmp_path):
    from tests.support.alertmanager import Alertmanager

    with ReceiversThread(hook=FakeReceiver("webhook")) as receivers, \
            Alertmanager(tmp_path, receivers["hook"].url) as am:
        env = {**capmon_env, "CAPMON_ALERT_RULES": str(feed[1]), "CAPMON_ALERTMANAGER_URL": am.url,
               "CAPMON_ALERTMANAGER_RESEND_S": "1"}
        worker = WorkerProcess(env, tmp_path, "am").start()
        replay = replay_paced(feed, capmon_env, tmp_path)
        try:
            def webhook_states() -> dict[tuple[str, str], str]:
                states = {}
                for body in receivers["hook"].accepted:
                    for alert in body["alerts"]:
                        states[(alert["labels"]["alertname"], alert["labels"]["scope"])] = alert["status"]
                return states

            both = {("national_low", "national"), ("province_low", "NL-GR")}
            wait_until(lambda: {k for k, v in webhook_states().items() if v == "firing"} == both, timeout=180,
                       what="Alertmanager to route both firing alerts to the webhook")
            labels = receivers["hook"].accepted[0]["alerts"][0]["labels"]
            assert {"alertname", "severity", "scope"} <= set(labels) and labels["service"] == "capmon"
            with urllib.request.urlopen(f"{am.url}/api/v2/alerts?active=true", timeout=5) as response:
                active = {(a["labels"]["alertname"], a["labels"]["scope"]) for a in json.loads(response.read())}
            assert active == both
            wait_until(lambda: all(webhook_states().get(k) == "resolved" for k in both), timeout=180,
                       what="both alerts to be resolved through Alertmanager")
        finally:
            replay.kill()
            worker.stop()


def quiet_stretches() -> list[dict]:
    """Issue 18's feed: national headroom below 500 for 20 minutes at a time with no event at all in between,
    twice, each ended by check-outs that bring it past the clear value."""
    def at(minutes: float) -> str:
        return (START + timedelta(minutes=minutes)).isoformat()

    events: list[dict] = [{"event_type": "location", "event_id": "loc", "occurred_at": at(-1), "location_id": "L1",
                           "name": "AZC Een", "province": "NL-UT", "location_type": "regular", "capacity": 1000,
                           "status": "open"}]
    for cycle, start in enumerate((0, 60)):
        events += [{"event_type": "placement", "event_id": f"in-{cycle}-{i}", "occurred_at": at(start),
                    "person_id": f"p{cycle}-{i}", "action": "check_in", "location_id": "L1"} for i in range(510)]
        events += [{"event_type": "placement", "event_id": f"out-{cycle}-{i}", "occurred_at": at(start + 20),
                    "person_id": f"p{cycle}-{i}", "action": "check_out", "location_id": "L1", "reason": "housed"}
                   for i in range(510)]
    return events


QUIET_RULES = """
rules:
  - name: national_quiet
    scope: national
    measure: headroom
    below: 500
    clear: 600
    for: 10m
    severity: critical
    notify: [pagerduty]
"""


def test_a_quiet_stretch_does_not_swallow_a_page(capmon_env, tmp_path):
    (tmp_path / "rules.yaml").write_text(QUIET_RULES)
    feed = (write_jsonl(tmp_path / "quiet.jsonl", quiet_stretches()), tmp_path / "rules.yaml")
    expected = [(e["kind"], e["at"]) for e in backtest(feed, tmp_path)]
    assert [kind for kind, _at in expected] == ["fired", "resolved", "fired", "resolved"]
    with ReceiversThread(slack=FakeReceiver("slack"), pagerduty=FakeReceiver("pagerduty")) as receivers:
        worker = WorkerProcess(alert_env(capmon_env, receivers, feed[1]), tmp_path).start()
        replay = replay_paced(feed, capmon_env, tmp_path)
        try:
            pd = receivers["pagerduty"]
            wait_until(lambda: [b["event_action"] for b in pd.accepted] == ["trigger", "resolve"] * 2, timeout=120,
                       what=f"two pages and their resolves ({worker.log_path}; backtest {expected})")
            assert replay.wait(timeout=60) == 0
            def last_change() -> tuple[str, datetime] | None:
                alerts = worker.get("/api/alerts")["all"]  # read back from the alerts topic: may trail PagerDuty
                last = alerts[0]["last_change"] if alerts else None
                return last and last["kind"] == "resolved" and (last["kind"], datetime.fromisoformat(last["at"]))
            wait_until(last_change, timeout=30, what="the resolve in /api/alerts")
            assert last_change() == (expected[-1][0], datetime.fromisoformat(expected[-1][1]))
        finally:
            replay.kill()
            worker.stop()
