"""Retention and erasure (CONTRACT.md section 3) on the processing path, against a table kept as the changelog
would keep it: an erasure minimises at once and never changes a figure, expired persons leave their counts
behind, "too late" is judged per topic partition, and a recovery from the table gives the same totals."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json

from streams.contract.records.figures import PartitionSummary
from streams.contract.records.values import decode_person, encode_person
from streams.contract.topics import Topics
from streams.ingest.processors import BatchResult, Incoming, PeopleProcessor
from streams.ingest.pseudonyms import Pseudonyms, keyed_event_id

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
    """Messages of partition 0; `appended` (broker time, seconds) applies to the messages made after it is set."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}
        self.appended: float | None = None

    def __call__(self, topic: str, person: str, body: dict | None) -> Incoming:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        value = None if body is None else json.dumps({"person_id": person, **body}).encode()
        stamp = None if self.appended is None else int(self.appended * 1_000_000)
        return Incoming(topic, 0, offset, person.encode(), value, stamp)


def published(state) -> PartitionSummary:
    """What a summary of `state` says about its figures (not from when its changes date: a recovery cannot tell)."""
    return dataclasses.replace(PartitionSummary.decode(state.summary()), since_us=None)


def at(day: float, hour: int = 10) -> str:
    from datetime import UTC, datetime, timedelta
    return (datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)).isoformat()


def reg(feed: Feed, i: int, person: str, day: float, kind: str = "first", nat: str = "SYR") -> Incoming:
    return feed("registrations", person, {"event_id": f"r{i}", "occurred_at": at(day), "application_type": kind,
                                          "nationality": nat})


def dec(feed: Feed, i: int, person: str, day: float, outcome: str = "granted") -> Incoming:
    return feed("decisions", person, {"event_id": f"d{i}", "occurred_at": at(day), "outcome": outcome,
                                      "nationality": "SYR"})


def place(feed: Feed, i: int, person: str, day: float, action: str = "check_in", where: str = "L1") -> Incoming:
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


def quiet_decisions(feed: Feed, appended_apart_days: float) -> list[Incoming]:
    """A partition whose decisions stop on day 1 while registrations and placements go on to day 45, their last
    messages appended `appended_apart_days` (broker time) after the decision's. ann and dora are done by day 2."""
    feed.appended = 1_700_000_000.0
    early = [reg(feed, 1, "ann", 1, "family_reunification"), place(feed, 1, "ann", 1),
             place(feed, 2, "ann", 2, "check_out"), dec(feed, 1, "dora", 1, "rejected")]
    feed.appended += appended_apart_days * DAY
    return [*early, reg(feed, 3, "carl", 45, "family_reunification"), place(feed, 3, "carl", 45)]


def test_a_topic_quiet_for_longer_than_the_retention_no_longer_holds_persons():
    feed, table = Feed(), Table()
    proc = PeopleProcessor(T, retention_days=30)
    result = table.write(proc.process(quiet_decisions(feed, appended_apart_days=31)))
    assert result.counts[("people", "expired")] == 2 and {"ann", "dora"}.isdisjoint(table.people)
    # A repeat of dora's decision on the quiet topic could no longer be recognised: "too late", not counted again.
    late = table.write(proc.process([dec(feed, 1, "dora", 1, "rejected")]))
    assert late.counts == {("decisions", "invalid"): 1} and late.dead[0].reason.startswith("too late")
    recovered = table.recovered(retention_days=30)  # the broker times are kept with the partition
    assert recovered.partitions[0].heard == proc.partitions[0].heard
    assert recovered.partitions[0].latest == proc.partitions[0].latest


def test_a_quiet_topics_old_events_read_after_the_others_expire_in_the_same_day_of_event_time():
    """The order a worker may read them in: the busy topics first (the day's sweep done), the quiet topic's
    decision of long ago afterwards. Its person is past the retention at once, and goes without waiting for the
    next day of event time (which, on a feed that stopped, never comes)."""
    feed = Feed()
    proc = PeopleProcessor(T, retention_days=30)
    feed.appended = 1_700_000_000.0 + 31 * DAY
    first = proc.process([reg(feed, 1, "carl", 45, "family_reunification"), place(feed, 1, "carl", 45)])
    assert ("people", "expired") not in first.counts  # the day's sweep: nobody to forget yet
    feed.appended = 1_700_000_000.0  # the quiet topic's last message, appended longer than the retention before
    later = proc.process([dec(feed, 2, "dora", 1, "rejected")])
    assert not later.dead and later.counts[("people", "expired")] == 1 and "dora" not in proc.partitions[0].people
    assert later.changed[0]["dora"] is None  # and the changelog forgets her too


