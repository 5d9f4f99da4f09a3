"""Live alerting on the leader worker: evaluate the rules in event time (live.py), log every alert change to
the `alerts` topic (compacted, keyed by alert id), and hand notifications to the dispatcher.

The `alerts` topic is the alert state's changelog: each record carries the alert's state after the change,
a sequence number and which receivers have confirmed delivery. A new leader (restart, `kill -9`, rebalance)
restores the states from it, so a firing alert is not paged again as new, a pending one keeps its start, and
a change whose delivery was not confirmed is delivered again (PagerDuty's dedup_key keeps that to one
incident).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from streams.topics import Topics
from streams.view import FiguresView

from .delivery import Dispatcher
from .evaluate import Evaluator, Transition
from .live import CHECKPOINT_KEY, LiveTimeline, checkpoint_value
from .machine import AlertState
from .rules import Rule
from .timeline import DEFAULT_STEP_S, Timeline

log = logging.getLogger("capmon.alerts")
Produce = Callable[[bytes, bytes], Awaitable[None]]


def record(t: Transition, state: AlertState, seq: int, undelivered: list[dict[str, Any]]) -> dict[str, Any]:
    """The alerts topic's value for an alert: its latest change and state, and every notification of it that a
    receiver has not confirmed yet (oldest first), so a new leader finishes them in order."""
    return {"transition": asdict(t), "state": state.to_json(), "seq": seq, "undelivered": undelivered}


class AlertService:
    """Owns the alert states while this worker leads: restores them, logs changes, hands out notifications."""

    def __init__(self, rules: list[Rule], view: FiguresView, dispatcher: Dispatcher, produce: Produce,
                 kafka: dict[str, Any], topics: Topics, partitions_of: Callable[[str], int],
                 step_s: int = DEFAULT_STEP_S, resend_s: float = 60.0) -> None:
        self.rules = rules
        self.view = view
        self.dispatcher = dispatcher
        self.produce = produce
        self.kafka = kafka  # aiokafka connection options (bootstrap servers, SASL/TLS)
        self.topics = topics
        self.partitions_of = partitions_of
        self.step_s = step_s
        self.resend_s = resend_s
        self.evaluator = Evaluator(rules)
        self.records: dict[str, dict[str, Any]] = {}
        self._last_checkpoint_wall = 0.0
        dispatcher.on_delivered = self._delivered

    def restore(self) -> int | None:
        """Take over the alert states logged by the previous leader and finish their deliveries; returns the
        event time up to which it had evaluated."""
        self.evaluator = Evaluator(self.rules)
        self.records = {}
        for alert_id, rec in self.view.alerts.items():
            self.records[alert_id] = rec
            state = AlertState.from_json(rec["state"])
            if state.status != "inactive":
                self.evaluator.states[alert_id] = state
            # Every unconfirmed notification is sent again, oldest first, so a trigger that never arrived is
            # still delivered before its resolve. (If a trigger and its resolve both arrived but neither
            # confirmation was logged before a crash, PagerDuty sees them again: one extra incident, opened and
            # resolved at once. The window for that is the few milliseconds between delivery and its log.)
            for entry in rec["undelivered"]:
                t = transition_of(entry)
                missing = [r for r in entry["missing"] if r in self.dispatcher.receivers]
                if missing:
                    log.info("alert %s: %s not confirmed by %s; delivering again", alert_id, t.kind,
                             ", ".join(missing))
                    self.dispatcher.submit(t, only=missing)
        # The previous leader evaluated at least up to its checkpoint and up to its last logged change; replaying
        # that part again would re-decide the past against states from its future.
        until = max([self.view.alerts_evaluated_until_us or 0,
                     *(r["transition"]["at_us"] for r in self.records.values())]) or None
        log.info("alert states restored: %d firing, %d pending; evaluated until %s",
                 len(self.evaluator.firing()), sum(s.status == "pending" for s in self.evaluator.states.values()),
                 until)
        return until

    async def run(self) -> None:
        """Evaluate live until cancelled (when this worker stops leading)."""
        until = self.restore()
        live = LiveTimeline(self.kafka, self.topics, self.partitions_of,
                            Timeline(self.rules, self.step_s, self.evaluator), until, self._changes, self._checkpoint)
        resend = asyncio.create_task(self._resend_firing(), name="alertmanager-resend")
        try:
            await live.run()
        finally:
            resend.cancel()

    async def _resend_firing(self) -> None:
        """Alertmanager forgets an alert that is not re-sent (resolve_timeout): re-send firing ones regularly."""
        if "alertmanager" not in self.dispatcher.receivers:
            return
        while True:
            await asyncio.sleep(self.resend_s)
            for rec in list(self.records.values()):
                t = transition_of(rec)
                if rec["state"]["status"] == "firing" and "alertmanager" in t.notify:
                    self.dispatcher.submit(t, only=["alertmanager"])

    async def _changes(self, changes: list[Transition]) -> None:
        for t in changes:
            previous = self.records.get(t.alert_id, {})
            undelivered = list(previous.get("undelivered", []))
            receivers = [r for r in t.notify if r in self.dispatcher.receivers]
            if t.notifies and receivers:
                undelivered.append({"transition": asdict(t), "missing": receivers})
            state = self.evaluator.states.get(t.alert_id, AlertState(value=t.value))
            self.records[t.alert_id] = record(t, state, previous.get("seq", 0) + 1, undelivered)
            await self.produce(t.alert_id.encode(), json.dumps(self.records[t.alert_id]).encode())
            if t.notifies:
                self.dispatcher.submit(t)

    async def _checkpoint(self, at_us: int) -> None:
        if time.monotonic() - self._last_checkpoint_wall >= 1.0:
            self._last_checkpoint_wall = time.monotonic()
            await self.produce(CHECKPOINT_KEY, checkpoint_value(at_us))

    async def _delivered(self, t: Transition, receiver: str) -> None:
        """Log a confirmed delivery: the receiver leaves that notification's missing list."""
        rec = self.records.get(t.alert_id)
        if rec is None:
            return
        changed = False
        for entry in rec["undelivered"]:
            same = entry["transition"]["kind"] == t.kind and entry["transition"]["at_us"] == t.at_us
            if same and receiver in entry["missing"]:
                entry["missing"] = [r for r in entry["missing"] if r != receiver]
                changed = True
        if changed:
            rec["undelivered"] = [e for e in rec["undelivered"] if e["missing"]]
            await self.produce(t.alert_id.encode(), json.dumps(rec).encode())


def transition_of(rec: dict[str, Any]) -> Transition:
    return Transition(**{**rec["transition"], "notify": tuple(rec["transition"]["notify"])})
