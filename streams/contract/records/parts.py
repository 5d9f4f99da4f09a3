"""A record too large for one Kafka message, as compressed parts and a head that names them.

Two of capmon's records grow with what producers write (the distinct location ids a partition has seen): the
partition summary on the figures topic and the person table's "forgotten" counts on its changelog. Either goes
out whole while small, and otherwise compressed, in parts of at most PART_BYTES, the head last: a reader takes
the head only with all the parts it names and their digest, so no record capmon publishes nears the producer's
and the topics' 1 MiB (streams/contract/topics.py PUBLISH_MAX_BYTES), whatever the input was. How the parts are
keyed is each topic's own (records/figures.py `split`, records/changelog.py `forgotten_entries`).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from streams.errors import BadRecord

PART_BYTES = 256 * 1024
MAX_BYTES = 256 * 1024 * 1024  # a head promising more than this is not read (a decompression bomb)
HEAD_START = b'{"format": "parts"'


class BadParts(BadRecord):
    """A head that cannot be read, or parts that are not what it says."""


def head_of(parts: list[bytes], raw_size: int, packed: bytes) -> bytes:
    return json.dumps({"format": "parts", "parts": len(parts), "size": raw_size,
                       "sha256": hashlib.sha256(packed).hexdigest()}).encode()


def pack(raw: bytes, part_bytes: int = PART_BYTES) -> tuple[bytes, list[bytes]] | None:
    """(head, parts) for a record larger than `part_bytes`; None when it goes out whole."""
    if len(raw) <= part_bytes:
        return None
    packed = zlib.compress(raw, 6)
    parts = [packed[i:i + part_bytes] for i in range(0, len(packed), part_bytes)]
    return head_of(parts, len(raw), packed), parts


def is_head(raw: bytes) -> bool:
    return raw.startswith(HEAD_START)


def digest_of(raw_head: bytes) -> str:
    """The head's digest of its parts (names a set of parts where they are keyed by it)."""
    return _head(raw_head)["sha256"]


def join(raw_head: bytes, part: dict[int, bytes]) -> bytes | None:
    """The record a head names, from the parts read so far; None while a part is missing or is of another
    version (a later record's parts may have been written after this head)."""
    head = _head(raw_head)
    count, size, digest = head["parts"], head["size"], head["sha256"]
    if not 0 < count <= MAX_BYTES // PART_BYTES or not 0 < size <= MAX_BYTES:
        raise BadParts("head out of bounds")
    if any(i not in part for i in range(count)):
        return None
    packed = b"".join(part[i] for i in range(count))
    if hashlib.sha256(packed).hexdigest() != digest:
        return None
    try:
        raw = zlib.decompressobj().decompress(packed, size + 1)
    except zlib.error:
        raise BadParts("parts do not decompress") from None
    if len(raw) != size:
        raise BadParts("parts are not the size their head says")
    return raw


def _head(raw_head: bytes) -> dict[str, Any]:
    try:
        head = json.loads(raw_head)
        return {"parts": int(head["parts"]), "size": int(head["size"]), "sha256": str(head["sha256"])}
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise BadParts(f"not a head: {type(exc).__name__}") from None
