"""Sending what a worker publishes (dead letters, register entries, summaries, alerts) through Faust's producer."""

from __future__ import annotations

import logging

import faust
from aiokafka.errors import MessageSizeTooLargeError
from faust.exceptions import ProducerSendError

from streams.ingest.processors import DeadLetter
from streams.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)


class Publisher:
    """Hands messages to the producer without waiting for them: Faust flushes the producer before it commits
    the input offsets, so nothing is committed before what it caused is in Kafka (at-least-once)."""

    def __init__(self, app: faust.App, metrics: WorkerMetrics, prefix: str, dead_letters: str) -> None:
        self.app = app
        self.metrics = metrics
        self.prefix = prefix
        self.dead_letters = dead_letters

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> None:
        """What capmon publishes is bounded by design (dead letters cut, summaries in parts); should a record still
        be refused for its size, it is logged and counted, and the worker goes on: one record must not stop it."""
        try:
            await self.app.producer.send(topic, key, value, partition, None, headers)
        except ProducerSendError as exc:  # faust wraps the producer's errors
            if not isinstance(exc.__cause__, MessageSizeTooLargeError):
                raise
            self.metrics.publish_refused.labels(topic.removeprefix(self.prefix)).inc()
            log.error("a record for %s was refused for its size (%d bytes) and not published",
                      topic.removeprefix(self.prefix), len(value) + len(key or b""))

    async def send_dead_letters(self, dead: list[DeadLetter]) -> None:
        for letter in dead:
            await self.send(self.dead_letters, letter.key, letter.value, headers=letter.headers())
        if dead:
            first = dead[0]
            log.warning("%d invalid events sent to %s; first from %s[%d]@%d: %s", len(dead), self.dead_letters,
                        first.source.topic, first.source.partition, first.source.offset, first.reason)
