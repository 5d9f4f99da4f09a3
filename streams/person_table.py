"""The person table: Faust's changelog-backed table, written once per changed person per batch.

Faust's `table[key] = value` costs a changelog send and a lookup of the current event per write, and picks
the changelog partition from "the current event", which in a batch may belong to another partition. So
capmon writes the store and the changelog itself, always to the partition the person's events come from.

The store is RocksDB (one database per partition under CAPMON_STATE_DIR): after a restart only the changelog
written since the last persisted offset is read back, which is what makes a restart fast. Every value is a
`Person` in its codec form; one meta key per partition holds that partition's watermark and offsets.
"""

from __future__ import annotations

from collections.abc import Iterator

import faust

from .state.codec import decode_person, encode_person
from .state.people import Person

META_KEY = b"__capmon_partition_meta__"
FAUST_OFFSET_KEY = b"__faust\0offset__"


class PersonTable:
    def __init__(self, app: faust.App, partitions: int) -> None:
        self.table = app.Table("people", partitions=partitions, key_type=bytes, value_type=bytes,
                               options={"driver": "rocksdict"})
        self.app = app

    @property
    def changelog_topic(self) -> str:
        return self.table.changelog_topic.get_topic_name()

    def load(self, partition: int) -> tuple[list[tuple[str, Person]], bytes | None]:
        """Every person of a partition, and its meta value, from the local store (after Faust's recovery)."""
        db = self.table.data._db_for_partition(partition)
        people, meta = [], None
        for key, value in _items(db):
            if key == META_KEY:
                meta = value
            elif key != FAUST_OFFSET_KEY and value is not None:
                people.append((key.decode(), decode_person(value)))
        return people, meta

    async def write(self, partition: int, persons: dict[str, Person], meta: bytes) -> None:
        """Store and log the new state of each changed person, then the partition's meta."""
        store = self.table.data
        db = store._db_for_partition(partition)
        producer = self.app.producer
        topic = self.changelog_topic
        for person_id, person in persons.items():
            key, value = person_id.encode(), encode_person(person)
            db[key] = value
            await producer.send(topic, key, value, partition, None, None)
        db[META_KEY] = meta
        last = await producer.send(topic, META_KEY, meta, partition, None, None)
        last.add_done_callback(self._persisted)  # type: ignore[union-attr]

    def _persisted(self, future: object) -> None:
        """Remember, in the partition's database, how far the changelog has been written (as Faust does)."""
        try:
            metadata = future.result()  # type: ignore[attr-defined]
        except Exception:
            return
        self.table.data.set_persisted_offset(metadata.topic_partition, metadata.offset)


def _items(db: object) -> Iterator[tuple[bytes, bytes]]:
    yield from db.items()  # type: ignore[attr-defined]
