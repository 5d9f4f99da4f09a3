"""deploy/alertmanager/alertmanager.yml in a real Alertmanager: a critical alert mutes only its warning sibling
(same measure, same scope), never an unrelated alert; a rule's alerts for many scopes go out as one
notification; and what reaches Slack through its templates is escaped.

The alerts are the ones the two real sources send: capmon's built by its own Alertmanager receiver
(alerts/receivers.py), Prometheus' with the labels of deploy/prometheus/rules. Only the secrets (files with
loopback receivers' addresses) and group_wait (1 s instead of 10 s) differ from the deployed file.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from alerts.receivers import Alertmanager as AlertmanagerReceiver
from capmon.harness import wait_until
from streams.contract.records.alerts import Transition
from tests.support.alertmanager import Alertmanager
from tests.support.helpers import REPO
from tests.support.receivers import FakeReceiver, ReceiversThread

DEPLOYED = REPO / "deploy/alertmanager/alertmanager.yml"
PROMETHEUS_RULES = REPO / "deploy/prometheus/rules/capmon-health.yml"
US = 1_678_782_600_000_000  # 2023-03-14 09:30 CET
EVIL = "<!channel> <https://evil.example|x> &"


def deployed_config(tmp: Path, slack_url: str, pagerduty_url: str) -> str:
    config = yaml.safe_load(DEPLOYED.read_text())
    (tmp / "slack_webhook_url").write_text(slack_url)
    (tmp / "pagerduty_routing_key").write_text("R0UTINGKEY")
    config["route"]["group_wait"] = "1s"
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            slack["api_url_file"] = str(tmp / "slack_webhook_url")
        for pagerduty in receiver.get("pagerduty_configs", []):
            pagerduty["routing_key_file"] = str(tmp / "pagerduty_routing_key")
            pagerduty["url"] = pagerduty_url
    return yaml.safe_dump(config)


def capmon_alert(rule: str, scope: str, severity: str, measure: str) -> dict[str, Any]:
    t = Transition(f"{rule}/{scope}", rule, scope, severity, measure, "fired", US + 3_600_000_000, 412.0, US,
                   500.0, ("alertmanager",))
    return AlertmanagerReceiver("http://127.0.0.1:1").request(t).json[0]


def prometheus_alert(name: str, instance: str) -> dict[str, Any]:
    rules = [r for g in yaml.safe_load(PROMETHEUS_RULES.read_text())["groups"] for r in g["rules"]]
    rule = next(r for r in rules if r.get("alert") == name)
    return {"labels": {"alertname": name, **rule["labels"], "instance": instance, "job": "capmon"},
            "annotations": {k: v.replace("{{ $labels.instance }}", instance) for k, v in rule["annotations"].items()}}


# Sources first: the inhibitor takes alerts in the order posted, so once the last critical mutes its sibling,
# every critical has been taken in and an alert left unmuted is one the configuration does not mute.
SOURCES = 3  # the first three: every critical (and an alert without measure or scope)
ALERTS = [
    prometheus_alert("CapmonKafkaUnreachable", "worker-1:6066"),
    capmon_alert("ter_apel_over_norm", "ter-apel", "critical", "over_norm"),
    capmon_alert("national_headroom_critical", "national", "critical", "headroom"),
    prometheus_alert("CapmonWorkerDown", "worker-2:6066"),
    capmon_alert("national_headroom_low", "national", "warning", "headroom"),
    capmon_alert("inflow_above_mpp_max", "national", "warning", "mpp_deviation:max"),
    capmon_alert("location_over_capacity", "ter-apel", "warning", "headroom"),
    capmon_alert("location_over_capacity", "budel", "warning", "headroom"),
    capmon_alert("location_over_capacity", EVIL, "warning", "headroom"),
    capmon_alert("province_headroom_low", "NL-GR", "warning", "headroom"),
    capmon_alert("province_headroom_low", "NL-FR", "warning", "headroom"),
]


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def post(url: str, body: Any) -> None:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def key(alert: dict[str, Any]) -> tuple[str, str]:
    labels = alert["labels"]
    return labels["alertname"], labels.get("scope") or labels["instance"]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for v in items for s in strings(v)]


def test_a_critical_mutes_only_its_sibling_and_a_rules_scopes_go_out_together(tmp_path):
    assert all(a["labels"]["measure"] and a["labels"]["scope"] for a in ALERTS if "service" in a["labels"])
    with ReceiversThread(slack=FakeReceiver("webhook"), pagerduty=FakeReceiver("webhook")) as receivers, \
            Alertmanager(tmp_path, config=deployed_config(tmp_path, receivers["slack"].url,
                                                          receivers["pagerduty"].url)) as am:
        def states() -> dict[tuple[str, str], dict[str, Any]]:
            return {key(a): a for a in get(f"{am.url}/api/v2/alerts")}

        # The sources go in first and are seen before the rest: the inhibitor takes alerts in from its own
        # subscription, and under load it lagged more than the test's 1 s group_wait behind one POST of all
        # of them (the deployed 10 s hides that; a real critical fires before its warning sibling's group
        # flushes, or mutes it from the next flush on).
        sources = ALERTS[:SOURCES]
        post(f"{am.url}/api/v2/alerts", sources)
        wait_until(lambda: {key(a) for a in sources} <= states().keys(), timeout=30, what="the sources taken in")
        post(f"{am.url}/api/v2/alerts", ALERTS[SOURCES:])

        wait_until(lambda: states().get(("national_headroom_low", "national"), {}).get("status", {}).get("state")
                   == "suppressed", timeout=30, what="national_headroom_critical to mute national_headroom_low")
        now = states()
        muted = {k for k, a in now.items() if a["status"]["inhibitedBy"]}
        assert muted == {("national_headroom_low", "national")}, muted
        assert now[("national_headroom_low", "national")]["status"]["inhibitedBy"] == [
            now[("national_headroom_critical", "national")]["fingerprint"]]
        # The pairs an equal: [scope] rule muted: a missing scope equals a missing scope, and a shared scope
        # is not a shared measure.
        assert now[("CapmonWorkerDown", "worker-2:6066")]["status"]["state"] == "active"
        assert now[("inflow_above_mpp_max", "national")]["status"]["state"] == "active"
        assert now[("location_over_capacity", "ter-apel")]["status"]["state"] == "active"

        groups = Counter()
        for group in get(f"{am.url}/api/v2/alerts/groups"):
            if group["receiver"]["name"] == "slack":
                for alert in group["alerts"]:
                    groups[(alert["labels"]["alertname"], json.dumps(group["labels"], sort_keys=True))] += 1
        assert groups[("location_over_capacity", '{"alertname": "location_over_capacity"}')] == 3, groups
        assert groups[("province_headroom_low", '{"alertname": "province_headroom_low"}')] == 2, groups

        notified = {"location_over_capacity", "province_headroom_low", "inflow_above_mpp_max", "CapmonWorkerDown",
                    "national_headroom_critical", "ter_apel_over_norm", "CapmonKafkaUnreachable"}

        def slack_titles() -> list[str]:
            return [b["attachments"][0]["title"] for b in receivers["slack"].accepted]

        wait_until(lambda: all(any(n in t for t in slack_titles()) for n in notified), timeout=60,
                   what=f"Slack messages for each of {sorted(notified)}")
        messages = receivers["slack"].accepted
        per_rule = Counter(n for t in slack_titles() for n in notified | {"national_headroom_low"} if t.endswith(n))
        assert per_rule == dict.fromkeys(notified, 1), per_rule  # one message per rule; the muted one none
        locations = next(b for b in messages if b["attachments"][0]["title"].endswith("location_over_capacity"))
        text = locations["attachments"][0]["text"]
        assert "(ter-apel)" in text and "(budel)" in text
        assert "&lt;!channel&gt; &lt;https://evil.example|x&gt; &amp;" in text
        for value in (s for body in messages for s in strings(body)):
            assert "<" not in value and ">" not in value, value  # nothing Slack would obey as a mention or link
