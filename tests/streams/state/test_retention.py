"""The expiry horizon and the persons a sweep may forget (streams/state/retention.py), without Kafka."""

from __future__ import annotations

import random

from streams.state.chain import ChainState
from streams.state.people import LatestPlacement, Person
from streams.state.retention import Expirable, expiry_horizon

DAY = 86_400 * 1_000_000
RETENTION = 30 * DAY
NOW = 20_000 * DAY  # a broker clock reading (µs)


def test_the_horizon_is_the_least_latest_event_time_while_every_topic_speaks():
    latest = {"registrations": 100 * DAY, "decisions": 60 * DAY, "placements": 90 * DAY}
    heard = {topic: NOW for topic in latest}
    assert expiry_horizon(latest, heard, RETENTION) == (60 * DAY, frozenset())
    assert expiry_horizon({}, {}, RETENTION) == (None, frozenset())


def test_a_topic_quiet_for_longer_than_the_retention_no_longer_holds_the_horizon():
    latest = {"registrations": 100 * DAY, "decisions": 5 * DAY, "placements": 90 * DAY}
    quiet = {"registrations": NOW, "decisions": NOW - RETENTION - 1, "placements": NOW}
    assert expiry_horizon(latest, quiet, RETENTION) == (90 * DAY, frozenset({"decisions"}))
    just = {**quiet, "decisions": NOW - RETENTION}  # exactly the retention: still holds
    assert expiry_horizon(latest, just, RETENTION) == (5 * DAY, frozenset())


def test_a_replay_of_old_events_appended_now_leaves_no_topic_out():
    # 2023's events replayed in 2026: years between their event times, seconds between their broker times
    latest = {"registrations": 700 * DAY, "decisions": 5 * DAY, "placements": 690 * DAY}
    heard = {"registrations": NOW, "decisions": NOW - 60_000_000, "placements": NOW}
    assert expiry_horizon(latest, heard, RETENTION) == (5 * DAY, frozenset())


def test_a_topic_without_a_broker_time_is_never_silent_and_the_horizon_never_passes_the_newest_event():
    latest = {"registrations": 100 * DAY, "decisions": 5 * DAY}
    assert expiry_horizon(latest, {"registrations": NOW}, RETENTION) == (5 * DAY, frozenset())
    horizon, _ = expiry_horizon(latest, {"registrations": NOW, "decisions": 0}, RETENTION)
    assert horizon == 100 * DAY <= max(latest.values())


def test_the_oldest_expirable_person_ignores_persons_in_reception_or_awaiting_a_decision():
    stamp = (1, "e")
    held = {"in": Person(last_us=3 * DAY, placement=LatestPlacement(stamp, "L1")),  # in reception: not expirable
            "awaiting": Person(last_us=4 * DAY, asylum_registration=stamp),  # awaiting a decision
            "a": Person(last_us=9 * DAY), "b": Person(last_us=7 * DAY, placement=LatestPlacement(stamp, None))}
    assert Expirable.of(held).oldest_us(held) == 7 * DAY
    active = {pid: held[pid] for pid in ("in", "awaiting")}
    assert Expirable.of(active).oldest_us(active) is None
    assert Expirable.of(held).due(9 * DAY, held) == ["b"]  # before: strictly


def scan(people: dict[str, Person], before_us: int) -> set[str]:
    """What the heap must find: every expirable person whose last event is before `before_us`."""
    return {pid for pid, p in people.items() if p.last_us < before_us and not p.active}


def test_the_heap_finds_what_a_scan_of_every_person_finds_through_any_history_of_changes():
    rng = random.Random(19)
    stamp = (1, "e")
    states = [lambda us: Person(last_us=us), lambda us: Person(last_us=us, placement=LatestPlacement(stamp, "L1")),
              lambda us: Person(last_us=us, asylum_registration=stamp), lambda us: Person(last_us=us, erased=True)]
    for _round in range(20):
        people: dict[str, Person] = {f"p{i}": rng.choice(states)(rng.randrange(50) * DAY) for i in range(40)}
        expirable = Expirable.of(people)
        day = 50
        for _step in range(600):
            pid = f"p{rng.randrange(60)}"
            # a change keeps or raises the last event time; the state may go back and forth between active and not
            last = max(people[pid].last_us, rng.randrange(day - 5, day + 1) * DAY) if pid in people \
                else rng.randrange(day - 5, day + 1) * DAY
            people[pid] = rng.choice(states)(last)
            expirable.note(pid, people[pid], people)
            if rng.random() < 0.05:  # a sweep
                day += rng.randrange(1, 4)
                cutoff = (day - 10) * DAY
                expected = scan(people, cutoff)
                gone = expirable.due(cutoff, people)
                assert len(gone) == len(set(gone)) and set(gone) == expected
                for person_id in gone:
                    del people[person_id]
                left = [p.last_us for p in people.values() if not p.active]
                assert expirable.oldest_us(people) == (min(left) if left else None)


def test_entries_of_earlier_states_do_not_pile_up():
    people: dict[str, Person] = {}
    expirable = Expirable()
    for us in range(10_000):  # one person's events, one after the other
        people["p"] = Person(last_us=us)
        expirable.note("p", people["p"], people)
    assert len(expirable._heap) <= 2 * len(people) + 1_024
    assert expirable.due(10_000, people) == ["p"]


def test_a_tombstone_for_a_person_not_held_creates_nothing():
    state = ChainState()
    assert state.erase("never-seen", 10 * DAY) is False
    assert dict(state.people) == {}
