"""The figures topic (`Topics.figures`, one partition, compacted): its keys and its records, for writer and reader.

A worker publishes, for each source partition it owns, a `PartitionSummary` under `partition:<n>`: absolute (the
partition's totals, not a delta) and versioned by the offsets processed, so a reader keeps the newest per
partition whatever the order of arrival, and a partition that moves to another worker is simply published again
by its new owner. It carries the partition's watermark and whether the partition had processed all its input
(alert evaluation waits for the slowest partition that still has input to process), and how far each input topic
was read (the staleness rule sees traffic without reading the input). A large summary goes out in parts
(`split`). Beside the summaries:
- `site:<location id>` and `forecast:<year>`: the latest register entry, the input event's bytes as they came;
- `offsets:<topic>:<partition>`: a `RegisterProgress`, how far a register partition was processed;
- `pseudonym-key`: the pseudonym key's fingerprint (streams/ingest/pseudonyms.py);
- `event-id-key:<random>`: a candidate event-id hash key (streams/runtime/hash_key.py).

One codec, round-trip tested; the leading format number lets the two sides evolve together. From streams/state
this module imports only the value type a summary carries (`Totals`) and its JSON form (records/values.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from streams.contract.events import Forecast, Location, parse_event
from streams.contract.records.parts import PART_BYTES, pack
from streams.contract.records.values import decode_totals, encode_totals
from streams.errors import BadRecord, InvalidEvent
from streams.state.totals import Totals

FORMAT = 2
UNKNOWN = -1  # since_us when a summary cannot tell what it adds
PARTITION_PREFIX = "partition:"
PART_SEPARATOR = ":part:"  # a large summary's parts are keyed partition:N:part:i (records/parts.py)
SITE_PREFIX = "site:"
FORECAST_PREFIX = "forecast:"
OFFSETS_PREFIX = "offsets:"  # how far a register partition has been processed: offsets:<topic>:<partition>
FINGERPRINT_KEY = b"pseudonym-key"  # the pseudonym key's fingerprint (streams/ingest/pseudonyms.py)
EVENT_ID_KEY_PREFIX = b"event-id-key:"  # the event-id hash key's candidates (streams/runtime/hash_key.py)
RegisterEntry = Location | Forecast


def partition_key(partition: int) -> bytes:
    return f"{PARTITION_PREFIX}{partition}".encode()


def part_key(key: bytes, index: int) -> bytes:
    return key + f"{PART_SEPARATOR}{index}".encode()


def register_key(event: RegisterEntry) -> bytes:
    if isinstance(event, Location):
        return f"{SITE_PREFIX}{event.location_id}".encode()
    return f"{FORECAST_PREFIX}{event.year}".encode()


def register_offsets_key(topic: str, partition: int) -> bytes:
    return f"{OFFSETS_PREFIX}{topic}:{partition}".encode()


def is_summary_key(key: bytes) -> bool:
    """A partition summary, or a part of one: state exists for that partition."""
    return key.startswith(PARTITION_PREFIX.encode())


@dataclass(frozen=True)
class SummaryKey:
    """`partition:<n>`: a summary or a large one's head; `partition:<n>:part:<i>`: one of its parts."""

    partition: int
    part: int | None = None


@dataclass(frozen=True)
class RegisterKey:
    """`site:<location id>` or `forecast:<year>`: the latest register entry of that id."""

    event_type: Literal["location", "forecast"]
    id: str


@dataclass(frozen=True)
class RegisterOffsetsKey:
    """`offsets:<topic>:<partition>`: a register partition's progress."""

    topic: str
    partition: int


FiguresKey = SummaryKey | RegisterKey | RegisterOffsetsKey


