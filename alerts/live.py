"""The live alert evaluator: `capmon backtest` running on the leader worker over the input topics.

It reads every partition of the five input topics (no consumer group), orders the events by event time in a
small buffer, and feeds them to the same `Timeline` the backtest uses, so live alerts are the backtest's
alerts whenever events arrive in event-time order (or out of order only within one fetch). When it has
caught up with the topics it also evaluates at the watermark, so a crossing is noticed at once rather than
at the next grid point. On a new leader the history is replayed without evaluating, up to the checkpoint
the previous leader logged; alert states come from the alerts topic (see service.py).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.errors import InvalidEvent
from streams.events import Event, parse_event
from streams.state.stamp import micros
from streams.topics import EVENT_TYPES, Topics

from .evaluate import Transition, alert_id
from .machine import AlertState, observe
from .rules import Rule
from .timeline import Timeline

log = logging.getLogger("capmon.alerts")
CHECKPOINT_KEY = b"__evaluated_until__"
YIELD_EVERY = 200  # events fed between two returns to the event loop


class LiveTimeline:
    def __init__(self, kafka: dict[str, Any], topics: Topics, partitions_of: Callable[[str], int], timeline: Timeline,
                 evaluated_until_us: int | None,
                 on_changes: Callable[[list[Transition]], Awaitable[None]],
                 checkpoint: Callable[[int], Awaitable[None]]) -> None:
        self.kafka = kafka  # aiokafka connection options (bootstrap servers, SASL/TLS)
        self.topics = topics
        self.partitions_of = partitions_of
        self.timeline = timeline
        self.evaluated_until_us = evaluated_until_us or 0
        self.on_changes = on_changes
        self.checkpoint = checkpoint
        self._heap: list[tuple[int, str, int, Event]] = []
        self._seq = 0
        self.late = 0
        self.staleness = StalenessWatch(
            [r for r in timeline.evaluator.all_rules if r.measure == "staleness"], timeline.evaluator.states)

    async def run(self) -> None:
        names = [self.topics.for_event_type(t) for t in EVENT_TYPES]
        consumer = AIOKafkaConsumer(**self.kafka, enable_auto_commit=False, group_id=None,
                                    auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
        await consumer.start()
        try:
            tps = [TopicPartition(n, p) for n in names for p in range(self.partitions_of(n))]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            latest: dict[TopicPartition, int] = {}
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=5_000)
                for tp, messages in batches.items():
                    event_type = self.topics.event_type_of(tp.topic)
                    self.staleness.seen(f"{event_type}s")
                    for message in messages:
                        t = self._push(message.value, event_type)
                        if t is not None and t > latest.get(tp, -1):
                            latest[tp] = t
                # Merge the partitions in event time: release up to the earliest time that every partition still
                # delivering has reached (a partition at its end holds nothing back).
                behind = []
                for tp in tps:
                    highwater = consumer.highwater(tp)
                    if highwater is None or await consumer.position(tp) < highwater:
                        behind.append(latest.get(tp, -1))
                await self._release(min(behind) if behind else None)
                stale = self.staleness.check()
                if stale:
                    await self.on_changes(stale)
                await asyncio.sleep(0)
        finally:
            await consumer.stop()

    def _push(self, value: bytes | None, event_type: str | None) -> int | None:
        if value is None:
            return None
        try:
            event = parse_event(value, event_type)
        except InvalidEvent:
            return None  # the people/register agents dead-letter it
        self._seq += 1
        t = micros(event.occurred_at)
        heapq.heappush(self._heap, (t, event.event_id, self._seq, event))
        return t

    async def _release(self, up_to_us: int | None) -> None:
        """Feed buffered events up to `up_to_us` in event-time order (None: all of them, the topics are read to
        their end; then also evaluate at the watermark)."""
        changes: list[Transition] = []
        caught_up = up_to_us is None
        released = 0
        while self._heap and (caught_up or self._heap[0][0] <= up_to_us):  # type: ignore[operator]
            released += 1
            if released % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # catching up on a year must not starve the web server and commits
            t, _id, _seq, event = heapq.heappop(self._heap)
            evaluate = t > self.evaluated_until_us
            step = self.timeline.step_us
            if evaluate and self.timeline.next_us is not None and self.timeline.next_us <= self.evaluated_until_us:
                self.timeline.next_us = (self.evaluated_until_us // step + 1) * step  # never re-decide the past
            if self.timeline.state.watermark_us is not None and t < self.timeline.state.watermark_us:
                self.late += 1
            changes += self.timeline.feed(event, evaluate=evaluate)
        now = self.timeline.state.watermark_us
        if caught_up and now is not None and now > self.evaluated_until_us:
            changes += self.timeline.evaluator.evaluate(self.timeline.snapshot(), at_us=now)
            self.evaluated_until_us = now
            step = self.timeline.step_us  # the grid goes on after `now`, never back before it
            self.timeline.next_us = max(self.timeline.next_us or 0, (now // step + 1) * step)
        if self.timeline.evaluated_us is not None and self.timeline.evaluated_us > self.evaluated_until_us:
            self.evaluated_until_us = self.timeline.evaluated_us
        if changes:
            await self.on_changes(changes)
        if self.evaluated_until_us:
            # logged after the changes: a new leader replays quietly up to here and never re-decides the past
            await self.checkpoint(self.evaluated_until_us)


def checkpoint_value(at_us: int) -> bytes:
    return json.dumps({"evaluated_until_us": at_us}).encode()


class StalenessWatch:
    """Staleness rules in wall-clock time: event time stops when the feed stops, so only the wall clock can
    tell that no events arrive. Scope `topic` covers registrations, decisions and placements separately."""

    TOPICS = ("registrations", "decisions", "placements")

    def __init__(self, rules: list[Rule], states: MutableMapping[str, AlertState],
                 clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self.states = states
        self.clock = clock
        started = clock()
        self.last_seen = dict.fromkeys(self.TOPICS, started)
        self._last_check = 0.0

    def seen(self, topic: str) -> None:
        if topic in self.last_seen:
            self.last_seen[topic] = self.clock()

    def check(self, every_s: float = 1.0) -> list[Transition]:
        now = self.clock()
        if not self.rules or now - self._last_check < every_s:
            return []
        self._last_check = now
        out = []
        for rule in self.rules:
            for topic, last in self.last_seen.items():
                key = alert_id(rule, topic)
                before = self.states.get(key, AlertState())
                after, change = observe(rule, before, int(now * 1e6), now - last)
                if after.status == "inactive":
                    self.states.pop(key, None)
                else:
                    self.states[key] = after
                if change is not None:
                    out.append(Transition(key, rule.name, topic, rule.severity, rule.measure, change.kind,
                                          change.at_us, change.value, after.since_us or before.since_us,
                                          rule.threshold, rule.notify))
        return out
