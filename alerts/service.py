"""Live alerting on the leader worker: evaluate the rules on the figures view, log every alert change to the
`alerts` topic (compacted, keyed by alert id), and hand notifications to the dispatcher.

The `alerts` topic is the alert state's changelog: each record carries the alert's state after the change,
a sequence number and which receivers have confirmed delivery. A new leader (restart, `kill -9`, rebalance)
restores the states from it, so a firing alert is not paged again as new, a pending one keeps its start, and
a change whose delivery was not confirmed is delivered again (PagerDuty's dedup_key keeps that to one
incident).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from streams.state.figures import net_inflow_per_day
from streams.view import FiguresView

from .delivery import Dispatcher
from .evaluate import Evaluator, Transition
from .machine import AlertState
from .measures import Snapshot
from .rules import Rule

log = logging.getLogger("capmon.alerts")
Produce = Callable[[bytes, bytes], Awaitable[None]]


def snapshot(view: FiguresView) -> Snapshot | None:
    now = view.now_us
    if now is None:
        return None
    national, provinces = net_inflow_per_day(view.totals, view.register, now)
    return Snapshot(now, view.occupancy(), view.inflow(), national, provinces)


def record(t: Transition, state: AlertState, seq: int, delivered: list[str]) -> dict[str, Any]:
    return {"transition": asdict(t), "state": state.to_json(), "seq": seq, "delivered": sorted(delivered)}


class AlertService:
    def __init__(self, rules: list[Rule], view: FiguresView, dispatcher: Dispatcher, produce: Produce) -> None:
        self.evaluator = Evaluator(rules)
        self.view = view
        self.dispatcher = dispatcher
        self.produce = produce
        self.records: dict[str, dict[str, Any]] = {}
        self.restored = False
        self._last_now: int | None = None
        self._last_messages = -1
        dispatcher.on_delivered = self._delivered

    async def restore(self) -> None:
        """Take over the alert states logged by the previous leader and finish their deliveries."""
        self.evaluator.states.clear()
        self.records.clear()
        self._last_messages = -1
        for alert_id, rec in self.view.alerts.items():
            self.records[alert_id] = rec
            state = AlertState.from_json(rec["state"])
            if state.status != "inactive":
                self.evaluator.states[alert_id] = state
            t = Transition(**{**rec["transition"], "notify": tuple(rec["transition"]["notify"])})
            missing = [r for r in t.notify if r not in rec["delivered"] and r in self.dispatcher.receivers]
            if t.notifies and missing:
                log.info("alert %s: %s not confirmed by %s; delivering again", alert_id, t.kind, ", ".join(missing))
                self.dispatcher.submit(t, only=missing)
        self.restored = True
        log.info("alert states restored: %d firing, %d pending", len(self.evaluator.firing()),
                 sum(s.status == "pending" for s in self.evaluator.states.values()))

    async def tick(self) -> list[Transition]:
        """Evaluate when the figures changed (or an alert waits for its `for`)."""
        if not self.restored:
            await self.restore()
        unchanged = self.view.messages == self._last_messages
        waiting = any(s.status == "pending" for s in self.evaluator.states.values())
        if unchanged and not waiting:
            return []
        snap = snapshot(self.view)
        if snap is None:
            return []
        self._last_messages = self.view.messages
        changes = self.evaluator.evaluate(snap)
        for t in changes:
            seq = self.records.get(t.alert_id, {}).get("seq", 0) + 1
            state = self.evaluator.states.get(t.alert_id, AlertState(value=t.value))
            self.records[t.alert_id] = record(t, state, seq, [])
            await self.produce(t.alert_id.encode(), json.dumps(self.records[t.alert_id]).encode())
            if t.notifies:
                self.dispatcher.submit(t)
        return changes

    async def _delivered(self, t: Transition, receiver: str) -> None:
        """Log a confirmed delivery, unless the alert has moved on since (then the newer change counts)."""
        rec = self.records.get(t.alert_id)
        if rec is None or rec["transition"]["kind"] != t.kind or rec["transition"]["at_us"] != t.at_us:
            return
        if receiver not in rec["delivered"]:
            rec["delivered"] = sorted([*rec["delivered"], receiver])
            await self.produce(t.alert_id.encode(), json.dumps(rec).encode())

    def active(self) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.records.items() if r["state"]["status"] == "firing"}
