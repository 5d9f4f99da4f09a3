"""What a worker does with a batch of raw Kafka messages, without Faust: decode, fold, say what to write.

The agents in `streams/runtime/pipeline.py` only move bytes between Kafka and these processors, so everything here is
tested directly. Input events are validated here (Faust's own decoding would skip a bad message and crash
the agent); an invalid one becomes a `DeadLetter` carrying the original key and bytes and the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from streams.contract.events import (
    DEFAULT_MAX_CLOCK_SKEW_S,
    Event,
    Forecast,
    Location,
    check_not_in_future,
    parse_event,
)
from streams.contract.records.changelog import ForgottenTotals, PartitionMeta
from streams.contract.records.dead_letters import DeadLetterHeaders, ErasedEvent
from streams.contract.records.figures import UNKNOWN, PartitionSummary
from streams.contract.topics import PERSON_TOPICS, Topics
from streams.errors import InvalidEvent
from streams.ingest.pseudonyms import Pseudonyms, keyed_event_id
from streams.state.chain import ChainState
from streams.state.erasure import AwaitingErasure
from streams.state.occupancy import daily_kept_from
from streams.state.people import MAX_EVENTS_PER_PERSON, Person
from streams.state.register import Register
from streams.state.retention import Expirable, expiry_horizon
from streams.state.stamp import micros
from streams.state.totals import Totals

DAY_US = 86_400 * 1_000_000
DEFAULT_RETENTION_DAYS = 400  # CAPMON_PERSON_RETENTION_DAYS
DEFAULT_MAX_EVENT_BYTES = 65_536  # CAPMON_MAX_EVENT_BYTES
DEAD_LETTER_HEAD = 1_024  # a too large value (or key) reaches dead-letters cut to this many bytes


@dataclass(frozen=True)
class Incoming:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_us: int | None = None  # the message's timestamp (broker time on topics capmon creates)


@dataclass(frozen=True)
class DeadLetter:
    """An input that broke the contract: produced to `dead-letters` as-is, with the why in its headers. An
    erased person's event goes there `redacted` instead: no key (their id) and only what is not personal."""

    source: Incoming
    reason: str
    redacted: bytes | None = None

    @property
    def key(self) -> bytes | None:
        return None if self.redacted is not None else _head(self.source.key)

    @property
    def value(self) -> bytes:
        """The original bytes, cut to their first DEAD_LETTER_HEAD when too large: a dead letter is bounded
        whatever the input was (a whole oversized value would be refused by the producer and stop the worker)."""
        return self.redacted if self.redacted is not None else _head(self.source.value) or b""

    def headers(self) -> list[tuple[str, bytes]]:
        source = self.source
        return DeadLetterHeaders(self.reason, source.topic, source.partition, source.offset,
                                 _cut_size(source.value), _cut_size(source.key)).encode()


def _cut_size(raw: bytes | None) -> int | None:
    """The size of a value or key that its dead letter carries cut (None: it carries it whole)."""
    return len(raw) if raw is not None and len(raw) > DEAD_LETTER_HEAD else None


def _head(raw: bytes | None) -> bytes | None:
    return raw if raw is None or len(raw) <= DEAD_LETTER_HEAD else raw[:DEAD_LETTER_HEAD]


