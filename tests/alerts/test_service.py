"""Restoring alert state on a new leader: states come back, unconfirmed notifications are finished, and a
trigger that never arrived is still delivered before its resolve."""

from __future__ import annotations

from alerts.log import AlertLog
from alerts.rules import parse_rules
from alerts.service import AlertService
from streams.contract.records.alerts import CHECKPOINT_KEY, AlertRecord, AlertState, Checkpoint, Transition, Undelivered
from streams.contract.topics import Topics
from streams.state.view import FiguresView

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


def service_with(rec: AlertRecord, checkpoint: int | None = None) -> tuple[AlertService, RecordingDispatcher]:
    alert_log = AlertLog()
    alert_log.apply(b"low/national", rec.encode())
    if checkpoint is not None:
        alert_log.apply(CHECKPOINT_KEY, Checkpoint(checkpoint).encode())
    dispatcher = RecordingDispatcher()
    service = AlertService(RULES, FiguresView(), alert_log, dispatcher, produce=None, topics=Topics(""),  # type: ignore
                           partitions=1)
    return service, dispatcher


def test_a_firing_alert_comes_back_and_its_unconfirmed_page_is_finished():
    fired = transition("fired", 100)
    rec = AlertRecord(fired, AlertState("firing", 50, 100, 5.0), 1, (Undelivered(fired, ("pagerduty",)),))
    service, dispatcher = service_with(rec, checkpoint=400)
    assert service.restore() == 400  # goes on from the checkpoint: nothing before it is decided again
    assert service.evaluator.states["low/national"].status == "firing"
    assert dispatcher.sent == [("low/national", "fired", ("pagerduty",))]


def test_unconfirmed_trigger_and_resolve_are_both_sent_again_in_order():
    fired, resolved = transition("fired", 100), transition("resolved", 200)
    rec = AlertRecord(resolved, AlertState(), 2, (Undelivered(fired, ("pagerduty", "slack")),
                                                  Undelivered(resolved, ("pagerduty", "slack"))))
    service, dispatcher = service_with(rec)
    assert service.restore() == 200  # no checkpoint logged: the last change says how far it went
    assert dispatcher.sent == [("low/national", "fired", ("pagerduty", "slack")),
                               ("low/national", "resolved", ("pagerduty", "slack"))]
    assert "low/national" not in service.evaluator.states


def test_a_new_leader_logs_a_firing_alert_as_firing_in_the_state_it_restored():
    """The record of a change must carry the state of the evaluator that made it (a leader that restored a
    fresh evaluator but evaluated with the old one logged every alert as inactive)."""
    import asyncio
    import json
    from collections import Counter

    from streams.contract.records.figures import PartitionSummary, partition_key
    from streams.state.totals import Totals

    view = FiguresView()
    view.apply(b"site:L1", json.dumps({
        "event_id": "l1", "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": "L1", "name": "AZC",
        "province": "NL-UT", "location_type": "regular", "capacity": 10, "status": "open"}).encode())
    view.apply(partition_key(0), PartitionSummary(1_688_198_400_000_000, {"placements": 5},
                                                  Totals(occupancy=Counter({"L1": 5})), True).encode())
    produced: list[tuple[bytes, bytes]] = []

    async def produce(key: bytes, value: bytes) -> None:
        produced.append((key, value))

    dispatcher = RecordingDispatcher()
    service = AlertService(RULES, view, AlertLog(), dispatcher, produce, Topics(""), partitions=1)

    async def lead_briefly() -> None:
        task = asyncio.create_task(service.run())
        while not any(key == b"low/national" for key, _ in produced):
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(asyncio.wait_for(lead_briefly(), timeout=10))
    record = AlertRecord.decode(next(value for key, value in produced if key == b"low/national"))
    assert (record.transition.kind, record.state.status) == ("fired", "firing")
    assert dispatcher.sent == [("low/national", "fired", ("pagerduty", "slack"))]


def test_a_new_leader_logs_an_unconfirmed_alert_with_its_id_escaped(caplog):
    import logging

    forged = Transition("low/x\nCRITICAL forged", "low", "x\nCRITICAL forged", "critical", "headroom", "fired", 100,
                        5.0, 1, 10.0, ("pagerduty",))
    alert_log = AlertLog()
    alert_log.apply(forged.alert_id.encode(), AlertRecord(forged, AlertState("firing", 50, 100, 5.0), 1,
                                                          (Undelivered(forged, ("pagerduty",)),)).encode())
    service = AlertService(RULES, FiguresView(), alert_log, RecordingDispatcher(), produce=None,  # type: ignore
                           topics=Topics(""), partitions=1)
    with caplog.at_level(logging.INFO, logger="alerts.service"):
        service.restore()
    lines = [r.getMessage() for r in caplog.records if "forged" in r.getMessage()]
    assert lines == ["alert low/x\\nCRITICAL forged: fired not confirmed by pagerduty; delivering again"]
