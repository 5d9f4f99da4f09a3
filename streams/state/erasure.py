"""Tombstones that came before the person: erasure across topics (CONTRACT.md section 1 and 3, "Retention
and erasure").

Kafka keeps order within a partition of one topic, not across topics: a tombstone on `decisions` can be read
before the same person's registration, appended earlier on `registrations`. A tombstone for a person the state
does not hold creates no person (50,000 of them must not hold 50,000 "persons" or refuse those ids' later
registrations), but it is remembered, by the keyed hash of the id and its broker time, until every person topic of
the partition has been read past that time: an event of that person appended *before* the tombstone is then
folded and erased at once; one appended after it is new data and is kept. The memory is bounded in size and
time, and is kept in the partition's meta so a restart keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_AWAITING = 10_000  # tombstones remembered per partition at most (the oldest go first)
AWAIT_US = 7 * 86_400 * 1_000_000  # and for at most this long in broker time after the partition's newest message


@dataclass
class AwaitingErasure:
    """hashed person id -> broker time (µs) of the tombstone that found nobody."""

    since: dict[str, int] = field(default_factory=dict)

    def add(self, hashed_id: str, tombstone_us: int) -> None:
        self.since[hashed_id] = max(tombstone_us, self.since.get(hashed_id, tombstone_us))
        if len(self.since) > MAX_AWAITING:
            del self.since[min(self.since, key=self.since.__getitem__)]

    def applies(self, hashed_id: str, appended_us: int | None) -> bool:
        """An event appended at `appended_us` of this person was written before a tombstone for them."""
        tombstone = self.since.get(hashed_id)
        return tombstone is not None and appended_us is not None and appended_us <= tombstone

    def prune(self, heard: Mapping[str, int], topics: Iterable[str]) -> None:
        """Forget tombstones every topic has been read past (nothing written before them can come any more), and
        those older than AWAIT_US before the partition's newest message (a silent topic)."""
        if not self.since:
            return
        marks = [heard.get(topic) for topic in topics]
        newest = max(heard.values(), default=None)
        passed = min(marks) if all(m is not None for m in marks) else None  # type: ignore[type-var]
        self.since = {h: t for h, t in self.since.items()
                      if not (passed is not None and passed > t) and not (newest is not None and newest - t > AWAIT_US)}

    def to_json(self) -> dict[str, int]:
        return dict(self.since)
