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

from collections.abc import Iterable, Mapping

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


def oldest_expirable_us(people: Iterable[Person]) -> int | None:
    """The last event time of the longest-held person the retention applies to (out of reception, not awaiting a
    decision), or None. More than the retention before the partition's newest event means expiry is held back."""
    return min((person.last_us for person in people if not person.active), default=None)
