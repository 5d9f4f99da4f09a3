"""Restoring alert state on a new leader: states come back, unconfirmed notifications are finished, and a
trigger that never arrived is still delivered before its resolve."""

from __future__ import annotations

import json
from dataclasses import asdict

from alerts.evaluate import Transition
from alerts.machine import AlertState
from alerts.rules import parse_rules
from alerts.service import AlertService, record
from streams.topics import Topics
from streams.view import FiguresView

RULES = parse_rules({"rules": [{"name": "low", "scope": "national", "measure": "headroom", "below": 10,
                                "severity": "critical", "notify": ["pagerduty", "slack"]}]})


class RecordingDispatcher:
    """Our own dispatcher's interface, recording what would be sent (the sending is tested elsewhere)."""

    def __init__(self) -> None:
        self.receivers = {"pagerduty": None, "slack": None}
        self.sent: list[tuple[str, str, tuple[str, ...]]] = []
        self.on_delivered = None

    def submit(self, t: Transition, only=None) -> None:
        self.sent.append((t.alert_id, t.kind, tuple(only or t.notify)))


def transition(kind: str, at: int) -> Transition:
    return Transition("low/national", "low", "national", "critical", "headroom", kind, at, 5.0, 1, 10.0,
                      ("pagerduty", "slack"))


def service_with(rec: dict) -> tuple[AlertService, RecordingDispatcher, FiguresView]:
    view = FiguresView()
    view.apply_alert(b"low/national", json.dumps(rec).encode())
    dispatcher = RecordingDispatcher()
    service = AlertService(RULES, view, dispatcher, produce=None, kafka={}, topics=Topics(""),  # type: ignore
                           partitions_of=lambda t: 1)
    return service, dispatcher, view


def test_a_firing_alert_comes_back_and_its_unconfirmed_page_is_finished():
    fired = transition("fired", 100)
    rec = record(fired, AlertState("firing", 50, 100, 5.0), 1,
                 [{"transition": asdict(fired), "missing": ["pagerduty"]}])
    service, dispatcher, _ = service_with(rec)
    service.restore()
    assert service.evaluator.states["low/national"].status == "firing"
    assert dispatcher.sent == [("low/national", "fired", ("pagerduty",))]


def test_unconfirmed_trigger_and_resolve_are_both_sent_again_in_order():
    fired, resolved = transition("fired", 100), transition("resolved", 200)
    rec = record(resolved, AlertState(), 2, [
        {"transition": asdict(fired), "missing": ["pagerduty", "slack"]},
        {"transition": asdict(resolved), "missing": ["pagerduty", "slack"]}])
    service, dispatcher, _ = service_with(rec)
    service.restore()
    assert dispatcher.sent == [("low/national", "fired", ("pagerduty", "slack")),
                               ("low/national", "resolved", ("pagerduty", "slack"))]
    assert "low/national" not in service.evaluator.states
