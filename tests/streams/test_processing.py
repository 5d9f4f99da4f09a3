"""Batch processing without Faust: what a batch writes is fixed when it is processed, and a message Kafka
delivers again after a crash is recognised by its offset, so the data-quality counts describe the input."""

from __future__ import annotations

import json

from streams.contract.events import parse_event
from streams.contract.topics import Topics
from streams.ingest.processors import Incoming, PeopleProcessor, RegisterProcessor
from streams.state.register import Register

T = Topics("")


def registration(offset: int, person: str, event_id: str | None = None, partition: int = 0) -> Incoming:
    body = {"event_id": event_id or f"r{offset}", "occurred_at": "2023-07-01T10:00:00+02:00", "person_id": person,
            "application_type": "first", "nationality": "SYR"}
    return Incoming("registrations", partition, offset, person.encode(), json.dumps(body).encode())


def broken(offset: int, partition: int = 0) -> Incoming:
    return Incoming("registrations", partition, offset, b"k", b"{not json")


def location(offset: int, event_id: str, capacity: int = 10) -> Incoming:
    body = {"event_id": event_id, "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": "L1",
            "name": "AZC Een", "province": "NL-UT", "location_type": "regular", "capacity": capacity,
            "status": "open"}
    return Incoming("locations", 0, offset, b"L1", json.dumps(body).encode())


def restarted(proc: PeopleProcessor, partition: int = 0) -> PeopleProcessor:
    """A new processor recovered from what `proc` wrote for the partition (people and meta), as after kill -9."""
    again = PeopleProcessor(T)
    state = proc.partitions[partition]
    again.load(partition, state.people.items(), state.meta())
    return again


def test_messages_delivered_again_after_a_restart_are_counted_apart_and_not_dead_lettered_again():
    feed = [registration(0, "a"), broken(1), registration(2, "b"), registration(3, "a", event_id="r0"), broken(4)]
    first = PeopleProcessor(T)
    counted = first.process(feed).counts
    assert counted == {("registrations", "accepted"): 2, ("registrations", "invalid"): 2,
                       ("registrations", "duplicate"): 1}
    again = restarted(first)
    # Kafka resends from the last commit (offset 1 here) and then goes on with new messages.
    result = again.process([*feed[1:], registration(5, "c"), broken(6), registration(7, "c", event_id="r5")])
    assert result.counts == {("registrations", "redelivered"): 4, ("registrations", "accepted"): 1,
                             ("registrations", "invalid"): 1, ("registrations", "duplicate"): 1}
    assert [d.source.offset for d in result.dead] == [6]
    assert again.partitions[0].totals.inflow == {("2023-07-01", "first", False): 3}


def test_what_a_batch_writes_is_fixed_when_it_is_processed_even_if_its_partition_is_dropped_meanwhile():
    proc = PeopleProcessor(T)
    result = proc.process([registration(0, "a"), registration(0, "x", partition=1), registration(1, "b")])
    expected = {p: proc.partitions[p].meta() for p in (0, 1)}
    proc.drop(0)  # a rebalance revokes partition 0 while the batch's writes are under way
    proc.drop(1)
    assert result.meta == expected
    assert json.loads(result.meta[0])["offsets"] == {"registrations": 2}
    assert set(result.changed[0]) == {"a", "b"} and set(result.changed[1]) == {"x"}


def test_a_batch_of_only_redelivered_messages_changes_nothing_to_write():
    proc = PeopleProcessor(T)
    proc.process([registration(0, "a"), registration(1, "b")])
    result = restarted(proc).process([registration(0, "a"), registration(1, "b")])
    assert result.meta == {} and result.changed == {} and result.dead == []


def test_register_redeliveries_are_recognised_by_its_own_offsets_and_by_those_published_by_any_worker():
    proc = RegisterProcessor(T)
    first = proc.process([location(0, "l0"), location(1, "l1", 12)])
    assert first.register_offsets == {("locations", 0): 2} and len(first.register) == 2
    assert proc.process([location(1, "l1", 12)]).counts == {("locations", "redelivered"): 1}
    # A worker that takes the partition over knows from the figures topic how far it was processed, and the
    # register it starts from makes a repeated event id a duplicate.
    other = RegisterProcessor(T)
    register = Register()
    for message in (location(0, "l0"), location(1, "l1", 12)):
        register.apply(parse_event(message.value, "location"))
    other.seed(register)
    result = other.process([location(1, "l1", 12), location(2, "l1", 12), location(3, "l3", 14)],
                           processed=lambda topic, partition: 2)
    assert result.counts == {("locations", "redelivered"): 1, ("locations", "duplicate"): 1,
                             ("locations", "accepted"): 1}
    assert [e.event_id for e, _raw in result.register] == ["l3"]


def test_a_recovered_partition_writes_the_same_meta_so_state_kept_over_a_rebalance_can_be_checked():
    # The pipeline keeps a partition's state over a rebalance that gives it back, if the table's meta equals the
    # state's: that needs the meta of a state to be exactly what a recovery from it would write again.
    first = PeopleProcessor(T)
    written = first.process([registration(0, "a"), registration(1, "b"), broken(2)]).meta[0]
    assert restarted(first).partitions[0].meta() == written
    first.process([registration(3, "c")])
    assert first.partitions[0].meta() != written  # and it moves with every batch
