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

from .state.codec import decode_totals, encode_totals
from .state.totals import Totals

FORMAT = 2


class BadRecord(ValueError):
    """Bytes on one of capmon's own topics that are not a record of the expected shape."""


@dataclass(frozen=True)
class PartitionSummary:
    watermark_us: int | None
    offsets: dict[str, int] = field(default_factory=dict)  # input topic -> next offset to process
    totals: Totals = field(default_factory=Totals)
    caught_up: bool = False  # everything in the partition's input topics was processed when it was published

    @property
    def version(self) -> int:
        """Grows with every processed message, whoever processes it: lets readers drop stale summaries."""
        return sum(self.offsets.values())

    def encode(self, keep_days_from: str | None = None) -> bytes:
        body = {"format": FORMAT, "watermark_us": self.watermark_us, "offsets": self.offsets,
                "caught_up": self.caught_up,
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
            if watermark is not None and not isinstance(watermark, int):
                raise TypeError("watermark_us is not an integer")
            return cls(watermark, offsets, decode_totals(body["totals"]), bool(body.get("caught_up", False)))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise BadRecord(f"not a partition summary: {exc!r}") from None


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
        except (ValueError, TypeError, KeyError) as exc:
            raise BadRecord(f"not a register progress record: {exc!r}") from None
