"""When persons may be forgotten: the expiry horizon of one partition (CONTRACT.md section 3, "Retention").

A person out of reception and not awaiting a decision is forgotten once their last event is more than the
retention before the horizon. The horizon is the least of the person topics' latest event times, so that a repeat
of a forgotten person's event is "too late" on whichever topic it comes. But one topic that stops (a producer
switched off) would then hold every person for ever. So a topic whose last message was appended more than the
retention before the newest message of the partition's other topics is *silent* and left out.

Silence is judged by the messages' broker timestamps, not by the wall clock at processing: a replay of 2023 data
appends its messages now, so it leaves no topic out however old its events are; a recovery or a lagging consumer
that reads the same messages again decides the same way. The horizon is always an event time seen on the
partition, never the wall clock, so no clock can expire everybody at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from streams.state.people import Person


def expiry_horizon(latest: Mapping[str, int], heard: Mapping[str, int],
                   retention_us: int) -> tuple[int | None, frozenset[str]]:
    """The horizon (None before any event) and the topics left out of it as silent.

    `latest`: topic -> greatest occurred_at accepted (µs); `heard`: topic -> greatest broker timestamp of its
    valid messages (µs). A topic without a broker timestamp yet is never silent."""
    if not latest:
        return None, frozenset()
    newest = max(heard.values(), default=None)
    silent = frozenset(topic for topic in latest
                       if newest is not None and topic in heard and newest - heard[topic] > retention_us)
    held = [us for topic, us in latest.items() if topic not in silent]
    return (min(held) if held else max(latest.values())), silent


class Expirable:
    """The persons the retention applies to, by last event time: a sweep finds the expired ones and the oldest
    one left without going through every person held (a scan of all of them per day of event time was a quarter
    of the fold's time with a few months of state).

    A heap of (last event time, person id), told of every change (`note`); an entry is current while the person
    is held, expirable and has that last event time, and older entries are dropped as they come up (and all at
    once when they outnumber the persons held). Invariant: every expirable person held has a current entry."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []

    @classmethod
    def of(cls, people: Mapping[str, Person]) -> Expirable:
        expirable = cls()
        expirable._heap = [(person.last_us, pid) for pid, person in people.items() if not person.active]
        heapq.heapify(expirable._heap)
        return expirable

    def note(self, person_id: str, person: Person, people: Mapping[str, Person]) -> None:
        """`person` (now held under `person_id` in `people`) changed."""
        if not person.active:
            heapq.heappush(self._heap, (person.last_us, person_id))
            if len(self._heap) > 2 * len(people) + 1_024:  # mostly entries of earlier states: start afresh
                self._heap = Expirable.of(people)._heap

    def due(self, before_us: int, people: Mapping[str, Person]) -> list[str]:
        """The expirable persons whose last event is before `before_us`, oldest first; their entries go."""
        heap, gone, taken = self._heap, [], set()
        while heap and heap[0][0] < before_us:
            us, pid = heapq.heappop(heap)
            if pid not in taken and _current(us, pid, people):
                taken.add(pid)
                gone.append(pid)
        return gone

    def oldest_us(self, people: Mapping[str, Person]) -> int | None:
        """The last event time of the longest-held person the retention applies to (out of reception, not awaiting
        a decision), or None. More than the retention before the partition's newest event means expiry is held
        back."""
        heap = self._heap
        while heap and not _current(*heap[0], people):
            heapq.heappop(heap)
        return heap[0][0] if heap else None


def _current(us: int, person_id: str, people: Mapping[str, Person]) -> bool:
    person = people.get(person_id)
    return person is not None and person.last_us == us and not person.active
