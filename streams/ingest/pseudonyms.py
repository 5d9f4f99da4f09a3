"""Pseudonymisation at ingest (optional): person ids replaced by a keyed hash before they reach any state.

With `CAPMON_PSEUDONYM_KEY_FILE` set, every person id is replaced by HMAC-SHA256(key, id) (hex, 64 characters:
the contract's longest person id) as the event is decoded, so the person table, its changelog and RocksDB hold
only pseudonyms that nobody without the key can link back to a producer's id. The same key must be used for as
long as the state lives (a person's events must meet under one pseudonym): the figures topic records the key's
fingerprint, and a worker started with another key (or none, or a key where state was built without one) is
refused with one line.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from streams.errors import ConfigError

if TYPE_CHECKING:
    from streams.config import Settings

NO_KEY = "none"


class Pseudonyms:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigError("CAPMON_PSEUDONYM_KEY(_FILE): the key must be at least 16 bytes (32 random bytes, "
                              "e.g. `openssl rand -hex 32`)")
        self._key = key

    def person_id(self, raw: str) -> str:
        return hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()

    def event_id(self, event_id: str) -> str:
        """The keyed hash an erased person's counted event ids are kept as."""
        return keyed_event_id(self._key, event_id)

    @property
    def fingerprint(self) -> str:
        """Says which key is in use without saying anything about it."""
        return hmac.new(self._key, b"capmon pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]


def keyed_event_id(key: bytes, event_id: str) -> str:
    """HMAC-SHA256 of an event id: an erased person's counted ids, and the id in their later events' dead
    letters. Keyed by the pseudonym key when one is set, else by the deployment's own (streams/runtime/hash_key.py), so
    nobody without the key can test a guessed id against it."""
    return hmac.new(key, b"event:" + event_id.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonyms_of(settings: Settings) -> Pseudonyms | None:
    key = settings.pseudonym_key
    return Pseudonyms(key.get_secret_value().strip().encode()) if key is not None else None


def fingerprint_of(pseudonyms: Pseudonyms | None) -> str:
    return pseudonyms.fingerprint if pseudonyms is not None else NO_KEY


def check_key(recorded: str | None, state_exists: bool, current: str) -> None:
    """Refuse a key that differs from the one the existing state was built with (`recorded`: the fingerprint
    in the figures topic, None when none was recorded)."""
    if recorded is None and not state_exists:
        return
    if (recorded or NO_KEY) == current:
        return
    was = "without a pseudonym key" if (recorded or NO_KEY) == NO_KEY else "with another pseudonym key"
    now = "without one" if current == NO_KEY else "with this one"
    raise ConfigError(f"the state under this CAPMON_TOPIC_PREFIX was built {was}; refusing to start {now}, which "
                      "would split every person in two. Use the original CAPMON_PSEUDONYM_KEY_FILE, or a new "
                      "CAPMON_TOPIC_PREFIX to start over")