def parse_key(key: bytes) -> FiguresKey | None:
    """What a figures record's key names; None for the records the figures view does not read (the pseudonym
    key's fingerprint, the event-id hash key, a later version's)."""
    try:
        name = key.decode()
        if name.startswith(PARTITION_PREFIX):
            partition, _, part = name.removeprefix(PARTITION_PREFIX).partition(PART_SEPARATOR)
            return SummaryKey(int(partition), int(part) if part else None)
        if name.startswith(SITE_PREFIX):
            return RegisterKey("location", name.removeprefix(SITE_PREFIX))
        if name.startswith(FORECAST_PREFIX):
            return RegisterKey("forecast", name.removeprefix(FORECAST_PREFIX))
        if name.startswith(OFFSETS_PREFIX):
            topic, _, partition = name.removeprefix(OFFSETS_PREFIX).rpartition(":")
            return RegisterOffsetsKey(topic, int(partition))
    except ValueError as exc:  # UnicodeDecodeError too
        raise BadRecord(f"not a figures key: {exc}") from None
    return None


@dataclass(frozen=True)
class PartitionSummary:
    watermark_us: int | None
    offsets: dict[str, int] = field(default_factory=dict)  # input topic -> next offset to process
    totals: Totals = field(default_factory=Totals)
    caught_up: bool = False  # everything in the partition's input topics was processed when it was published
    # the earliest event time of what this summary adds to the partition's previous one (None: nothing added;
    # UNKNOWN: a worker that took the partition over cannot tell): live evaluation knows from it that the figures
    # of before held until then, through a quiet stretch (CONTRACT.md section 7, last paragraph)
    since_us: int | None = UNKNOWN

    @property
    def version(self) -> int:
        """Grows with every processed message, whoever processes it: lets readers drop stale summaries."""
        return sum(self.offsets.values())

    def encode(self, keep_days_from: str | None = None) -> bytes:
        body = {"format": FORMAT, "watermark_us": self.watermark_us, "offsets": self.offsets,
                "caught_up": self.caught_up, "since_us": self.since_us,
                "totals": encode_totals(self.totals, keep_days_from=keep_days_from)}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> PartitionSummary:
        try:
            body = json.loads(raw)
            watermark = body["watermark_us"]
            if "offsets" in body:
                offsets = {str(t): int(n) for t, n in body["offsets"].items()}
            else:  # format 1 (before offsets per topic): keep its version so newer summaries still win
                offsets = {"": int(body["version"])}
            since = body.get("since_us", UNKNOWN)
            for name, value in (("watermark_us", watermark), ("since_us", since)):
                if value is not None and type(value) is not int:
                    raise TypeError(f"{name} is not an integer")
            return cls(watermark, offsets, decode_totals(body["totals"]), bool(body.get("caught_up", False)), since)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            raise BadRecord(f"not a partition summary: {type(exc).__name__}") from None


def split(key: bytes, raw: bytes, part_bytes: int = PART_BYTES) -> list[tuple[bytes, bytes]]:
    """The records that carry one summary on the figures topic: itself when small, else its parts (keyed by
    number) followed by the head naming them (records/parts.py; on the one-partition figures topic a reader meets
    the head last)."""
    packed = pack(raw, part_bytes)
    if packed is None:
        return [(key, raw)]
    head, parts = packed
    return [*((part_key(key, i), part) for i, part in enumerate(parts)), (key, head)]


@dataclass(frozen=True)
class RegisterProgress:
    """How far a partition of the register topics (locations, forecasts) was processed: every entry it made
    the latest before `next_offset` is on the figures topic before this record (one partition, in order)."""

    next_offset: int

    def encode(self) -> bytes:
        return json.dumps({"next": self.next_offset}).encode()

    @classmethod
    def decode(cls, raw: bytes) -> RegisterProgress:
        try:
            return cls(int(json.loads(raw)["next"]))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise BadRecord(f"not a register progress record: {type(exc).__name__}") from None


def decode_register_entry(raw: bytes, event_type: Literal["location", "forecast"]) -> RegisterEntry:
    """A register entry as published: the input event's own bytes (workers publish only valid ones, so one
    that is not is no worker's)."""
    try:
        return parse_event(raw, event_type)  # type: ignore[return-value]
    except InvalidEvent as exc:
        raise BadRecord(f"not a register entry: {exc.reason}") from None
