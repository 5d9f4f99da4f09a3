"""Receivers: one small class per integration, turning a transition into that receiver's own request.

    Slack          incoming-webhook JSON (text, blocks)
    PagerDuty      Events API v2 (routing_key, event_action trigger/resolve, stable dedup_key, payload)
    Alertmanager   POST /api/v2/alerts (labels alertname/rule/severity/scope/measure, startsAt, endsAt on resolve)
    log            a log line (always available)

A receiver only builds requests; `delivery.py` sends them and decides about retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from alerts.text import details, iso, plain, printable, slack_escape, summary
from streams.config import Settings
from streams.contract.records.alerts import Transition

log = logging.getLogger(__name__)
PAGERDUTY_DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True)
class Request:
    url: str
    json: Any


class Receiver(Protocol):
    name: str
    min_interval_s: float  # at most one request per this many seconds (Slack: 1 message per second)

    def request(self, t: Transition) -> Request | None:
        """The request announcing `t`, or None when this receiver has nothing to say about it."""


@dataclass(frozen=True)
class Links:
    status_url: str | None = None
    dashboard_url: str | None = None


class Slack:
    name = "slack"
    min_interval_s = 1.0

    def __init__(self, webhook_url: str, links: Links = Links()) -> None:
        self._url = webhook_url
        self.links = links

    def request(self, t: Transition) -> Request:
        text = slack_escape(summary(t))  # every text Slack reads is escaped: ids may hold `<!channel>`
        body = slack_escape("\n".join(details(t, self.links.status_url, self.links.dashboard_url)))
        return Request(self._url, {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": body}},
                {"type": "context", "elements": [{"type": "mrkdwn",
                                                  "text": f"capmon · alert `{slack_escape(t.alert_id)}`"}]},
            ],
        })


class PagerDuty:
    name = "pagerduty"
    min_interval_s = 0.0

    def __init__(self, routing_key: str, url: str = PAGERDUTY_DEFAULT_URL, links: Links = Links()) -> None:
        self._key = routing_key
        self._url = url
        self.links = links

    def request(self, t: Transition) -> Request:
        if t.kind == "resolved":
            return Request(self._url, {"routing_key": self._key, "event_action": "resolve", "dedup_key": t.alert_id})
        event: dict[str, Any] = {
            "routing_key": self._key,
            "event_action": "trigger",
            "dedup_key": t.alert_id,  # stable per alert: a re-sent trigger never opens a second incident
            "payload": {
                # Plain text, one line, within PagerDuty's 1,024 characters: a scope cannot add lines or bulk.
                "summary": plain(summary(t), 1024),
                "source": "capmon",
                "severity": t.severity,
                "timestamp": iso(t.at_us),
                "component": plain(t.scope, 255),
                "group": plain(t.measure, 255),
                "class": plain(t.rule, 255),
                "custom_details": {"value": t.value, "threshold": t.threshold, "since": iso(t.since_us),
                                   "escalated_from": t.escalated_from},
            },
        }
        links = [{"href": u, "text": "capmon"} for u in (self.links.status_url, self.links.dashboard_url) if u]
        if links:
            event["links"] = links
        return Request(self._url, event)


class Alertmanager:
    name = "alertmanager"
    min_interval_s = 0.0
    RESEND_ENDS_IN = timedelta(minutes=5)  # while firing capmon re-sends; Alertmanager ends it if we stop

    def __init__(self, base_url: str, links: Links = Links()) -> None:
        self._url = base_url.rstrip("/") + "/api/v2/alerts"
        self.links = links

    def request(self, t: Transition, now: datetime | None = None) -> Request:
        alert: dict[str, Any] = {
            # `measure` with `scope` is what deploy/alertmanager/alertmanager.yml inhibits on (siblings only).
            "labels": {"alertname": t.rule, "rule": t.rule, "severity": t.severity, "scope": t.scope,
                       "measure": t.measure, "service": "capmon"},
            "annotations": {"summary": summary(t), "description": " ".join(details(t, None, None))},
            "startsAt": iso(t.since_us or t.at_us),
        }
        if self.links.status_url:
            alert["generatorURL"] = self.links.status_url
        if t.kind == "resolved":
            alert["endsAt"] = iso(t.at_us)
        return Request(self._url, [alert])


class LogReceiver:
    name = "log"
    min_interval_s = 0.0

    def request(self, t: Transition) -> None:
        log.warning("alert %s", printable(summary(t)))
        return None


def build_receivers(settings: Settings) -> list[Receiver]:
    """The receivers configured by environment; the log receiver is always there."""
    links = Links(settings.status_url or f"http://{settings.web_host}:{settings.web_port}/", settings.dashboard_url)
    receivers: list[Receiver] = [LogReceiver()]
    if settings.slack_webhook_url is not None:
        receivers.append(Slack(settings.slack_webhook_url.get_secret_value(), links))
    if settings.pagerduty_routing_key is not None:
        receivers.append(PagerDuty(settings.pagerduty_routing_key.get_secret_value(), settings.pagerduty_url, links))
    if settings.alertmanager_url:
        receivers.append(Alertmanager(settings.alertmanager_url, links))
    return receivers
