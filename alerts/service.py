"""Live alerting on the leader worker: evaluate the rules on the figures in event time (live.py), log every
alert change to the `alerts` topic (compacted, keyed by alert id; streams/contract/records/alerts.py), and hand
notifications to the dispatcher.

A new leader (restart, `kill -9`, rebalance) restores the states from the alerts topic, which every worker
already reads, and goes on from the checkpoint at once: a firing alert is not paged again as new, a pending one
keeps its start, and a change whose delivery was not confirmed is delivered again (PagerDuty's dedup_key keeps
that to one incident). Nothing is replayed, so fail-over takes as long whatever the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from alerts.delivery import Dispatcher
from alerts.evaluate import Evaluator
from alerts.live import LiveEvaluator, StalenessWatch
from alerts.log import AlertLog
from alerts.rules import Rule
from alerts.text import printable
from alerts.timeline import DEFAULT_STEP_S
from streams.contract.records.alerts import (
    CHECKPOINT_KEY,
    AlertRecord,
    AlertState,
    Checkpoint,
    Transition,
    Undelivered,
    alert_key,
)
from streams.contract.topics import Topics
from streams.state.view import FiguresView

log = logging.getLogger(__name__)
Produce = Callable[[bytes, bytes], Awaitable[None]]
STALENESS_CHECK_S = 1.0
# New figures arrive in bursts while workers catch up (a summary per partition every half second): evaluating
# each would cost the leader's stream processing a figures derivation per message. At most this often instead;
# what arrives in between is evaluated together (the alert latency budget is 1 s).
EVALUATE_EVERY_S = 0.2


class AlertService:
    """Owns the alert states while this worker leads: restores them, logs changes, hands out notifications."""

    def __init__(self, rules: list[Rule], view: FiguresView, alert_log: AlertLog, dispatcher: Dispatcher,
                 produce: Produce, topics: Topics, partitions: int, step_s: int = DEFAULT_STEP_S,
                 resend_s: float = 60.0) -> None:
        self.rules = rules
        self.view = view
        self.alert_log = alert_log
        self.dispatcher = dispatcher
        self.produce = produce
        self.topics = topics
        self.partitions = partitions  # of the person topics: evaluation waits for the slowest of them
        self.step_s = step_s
        self.resend_s = resend_s
        self.evaluator = Evaluator(rules)
        self.records: dict[str, AlertRecord] = {}
        self._last_checkpoint_wall = 0.0
        self._wake: asyncio.Event | None = None
        dispatcher.on_delivered = self._delivered

    def wake(self) -> None:
        """New figures arrived (called by the figures reader)."""
        if self._wake is not None:
            self._wake.set()

    def restore(self) -> int | None:
        """Take over the alert states logged by the previous leader and finish their deliveries; returns the
        event time up to which it had evaluated."""
        self.evaluator = Evaluator(self.rules)
        self.records = dict(self.alert_log.records)
        for alert_id, rec in self.records.items():
            if rec.state.status != "inactive":
                self.evaluator.states[alert_id] = rec.state
            # Every unconfirmed notification is sent again, oldest first, so a trigger that never arrived is
            # still delivered before its resolve. (If a trigger and its resolve both arrived but neither
            # confirmation was logged before a crash, PagerDuty sees them again: one extra incident, opened and
            # resolved at once. The window for that is the few milliseconds between delivery and its log.)
            for entry in rec.undelivered:
                missing = [r for r in entry.missing if r in self.dispatcher.receivers]
                if missing:
                    log.info("alert %s: %s not confirmed by %s; delivering again", printable(alert_id),
                             entry.transition.kind, ", ".join(missing))
                    self.dispatcher.submit(entry.transition, only=missing)
        # The previous leader evaluated at least up to its checkpoint and up to its last logged change; evaluating
        # that part again would re-decide the past against states from its future.
        until = max([self.alert_log.evaluated_until_us or 0,
                     *(r.transition.at_us for r in self.records.values())]) or None
        log.info("alert states restored: %d firing, %d pending; evaluated until %s",
                 len(self.evaluator.firing()), sum(s.status == "pending" for s in self.evaluator.states.values()),
                 until)
        return until

    async def run(self) -> None:
        """Evaluate live until cancelled (when this worker stops leading)."""
        self._wake = asyncio.Event()
        evaluated_until = self.restore()  # replaces self.evaluator: everything below must use the restored one
        live = LiveEvaluator(self.evaluator, self.step_s, evaluated_until)
        staleness = StalenessWatch([r for r in self.rules if r.measure == "staleness"], self.evaluator.states)
        resend = asyncio.create_task(self._resend_firing(), name="alertmanager-resend")
        seen = -1
        try:
            while True:
                if self.view.messages != seen:
                    seen = self.view.messages
                    staleness.observe_offsets(self._read_per_topic())
                    changes = live.advance(self.view.figures(), self.view.slowest_watermark_us(self.partitions),
                                           self.view.take_changed_from())
                    await self._changes(changes)
                    if live.evaluated_until_us is not None:
                        await self._checkpoint(live.evaluated_until_us)  # after the changes it covers
                await self._changes(staleness.check(STALENESS_CHECK_S))
                evaluated = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=STALENESS_CHECK_S)
                self._wake.clear()
                await asyncio.sleep(max(0.0, evaluated + EVALUATE_EVERY_S - time.monotonic()))
        finally:
            resend.cancel()

    def _read_per_topic(self) -> dict[str, int]:
        return {t.removeprefix(self.topics.prefix): n for t, n in self.view.read_per_topic().items()}

    async def _resend_firing(self) -> None:
        """Alertmanager forgets an alert that is not re-sent (resolve_timeout): re-send firing ones regularly."""
        if "alertmanager" not in self.dispatcher.receivers:
            return
        while True:
            await asyncio.sleep(self.resend_s)
            for rec in list(self.records.values()):
                if rec.state.status == "firing" and "alertmanager" in rec.transition.notify:
                    self.dispatcher.submit(rec.transition, only=["alertmanager"], resend=True)

    async def _changes(self, changes: list[Transition]) -> None:
        for t in changes:
            previous = self.records.get(t.alert_id)
            undelivered = previous.undelivered if previous else ()
            receivers = tuple(r for r in t.notify if r in self.dispatcher.receivers)
            if t.notifies and receivers:
                undelivered = (*undelivered, Undelivered(t, receivers))
            state = self.evaluator.states.get(t.alert_id, AlertState(value=t.value))
            rec = AlertRecord(t, state, (previous.seq if previous else 0) + 1, undelivered)
            self.records[t.alert_id] = rec
            await self.produce(alert_key(t.alert_id), rec.encode())
            if t.notifies:
                self.dispatcher.submit(t)

    async def _checkpoint(self, at_us: int) -> None:
        if time.monotonic() - self._last_checkpoint_wall >= 1.0:
            self._last_checkpoint_wall = time.monotonic()
            await self.produce(CHECKPOINT_KEY, Checkpoint(at_us).encode())

    async def _delivered(self, t: Transition, receiver: str) -> None:
        """Log a confirmed delivery: the receiver leaves that notification's missing list."""
        rec = self.records.get(t.alert_id)
        if rec is None:
            return
        changed = False
        entries = []
        for entry in rec.undelivered:
            same = entry.transition.kind == t.kind and entry.transition.at_us == t.at_us
            if same and receiver in entry.missing:
                entry = Undelivered(entry.transition, tuple(r for r in entry.missing if r != receiver))
                changed = True
            if entry.missing:
                entries.append(entry)
        if changed:
            rec = replace(rec, undelivered=tuple(entries))
            self.records[t.alert_id] = rec
            await self.produce(alert_key(t.alert_id), rec.encode())
