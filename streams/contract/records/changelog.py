"""The person table's changelog (`Topics.people_changelog`, compacted, one partition per source partition): its
records beside the persons.

Most keys are person ids, each valued by its `Person` in the compact form of records/values.py (a tombstone when
the person is forgotten). Two keys per partition are capmon's own:
- META_KEY: the partition's `PartitionMeta` (watermark, offsets, times per topic, the event-id hash key), written
  last in every batch, so a recovery restores how far the partition was processed;
- FORGOTTEN_KEY: the `ForgottenTotals` of erased and expired persons (their history stays counted); a large one
  goes out in parts keyed by its digest (`forgotten_entries`, records/parts.py).
From streams/state this module imports only the value type the forgotten totals are (`Totals`) and its JSON form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from streams.contract.records.parts import BadParts, digest_of, is_head, join, pack
from streams.contract.records.values import decode_totals, encode_totals
from streams.errors import BadRecord
from streams.state.totals import Totals

META_KEY = b"__capmon_partition_meta__"
FORGOTTEN_KEY = b"__capmon_partition_forgotten__"  # histories of erased and expired persons, as counts
# a large forgotten record's parts: FORGOTTEN_PART + digest + b":" + number (records/parts.py); keyed by the
# digest, so the parts a stored head names stay until a newer head is stored (a crash in between keeps both)
FORGOTTEN_PART = FORGOTTEN_KEY + b":"
Entry = tuple[bytes, bytes | None]


@dataclass(frozen=True)
class PartitionMeta:
    """What a partition's state needs beside its persons to go on after a recovery."""

    watermark_us: int | None
    offsets: dict[str, int] = field(default_factory=dict)  # topic -> next offset (processed up to)
    latest: dict[str, int] = field(default_factory=dict)  # topic -> greatest occurred_at accepted
    heard: dict[str, int] = field(default_factory=dict)  # topic -> greatest broker time of its valid messages
    awaiting_erasure: dict[str, int] = field(default_factory=dict)  # streams/state/erasure.py
    legacy_unkeyed: bool = False  # erased persons' hashes from before keyed hashes
    event_id_key: bytes | None = None  # the key its event-id hashes were built with (None: unkeyed)

    def encode(self) -> bytes:
        body: dict[str, object] = {"watermark_us": self.watermark_us, "offsets": self.offsets,
                                   "latest": self.latest, "heard": self.heard}
        if self.awaiting_erasure:
            body["awaiting_erasure"] = self.awaiting_erasure
        if self.legacy_unkeyed:
            body["legacy_unkeyed"] = True
        if self.event_id_key is not None:
            body["event_id_key"] = self.event_id_key.hex()
        return json.dumps(body).encode()

    @classmethod
    def decode(cls, raw: bytes) -> PartitionMeta:
        """Meta of any version: `latest`, `heard`, the tombstones awaiting their persons and the key came later."""
        try:
            body = json.loads(raw)
            awaiting = body.get("awaiting_erasure")
            key = body.get("event_id_key")
            return cls(body["watermark_us"], dict(body["offsets"]), dict(body.get("latest", {})),
                       dict(body.get("heard", {})),
                       {str(k): int(v) for k, v in awaiting.items() if isinstance(v, int)}
                       if isinstance(awaiting, dict) else {},
                       bool(body.get("legacy_unkeyed", False)), bytes.fromhex(key) if key is not None else None)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise BadRecord(f"not a partition meta record: {type(exc).__name__}") from None


@dataclass(frozen=True)
class ForgottenTotals:
    """The counts of a partition's erased and expired persons: what they added to the figures stays."""

    totals: Totals

    def encode(self, keep_days_from: str | None = None) -> bytes:
        return json.dumps(encode_totals(self.totals, keep_days_from)).encode()

    @classmethod
    def decode(cls, raw: bytes) -> ForgottenTotals:
        try:
            return cls(decode_totals(json.loads(raw)))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            raise BadRecord(f"not a forgotten totals record: {type(exc).__name__}") from None


def forgotten_entries(forgotten: bytes, stored_parts: set[bytes]) -> tuple[list[Entry], set[bytes]]:
    """The changelog entries of a forgotten record (in parts when large, the head last), then tombstones for the
    stored parts it no longer names; and the part keys stored after them."""
    packed = pack(forgotten)
    if packed is None:
        entries: list[Entry] = [(FORGOTTEN_KEY, forgotten)]
    else:
        head, parts = packed
        prefix = FORGOTTEN_PART + digest_of(head).encode() + b":"
        entries = [*((prefix + str(i).encode(), part) for i, part in enumerate(parts)), (FORGOTTEN_KEY, head)]
    named = {key for key, _value in entries[:-1]}
    return entries + [(key, None) for key in sorted(stored_parts - named)], named


def forgotten_from(stored: bytes | None, parts: dict[bytes, bytes]) -> bytes | None:
    """The forgotten record as written: itself, or the parts its head names (the store holds what the
    changelog acknowledged, head included, so a head without its parts is a broken store)."""
    if stored is None or not is_head(stored):
        return stored
    prefix = FORGOTTEN_PART + digest_of(stored).encode() + b":"
    numbered = {int(key.removeprefix(prefix)): value for key, value in parts.items() if key.startswith(prefix)}
    raw = join(stored, numbered)
    if raw is None:
        raise BadParts("the forgotten record's parts are missing from the store")
    return raw
