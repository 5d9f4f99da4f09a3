"""Delivery to real HTTP receivers on loopback: payload formats, retries, no retry on 4xx, no second incident."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time

import pytest
from prometheus_client import CollectorRegistry

from alerts.delivery import (
    MAX_RETRY_AFTER_S,
    Backoff,
    Dispatcher,
    Entry,
    ReceiverQueue,
    classify,
    parse_retry_after,
    pause_before_retry,
)
from alerts.receivers import Alertmanager, Links, PagerDuty, Slack
from streams.config import load_settings
from streams.contract.records.alerts import Transition
from streams.errors import ConfigError
from tests.support.helpers import run_capmon
from tests.support.receivers import FakeReceiver

US = 1_678_782_600_000_000  # 2023-03-14 09:30 CET


def transition(kind: str = "fired", alert: str = "national_headroom_critical/national", **kw) -> Transition:
    base = dict(alert_id=alert, rule=alert.split("/")[0], scope=alert.split("/")[1], severity="critical",
                measure="headroom", kind=kind, at_us=US + 3_600_000_000, value=412.0, since_us=US, threshold=500.0,
                notify=("pagerduty", "slack"))
    return Transition(**{**base, **kw})


FAST = Backoff(initial_s=0.05, max_s=0.2, timeout_s=0.5)


async def deliver(receivers, transitions, backoff=FAST, timeout=15.0):
    registry = CollectorRegistry()
    dispatcher = Dispatcher(receivers, registry, backoff)
    await dispatcher.start()
    try:
        for t in transitions:
            dispatcher.submit(t)
        assert await dispatcher.drain(timeout)
    finally:
        await dispatcher.stop()
    return registry


def sample(registry, name, receiver):
    return registry.get_sample_value(name, {"receiver": receiver}) or 0.0


def test_classification_and_retry_after():
    assert classify(200, None).delivered and classify(202, None).delivered
    assert classify(429, "3").retry and classify(429, "3").retry_after_s == 3
    assert classify(503, None).retry and not classify(400, None).retry and not classify(404, None).delivered
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_slack_and_pagerduty_payloads_in_their_own_formats():
    async def scenario():
        slack, pd = await FakeReceiver("slack").start(), await FakeReceiver("pagerduty").start()
        links = Links("http://capmon.example/", "http://grafana.example/d/capacity")
        try:
            await deliver([Slack(slack.url, links), PagerDuty("R0UTINGKEY", pd.url, links)],
                          [transition(), transition("resolved")])
        finally:
            await slack.stop()
            await pd.stop()
        return slack, pd

    slack, pd = asyncio.run(scenario())
    fired, resolved = slack.accepted
    assert fired["text"].startswith("[CRITICAL] headroom (free usable beds) nationally: 412 (threshold 500) since")
    assert fired["blocks"][0]["type"] == "section" and "http://capmon.example/" in fired["blocks"][1]["text"]["text"]
    assert resolved["text"].startswith("[RESOLVED]")
    trigger, resolve = pd.accepted
    assert trigger["routing_key"] == "R0UTINGKEY" and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "national_headroom_critical/national" == resolve["dedup_key"]
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["source"] == "capmon"
    assert trigger["payload"]["summary"] == fired["text"]
    assert resolve["event_action"] == "resolve"
    assert pd.incidents == {"national_headroom_critical/national": "resolved"} and pd.incidents_opened == 1


def test_retries_on_500_429_and_timeouts_until_delivered_without_a_second_incident():
    async def scenario():
        pd = await FakeReceiver("pagerduty", [500, ("429", 0.3), ("slow", 1.0), 503]).start()
        started = time.monotonic()
        try:
            registry = await deliver([PagerDuty("K", pd.url)], [transition()])
        finally:
            await pd.stop()
        return pd, registry, time.monotonic() - started

    pd, registry, took = asyncio.run(scenario())
    assert len(pd.requests) == 5 and len(pd.accepted) == 2  # the late answer, and the final retry
    assert {b["dedup_key"] for b in pd.accepted} == {"national_headroom_critical/national"}
    assert pd.incidents_opened == 1  # the late answer was acted on, the retry carried the same dedup_key
    assert sample(registry, "capmon_alert_delivery_retries_total", "pagerduty") == 4
    assert sample(registry, "capmon_alert_deliveries_total", "pagerduty") == 1
    assert took >= 0.3  # Retry-After was honoured


def test_other_4xx_is_not_retried_but_counted():
    async def scenario():
        slack = await FakeReceiver("slack", [400]).start()
        try:
            registry = await deliver([Slack(slack.url)], [transition(notify=("slack",))])
        finally:
            await slack.stop()
        return slack, registry

    slack, registry = asyncio.run(scenario())
    assert len(slack.requests) == 1 and slack.accepted == []
    assert sample(registry, "capmon_alert_delivery_failures_total", "slack") == 1


def test_slack_is_kept_under_one_message_per_second_and_a_down_receiver_does_not_hold_others():
    async def scenario():
        slack = await FakeReceiver("slack").start()
        pd = await FakeReceiver("pagerduty", [500] * 6).start()  # down for a while
        started = time.monotonic()
        try:
            await deliver([Slack(slack.url), PagerDuty("K", pd.url)],
                          [transition(alert=f"r{i}/national") for i in range(3)])
        finally:
            await slack.stop()
            await pd.stop()
        return slack, pd, time.monotonic() - started

    slack, pd, took = asyncio.run(scenario())
    assert len(slack.accepted) == 3 and took >= 2.0  # 3 messages need at least 2 s at 1/s
    assert pd.incidents_opened == 3


def test_alertmanager_payload():
    am = Alertmanager("http://127.0.0.1:9093/", Links("http://capmon/"))
    fired = am.request(transition()).json[0]
    assert am.request(transition()).url == "http://127.0.0.1:9093/api/v2/alerts"
    assert fired["labels"]["alertname"] == "national_headroom_critical"
    assert fired["labels"]["severity"] == "critical" and fired["labels"]["scope"] == "national"
    # CONTRACT.md section 7; deploy/alertmanager inhibits on measure and scope
    assert fired["labels"]["measure"] == "headroom" and fired["labels"]["rule"] == "national_headroom_critical"
    assert fired["startsAt"].startswith("2023-03-14T09:30") and "endsAt" not in fired
    resolved = am.request(transition("resolved")).json[0]
    assert resolved["endsAt"].startswith("2023-03-14T10:30")


def test_retry_after_is_capped_so_a_receiver_cannot_stall_its_queue():
    for value in ("inf", "Infinity", "1e308", "nan", "Fri, 31 Dec 9999 23:59:59 GMT"):
        assert parse_retry_after(value) == MAX_RETRY_AFTER_S, value
    assert parse_retry_after("-5") == 0.0 and parse_retry_after("12") == 12.0


def test_a_newer_state_supersedes_a_queued_resend_and_triggers_and_resolves_are_never_dropped():
    async def scenario() -> list[tuple[str, str, bool]]:
        queue = ReceiverQueue()
        a, b = "low/national", "low/NL-UT"
        spared = [queue.put(Entry(transition("fired", a), 0.0, resend=True)),
                  queue.put(Entry(transition("fired", a), 0.0, resend=True)),  # behind its own: spared
                  queue.put(Entry(transition("fired", b), 0.0)),
                  queue.put(Entry(transition("resolved", a), 0.0)),  # supersedes a's queued re-send
                  queue.put(Entry(transition("fired", a), 0.0)),  # a trigger after a resolve: kept, in order
                  queue.put(Entry(transition("fired", b), 0.0, resend=True))]  # b's trigger still waits: spared
        assert spared == [0, 1, 0, 1, 0, 1]
        out = []
        while queue.qsize():
            e = await queue.get()
            out.append((e.transition.alert_id, e.transition.kind, e.resend))
            queue.done()
        await asyncio.wait_for(queue.join(), 1)
        return out

    assert asyncio.run(scenario()) == [("low/NL-UT", "fired", False), ("low/national", "resolved", False),
                                       ("low/national", "fired", False)]


def test_slack_text_shows_what_slack_would_obey():
    t = transition(alert="low/<!channel>&", scope="<!channel>&")
    body = Slack("http://127.0.0.1:1/hook").request(t).json
    texts = [body["text"], *(b["text"]["text"] for b in body["blocks"] if "text" in b),
             body["blocks"][-1]["elements"][0]["text"]]
    assert all("<!channel>" not in x for x in texts)
    assert "&lt;!channel&gt;&amp;" in body["text"] and "&lt;!channel&gt;&amp;" in texts[-1]


def test_retry_after_lengthens_a_wait_but_never_shortens_it():
    assert Backoff().initial_s == 1.0 and Backoff().max_s == 60.0  # CONTRACT.md section 7
    assert pause_before_retry(1.0, 0.0) == 1.0 and pause_before_retry(8.0, None) == 8.0
    assert pause_before_retry(2.0, 30.0) == 30.0
    assert pause_before_retry(60.0, parse_retry_after("86400")) == MAX_RETRY_AFTER_S


def test_retry_after_zero_on_429_follows_the_backoff_schedule_instead_of_flooding():
    """A receiver answering every request with 429 and `Retry-After: 0` (one alert gave 12,312 POSTs in 2 s):
    the default schedule still waits 1 s, then 2 s, between attempts."""

    async def scenario() -> tuple[list[float], int]:
        pd = await FakeReceiver("pagerduty", [("429", 0)] * 1000).start()
        dispatcher = Dispatcher([PagerDuty("K", pd.url)], CollectorRegistry())  # the production schedule
        await dispatcher.start()
        try:
            dispatcher.submit(transition())
            deadline = time.monotonic() + 30
            while len(pd.arrivals) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return list(pd.arrivals), len(pd.accepted)
        finally:
            await dispatcher.stop()
            await pd.stop()

    arrivals, accepted = asyncio.run(scenario())
    assert len(arrivals) >= 3 and accepted == 0, arrivals
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert gaps[0] >= 0.95 and gaps[1] >= 1.95, gaps  # 1 s, then 2 s (timer slack of a few ms allowed)


@pytest.mark.parametrize("status", [307, 308])
def test_a_redirect_is_not_followed_so_the_routing_key_never_reaches_another_address(status):
    async def scenario():
        elsewhere = await FakeReceiver("pagerduty").start()
        pd = await FakeReceiver("pagerduty", [(status, elsewhere.url)]).start()
        try:
            registry = await deliver([PagerDuty("R0UTINGKEY", pd.url)], [transition()])
        finally:
            await pd.stop()
            await elsewhere.stop()
        return pd, elsewhere, registry

    pd, elsewhere, registry = asyncio.run(scenario())
    assert len(pd.requests) == 1 and elsewhere.requests == []
    assert sample(registry, "capmon_alert_delivery_failures_total", "pagerduty") == 1  # reported, not lost silently
    assert sample(registry, "capmon_alert_deliveries_total", "pagerduty") == 0


@pytest.mark.parametrize("var", ["CAPMON_SLACK_WEBHOOK_URL", "CAPMON_PAGERDUTY_URL", "CAPMON_ALERTMANAGER_URL"])
def test_plain_http_to_a_receiver_off_loopback_is_refused_at_start_unless_allowed(var):
    url = "http://hooks.example/services/T0/B0/s3cret-path"
    with pytest.raises(ConfigError) as refused:
        load_settings({var: url})
    message = str(refused.value)
    assert var in message and "https" in message and "CAPMON_ALERT_ALLOW_HTTP=1" in message
    assert "s3cret" not in message and "\n" not in message
    assert load_settings({var: url, "CAPMON_ALERT_ALLOW_HTTP": "1"})
    for fine in ("https://hooks.example/x", "http://127.0.0.1:9093", "http://127.8.0.1/x", "http://localhost:1/x"):
        assert load_settings({var: fine})
    for bad in ("ftp://hooks.example/x", "hooks.example/x", "https:///x"):
        with pytest.raises(ConfigError):
            load_settings({var: bad})


def test_a_bad_receiver_url_stops_the_command_with_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    result = run_capmon("topics", env={**env, "CAPMON_SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/SECRET"})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "CAPMON_SLACK_WEBHOOK_URL" in result.stderr and "SECRET" not in result.stderr


EVIL = "<!channel> <https://evil.example|x> &\n2026-01-01 00:00:00 CRITICAL capmon.alerts forged"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_every_text_slack_and_pagerduty_receive_is_escaped_for_them():
    t = transition(alert=f"r/{EVIL}", rule="r<!here>", scope=EVIL, measure="m<@U1>")
    slack = Slack("http://127.0.0.1:1/hook").request(t).json
    for text in _strings(slack):  # text and every block: nothing Slack would obey as a mention or a link
        assert "<" not in text and ">" not in text, text
    assert "&lt;!channel&gt; &lt;https://evil.example|x&gt; &amp;" in slack["text"]
    long = transition(alert=f"r/{EVIL * 40}", scope=EVIL * 40)
    payload = PagerDuty("K", "http://127.0.0.1:1/").request(long).json["payload"]
    assert "\n" not in payload["summary"] and "\\n2026" in payload["summary"]  # plain: one line, shown escaped
    assert len(payload["summary"]) <= 1024 and len(payload["component"]) <= 255
    assert "\n" not in payload["component"]


def test_log_lines_show_a_newline_in_an_alert_id_escaped(caplog):
    """A scope with a newline must not forge a second log line (three lines printed `alert_id` raw)."""
    forged = transition(alert=f"r/{EVIL}", scope=EVIL, notify=("slack", "pagerduty", "nowhere"))

    async def scenario():
        slack, pd = await FakeReceiver("slack", [500]).start(), await FakeReceiver("pagerduty", [400]).start()
        try:
            await deliver([Slack(slack.url), PagerDuty("K", pd.url)], [forged])
        finally:
            await slack.stop()
            await pd.stop()

    with caplog.at_level(logging.INFO, logger="alerts"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("alerts.")]
    about = [line for line in lines if "forged" in line]
    assert len(about) == 2, lines  # the retry (500) and the refusal (400)
    assert all("\n" not in line and "&\\n2026-01-01" in line for line in about), about