@dataclass
class PartitionState(ChainState):
    """Everything one source partition (of the co-partitioned person topics) contributes: the chain state of
    its persons, and how far its topics have been processed."""

    offsets: dict[str, int] = field(default_factory=dict)  # topic -> next offset (processed up to)
    # topic -> greatest occurred_at accepted on this partition of it: "too late" is judged per topic partition;
    # raised to the expiry horizon while the topic is silent (its older events could be forgotten persons')
    latest: dict[str, int] = field(default_factory=dict)
    # topic -> greatest broker timestamp of its valid messages: which topics are silent (state/retention.py)
    heard: dict[str, int] = field(default_factory=dict)
    event_key: bytes | None = field(default=None, compare=False, repr=False)  # keys `hashed`; None: unkeyed
    # tombstones that found nobody, until every topic is read past them (streams/state/erasure.py)
    awaiting_erasure: AwaitingErasure = field(default_factory=AwaitingErasure, compare=False, repr=False)
    daily_from: str | None = field(default=None, compare=False, repr=False)  # daily counts kept from this day
    # earliest event time accepted since the last summary (None: none); UNKNOWN after a recovery from the table,
    # which may hold what the previous owner folded but never published
    since_us: int | None = field(default=None, compare=False, repr=False)
    # last expiry sweep: (horizon day, watermark day), days since the epoch
    swept: tuple[int, int] | None = field(default=None, compare=False, repr=False)
    expirable: Expirable = field(default_factory=Expirable, compare=False, repr=False)  # who a sweep may forget

    def meta(self) -> bytes:
        """Watermark, offsets, latest event and message times per topic and the event-id hash key, stored beside
        the people in the table so a recovery restores them."""
        return PartitionMeta(self.watermark_us, self.offsets, self.latest, self.heard, self.awaiting_erasure.to_json(),
                             self.legacy_unkeyed, self.event_key).encode()

    def hear(self, topic: str, timestamp_us: int | None) -> None:
        """A valid message of `topic` was appended at `timestamp_us` (broker time)."""
        if timestamp_us is None:
            return
        if len(self.heard) < len(self.latest):  # state from before `heard`: their silence counts from now
            for other in self.latest:
                self.heard.setdefault(other, timestamp_us)
        if timestamp_us > self.heard.get(topic, -1):
            self.heard[topic] = timestamp_us

    def oldest_age_us(self) -> int | None:
        """Event time from the longest-held expirable person's last event to the partition's newest event."""
        oldest = self.expirable.oldest_us(self.people)
        if oldest is None or self.watermark_us is None:
            return None
        return max(0, self.watermark_us - oldest)

    def summary(self, caught_up: bool = False) -> bytes:
        """What the figures topic gets for this partition (daily moves and check-outs only as far back as the
        net inflow window reads them, which keeps it small)."""
        keep = daily_kept_from(self.watermark_us) if self.watermark_us is not None else None
        if keep is not None and keep != self.daily_from:  # once a day: nothing reads older daily counts
            self.totals.forget_daily_before(keep)
            self.forgotten.forget_daily_before(keep)  # an erased person's moves stay only while they are read
            self.daily_from = keep
        summary = PartitionSummary(self.watermark_us, dict(self.offsets), self.totals, caught_up, self.since_us)
        self.since_us = None  # what the next summary adds starts here
        return summary.encode(keep_days_from=keep)

    def accepted(self, occurred_us: int) -> None:
        if self.since_us != UNKNOWN:
            self.since_us = occurred_us if self.since_us is None else min(self.since_us, occurred_us)


@dataclass
class BatchResult:
    """What a batch changed, decided while processing it, so writing it needs nothing from live state (a
    rebalance may drop a partition's state while the writes are still under way)."""

    # partition -> person -> new state, or None: forgotten (a tombstone in the changelog)
    changed: dict[int, dict[str, Person | None]] = field(default_factory=dict)
    meta: dict[int, bytes] = field(default_factory=dict)  # partition -> its meta after this batch
    forgotten: dict[int, bytes] = field(default_factory=dict)  # partition -> its forgotten histories, if changed
    dead: list[DeadLetter] = field(default_factory=list)
    # (topic name w/o prefix, result): accepted, duplicate, invalid, redelivered (seen again after a restart),
    # erasure (a tombstone), expired (persons forgotten after the retention; topic "people")
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    register: list[tuple[Location | Forecast, bytes]] = field(default_factory=list)  # new latest entries, raw
    register_offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> next offset


def _decode(message: Incoming, event_type: str | None, result: BatchResult, base: str, max_skew_s: float,
            max_bytes: int):
    if event_type is None or message.value is None:
        _dead(message, "no value (tombstone)" if message.value is None else "not an input topic", result, base)
        return None
    if len(message.value) > max_bytes:
        _dead(message, f"too large: {len(message.value)} bytes, over CAPMON_MAX_EVENT_BYTES ({max_bytes})",
              result, base)
        return None
    try:
        event = parse_event(message.value, event_type)
        check_not_in_future(event, message.timestamp_us, max_skew_s)
        return event
    except InvalidEvent as exc:
        _dead(message, exc.reason, result, base)
        return None


