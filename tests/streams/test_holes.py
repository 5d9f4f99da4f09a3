"""Messages the consumer skipped after a rebalance (streams/runtime/holes.py): found from the state's next offset, read
back from the real broker, folded in first, so a skip can no longer lose an event (CI lost a transfer so)."""

from __future__ import annotations

import json

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from streams.contract.topics import Topics
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.runtime.holes import Hole, HoleReader, holes, in_order

T = Topics("")


def msg(offset: int, partition: int = 0, topic: str = "placements", person: str = "p", **fields) -> Incoming:
    body = {"event_id": f"e{topic}{partition}-{offset}", "occurred_at": f"2023-02-0{1 + offset % 8}T10:00:00+01:00",
            "person_id": person, "action": "check_in", "location_id": "ter-apel", **fields}
    return Incoming(topic, partition, offset, person.encode(), json.dumps(body).encode())


def test_a_batch_is_put_in_offset_order_per_partition_each_offset_once():
    batch = [msg(7), msg(3, partition=1), msg(5), msg(7), msg(2, partition=1)]
    assert [(m.partition, m.offset) for m in in_order(batch)] == [(0, 5), (0, 7), (1, 2), (1, 3)]


def test_holes_lie_between_what_the_state_expects_and_what_was_delivered():
    batch = [msg(o) for o in (10, 11, 15, 16, 30)] + [msg(4, partition=1), msg(5, partition=1)]
    expected = {("placements", 0): 10, ("placements", 1): 2}
    assert holes(batch, lambda t, p: expected[(t, p)]) == [
        Hole("placements", 0, 12, 15), Hole("placements", 0, 17, 30), Hole("placements", 1, 2, 4)]
    assert holes([msg(3), msg(4)], lambda t, p: 5) == []  # re-deliveries below the state: no hole
    assert holes([msg(8), msg(9)], lambda t, p: None) == []  # a state that expects nothing yet


def test_a_skipped_message_below_the_state_would_be_lost_without_the_hole_read():
    """The failure itself: the state's offset passes a message the consumer never delivered; when Kafka sends
    it again it is taken for a re-delivery. Folding the hole's messages first keeps it."""
    proc = PeopleProcessor(T)
    transfer = msg(1, location_id="azc-dordrecht", action="transfer")
    proc.process([msg(0), msg(2, person="q")])  # offset 1 skipped by the consumer
    proc.process([transfer])  # sent again after a restart: below the state's offset 3
    assert proc.partitions[0].people["p"].location == "ter-apel"  # lost: this is what the hole read prevents
    fixed = PeopleProcessor(T)
    batch = [msg(0), msg(2, person="q")]
    found = holes(batch, lambda t, p: 0)
    assert found == [Hole("placements", 0, 1, 2)]
    fixed.process(in_order([*batch, transfer]))  # what the pipeline does with the hole's messages
    assert fixed.partitions[0].people["p"].location == "azc-dordrecht"


def test_the_hole_reader_reads_exactly_the_missing_offsets_from_the_broker(settings):
    topic = f"{settings.topic_prefix}holes"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for i in range(40):
        producer.send(topic, key=b"k", value=f"m{i}".encode(), partition=0)
    producer.flush()
    producer.close()
    read = HoleReader(settings).read([Hole(topic, 0, 5, 9), Hole(topic, 0, 30, 33)])
    assert [(m.offset, m.value) for m in read] == [(o, f"m{o}".encode()) for o in (5, 6, 7, 8, 30, 31, 32)]
    assert all(m.timestamp_us and m.key == b"k" for m in read)
