"""Batch processing: each batch of owned messages handed to the processors, and what they decided written
(dead letters first, then the person table or the figures), one batch at a time and never during a rebalance.
Person batches come from streams/runtime/people_reader.py, register batches from a Faust agent.

A batch that fails half-way ends the process (`or_exit`); a partition's state is built from the recovered
table before its first batch (`PartitionLoader`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import faust

from streams.contract.records.figures import RegisterProgress, register_key, register_offsets_key
from streams.ingest.processors import BatchResult, Incoming, PeopleProcessor, RegisterProcessor
from streams.runtime.holes import HoleReader, holes, in_order
from streams.runtime.metrics import WorkerMetrics
from streams.runtime.person_table import PersonTable
from streams.runtime.publisher import Publisher
from streams.runtime.state_dir import exit_unwritable, is_storage_failure
from streams.state.view import FiguresView

log = logging.getLogger(__name__)

BATCH_MAX = 2_000
BATCH_WITHIN_S = 0.1
EXIT_BATCH_FAILED = 70  # EX_SOFTWARE


@dataclass
class Ownership:
    """The (topic, partition)s of the last assignment (kept from Faust's signals: the consumer's own assignment
    is briefly empty when a rebalance begins, and skipping messages of a partition this worker keeps would lose
    them), and the locks that keep batches, partition loads and revocations apart."""

    owned: set[tuple[str, int]] = field(default_factory=set)
    generation: int = 0  # one more at every revocation and assignment: what was read before is stale
    batch_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # people batches, loads and revocations
    register_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # register batches and revocations

    def owned_only(self, batch: Iterable[Incoming]) -> list[Incoming]:
        """The batch's messages of owned partitions: one buffered before a rebalance that moved its partition
        away is its new owner's to process (from where the changelog or the group's commit says)."""
        return [m for m in batch if (m.topic, m.partition) in self.owned]

    def people_partitions(self, first_topic: str) -> set[int]:
        """The owned person partitions (the person topics are co-partitioned: the first names them)."""
        return {partition for topic, partition in self.owned if topic == first_topic}


class PartitionLoader:
    """Builds a person partition's state from the recovered table the first time this worker needs it."""

    def __init__(self, people_processor: PeopleProcessor, person_table: PersonTable, prefix: str) -> None:
        self.people_processor = people_processor
        self.person_table = person_table
        self.prefix = prefix

    def load(self, partition: int) -> None:
        if partition in self.people_processor.partitions:
            return
        people, meta, forgotten = self.person_table.load(partition)
        state = self.people_processor.load(partition, people, meta, forgotten)
        log.info("partition %d: %d persons recovered, processed up to %s", partition, len(state.people),
                 ", ".join(f"{t.removeprefix(self.prefix)}@{o}" for t, o in sorted(state.offsets.items())))


@dataclass(frozen=True)
class BatchTools:
    """What both agents use: Faust's app (is it rebalancing?), ownership, the hole reader, the publisher and the
    metrics, and the state directory named when it cannot be written."""

    app: faust.App
    ownership: Ownership
    hole_reader: HoleReader
    publisher: Publisher
    metrics: WorkerMetrics
    prefix: str
    state_dir: Path

    async def settled(self) -> None:
        """Wait while Faust rebalances (from the revocation until the tables are recovered)."""
        while self.app.rebalancing:
            await asyncio.sleep(0.05)

    async def fill_holes(self, batch: list[Incoming], expected: Callable[[str, int], int | None]) -> list[Incoming]:
        """Read back, and fold in first, the messages the consumer skipped between the offset the state expects
        next and the batch (see streams/runtime/holes.py); a real gap reads back empty."""
        found = holes(batch, expected)
        if not found:
            return batch
        read = await asyncio.to_thread(self.hole_reader.read, found)
        if read:
            log.warning("%d input messages skipped by the consumer were read back from Kafka and processed: %s",
                        len(read), ", ".join(f"{h.topic.removeprefix(self.prefix)}[{h.partition}]@"
                                             f"{h.start}-{h.end - 1}" for h in found))
            self.metrics.refetched_messages(read, self.prefix)
        return in_order([*batch, *read])

    @contextlib.asynccontextmanager
    async def or_exit(self) -> AsyncIterator[None]:
        """A batch that fails half-way must not be kept: its state is folded in part, and for the register
        agent Faust acks a batch's events however its handling ends and commits what is acked (also on an agent
        error, and when a stop cancels the agent mid-batch), which would skip what was not written. So the
        process ends at once instead; after a restart the batch is processed again (from the changelog's
        offsets, or the register's last commit)."""
        try:
            yield
        except asyncio.CancelledError:
            log.warning("stopped in the middle of a batch: exiting without committing it (a restart processes it "
                        "again)")
            logging.shutdown()
            os._exit(0)
        except Exception as exc:
            if is_storage_failure(exc):
                exit_unwritable(self.state_dir, exc)
            log.critical("processing a batch failed: %r; exiting without committing it (a restart processes it "
                         "again)", exc, exc_info=True)
            logging.shutdown()
            os._exit(EXIT_BATCH_FAILED)

    def count(self, result: BatchResult, batch: list[Incoming], started: float) -> None:
        oldest = min((m.timestamp_us for m in batch if m.timestamp_us is not None), default=None)
        self.metrics.observe_batch(result.counts, time.perf_counter() - started,
                                   oldest / 1e6 if oldest is not None else None)


