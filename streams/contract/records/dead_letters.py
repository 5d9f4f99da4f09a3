"""The dead-letters topic (`Topics.dead_letters`, 14 days): inputs that broke the contract, and why.

A dead letter is the original key and value (cut to their first 1 KiB when larger) with `DeadLetterHeaders`
saying why and where from. An erased person's later event goes there as an `ErasedEvent` instead, without a key:
nothing that identifies them or says anything about them. One codec each, round-trip tested.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from streams.errors import BadRecord

Headers = list[tuple[str, bytes]]
_SIZES = (("capmon.size", "size"), ("capmon.key_size", "key_size"))


@dataclass(frozen=True)
class DeadLetterHeaders:
    """Why an input is a dead letter and where it was: its topic, partition and offset; `size` and `key_size`
    only when the value or key was cut (their size before)."""

    reason: str
    topic: str
    partition: int
    offset: int
    size: int | None = None
    key_size: int | None = None

    def encode(self) -> Headers:
        headers = [("capmon.reason", self.reason.encode()), ("capmon.topic", self.topic.encode()),
                   ("capmon.partition", str(self.partition).encode()), ("capmon.offset", str(self.offset).encode())]
        for name, attribute in _SIZES:
            size = getattr(self, attribute)
            if size is not None:
                headers.append((name, str(size).encode()))
        return headers

    @classmethod
    def decode(cls, headers: Headers) -> DeadLetterHeaders:
        try:
            found = {name: value.decode() for name, value in headers}
            sizes = {attribute: int(found[name]) for name, attribute in _SIZES if name in found}
            return cls(found["capmon.reason"], found["capmon.topic"], int(found["capmon.partition"]),
                       int(found["capmon.offset"]), **sizes)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BadRecord(f"not dead-letter headers: {type(exc).__name__}") from None


@dataclass(frozen=True)
class ErasedEvent:
    """An erased person's later event as its dead letter carries it: its type and time, and the event id only as
    its keyed hash, so the producer who knows the id can still find it (no person id, nationality, location or
    outcome)."""

    event_type: str
    event_id_hash: str
    occurred_at: str  # ISO 8601, as the event said it
    reason: str

    def encode(self) -> bytes:
        return json.dumps({"event_type": self.event_type, "event_id_hash": self.event_id_hash,
                           "occurred_at": self.occurred_at, "reason": self.reason}).encode()

    @classmethod
    def decode(cls, raw: bytes) -> ErasedEvent:
        try:
            body = json.loads(raw)
            return cls(str(body["event_type"]), str(body["event_id_hash"]), str(body["occurred_at"]),
                       str(body["reason"]))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise BadRecord(f"not an erased event: {type(exc).__name__}") from None
