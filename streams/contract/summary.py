"""The partition summary: what a worker publishes to the figures topic for each source partition it owns.

It is absolute (the partition's totals, not a delta) and versioned by the offsets processed, so a reader keeps
the newest per partition whatever the order of arrival, and a partition that moves to another worker is simply
published again by its new owner. It carries the partition's watermark and whether the partition had processed
all its input (alert evaluation waits for the slowest partition that still has input to process), and how far
each input topic was read (the staleness rule sees traffic without reading the input).
One codec, round-trip tested; the leading format number lets the two sides evolve together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from streams.contract.record_parts import PART_BYTES, pack
from streams.state.codec import decode_totals, encode_totals
from streams.state.totals import Totals

FORMAT = 2
UNKNOWN = -1  # since_us when a summary cannot tell what it adds
PART_SEPARATOR = ":part:"  # a large summary's parts are keyed partition:N:part:i (streams/contract/record_parts.py)


class BadRecord(ValueError):
    """Bytes on one of capmon's own topics that are not a record of the expected shape."""


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
    number) followed by the head naming them (streams/contract/record_parts.py; on the one-partition figures topic a
    reader meets the head last)."""
    packed = pack(raw, part_bytes)
    if packed is None:
        return [(key, raw)]
    head, parts = packed
    return [*((part_key(key, i), part) for i, part in enumerate(parts)), (key, head)]


def part_key(key: bytes, index: int) -> bytes:
    return key + f"{PART_SEPARATOR}{index}".encode()


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
