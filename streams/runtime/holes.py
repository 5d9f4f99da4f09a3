"""Input messages a consumer skipped: finding the holes in a batch, and reading them from Kafka.

After a rebalance that gives a partition back to the same worker, faust-streaming seeks it to the committed
offset; a fetch still in flight from the old position can then arrive first. Faust takes the jump for a gap
(as left by transaction markers), counts the offsets in between as done, and drops the re-fetched messages
below its new read position: they are never delivered, and the commit moves past them. Measured in CI: one
transfer lost that way after `kill -9` of one of two workers. capmon's state knows the next offset it expects
per input partition, so a batch whose messages jump past it has a hole. The hole is read back with a plain
consumer and folded in before the rest of the batch; a real gap (transaction markers, deleted by retention)
reads back empty and costs one short read. The register topics are read by a Faust agent; the person topics by
capmon's own consumer (streams/runtime/people_reader.py), sought to the state's offsets, which keeps the check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from streams.config import Settings
from streams.ingest.processors import Incoming
from streams.runtime.kafka_io import client_options

READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Hole:
    topic: str
    partition: int
    start: int  # the first offset not delivered
    end: int  # the offset of the message after the hole


def in_order(batch: Iterable[Incoming]) -> list[Incoming]:
    """A batch in offset order per input partition, each offset once (the order across partitions does not
    matter: folding is commutative per person)."""
    seen: dict[tuple[str, int, int], Incoming] = {}
    for message in batch:
        seen.setdefault((message.topic, message.partition, message.offset), message)
    return [seen[key] for key in sorted(seen)]


def holes(batch: Iterable[Incoming], expected: Callable[[str, int], int | None]) -> list[Hole]:
    """The offset ranges of each input partition that lie between the next offset the state expects
    (`expected(topic, partition)`, None when it expects nothing yet) and the batch's messages, undelivered.
    The batch must be `in_order` (the pipeline sorts it once)."""
    out: list[Hole] = []
    nxt: dict[tuple[str, int], int | None] = {}
    for message in batch:
        tp = (message.topic, message.partition)
        if tp not in nxt:
            nxt[tp] = expected(*tp)
        want = nxt[tp]
        if want is not None and message.offset > want:
            out.append(Hole(message.topic, message.partition, want, message.offset))
        nxt[tp] = max(want or 0, message.offset + 1)
    return out


class HoleReader:
    """Reads the messages of holes with a plain consumer of its own (no group, no commits)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def read(self, found: list[Hole]) -> list[Incoming]:
        consumer = KafkaConsumer(**client_options(self.settings), enable_auto_commit=False, group_id=None,
                                 consumer_timeout_ms=1_000)
        try:
            out: list[Incoming] = []
            for hole in found:
                out += self._read_one(consumer, hole)
            return out
        finally:
            consumer.close()

    @staticmethod
    def _read_one(consumer: KafkaConsumer, hole: Hole) -> list[Incoming]:
        tp = TopicPartition(hole.topic, hole.partition)
        consumer.assign([tp])
        start = max(hole.start, consumer.beginning_offsets([tp])[tp])  # older ones were deleted by retention
        if start >= hole.end:
            return []
        consumer.seek(tp, start)
        out: list[Incoming] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while consumer.position(tp) < hole.end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {hole.topic}[{hole.partition}] offsets {start}-{hole.end - 1} "
                                   f"within {READ_TIMEOUT_S:.0f} s")
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if r.offset < hole.end:
                        stamp = r.timestamp * 1_000 if r.timestamp is not None and r.timestamp >= 0 else None
                        out.append(Incoming(r.topic, r.partition, r.offset, r.key, r.value, stamp))
        return out
