"""The Faust side of a worker, wired: topics, the changelog-backed person table, the person reader and the
register agent, and publishing each owned partition's summary to the figures topic. Nothing here knows about
alerts (see capmon/worker.py).

The parts: streams/runtime/faust_app.py builds the app, people_reader.py reads the person topics, batches.py
processes batches, summaries.py publishes the summaries, health.py answers /health and /metrics, publisher.py
sends.

Start-up order (Faust runs it; the comments say why it matters):
1. `Pipeline` declares topics and the person table; nothing touches Kafka yet.
2. The worker joins the consumer group; Faust recovers the person table for the assigned partitions (those of
   the people-partitions topic, `Topics.people_partitions`, co-partitioned with the table's changelog).
3. The person reader and the register agent start. Each person partition's in-memory state is built from the
   recovered table before the reader seeks it (`PartitionLoader`), so it never sees a half-recovered table and
   reads on from the offsets that state reached. A timer loads every owned partition too and
   publishes the summaries of partitions that changed, at most every PUBLISH_INTERVAL_S, so every partition
   has a summary (alert evaluation waits for the slowest one).
   A batch is processed and written under `batch_lock`, and never while Faust rebalances: a revocation
   waits for the batch in flight, then publishes its last word, drops the revoked state and waits until
   every changelog write is acknowledged, so the next owner (or this worker again) recovers all of it.
   Messages of partitions this worker no longer owns (still buffered from before a rebalance) are skipped:
   their new owner processes them from where the changelog (person topics) or the last commit (register)
   says.
4. A stop (SIGTERM, a crash) hands every person partition over the same way before Faust's own stop sequence
   closes the table and leaves the group (`StoppingApp.before_stop`): the reader folds nothing after that.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import faust
from aiokafka import TopicPartition

from streams.config import Settings
from streams.contract.topics import Topics
from streams.ingest.processors import PeopleProcessor, RegisterProcessor
from streams.ingest.pseudonyms import pseudonyms_of
from streams.runtime.batches import (
    EXIT_BATCH_FAILED,
    BatchTools,
    Ownership,
    PartitionLoader,
    PeopleBatches,
    RegisterBatches,
)
from streams.runtime.faust_app import faust_app
from streams.runtime.health import WorkerHealth
from streams.runtime.holes import HoleReader
from streams.runtime.metrics import WorkerMetrics
from streams.runtime.people_reader import PeopleReader
from streams.runtime.person_table import PersonTable
from streams.runtime.publisher import Publisher
from streams.runtime.summaries import PUBLISH_INTERVAL_S, SummaryPublisher
from streams.state.view import FiguresView

log = logging.getLogger(__name__)
HAND_OVER_WITHIN_S = 30.0  # a stop's hand-over of the person partitions (SIGTERM: the runner's deadline is shorter)


class Pipeline:
    """The processors, the Faust app and the parts its agents and timers call.

    `view` is the figures view the worker reads back (the register agent starts from it); `view_ready` says
    when that view has caught up with the figures topic; `kafka` is the connection of the worker's own aiokafka
    clients (the person topics' reader)."""

    def __init__(self, settings: Settings, layout: dict[str, int], view: FiguresView, metrics: WorkerMetrics,
                 view_ready: Callable[[], bool], kafka: dict[str, Any], event_key: bytes | None = None) -> None:
        s = settings
        self.settings = s
        self.layout = layout  # partitions per topic, read by `capmon worker` before Faust starts
        self.topics = t = Topics(s.topic_prefix)
        self.people_processor = PeopleProcessor(t, s.max_clock_skew_s, pseudonyms_of(s), s.person_retention_days,
                                                s.max_event_bytes, event_key)
        self.register_processor = RegisterProcessor(t, s.max_clock_skew_s, s.max_event_bytes)
        self.app = app = faust_app(s, t)
        raw = {"key_serializer": "raw", "value_serializer": "raw"}
        self.people_topics = people_topics = (t.registrations, t.decisions, t.placements)  # the first names
        self.people_partitions_topic = app.topic(t.people_partitions, **raw)  # Faust's group assigns these
        self.register_topic = app.topic(t.locations, t.forecasts, **raw)
        self.figures_name = t.figures  # created by `capmon worker` before Faust starts
        self.person_table = PersonTable(app, s.partitions, s.state_dir)
        self.publisher = Publisher(app, metrics, t.prefix, t.dead_letters)
        self.ownership = Ownership()
        loader = PartitionLoader(self.people_processor, self.person_table, t.prefix)
        tools = BatchTools(app, self.ownership, HoleReader(s), self.publisher, metrics, t.prefix, s.state_dir)
        self.summaries = SummaryPublisher(app, self.people_processor, self.publisher, self.figures_name,
                                          people_topics, self.ownership, loader,
                                          lambda topic, partition: self.people_reader.highwater(topic, partition))
        people = PeopleBatches(tools, self.people_processor, loader, self.person_table, self.summaries.changed)
        self.people_reader = PeopleReader(kafka, people_topics, tools, loader, self.people_processor, people)
        register = RegisterBatches(tools, self.register_processor, self.figures_name, view, view_ready)
        self.health = WorkerHealth(app, self.people_processor, self.people_reader, [t.locations, t.forecasts],
                                   t.prefix)

        app.task(self.people_reader.run)
        app.agent(self.people_partitions_topic, name="people-partitions")(_ignore)
        app.agent(self.register_topic, name="register")(register.agent)
        app.timer(PUBLISH_INTERVAL_S)(self.summaries.publish_due)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)
        app.before_stop = self._before_stop

    def _people_tps(self, tps: Iterable[TopicPartition]) -> set[tuple[str, int]]:
        """The person topics' (topic, partition)s that an assignment of the people-partitions topic names."""
        marker = self.topics.people_partitions
        return {(topic, tp.partition) for tp in tps if tp.topic == marker for topic in self.people_topics}

    async def _on_assigned(self, sender: object, assigned: Iterable[TopicPartition], **kwargs: object) -> None:
        assigned = list(assigned)
        self.ownership.owned = {(tp.topic, tp.partition) for tp in assigned} | self._people_tps(assigned)
        self.ownership.generation += 1

    async def _on_revoked(self, sender: object, revoked: Iterable[TopicPartition], **kwargs: object) -> None:
        """Faust awaits this during a rebalance: after the batch in flight, publish the last word of each revoked
        partition, drop its state, and wait until the changelog has everything (see the module docstring)."""
        ownership = self.ownership
        revoked = list(revoked)
        async with ownership.batch_lock, ownership.register_lock:
            ownership.owned -= {(tp.topic, tp.partition) for tp in revoked}
            await self._hand_over(self._people_tps(revoked))

    async def _before_stop(self) -> None:
        """A stop (SIGTERM, a crash), before Faust's own stop sequence: after the batch in flight the person
        reader stops, and every owned person partition is handed over as in a revocation. Faust would close the
        table, leave the group and only then cancel the reader, which meanwhile went on folding and writing the
        changelog of partitions their next owner had already recovered (figures lost in a rolling restart).
        A hand-over that cannot finish (the broker away) ends the process as `kill -9` would: the local store
        only ever holds what the changelog acknowledged, so a restart recovers exactly."""
        ownership = self.ownership
        try:
            async with asyncio.timeout(HAND_OVER_WITHIN_S), ownership.batch_lock:
                self.people_reader.stop()
                marker = self.topics.people_partitions
                await self._hand_over({(topic, partition) for topic, partition in ownership.owned
                                       if topic == marker or topic in self.people_topics})
        except TimeoutError:
            log.critical("stopping: the person partitions could not be handed over within %.0f s; exiting (a "
                         "restart recovers from the changelog)", HAND_OVER_WITHIN_S)
            logging.shutdown()
            os._exit(EXIT_BATCH_FAILED)
        log.info("person reader stopped for the worker's stop")

    async def _hand_over(self, people: set[tuple[str, int]]) -> None:
        """Under the batch lock: give up these person (topic, partition)s. Each partition's last word is published,
        its state dropped, and the changelog settled, so that its next owner (or this worker again) recovers all
        of it; what was fetched before is stale (the generation moves on)."""
        ownership = self.ownership
        ownership.generation += 1
        ownership.owned -= people
        partitions = {partition for _, partition in people}
        for partition in sorted(partitions):
            await self.summaries.last_word(partition)  # before the new owner takes over
            self.people_processor.drop(partition)
        await self.person_table.settle()
        await self.app.producer.flush()
        if partitions:
            log.info("person partitions %s given up: state dropped, changelog settled", sorted(partitions))

    def partitions_of(self, topic: str) -> int:
        default = 1 if topic == self.figures_name else self.settings.partitions
        return self.layout.get(topic, default)


async def _ignore(stream: faust.StreamT) -> None:
    """The people-partitions topic holds nothing: Faust subscribes to it for its assignment only."""
    async for _ in stream:
        pass
