"""Retention and erasure (CONTRACT.md section 3) on the processing path, against a table kept as the changelog
would keep it: an erasure minimises at once and never changes a figure, expired persons leave their counts
behind, "too late" is judged per topic partition, and a recovery from the table gives the same totals."""

from __future__ import annotations

import copy
import dataclasses
import json

from streams.processing import BatchResult, Incoming, PeopleProcessor
from streams.pseudonyms import Pseudonyms
from streams.state.codec import decode_person, encode_person
from streams.summary import PartitionSummary
from streams.topics import Topics

T = Topics("")
DAY = 86_400


class Table:
    """What the changelog holds after compaction: the latest value per key, tombstones removing keys."""

    def __init__(self) -> None:
        self.people: dict[str, bytes] = {}
        self.meta: dict[int, bytes] = {}
        self.forgotten: dict[int, bytes] = {}

    def write(self, result: BatchResult) -> BatchResult:
        for persons in result.changed.values():
            for person_id, person in persons.items():
                if person is None:
                    self.people.pop(person_id, None)
                else:
                    self.people[person_id] = encode_person(person)
        self.meta.update(result.meta)
        self.forgotten.update(result.forgotten)
        return result

    def recovered(self, pseudonyms: Pseudonyms | None = None, retention_days: int = 400) -> PeopleProcessor:
        proc = PeopleProcessor(T, pseudonyms=pseudonyms, retention_days=retention_days)
        proc.load(0, [(k, decode_person(v)) for k, v in self.people.items()], self.meta.get(0), self.forgotten.get(0))
        return proc


class Feed:
    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}

    def __call__(self, topic: str, person: str, body: dict | None) -> Incoming:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        value = None if body is None else json.dumps({"person_id": person, **body}).encode()
        return Incoming(topic, 0, offset, person.encode(), value)


def published(state) -> PartitionSummary:
    """What a summary of `state` says about its figures (not from when its changes date: a recovery cannot tell)."""
    return dataclasses.replace(PartitionSummary.decode(state.summary()), since_us=None)


def at(day: int, hour: int = 10) -> str:
    from datetime import UTC, datetime, timedelta
    return (datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)).isoformat()


def reg(feed: Feed, i: int, person: str, day: int, kind: str = "first", nat: str = "SYR") -> Incoming:
    return feed("registrations", person, {"event_id": f"r{i}", "occurred_at": at(day), "application_type": kind,
                                          "nationality": nat})


def dec(feed: Feed, i: int, person: str, day: int, outcome: str = "granted") -> Incoming:
    return feed("decisions", person, {"event_id": f"d{i}", "occurred_at": at(day), "outcome": outcome,
                                      "nationality": "SYR"})


def place(feed: Feed, i: int, person: str, day: int, action: str = "check_in", where: str = "L1") -> Incoming:
    body = {"event_id": f"p{i}", "occurred_at": at(day), "action": action, "location_id": where}
    if action == "check_out":
        body["reason"] = "housed"
    return feed("placements", person, body)


