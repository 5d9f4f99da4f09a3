"""The Faust side of a worker: topics, the changelog-backed person table, the agents, and publishing each
owned partition's summary to the figures topic. Nothing here knows about alerts (see capmon/worker.py).

Start-up order (Faust runs it; the comments say why it matters):
1. `Pipeline` declares topics and the person table; nothing touches Kafka yet.
2. The worker joins the consumer group; Faust recovers the person table for the assigned partitions.
3. Agents start. Each partition's in-memory state is built from the recovered table before its first batch
   (`_partition`), so it never sees a half-recovered table. A timer loads every owned partition too and
   publishes the summaries of partitions that changed, at most every PUBLISH_INTERVAL_S, so every partition
   has a summary (alert evaluation waits for the slowest one).
   A batch is processed and written under `batch_lock`, and never while Faust rebalances: a revocation
   waits for the batch in flight, then publishes its last word, drops the revoked state and waits until
   every changelog write is acknowledged, so the next owner (or this worker again) recovers all of it.
   Messages of partitions this worker no longer owns (still buffered from before a rebalance) are skipped:
   their new owner processes them from the last commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable

import faust
from aiokafka import TopicPartition
from aiokafka.errors import MessageSizeTooLargeError
from faust.exceptions import ProducerSendError
from faust.types import TP

from streams.config import Settings
from streams.contract.records.figures import RegisterProgress, partition_key, register_key, register_offsets_key, split
from streams.contract.topics import PUBLISH_MAX_BYTES, Topics
from streams.ingest.processors import BatchResult, Incoming, PartitionState, PeopleProcessor, RegisterProcessor
from streams.ingest.pseudonyms import pseudonyms_of
from streams.runtime.holes import HoleReader, holes, in_order
from streams.runtime.kafka_io import faust_credentials
from streams.runtime.metrics import WorkerMetrics
from streams.runtime.person_table import PersonTable
from streams.runtime.state_dir import exit_unwritable, is_storage_failure, topic_state_dir
from streams.state.view import FiguresView

log = logging.getLogger("capmon.worker")

BATCH_MAX = 2_000
BATCH_WITHIN_S = 0.1
PUBLISH_INTERVAL_S = 0.5
EXIT_BATCH_FAILED = 70  # EX_SOFTWARE


class Pipeline:
    """Holds the processors and the Faust objects; agents and timers call its methods.

    `view` is the figures view the worker reads back (the register agent starts from it); `view_ready` says
    when that view has caught up with the figures topic."""

    def __init__(self, settings: Settings, layout: dict[str, int], view: FiguresView, metrics: WorkerMetrics,
                 view_ready: Callable[[], bool], event_key: bytes | None = None) -> None:
        self.settings = settings
        self.layout = layout  # partitions per topic, read by `capmon worker` before Faust starts
        self.topics = Topics(settings.topic_prefix)
        self.people = PeopleProcessor(self.topics, settings.max_clock_skew_s, pseudonyms_of(settings),
                                      settings.person_retention_days, settings.max_event_bytes, event_key)
        self.register = RegisterProcessor(self.topics, settings.max_clock_skew_s, settings.max_event_bytes)
        self.hole_reader = HoleReader(settings)
        self.view = view
        self.metrics = metrics
        self.view_ready = view_ready
        self.dirty: set[int] = set()
        self.owned: set[tuple[str, int]] = set()  # (topic, partition) of the last assignment
        self._published_caught_up: dict[int, bool] = {}
        self.batch_lock = asyncio.Lock()  # people batches, partition loads and revocations, one at a time
        self.register_lock = asyncio.Lock()  # register batches and revocations (never wait for a people batch)
        self._register_seeded = False
        self.app = self._create_app()

    # --- wiring -------------------------------------------------------------------------------------

    def _create_app(self) -> faust.App:
        s, t = self.settings, self.topics
        app = faust.App(
            t.app_id,
            broker=[f"kafka://{server}" for server in s.kafka_bootstrap.split(",")],
            broker_credentials=faust_credentials(s),
            store="rocksdb://",
            datadir=str(topic_state_dir(s.state_dir, s.topic_prefix)),  # claimed by `capmon worker` first
            web_host=s.web_host,
            web_bind=s.web_host,  # listen there only: Faust's default binds every address (0.0.0.0)
            web_port=s.web_port,
            web_enabled=True,
            # Only the contract's routes (CONTRACT.md section 5): Faust's own pages would show table contents
            # (/table/people/<id>/ is a person's record), routing, graphs and statistics.
            web_router_enabled=False,
            web_tables_enabled=False,
            web_graph_enabled=False,
            web_stats_enabled=False,
            web_metrics_enabled=False,
            topic_partitions=s.partitions,
            topic_replication_factor=1,
            consumer_auto_offset_reset="earliest",
            producer_linger_ms=5,
            producer_max_request_size=PUBLISH_MAX_BYTES,  # what the topics capmon creates accept
            broker_commit_every=10_000,
            # A worker that dies (kill -9) holds its partitions until the session times out: keep that short so
            # a restart or the surviving workers take over within seconds.
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=max(1.0, s.session_timeout_s / 4),
            broker_commit_interval=1.0,
            stream_wait_empty=False,
            # Each worker keeps a copy of the person table of partitions it does not own, read from the changelog
            # as it is written: a worker taking a dead one's partitions over then reads only the last seconds of
            # the changelog, not the whole history (fail-over time independent of history).
            table_standby_replicas=s.standby_replicas,
            worker_redirect_stdouts=False,
            logging_config=None,
        )
        raw = {"key_serializer": "raw", "value_serializer": "raw"}
        self.people_topic = app.topic(t.registrations, t.decisions, t.placements, **raw)
        self.register_topic = app.topic(t.locations, t.forecasts, **raw)
        self.dead_name = t.dead_letters
        self.figures_name = t.figures  # created by `capmon worker` before Faust starts
        self.person_table = PersonTable(app, s.partitions, s.state_dir)

        app.agent(self.people_topic, name="people")(self._people_agent)
        app.agent(self.register_topic, name="register")(self._register_agent)
        app.timer(PUBLISH_INTERVAL_S)(self._publish_summaries)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)
        # The flags above leave Faust one page of its own ("/" answering {"status": "OK"}, shadowed by the status
        # page): mount none of its blueprints, so the routes are exactly the ones capmon adds (a test lists them).
        app.web.blueprints._enabled = []
        return app

    # --- agents -------------------------------------------------------------------------------------

    async def _people_agent(self, stream: faust.StreamT) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            async with self._or_exit():
                await self._settled()
                async with self.batch_lock:
                    await self._people_batch(events)

    async def _people_batch(self, events: list[faust.EventT]) -> None:
        """Fold a batch into the owned partitions' state; write what changed (dead letters first)."""
        batch = in_order(self._owned(events))
        for partition in {m.partition for m in batch}:
            self._partition(partition)
        started = time.perf_counter()
        batch = await self._fill_holes(batch, lambda t, p: self.people.partitions[p].offsets.get(t))
        result = self.people.process(batch)
        # Dead letters before the meta that marks their offsets processed: a crash in between sends
        # one again (at least once) rather than losing it.
        await self._send_dead_letters(result)
        await self._write_people(result)
        self._count(result, events, started)
        self.dirty.update(result.meta)

    async def _register_agent(self, stream: faust.StreamT) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            async with self._or_exit():
                await self._settled()
                while not self.view_ready():  # the register's state is what the figures topic holds
                    await asyncio.sleep(0.1)
                if not self._register_seeded:
                    self.register.seed(self.view.register)
                    self._register_seeded = True
                async with self.register_lock:
                    await self._register_batch(events)

    async def _register_batch(self, events: list[faust.EventT]) -> None:
        """Fold register events (capacity, forecasts) and publish them, with their progress, to the figures."""
        batch = in_order(self._owned(events))
        started = time.perf_counter()
        batch = await self._fill_holes(batch, lambda t, p: max(self.register.offsets.get((t, p), 0),
                                                               self.view.register_processed(t, p)) or None)
        result = self.register.process(batch, self.view.register_processed)
        await self._send_dead_letters(result)
        for event, raw in result.register:
            await self.produce(self.figures_name, register_key(event), raw)
        for (topic, partition), offset in result.register_offsets.items():
            await self.produce(self.figures_name, register_offsets_key(topic, partition),
                               RegisterProgress(offset).encode())
        self._count(result, events, started)

    async def _fill_holes(self, batch: list[Incoming], expected: Callable[[str, int], int | None]) -> list[Incoming]:
        """Read back, and fold in first, the messages the consumer skipped between the offset the state expects
        next and the batch (see streams/runtime/holes.py); a real gap reads back empty."""
        found = holes(batch, expected)
        if not found:
            return batch
        read = await asyncio.to_thread(self.hole_reader.read, found)
        if read:
            log.warning("%d input messages skipped by the consumer were read back from Kafka and processed: %s",
                        len(read), ", ".join(f"{h.topic.removeprefix(self.topics.prefix)}[{h.partition}]@"
                                             f"{h.start}-{h.end - 1}" for h in found))
            self.metrics.refetched_messages(read, self.topics.prefix)
        return in_order([*batch, *read])

    @contextlib.asynccontextmanager
    async def _or_exit(self) -> AsyncIterator[None]:
        """A batch that fails half-way must not be committed: Faust acks a batch's events however its handling
        ends and commits what is acked (also on an agent error, and when a stop cancels the agent mid-batch),
        which would skip what was not written. So the process ends at once instead; after a restart the batch
        is processed again from the last commit."""
        try:
            yield
        except asyncio.CancelledError:
            log.warning("stopped in the middle of a batch: exiting without committing it (a restart processes it "
                        "again)")
            logging.shutdown()
            os._exit(0)
        except Exception as exc:
            if is_storage_failure(exc):
                exit_unwritable(self.settings.state_dir, exc)
            log.critical("processing a batch failed: %r; exiting without committing it (a restart processes it "
                         "again)", exc, exc_info=True)
            logging.shutdown()
            os._exit(EXIT_BATCH_FAILED)

    async def _settled(self) -> None:
        """Wait while Faust rebalances (from the revocation until the tables are recovered)."""
        while self.app.rebalancing:
            await asyncio.sleep(0.05)

    def _owned(self, events: list[faust.EventT]) -> list[Incoming]:
        """The batch's messages of partitions this worker owns; a message buffered before a rebalance that moved
        its partition away is its new owner's to process (from the last commit). Ownership is what the last
        assignment said (kept from Faust's signals): the consumer's own assignment is briefly empty when a
        rebalance begins, and skipping messages of a partition this worker keeps would lose them."""
        return [_incoming(e) for e in events if (e.message.topic, e.message.partition) in self.owned]

    def _partition(self, partition: int) -> None:
        """Build a partition's state from the recovered table the first time this worker needs it."""
        if partition in self.people.partitions:
            return
        people, meta, forgotten = self.person_table.load(partition)
        state = self.people.load(partition, people, meta, forgotten)
        self._check_not_behind(partition, state)
        log.info("partition %d: %d persons recovered, processed up to %s", partition, len(state.people),
                 ", ".join(f"{t.removeprefix(self.topics.prefix)}@{o}" for t, o in sorted(state.offsets.items())))

    def _check_not_behind(self, partition: int, state: PartitionState) -> None:
        """The recovered state must cover what the group has committed: offsets are committed only after the
        changelog has the batch (the producer is flushed first). A state behind the commit would skip the
        messages in between for good (they are not delivered again), so the process ends instead of processing
        with it; after a restart the table is recovered again."""
        consumer = self.app.consumer
        for topic in self.people_topic.topics:
            try:
                committed = consumer._committed_offset.get(TP(topic, partition))  # faust keeps no public view
            except Exception:
                continue
            if committed is not None and state.offsets.get(topic, 0) < committed:
                log.critical("partition %d: the recovered state covers %s only up to %d but the group committed "
                             "%d; exiting rather than skipping those messages (a restart recovers the table again)",
                             partition, topic.removeprefix(self.topics.prefix), state.offsets.get(topic, 0),
                             committed)
                logging.shutdown()
                os._exit(EXIT_BATCH_FAILED)

    async def produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None,
                       headers: list[tuple[str, bytes]] | None = None) -> None:
        """Hand a message to the producer without waiting for it: Faust flushes the producer before it commits
        the input offsets, so nothing is committed before what it caused is in Kafka (at-least-once).

        What capmon publishes is bounded by design (dead letters cut, summaries in parts); should a record still
        be refused for its size, it is logged and counted, and the worker goes on: one record must not stop it."""
        try:
            await self.app.producer.send(topic, key, value, partition, None, headers)
        except ProducerSendError as exc:  # faust wraps the producer's errors
            if not isinstance(exc.__cause__, MessageSizeTooLargeError):
                raise
            self.metrics.publish_refused.labels(topic.removeprefix(self.topics.prefix)).inc()
            log.error("a record for %s was refused for its size (%d bytes) and not published",
                      topic.removeprefix(self.topics.prefix), len(value) + len(key or b""))

    async def _write_people(self, result: BatchResult) -> None:
        for partition, meta in result.meta.items():
            await self.person_table.write(partition, result.changed.get(partition, {}), meta,
                                          result.forgotten.get(partition))

    async def _send_dead_letters(self, result: BatchResult) -> None:
        for dead in result.dead:
            await self.produce(self.dead_name, dead.key, dead.value, headers=dead.headers())
        if result.dead:
            first = result.dead[0]
            log.warning("%d invalid events sent to %s; first from %s[%d]@%d: %s", len(result.dead), self.dead_name,
                        first.source.topic, first.source.partition, first.source.offset, first.reason)

    def _count(self, result: BatchResult, events: list[faust.EventT], started: float) -> None:
        oldest = min((e.message.timestamp for e in events), default=None)
        self.metrics.observe_batch(result.counts, time.perf_counter() - started, oldest)

    # --- health (read at scrape time) ---------------------------------------------------------------

    def consumer_lag(self) -> dict[tuple[str, int], int]:
        """Messages in the input partitions this worker owns that it has not read yet, per topic (no prefix)."""
        consumer = self.app.consumer
        inputs = set(self.people_topic.topics) | set(self.register_topic.topics)
        try:
            assigned = consumer.assignment()
        except Exception:  # not started, or between generations: no lag to report
            return {}
        lag: dict[tuple[str, int], int] = {}
        for tp in assigned:
            if tp.topic not in inputs:
                continue
            high = consumer.highwater(tp)
            if high is None:
                continue
            read = consumer._read_offset.get(tp)  # faust keeps no public read position
            position = read + 1 if read is not None else (consumer._committed_offset.get(tp) or 0)
            lag[(tp.topic.removeprefix(self.topics.prefix), tp.partition)] = max(0, high - position)
        return lag

    def persons_held(self) -> int:
        return sum(len(state.people) for state in self.people.partitions.values())

    def oldest_person_age_s(self) -> float | None:
        """capmon_person_oldest_event_age_seconds: the greatest over the owned partitions (runtime/metrics.py)."""
        ages = [age for state in list(self.people.partitions.values()) if (age := state.oldest_age_us()) is not None]
        return max(ages) / 1e6 if ages else None

    def is_leader(self) -> bool:
        """This worker leads the consumer group (it exports the figures and evaluates the alerts)."""
        try:
            return bool(self.app.is_leader())
        except Exception:  # consumer not started yet
            return False

    def consuming(self) -> bool:
        consumer = self.app.consumer
        return consumer.state == "running" and not self.app.should_stop

    def assigned_partitions(self) -> int:
        try:
            return len(self.app.consumer.assignment())
        except Exception:  # consumer not started yet: /health must still answer (503), not fail
            return 0

    # --- publishing and reading the figures ---------------------------------------------------------

    async def _publish_summaries(self) -> None:
        """Publish the summary of every owned partition that changed, or that caught up with its input (or
        fell behind) since its last summary."""
        if not self.app.rebalancing:
            await self._load_owned()
        for partition, state in self.people.partitions.items():
            if self._caught_up(partition, state) != self._published_caught_up.get(partition):
                self.dirty.add(partition)
        dirty, self.dirty = self.dirty, set()
        for partition in sorted(dirty):
            state = self.people.partitions.get(partition)
            if state is not None:
                caught_up = self._published_caught_up[partition] = self._caught_up(partition, state)
                await self._publish_summary(partition, state, caught_up)

    async def _publish_summary(self, partition: int, state: PartitionState, caught_up: bool) -> None:
        for key, value in split(partition_key(partition), state.summary(caught_up)):
            await self.produce(self.figures_name, key, value)

    def _caught_up(self, partition: int, state: PartitionState) -> bool:
        """Everything Kafka holds in this partition's input topics is processed (alert evaluation does not wait
        for a partition that has nothing more to process)."""
        consumer = self.app.consumer
        for topic in self.people_topic.topics:
            try:
                high = consumer.highwater(TP(topic, partition))
            except Exception:  # not assigned (any more)
                return False
            if high is None or state.offsets.get(topic, 0) < high:
                return False
        return True

    async def _load_owned(self) -> None:
        """Load every owned person partition not loaded yet, so each gets a summary even before (or without) its
        first event: alert evaluation waits for a summary of every partition."""
        try:
            owned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.topics.registrations}
        except Exception:  # consumer not started yet
            return
        missing = owned - set(self.people.partitions)
        for partition in sorted(missing):  # one at a time: a waiting batch goes in between
            async with self.batch_lock:
                if self.app.rebalancing or (self.topics.registrations, partition) not in self.owned:
                    return
                self._partition(partition)
                self.dirty.add(partition)
            await asyncio.sleep(0)

    async def _on_assigned(self, sender: object, assigned: Iterable[TopicPartition], **kwargs: object) -> None:
        self.owned = {(tp.topic, tp.partition) for tp in assigned}

    async def _on_revoked(self, sender: object, revoked: Iterable[TopicPartition], **kwargs: object) -> None:
        """Faust awaits this during a rebalance: after the batch in flight, publish the last word of each revoked
        partition, drop its state, and wait until the changelog has everything (see the module docstring)."""
        async with self.batch_lock, self.register_lock:
            self.owned -= {(tp.topic, tp.partition) for tp in revoked}
            people_topics = set(self.people_topic.topics)
            partitions = {tp.partition for tp in revoked if tp.topic in people_topics}
            for partition in partitions:
                state = self.people.partitions.get(partition)
                if state is not None and partition in self.dirty:  # last word before the new owner takes over
                    await self._publish_summary(partition, state, self._published_caught_up.get(partition, False))
                self.people.drop(partition)
                self._published_caught_up.pop(partition, None)
            self.dirty -= partitions
            await self.person_table.settle()
            await self.app.producer.flush()
            if partitions:
                log.info("partitions %s revoked: state dropped, changelog settled", sorted(partitions))

    def partitions_of(self, topic: str) -> int:
        default = 1 if topic == self.figures_name else self.settings.partitions
        return self.layout.get(topic, default)

def _incoming(event: faust.EventT) -> Incoming:
    m = event.message
    stamp = round(m.timestamp * 1_000_000) if m.timestamp else None  # Faust gives seconds
    return Incoming(m.topic, m.partition, m.offset, m.key, m.value, stamp)