class PeopleBatches:
    """The people batches: registration, decision and placement events folded into the owned partitions' state,
    then written to the person table. `changed` hears which partitions a batch changed (summaries are due)."""

    def __init__(self, tools: BatchTools, people_processor: PeopleProcessor, loader: PartitionLoader,
                 person_table: PersonTable, changed: Callable[[Iterable[int]], None]) -> None:
        self.tools = tools
        self.people_processor = people_processor
        self.loader = loader
        self.person_table = person_table
        self.changed = changed

    async def batch(self, messages: list[Incoming]) -> None:
        """Fold a batch (read by streams/runtime/people_reader.py, under the batch lock) into the owned
        partitions' state; write what changed (dead letters first)."""
        tools = self.tools
        batch = in_order(tools.ownership.owned_only(messages))
        for partition in {m.partition for m in batch}:
            self.loader.load(partition)
        started = time.perf_counter()
        partitions = self.people_processor.partitions
        batch = await tools.fill_holes(batch, lambda t, p: partitions[p].offsets.get(t))
        result = self.people_processor.process(batch)
        # Dead letters before the meta that marks their offsets processed: a crash in between sends
        # one again (at least once) rather than losing it.
        await tools.publisher.send_dead_letters(result.dead)
        for partition, meta in result.meta.items():
            await self.person_table.write(partition, result.changed.get(partition, {}), meta,
                                          result.forgotten.get(partition))
        tools.count(result, messages, started)
        self.changed(result.meta)


class RegisterBatches:
    """The register agent: location and forecast events, published with their progress to the figures topic.
    It starts from the figures view (`view`) once that has caught up with the topic (`view_ready`)."""

    def __init__(self, tools: BatchTools, register_processor: RegisterProcessor, figures_topic: str,
                 view: FiguresView, view_ready: Callable[[], bool]) -> None:
        self.tools = tools
        self.register_processor = register_processor
        self.figures_topic = figures_topic
        self.view = view
        self.view_ready = view_ready
        self._seeded = False

    async def agent(self, stream: faust.StreamT) -> None:
        tools = self.tools
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            async with tools.or_exit():
                await tools.settled()
                while not self.view_ready():  # the register's state is what the figures topic holds
                    await asyncio.sleep(0.1)
                if not self._seeded:
                    self.register_processor.seed(self.view.register)
                    self._seeded = True
                async with tools.ownership.register_lock:
                    await self.batch(events)

    async def batch(self, events: list[faust.EventT]) -> None:
        """Fold register events (capacity, forecasts) and publish them, with their progress, to the figures."""
        tools = self.tools
        messages = [_incoming(e) for e in events]
        batch = in_order(tools.ownership.owned_only(messages))
        started = time.perf_counter()
        offsets, processed = self.register_processor.offsets, self.view.register_processed
        batch = await tools.fill_holes(batch, lambda t, p: max(offsets.get((t, p), 0), processed(t, p)) or None)
        result = self.register_processor.process(batch, processed)
        await tools.publisher.send_dead_letters(result.dead)
        for event, raw in result.register:
            await tools.publisher.send(self.figures_topic, register_key(event), raw)
        for (topic, partition), offset in result.register_offsets.items():
            await tools.publisher.send(self.figures_topic, register_offsets_key(topic, partition),
                                       RegisterProgress(offset).encode())
        tools.count(result, messages, started)


def _incoming(event: faust.EventT) -> Incoming:
    m = event.message
    stamp = round(m.timestamp * 1_000_000) if m.timestamp else None  # Faust gives seconds
    return Incoming(m.topic, m.partition, m.offset, m.key, m.value, stamp)