def test_an_erasure_minimises_at_once_and_no_figure_changes_until_the_bed_is_freed():
    feed, table = Feed(), Table()
    proc = PeopleProcessor(T)
    first = [reg(feed, 1, "ann", 1), place(feed, 1, "ann", 1), dec(feed, 1, "ann", 30),
             reg(feed, 2, "bob", 2), place(feed, 2, "bob", 2)]
    table.write(proc.process(first))
    before = copy.deepcopy(proc.partitions[0].totals)
    result = table.write(proc.process([feed("registrations", "ann", None)]))
    assert result.counts == {("registrations", "erasure"): 1} and not result.dead
    assert proc.partitions[0].totals == before  # figures do not change because of an erasure
    stored = table.people["ann"].decode()
    assert "SYR" not in stored and "2023-" not in stored and '"r1"' not in stored and '"d1"' not in stored
    ann = decode_person(table.people["ann"])
    assert ann.erased and ann.location == "L1" and ann.permit_holder_in_reception and not ann.registrations
    assert published(table.recovered().partitions[0]) == published(proc.partitions[0])  # counts stay, as aggregates
    # Repeats of what was counted before the erasure stay duplicates; her check-out still frees the bed.
    again = table.write(proc.process([place(feed, 1, "ann", 1), dec(feed, 1, "ann", 30),
                                      place(feed, 3, "ann", 40, "check_out")]))
    assert again.counts == {("placements", "duplicate"): 1, ("decisions", "duplicate"): 1,
                            ("placements", "accepted"): 1}
    totals = proc.partitions[0].totals
    assert totals.occupancy == {"L1": 1} and sum(totals.outflow.values()) == 1
    assert decode_person(table.people["ann"]).fully_erased  # out of reception, decided: only the marker
    assert "housed" not in table.people["ann"].decode()
    later = table.write(proc.process([reg(feed, 9, "ann", 50, "repeat")]))
    assert later.counts == {("registrations", "invalid"): 1} and later.dead[0].reason.startswith("erased")
    assert published(table.recovered().partitions[0]) == published(proc.partitions[0])


def test_persons_expire_after_the_retention_their_counts_stay_and_late_repeats_are_refused():
    feed, table = Feed(), Table()
    proc = PeopleProcessor(T, retention_days=30)
    table.write(proc.process([reg(feed, 1, "ann", 1), place(feed, 1, "ann", 1), dec(feed, 1, "ann", 5),
                              place(feed, 2, "ann", 6, "check_out"),
                              reg(feed, 2, "waits", 2)]))  # awaits a decision: never expires
    totals = proc.partitions[0].totals
    inflow = sum(totals.inflow.values())
    # 40 days on, on every topic of the partition: ann's last event is more than the retention ago.
    result = table.write(proc.process([reg(feed, 3, "carl", 45), dec(feed, 3, "carl", 45),
                                       place(feed, 3, "carl", 45)]))
    assert result.changed[0]["ann"] is None and "ann" not in table.people and "waits" in table.people
    assert result.counts[("people", "expired")] == 1
    assert sum(proc.partitions[0].totals.inflow.values()) == inflow + 1  # ann's registration still counts
    recovered = table.recovered(retention_days=30)
    assert published(recovered.partitions[0]) == published(proc.partitions[0])
    late = recovered.process([place(feed, 1, "ann", 1)])  # a repeat of ann's check-in, 44 days late
    assert late.counts == {("placements", "invalid"): 1} and late.dead[0].reason.startswith("too late")


def test_too_late_is_judged_per_topic_partition():
    feed = Feed()
    proc = PeopleProcessor(T, retention_days=30)
    proc.process([place(feed, 1, "a", 100), reg(feed, 1, "b", 60)])
    result = proc.process([reg(feed, 2, "c", 35), place(feed, 2, "d", 65)])
    # registrations' latest is day 60: day 35 is within 30 days of it; placements' latest is day 100: 65 is not
    assert result.counts == {("registrations", "accepted"): 1, ("placements", "invalid"): 1}


def test_a_tombstone_keyed_by_the_raw_id_erases_the_pseudonymised_person():
    feed, table = Feed(), Table()
    keys = Pseudonyms(b"k" * 32)
    proc = PeopleProcessor(T, pseudonyms=keys)
    table.write(proc.process([reg(feed, 1, "ann", 1), place(feed, 1, "ann", 1)]))
    result = table.write(proc.process([feed("placements", "ann", None)]))
    assert result.counts == {("placements", "erasure"): 1}
    assert decode_person(table.people[keys.person_id("ann")]).erased
    assert "ann" not in json.dumps(list(table.people))


def test_a_tombstone_without_a_usable_key_is_a_dead_letter():
    result = PeopleProcessor(T).process([Incoming("decisions", 0, 0, None, None)])
    assert result.counts == {("decisions", "invalid"): 1} and "tombstone" in result.dead[0].reason
