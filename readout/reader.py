"""The topic reader: every worker follows capmon's own read-model topics (figures, alerts) from their beginning.

A plain consumer (no group): the figures topic (partition summaries and the register) and the alerts topic,
each message handed to the reader registered for its topic. The HTTP read-out and alert evaluation read only
what this built, never agent state. `caught_up` turns true once everything that was in the topics at start-up
has been applied; `on_batch` is told after every batch (alert evaluation wakes on it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)
RETRY_S = 1.0
Apply = Callable[[bytes | None, bytes | None], None]


class TopicReader:
    def __init__(self, kafka: dict[str, Any], readers: dict[str, Apply], partitions_of: Callable[[str], int],
                 on_batch: Callable[[], None] = lambda: None) -> None:
        self.kafka = kafka  # aiokafka connection options (bootstrap servers, SASL/TLS)
        self.readers = readers  # topic -> what applies its messages
        self.partitions_of = partitions_of
        self.on_batch = on_batch
        self.caught_up = False
        self.applied = 0
        self.failures = 0
        self.reading = False  # the consumer runs (false while it is being started again after a failure)
        self.skipped: Counter[str] = Counter()  # topic -> records whose reader failed on them (skipped)

    async def run(self) -> None:
        """Read the topics from the beginning, then follow them (until cancelled). A failure of the consumer is
        logged and the reading starts again from the beginning (applying is idempotent): the read-out must not
        freeze while the worker looks healthy."""
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.reading = False
                self.failures += 1
                log.error("figures reader failed (%r); reading the figures topics again in %.0f s", exc, RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(**self.kafka, enable_auto_commit=False, group_id=None,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in self.readers for p in range(self.partitions_of(t))]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            self.reading = True
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5_000)
                for tp, messages in batches.items():
                    apply = self.readers[tp.topic]
                    for message in messages:
                        self._apply(apply, tp.topic, message.offset, message.key, message.value)
                    self.applied += len(messages)
                if not self.caught_up and all([await consumer.position(tp) >= end[tp] for tp in tps]):
                    self.caught_up = True
                    log.info("figures view caught up (%d messages)", self.applied)
                if batches:
                    self.on_batch()
        finally:
            await consumer.stop()

    def _apply(self, apply: Apply, topic: str, offset: int, key: bytes | None, value: bytes | None) -> None:
        """One record in. A record its reader cannot take is skipped and counted: reading again from the
        beginning would meet it again (a restart loop with the read-out frozen)."""
        try:
            apply(key, value)
        except Exception as exc:  # whatever a record on the topic is, the reader goes on
            self.skipped[topic] += 1
            log.warning("figures reader: skipped the record at %s@%d (%s)", topic, offset, type(exc).__name__)