class PeopleProcessor:
    """Folds registration, decision and placement events into per-partition state, erases persons on a
    tombstone and forgets them after the retention (CONTRACT.md section 3, "Retention and erasure").

    `partitions` holds the partitions this worker owns; `load` installs one recovered from the table.
    """

    def __init__(self, topics: Topics, max_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
                 pseudonyms: Pseudonyms | None = None, retention_days: int = DEFAULT_RETENTION_DAYS,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES, event_key: bytes | None = None) -> None:
        self.topics = topics
        self.max_skew_s = max_skew_s
        self.max_event_bytes = max_event_bytes
        self.pseudonyms = pseudonyms  # when set, person ids are replaced before they reach any state
        self.retention_us = retention_days * DAY_US
        self.event_key = event_key  # the deployment's event-id hash key (runtime/hash_key.py), no pseudonyms
        self.partitions: dict[int, PartitionState] = {}

    def _new_state(self, people: dict[str, Person] | None = None, event_key: bytes | None = None) -> PartitionState:
        """A partition's state; its event-id hashes are keyed by the pseudonym key, else by `event_key` (the
        one its stored state was built with, else the deployment's)."""
        state = PartitionState(people=people or {})
        if self.pseudonyms is not None:
            state.hashed = self.pseudonyms.event_id
        elif event_key is not None:
            state.event_key = event_key
            state.hashed = partial(keyed_event_id, event_key)
        return state

    def load(self, partition: int, people: Iterable[tuple[str, Person]], meta: bytes | None,
             forgotten: bytes | None = None) -> PartitionState:
        """Install a partition recovered from the person table (`meta` is what `PartitionState.meta` wrote,
        `forgotten` the histories of erased and expired persons)."""
        held = dict(people)
        stored = PartitionMeta.decode(meta) if meta else None
        key = stored.event_id_key if stored is not None and stored.event_id_key is not None else self.event_key
        state = self._new_state(held, key)
        # erased persons' hashes from before keyed hashes (no key in the meta): still recognised, as plain SHA-256
        state.legacy_unkeyed = self.pseudonyms is None and stored is not None and (stored.legacy_unkeyed or (
            stored.event_id_key is None and any(person.counted for person in held.values())))
        state.totals = Totals.of(state.people.values())
        state.expirable = Expirable.of(state.people)
        if forgotten:
            state.forgotten = ForgottenTotals.decode(forgotten).totals
            state.totals.add(state.forgotten)
        if stored is not None:
            state.watermark_us, state.offsets = stored.watermark_us, stored.offsets
            state.latest = stored.latest
            state.since_us = UNKNOWN
            state.heard = stored.heard
            state.awaiting_erasure = AwaitingErasure(dict(stored.awaiting_erasure))
        self.partitions[partition] = state
        return state

    def drop(self, partition: int) -> None:
        self.partitions.pop(partition, None)

    def process(self, batch: Iterable[Incoming]) -> BatchResult:
        """Fold a batch in. A message below the offset its partition's state already covers is a re-delivery
        (Kafka resends from the last commit after a crash): counted apart, neither folded nor dead-lettered
        again, so the data-quality counts describe the input, not the crash."""
        result = BatchResult()
        erased_or_expired: set[int] = set()
        for message in batch:
            state = self.partitions.get(message.partition)
            if state is None:
                state = self.partitions[message.partition] = self._new_state(event_key=self.event_key)
            base = message.topic.removeprefix(self.topics.prefix)
            if message.offset < state.offsets.get(message.topic, 0):
                result.counts[(base, "redelivered")] += 1
                continue
            state.offsets[message.topic] = message.offset + 1
            result.meta[message.partition] = b""  # filled in below, once the batch is folded
            event_type = self.topics.event_type_of(message.topic)
            if message.value is None and event_type is not None:
                if self._erase(message, state, result, base):
                    erased_or_expired.add(message.partition)
                continue
            event = _decode(message, event_type, result, base, self.max_skew_s, self.max_event_bytes)
            if event is None:
                continue
            occurred = micros(event.occurred_at)
            latest = state.latest.get(base)
            if latest is not None and latest - occurred > self.retention_us:
                _dead(message, f"too late: occurred_at is more than {self.retention_us // DAY_US} days before the "
                               "latest event of this topic partition (it could no longer be deduplicated)",
                      result, base)
                continue
            if self.pseudonyms is not None:
                event = event.model_copy(update={"person_id": self.pseudonyms.person_id(event.person_id)})
            kind = state.apply(event)
            if kind == "erased":
                _dead(message, ERASED, result, base, redacted(event, state.hashed))
                continue
            if kind == "too_many":
                _dead(message, f"too many events for one person (at most {MAX_EVENTS_PER_PERSON})", result, base)
                continue
            result.counts[(base, kind)] += 1
            if kind == "accepted":
                state.accepted(occurred)
            state.hear(base, message.timestamp_us)
            if latest is None or occurred > latest:
                state.latest[base] = occurred
            if kind == "accepted":
                person_id = event.person_id  # type: ignore[union-attr]
                if state.awaiting_erasure.since and state.awaiting_erasure.applies(state.hashed(person_id),
                                                                                   message.timestamp_us):
                    state.erase(person_id, state.watermark_us or 0)  # its tombstone was read first
                person = state.people[person_id]
                result.changed.setdefault(message.partition, {})[person_id] = person
                state.expirable.note(person_id, person, state.people)
                if person.erased:
                    erased_or_expired.add(message.partition)
        for partition in result.meta:
            state = self.partitions[partition]
            state.awaiting_erasure.prune(state.heard, PERSON_TOPICS)
            if self._expire(state, result.changed.setdefault(partition, {}), result):
                erased_or_expired.add(partition)
            result.meta[partition] = state.meta()
        for partition in erased_or_expired:
            state = self.partitions[partition]
            keep = daily_kept_from(state.watermark_us) if state.watermark_us is not None else None
            result.forgotten[partition] = ForgottenTotals(state.forgotten).encode(keep_days_from=keep)
        return result

    def _erase(self, message: Incoming, state: PartitionState, result: BatchResult, base: str) -> bool:
        """A tombstone: its key is the person id (pseudonymised like the events' ids)."""
        try:
            person_id = message.key.decode() if message.key else ""
        except UnicodeDecodeError:
            person_id = ""
        if not 0 < len(person_id) <= 64:
            _dead(message, "tombstone without a person id as its key (1-64 characters of UTF-8)", result, base)
            return False
        if self.pseudonyms is not None:
            person_id = self.pseudonyms.person_id(person_id)
        result.counts[(base, "erasure")] += 1
        if not state.erase(person_id, state.watermark_us or 0):
            if person_id not in state.people and message.timestamp_us is not None:
                state.awaiting_erasure.add(state.hashed(person_id), message.timestamp_us)
            return False
        result.changed.setdefault(message.partition, {})[person_id] = state.people[person_id]
        state.expirable.note(person_id, state.people[person_id], state.people)
        return True

    def _expire(self, state: PartitionState, changed: dict[str, Person | None], result: BatchResult) -> bool:
        """Once per day of event time, and whenever a person held is already past the retention (a look at the
        heap's top): forget persons past the retention (their history stays counted). Without the second
        condition, a person whose old events come after the others' (a quiet topic read last) was held until the
        next day of event time, or for ever on a feed that had stopped."""
        horizon, silent = expiry_horizon(state.latest, state.heard, self.retention_us)
        if horizon is None:
            return False
        mark = (horizon // DAY_US, (state.watermark_us or horizon) // DAY_US)
        oldest = state.expirable.oldest_us(state.people)
        if mark == state.swept and (oldest is None or oldest >= horizon - self.retention_us):
            return False
        state.swept = mark
        for topic in silent:  # its older events could be repeats of persons forgotten now: "too late" from here
            state.latest[topic] = max(state.latest[topic], horizon)
        gone = state.expirable.due(horizon - self.retention_us, state.people)
        state.forget(gone)
        for person_id in gone:
            changed[person_id] = None
        if gone:
            result.counts[("people", "expired")] += len(gone)
        return bool(gone)


ERASED = "erased: this person was erased (a tombstone) within the retention period"


def redacted(event: Event, hashed: Callable[[str], str]) -> bytes:
    """An erased person's later event as its dead letter carries it: nothing that identifies them or says
    anything about them (no person id, nationality, location or outcome), and the event id only as its keyed
    hash, so the producer who knows the id can still find it."""
    return ErasedEvent(type(event).__name__.lower(), hashed(event.event_id), event.occurred_at.isoformat(),
                       ERASED).encode()


def _dead(message: Incoming, reason: str, result: BatchResult, base: str, redacted: bytes | None = None) -> None:
    result.dead.append(DeadLetter(message, reason, redacted))
    result.counts[(base, "invalid")] += 1


class RegisterProcessor:
    """Validates location and forecast events and keeps the latest per key of the partitions it sees.

    It has no table of its own: what it publishes to the figures topic (the latest entries and how far each
    partition was processed) is its state, so `seed` starts it from the figures view and `process` takes the
    further of its own offsets and those the view has read back (`processed`, published by any worker)."""

    def __init__(self, topics: Topics, max_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.topics = topics
        self.max_skew_s = max_skew_s
        self.max_event_bytes = max_event_bytes
        self.register = Register()
        self.offsets: dict[tuple[str, int], int] = {}

    def seed(self, register: Register) -> None:
        """Start from the national register, so a repeated event id is a duplicate after a restart too."""
        self.register = Register(dict(register.sites), dict(register.forecasts))

    def process(self, batch: Iterable[Incoming],
                processed: Callable[[str, int], int] = lambda topic, partition: 0) -> BatchResult:
        result = BatchResult()
        for message in batch:
            base = message.topic.removeprefix(self.topics.prefix)
            tp = (message.topic, message.partition)
            if message.offset < max(self.offsets.get(tp, 0), processed(*tp)):
                result.counts[(base, "redelivered")] += 1
                continue
            self.offsets[tp] = result.register_offsets[tp] = message.offset + 1
            event = _decode(message, self.topics.event_type_of(message.topic), result, base, self.max_skew_s,
                            self.max_event_bytes)
            if event is None:
                continue
            outcome = self.register.apply(event)  # type: ignore[arg-type]
            result.counts[(base, "duplicate" if outcome == "duplicate" else "accepted")] += 1
            if outcome == "changed":
                result.register.append((event, message.value or b""))  # type: ignore[arg-type]
        return result