def test_a_replay_of_old_events_appended_at_once_expires_nothing_a_quiet_topic_holds():
    feed = Feed()
    proc = PeopleProcessor(T, retention_days=30)
    result = proc.process(quiet_decisions(feed, appended_apart_days=0.01))  # a replay: all appended now
    assert ("people", "expired") not in result.counts and {"ann", "dora"} <= set(proc.partitions[0].people)


def test_the_longest_held_expirable_person_shows_how_far_expiry_is_held_back():
    feed = Feed()
    held = PeopleProcessor(T, retention_days=30)
    held.process(quiet_decisions(feed, appended_apart_days=0.01))
    # dora's decision (day 1) to carl's events (day 45): 44 days, beyond the 30 days' retention
    assert held.partitions[0].oldest_age_us() == 44 * DAY * 1_000_000
    moving = PeopleProcessor(T, retention_days=30)
    moving.process(quiet_decisions(Feed(), appended_apart_days=31))
    assert moving.partitions[0].oldest_age_us() is None  # everybody expirable has expired
    later = moving.process([reg(feed, 4, "eve", 44, "family_reunification")])
    assert not later.dead and moving.partitions[0].oldest_age_us() == DAY * 1_000_000


def test_a_tombstone_for_an_unknown_person_creates_nothing_and_their_events_are_accepted():
    feed, table = Feed(), Table()
    proc = PeopleProcessor(T)
    tombstones = table.write(proc.process([feed("registrations", f"u{i}", None) for i in range(50)]))
    assert tombstones.counts == {("registrations", "erasure"): 50} and not tombstones.dead
    assert table.people == {} and not proc.partitions[0].people
    later = table.write(proc.process([reg(feed, i, f"u{i}", 3) for i in range(50)]))
    assert later.counts == {("registrations", "accepted"): 50} and not later.dead
    assert sum(proc.partitions[0].totals.inflow.values()) == 50


def test_an_erased_persons_later_event_is_a_dead_letter_without_their_id_or_anything_about_them():
    feed = Feed()
    key = b"d" * 32
    proc = PeopleProcessor(T, event_key=key)
    proc.process([reg(feed, 1, "ann-4711", 1, "family_reunification"), place(feed, 1, "ann-4711", 1, where="TerApel"),
                  place(feed, 2, "ann-4711", 2, "check_out", where="TerApel")])
    proc.process([feed("placements", "ann-4711", None)])
    later = proc.process([place(feed, 7, "ann-4711", 3, where="Budel")])
    (dead,) = later.dead
    assert dead.reason.startswith("erased") and dead.key is None
    body = json.loads(dead.value)
    assert body == {"event_type": "placement", "event_id_hash": keyed_event_id(key, "p7"),
                    "occurred_at": "2023-01-04T10:00:00+00:00", "reason": dead.reason}
    assert b"ann-4711" not in dead.value and b"Budel" not in dead.value and b"check_in" not in dead.value
    assert dead.headers()[0] == ("capmon.reason", dead.reason.encode())


def test_event_id_hashes_are_keyed_without_a_pseudonym_key_and_a_recovery_keeps_the_partitions_key():
    feed, table = Feed(), Table()
    key = b"e" * 32
    proc = PeopleProcessor(T, event_key=key)
    table.write(proc.process([reg(feed, 1, "ann", 1), place(feed, 1, "ann", 1)]))
    table.write(proc.process([feed("registrations", "ann", None)]))
    counted = decode_person(table.people["ann"]).counted
    assert counted == {keyed_event_id(key, "r1"), keyed_event_id(key, "p1")}
    assert hashlib.sha256(b"r1").hexdigest()[:32] not in counted  # not the plain hash of a guessable id
    # Another worker (another deployment key, e.g. before both agreed) recovering this partition keeps its key.
    recovered = Table()
    recovered.people, recovered.meta = dict(table.people), dict(table.meta)
    other = PeopleProcessor(T, event_key=b"o" * 32)
    other.load(0, [(k, decode_person(v)) for k, v in recovered.people.items()], recovered.meta[0])
    again = other.process([place(feed, 1, "ann", 1)])
    assert again.counts == {("placements", "duplicate"): 1}



