"""The deployment's key for event-id hashes, agreed once per topic prefix through the figures topic.

An erased person keeps hashes of the event ids already counted (so a repeat stays a duplicate), and the dead
letter of their later event carries its id only as a hash. Plain SHA-256 of a guessable id hides nothing, so the
hash is keyed: by the pseudonym key when one is set, else by a random key of the deployment's own.

Every worker reads the (compacted, one-partition) figures topic before it starts; the record with the lowest
offset whose key starts with `event-id-key:` holds the key. A worker that finds none writes one and reads back.
Two workers racing both write, but each under a key of its own, so compaction keeps both records and their
offsets: the lower one is every worker's key, now and after any restart. Each partition's meta in the changelog
(and so in the state directory) records the key its state was built with, and a recovery keeps using that.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from streams.config import Settings
from streams.contract.records.figures import EVENT_ID_KEY_PREFIX
from streams.contract.topics import Topics
from streams.errors import KafkaUnavailable
from streams.runtime.kafka_io import client_options, kafka_errors, read_figures_topic

HEX_KEY = re.compile(rb"[0-9a-f]{64}")  # what `deployment_key` writes; any other value is not a key (skipped)


def is_key(key: bytes, value: bytes | None) -> bool:
    return key.startswith(EVENT_ID_KEY_PREFIX) and value is not None and HEX_KEY.fullmatch(value) is not None


def chosen(records: Iterable[tuple[int, bytes | None, bytes | None]]) -> bytes | None:
    """The deployment's key among (offset, key, value) records of the figures topic: the lowest offset's."""
    candidates = [(offset, value) for offset, key, value in records if key is not None and is_key(key, value)]
    if not candidates:
        return None
    return bytes.fromhex(min(candidates)[1].decode())


def deployment_key(settings: Settings, timeout_s: float = 30.0) -> bytes:
    """The key, written first when the figures topic has none (see the module docstring)."""
    from kafka import KafkaProducer

    key = _read(settings, timeout_s)
    if key is not None:
        return key
    with kafka_errors("recording the event-id hash key", settings):
        producer = KafkaProducer(**client_options(settings), acks="all")
        try:
            producer.send(Topics(settings.topic_prefix).figures,
                          key=EVENT_ID_KEY_PREFIX + secrets.token_hex(8).encode(),
                          value=secrets.token_hex(32).encode()).get(timeout=timeout_s)
        finally:
            producer.close()
    key = _read(settings, timeout_s)
    if key is None:
        raise KafkaUnavailable("the event-id hash key written to the figures topic could not be read back")
    return key


def _read(settings: Settings, timeout_s: float) -> bytes | None:
    records, whole = read_figures_topic(settings, timeout_s, is_key, first_only=True)  # the first is the key
    if not whole:  # a partial read could miss the first key and write a second one
        raise KafkaUnavailable(f"could not read the figures topic to its end in {timeout_s:.0f} s")
    return chosen(records)
