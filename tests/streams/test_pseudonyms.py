"""Pseudonymisation at ingest: person ids are keyed hashes before they reach any state, and a worker refuses a
key that differs from the one the state was built with."""

from __future__ import annotations

import json

import pytest

from streams.contract.topics import Topics
from streams.errors import ConfigError
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.ingest.pseudonyms import NO_KEY, Pseudonyms, check_key
from tests.support.helpers import run_capmon

KEY = b"k" * 32


def placement(offset: int, person: str) -> Incoming:
    body = {"event_id": f"c{offset}", "occurred_at": "2023-07-01T10:00:00+02:00", "person_id": person,
            "action": "check_in", "location_id": "L1"}
    return Incoming("placements", 0, offset, person.encode(), json.dumps(body).encode())


def test_person_ids_are_replaced_before_they_reach_any_state():
    proc = PeopleProcessor(Topics(""), pseudonyms=Pseudonyms(KEY))
    result = proc.process([placement(0, "alice-raw-id"), placement(1, "alice-raw-id")])
    state = proc.partitions[0]
    (person_id,) = state.people
    assert person_id == Pseudonyms(KEY).person_id("alice-raw-id") and len(person_id) == 64
    assert person_id != Pseudonyms(b"x" * 32).person_id("alice-raw-id")  # another key, another pseudonym
    written = b"".join([*result.meta.values(), state.summary(), *(k.encode() for k in result.changed[0])])
    assert b"alice-raw-id" not in written
    assert state.totals.occupancy == {"L1": 1}  # and both events met under one pseudonym


def test_a_key_is_refused_where_the_state_was_built_with_another_or_none():
    one, other = Pseudonyms(KEY).fingerprint, Pseudonyms(b"y" * 32).fingerprint
    check_key(None, False, one)  # nothing yet: any key
    check_key(one, True, one)
    check_key(None, True, NO_KEY)  # state from before pseudonyms, still none
    for recorded, exists, current in ((one, True, other), (one, False, NO_KEY), (None, True, one)):
        with pytest.raises(ConfigError, match="refusing to start"):
            check_key(recorded, exists, current)
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        Pseudonyms(b"short")


def test_a_worker_with_another_key_stops_with_one_line(settings, capmon_env, tmp_path):
    from streams.runtime.kafka_io import check_pseudonym_key, prepare_worker_topics

    prepare_worker_topics(settings)
    check_pseudonym_key(settings, Pseudonyms(KEY).fingerprint)  # as the first worker does
    key_file = tmp_path / "key"
    key_file.write_text("another key, long enough to be one\n")
    result = run_capmon("worker", env={**capmon_env, "CAPMON_PSEUDONYM_KEY_FILE": str(key_file),
                                       "CAPMON_STATE_DIR": str(tmp_path / "state")}, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another pseudonym key" in lines[0] and "another key" not in lines[0], lines