def test_a_tombstone_read_before_the_persons_earlier_event_on_another_topic_still_erases_them():
    """Kafka orders one topic's partition, not the three person topics: a tombstone on `placements` can be read
    before a registration appended earlier. It creates no person, but is remembered until every topic is read past
    it; the earlier registration is then erased as it arrives, a registration appended after it is kept."""
    from streams.state.erasure import MAX_AWAITING, AwaitingErasure

    now = 1_700_000_000.0  # broker time (2023-11-14), after the events' days in 2023
    feed, table = Feed(), Table()
    proc = PeopleProcessor(T)
    feed.appended = now + 1
    early = reg(feed, 1, "ann", 1)  # appended first, read late
    feed.appended = now + 2
    table.write(proc.process([feed("placements", "ann", None)]))
    assert not proc.partitions[0].people  # nobody created
    proc = table.recovered()  # and the memory survives a restart
    assert proc.partitions[0].awaiting_erasure.since
    erased = table.write(proc.process([early]))
    assert erased.counts[("registrations", "accepted")] == 1 and proc.partitions[0].people["ann"].erased
    assert sum(proc.partitions[0].totals.inflow.values()) == 1  # the count stays: figures never change by erasure
    feed.appended = now + 3
    proc.process([reg(feed, 2, "bob", 2), feed("placements", "bob", None), reg(feed, 3, "carl", 3)])
    assert proc.partitions[0].people["bob"].erased and not proc.partitions[0].people["carl"].erased
    feed.appended = now + 4
    proc.process([dec(feed, 4, "carl", 4), place(feed, 4, "carl", 4)])  # every topic read past the tombstones
    assert proc.partitions[0].awaiting_erasure.since == {}
    feed.appended = now + 5
    kept = proc.process([reg(feed, 5, "bob", 5, "repeat")])  # appended after bob's tombstone: new data, kept
    assert not kept.dead and kept.counts[("registrations", "accepted")] == 1
    memory = AwaitingErasure()
    for i in range(MAX_AWAITING + 5):
        memory.add(f"h{i}", i)
    assert len(memory.since) == MAX_AWAITING and "h0" not in memory.since


def test_a_partition_with_erasures_from_before_keyed_hashes_recognises_them_and_keys_every_new_one():
    """Upgrading: a state whose erased persons hold plain SHA-256 hashes (no key in its meta) keeps recognising
    their repeats, but hashes every new erasure with the deployment's key, also after the next recovery."""
    feed, table = Feed(), Table()
    old = PeopleProcessor(T)  # before keyed hashes: plain SHA-256
    table.write(old.process([reg(feed, 1, "ann", 1), place(feed, 1, "ann", 1)]))
    table.write(old.process([feed("registrations", "ann", None)]))
    body = json.loads(table.meta[0])
    assert "event_id_key" not in body
    key = b"k" * 32
    proc = table.recovered()
    proc.event_key = key
    proc.load(0, [(k, decode_person(v)) for k, v in table.people.items()], table.meta[0])
    table.write(proc.process([reg(feed, 2, "bob", 2), place(feed, 2, "bob", 2)]))
    table.write(proc.process([feed("registrations", "bob", None)]))
    assert decode_person(table.people["bob"]).counted == {keyed_event_id(key, "r2"), keyed_event_id(key, "p2")}
    later = PeopleProcessor(T, event_key=b"z" * 32)  # after another restart
    later.load(0, [(k, decode_person(v)) for k, v in table.people.items()], table.meta[0])
    repeats = later.process([reg(feed, 1, "ann", 1), reg(feed, 2, "bob", 2)])
    assert repeats.counts == {("registrations", "duplicate"): 2}
