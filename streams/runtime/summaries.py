"""Publishing each owned person partition's summary to the figures topic: when it changed, when it caught up
with its input (or fell behind), and once more as its last word before a revocation hands it over.

A timer (`publish_due`) also loads every owned partition not loaded yet, so every partition has a summary even
before its first event: alert evaluation waits for the slowest one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import faust

from streams.contract.records.figures import partition_key, split
from streams.ingest.processors import PartitionState, PeopleProcessor
from streams.runtime.batches import Ownership, PartitionLoader
from streams.runtime.publisher import Publisher

PUBLISH_INTERVAL_S = 0.5


class SummaryPublisher:
    """Knows which partitions' summaries are due (`changed`) and whether each last said it had caught up."""

    def __init__(self, app: faust.App, people_processor: PeopleProcessor, publisher: Publisher, figures_topic: str,
                 people_topics: Iterable[str], ownership: Ownership, loader: PartitionLoader,
                 highwater: Callable[[str, int], int | None]) -> None:
        self.app = app
        self.people_processor = people_processor
        self.publisher = publisher
        self.figures_topic = figures_topic
        self.people_topics = tuple(people_topics)  # co-partitioned: the first names the partitions
        self.ownership = ownership
        self.loader = loader
        self.due: set[int] = set()
        self._published_caught_up: dict[int, bool] = {}
        self.highwater = highwater  # where an owned person partition ends in Kafka (None: not known yet)

    def changed(self, partitions: Iterable[int]) -> None:
        self.due.update(partitions)

    async def publish_due(self) -> None:
        """Publish the summary of every owned partition that changed, or that caught up with its input (or
        fell behind) since its last summary."""
        if not self.app.rebalancing:
            await self._load_owned()
        caught_up = {partition: self._caught_up(partition, state)
                     for partition, state in self.people_processor.partitions.items()}
        self.due.update(p for p, now in caught_up.items() if now != self._published_caught_up.get(p))
        due, self.due = self.due, set()
        for partition in sorted(due & caught_up.keys()):
            state = self.people_processor.partitions.get(partition)  # revoked while an earlier one was sent?
            if state is not None:
                self._published_caught_up[partition] = caught_up[partition]
                await self._publish(partition, state, caught_up[partition])

    async def last_word(self, partition: int) -> None:
        """Before a revoked partition's state is dropped: its summary if one is due (the new owner takes over
        from there), and forget it."""
        state = self.people_processor.partitions.get(partition)
        if state is not None and partition in self.due:
            await self._publish(partition, state, self._published_caught_up.get(partition, False))
        self.due.discard(partition)
        self._published_caught_up.pop(partition, None)

    async def _publish(self, partition: int, state: PartitionState, caught_up: bool) -> None:
        for key, value in split(partition_key(partition), state.summary(caught_up)):
            await self.publisher.send(self.figures_topic, key, value)

    def _caught_up(self, partition: int, state: PartitionState) -> bool:
        """Everything Kafka holds in this partition's input topics is processed (alert evaluation does not wait
        for a partition that has nothing more to process)."""
        for topic in self.people_topics:
            high = self.highwater(topic, partition)
            if high is None or state.offsets.get(topic, 0) < high:
                return False
        return True

    async def _load_owned(self) -> None:
        """Load every owned person partition not loaded yet, so each gets a summary even before (or without) its
        first event: alert evaluation waits for a summary of every partition."""
        first = self.people_topics[0]
        missing = self.ownership.people_partitions(first) - set(self.people_processor.partitions)
        for partition in sorted(missing):  # one at a time: a waiting batch goes in between
            async with self.ownership.batch_lock:
                if self.app.rebalancing or (first, partition) not in self.ownership.owned:
                    return
                self.loader.load(partition)
                self.due.add(partition)
            await asyncio.sleep(0)
