"""The expiry horizon and the longest-held person (streams/state/retention.py), as pure functions."""

from __future__ import annotations

from streams.state.chain import ChainState
from streams.state.people import LatestPlacement, Person
from streams.state.retention import expiry_horizon, oldest_expirable_us

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
    held = [Person(last_us=3 * DAY, placement=LatestPlacement(stamp, "L1")),  # in reception: not expirable
            Person(last_us=4 * DAY, asylum_registration=stamp),  # awaiting a decision
            Person(last_us=9 * DAY), Person(last_us=7 * DAY, placement=LatestPlacement(stamp, None))]
    assert oldest_expirable_us(held) == 7 * DAY
    assert oldest_expirable_us(held[:2]) is None


def test_a_tombstone_for_a_person_not_held_creates_nothing():
    state = ChainState()
    assert state.erase("never-seen", 10 * DAY) is False
    assert dict(state.people) == {}
