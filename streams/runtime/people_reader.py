"""The person topics, read with a plain aiokafka consumer inside the Faust app instead of a Faust stream.

Why: Faust's per-event machinery (the conductor, an Event per message, acking, committing) cost about as much
per event as capmon's whole fold, so a worker that passed every person event through a Faust stream ran at half
the rate of a Faust agent that does nothing (BENCHMARKS.md). Faust still does everything else: the consumer
group, which assigns the person partitions through an empty topic co-partitioned with the person topics and the
person table's changelog (`Topics.people_partitions`), the table's recovery and changelog, and the web server.

Where a partition is read from: the offset its state expects next. That state comes from the changelog (its meta
record holds the offsets a batch reached, written with the batch), so a restart, `kill -9` or a rebalance
resumes exactly where the changelog says; nothing is committed to Kafka for these topics. After every rebalance
(Faust revokes all partitions and assigns them again, the states are dropped and recovered) the consumer is
assigned the owned partitions anew and each is sought to its recovered state's offsets; a batch fetched before
a rebalance is dropped and read again from there.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.ingest.processors import Incoming, PeopleProcessor
from streams.runtime.batches import (
    BATCH_MAX,
    BATCH_WITHIN_S,
    EXIT_BATCH_FAILED,
    BatchTools,
    PartitionLoader,
    PeopleBatches,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

IDLE_S = 0.05  # how often a worker without person partitions looks again (as `BatchTools.settled`)


class PeopleReader:
    """Reads the owned person partitions in batches (at most BATCH_MAX messages, BATCH_WITHIN_S, a share of each
    partition) and hands each to the people batches under the batch lock; knows how far Kafka's partitions reach
    (`highwater`)."""

    def __init__(self, kafka: dict[str, Any], people_topics: tuple[str, ...], tools: BatchTools,
                 loader: PartitionLoader, people_processor: PeopleProcessor, batches: PeopleBatches) -> None:
        self.kafka = kafka
        self.people_topics = people_topics
        self.tools = tools
        self.loader = loader
        self.people_processor = people_processor
        self.batches = batches
        self.consumer: AIOKafkaConsumer | None = None
        self._generation: int | None = None  # the ownership generation the consumer's positions follow
        self._buffer: dict[TopicPartition, deque[ConsumerRecord]] = {}  # fetched, not handed on yet
        self._buffered = 0
        self._stopped = False

    def stop(self) -> None:
        """Fold no more batches (called under the batch lock, so the batch in flight is done): the loop ends and
        closes its consumer."""
        self._stopped = True

    async def run(self) -> None:
        """The worker's person-topic loop (a Faust app task: it starts with the app; a stop ends it with `stop`
        before Faust's stop sequence begins)."""
        consumer = AIOKafkaConsumer(**self.kafka, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        self.consumer = consumer
        tools = self.tools
        try:
            while not self._stopped:
                await tools.settled()
                generation = await self._follow_ownership(consumer)
                if generation is None:
                    continue  # a rebalance began meanwhile
                if not consumer.assignment():
                    await asyncio.sleep(IDLE_S)
                    continue
                records = await self._fetch(consumer)
                if not records:
                    continue
                async with tools.or_exit():
                    await tools.settled()
                    async with tools.ownership.batch_lock:
                        if self._stopped:
                            break
                        if tools.ownership.generation != generation:
                            self._drop_buffer()
                            continue  # fetched before a rebalance: read again from the recovered states
                        await self.batches.batch([_incoming(r) for r in records])
        finally:
            self.consumer = None
            await consumer.stop()

    def highwater(self, topic: str, partition: int) -> int | None:
        """The offset after the last message Kafka holds in an owned person partition, as last fetched (None:
        not assigned here, or not fetched yet)."""
        consumer = self.consumer
        try:
            return consumer.highwater(TopicPartition(topic, partition)) if consumer is not None else None
        except Exception:  # not assigned (any more)
            return None

    async def _follow_ownership(self, consumer: AIOKafkaConsumer) -> int | None:
        """After a rebalance: assign the owned person partitions and seek each to where its (recovered) state
        goes on; returns the generation the positions follow (None: a rebalance is under way, the table may be
        half recovered)."""
        ownership = self.tools.ownership
        async with ownership.batch_lock:
            if self.tools.app.rebalancing or self._stopped:
                return None
            generation = ownership.generation
            if generation == self._generation:
                return generation
            partitions = sorted(ownership.people_partitions(self.people_topics[0]))
            tps = [TopicPartition(t, p) for p in partitions for t in self.people_topics]
            self._drop_buffer()
            consumer.assign(tps)
            beginning = []
            for partition in partitions:
                self.loader.load(partition)
                offsets = self.people_processor.partitions[partition].offsets
                for topic in self.people_topics:
                    tp = TopicPartition(topic, partition)
                    if topic in offsets:
                        consumer.seek(tp, offsets[topic])
                    else:
                        beginning.append(tp)
            if beginning:
                await consumer.seek_to_beginning(*beginning)
            self._generation = generation
            if partitions:
                log.info("reading person partitions %s from their recovered states' offsets", partitions)
            return generation

    async def _fetch(self, consumer: AIOKafkaConsumer) -> list[ConsumerRecord]:
        """At most BATCH_MAX messages, waiting at most BATCH_WITHIN_S for more (as Faust's `take_events`), an
        equal share from each partition that has messages (as Faust's round robin): the expiry horizon is the
        slowest person topic's time, so one topic read days ahead of the others at the start would expire
        persons whose events on the others are not read yet. A fetch that fails other than by the broker being
        away (aiokafka retries that itself) ends the process: its state is recovered after a restart."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BATCH_WITHIN_S
        try:
            while self._buffered < BATCH_MAX and (remaining := deadline - loop.time()) > 0:
                fetched = await consumer.getmany(timeout_ms=max(1, int(remaining * 1000)))
                for tp, messages in fetched.items():
                    self._buffer.setdefault(tp, deque()).extend(messages)
                    self._buffered += len(messages)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.critical("reading the person topics failed: %r; exiting (a restart resumes from the changelog)",
                         exc, exc_info=True)
            logging.shutdown()
            os._exit(EXIT_BATCH_FAILED)
        return self._take(BATCH_MAX)

    def _take(self, most: int) -> list[ConsumerRecord]:
        taken = take_shares(list(self._buffer.values()), most)
        self._buffered -= len(taken)
        return taken

    def _drop_buffer(self) -> None:
        """Forget what was fetched ahead: the positions are sought again from the recovered states."""
        self._buffer.clear()
        self._buffered = 0


def take_shares(queues: list[deque[T]], most: int) -> list[T]:
    """Up to `most` items from the front of the queues, an equal share from each that has some (a queue with
    fewer gives all it has, and the others share the rest)."""
    taken: list[T] = []
    queues = [q for q in queues if q]
    while queues and len(taken) < most:
        share = max(1, (most - len(taken)) // len(queues))
        for queue in queues:
            for _ in range(min(share, len(queue), most - len(taken))):
                taken.append(queue.popleft())
        queues = [q for q in queues if q]
    return taken


def _incoming(record: ConsumerRecord) -> Incoming:
    stamp = record.timestamp * 1000 if record.timestamp else None  # aiokafka gives milliseconds
    return Incoming(record.topic, record.partition, record.offset, record.key, record.value, stamp)
