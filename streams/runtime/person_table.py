"""The person table: Faust's changelog-backed table, written once per changed person per batch.

Faust's `table[key] = value` costs a changelog send and a lookup of the current event per write, and picks
the changelog partition from "the current event", which in a batch may belong to another partition. So
capmon writes the store and the changelog itself, always to the partition the person's events come from.

The store is RocksDB (one database per partition under CAPMON_STATE_DIR): after a restart only the changelog
written since the last persisted offset is read back, which is what makes a restart fast. Every value is a
`Person` in its codec form; one meta key per partition holds that partition's watermark and offsets, and one its
forgotten totals (the records: streams/contract/records/changelog.py).

The local store only ever holds what the changelog has acknowledged: a batch goes into RocksDB when its last
changelog message is acknowledged, never before. Otherwise a `kill -9` could leave the local store ahead of the
changelog; the restarted worker would then see the lost part as already folded, never write it again, and the
next worker to take the partition over (which recovers from the changelog) would silently miss it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import faust

from streams.contract.records.changelog import (
    FORGOTTEN_KEY,
    FORGOTTEN_PART,
    META_KEY,
    forgotten_entries,
    forgotten_from,
)
from streams.contract.records.values import decode_person, encode_person
from streams.contract.topics import PEOPLE_TABLE
from streams.runtime.faust_adapter import partition_store
from streams.runtime.state_dir import exit_unwritable, is_storage_failure
from streams.state.people import Person

log = logging.getLogger(__name__)
FAUST_OFFSET_KEY = b"__faust\0offset__"


class PersonTable:
    def __init__(self, app: faust.App, partitions: int, state_dir: Path) -> None:
        self.table = app.Table(PEOPLE_TABLE, partitions=partitions, key_type=bytes, value_type=bytes,
                               options={"driver": "rocksdict"})
        self.app = app
        self.state_dir = state_dir
        self._pending: set[asyncio.Future] = set()
        self._crashing: asyncio.Future | None = None
        self._parts: dict[int, set[bytes]] = {}  # partition -> forgotten-part keys in the store or written

    @property
    def changelog_topic(self) -> str:
        return self.table.changelog_topic.get_topic_name()

    def load(self, partition: int) -> Loaded:
        """Every person of a partition, its meta value and its forgotten histories, from the local store (after
        Faust's recovery)."""
        people, meta, forgotten = [], None, None
        parts: dict[bytes, bytes] = {}
        for key, value in _items(partition_store(self.table, partition)):
            if key == META_KEY:
                meta = value
            elif key == FORGOTTEN_KEY:
                forgotten = value
            elif key.startswith(FORGOTTEN_PART):
                parts[key] = value
            elif key != FAUST_OFFSET_KEY and value is not None:
                people.append((key.decode(), decode_person(value)))
        self._parts[partition] = set(parts)
        return people, meta, forgotten_from(forgotten, parts)

    async def write(self, partition: int, persons: dict[str, Person | None], meta: bytes,
                    forgotten: bytes | None = None) -> None:
        """Log the new state of each changed person (None: forgotten, a tombstone that compaction turns into
        nothing), the forgotten histories when they changed, then the partition's meta; the local store follows
        once the changelog has acknowledged them (see the module docstring)."""
        producer = self.app.producer
        topic = self.changelog_topic
        entries: list[tuple[bytes, bytes | None]] = [
            (person_id.encode(), encode_person(person) if person is not None else None)
            for person_id, person in persons.items()]
        if forgotten is not None:
            entries += self._forgotten_entries(partition, forgotten)
        entries.append((META_KEY, meta))
        last = None
        for key, value in entries:
            last = await producer.send(topic, key, value, partition, None, None)
        self._pending.add(last)  # type: ignore[arg-type]
        last.add_done_callback(partial(self._acknowledged, partition, entries))  # type: ignore[union-attr]

    def _forgotten_entries(self, partition: int, forgotten: bytes) -> list[tuple[bytes, bytes | None]]:
        entries, self._parts[partition] = forgotten_entries(forgotten, self._parts.get(partition, set()))
        return entries

    async def settle(self) -> None:
        """Wait until every write handed to the producer is acknowledged and in the local store."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _acknowledged(self, partition: int, entries: list[tuple[bytes, bytes | None]],
                      future: asyncio.Future) -> None:
        """Store an acknowledged batch locally, and how far the changelog is stored (as Faust does)."""
        self._pending.discard(future)
        if future.cancelled() or future.exception() is not None:
            # The input offsets must not be committed past a state the changelog does not have: stop the worker
            # (its partitions are processed again from the last commit, by it after a restart or by another).
            error = RuntimeError(f"changelog write for partition {partition} failed: "
                                 f"{'cancelled' if future.cancelled() else future.exception()!r}")
            log.error("%s; stopping", error)
            self._crashing = asyncio.ensure_future(self.app.crash(error))
            return
        try:
            db = partition_store(self.table, partition)
            for key, value in entries:
                if value is None:
                    with contextlib.suppress(KeyError):
                        del db[key]
                else:
                    db[key] = value
            metadata = future.result()
            self.table.data.set_persisted_offset(metadata.topic_partition, metadata.offset)
        except Exception as exc:  # a callback's exception is only logged (with its arguments: person state)
            if is_storage_failure(exc):
                exit_unwritable(self.state_dir, exc)
            log.critical("storing partition %d's acknowledged changelog batch failed: %s; stopping", partition,
                         type(exc).__name__)
            self._crashing = asyncio.ensure_future(self.app.crash(exc))


Loaded = tuple[list[tuple[str, Person]], bytes | None, bytes | None]  # people, meta, forgotten histories


def _items(db: object) -> Iterator[tuple[bytes, bytes]]:
    yield from db.items()  # type: ignore[attr-defined]
