"""The dead-letters topic's records: the headers saying why and the erased person's redacted event round-trip,
are the bytes they always were, and refuse what they are not."""

from __future__ import annotations

import pytest

from streams.contract.records.dead_letters import DeadLetterHeaders, ErasedEvent
from streams.errors import BadRecord

HEADERS = DeadLetterHeaders("too large: 1010000 bytes", "registrations", 2, 17, 1_010_000, None)
ERASED = ErasedEvent("placement", "0123456789abcdef0123456789abcdef", "2023-01-11T14:00:00+00:00", "erased: why")


def test_dead_letter_headers_round_trip_and_are_the_bytes_they_always_were():
    assert HEADERS.encode() == [("capmon.reason", b"too large: 1010000 bytes"), ("capmon.topic", b"registrations"),
                                ("capmon.partition", b"2"), ("capmon.offset", b"17"), ("capmon.size", b"1010000")]
    assert DeadLetterHeaders.decode(HEADERS.encode()) == HEADERS
    both = DeadLetterHeaders("x", "t", 0, 1, 2_000, 5_000)
    assert both.encode()[-2:] == [("capmon.size", b"2000"), ("capmon.key_size", b"5000")]
    assert DeadLetterHeaders.decode(both.encode()) == both


@pytest.mark.parametrize("headers", [[], [("capmon.reason", b"x")], [*HEADERS.encode()[:2], ("capmon.partition", b"a"),
                                                                     ("capmon.offset", b"1")],
                                     [*HEADERS.encode()[:4], ("capmon.size", b"\xff")]])
def test_headers_that_are_not_a_dead_letters_are_a_bad_record(headers):
    with pytest.raises(BadRecord):
        DeadLetterHeaders.decode(headers)


def test_an_erased_event_round_trips_and_is_the_bytes_it_always_was():
    assert ERASED.encode() == (b'{"event_type": "placement", "event_id_hash": "0123456789abcdef0123456789abcdef", '
                               b'"occurred_at": "2023-01-11T14:00:00+00:00", "reason": "erased: why"}')
    assert ErasedEvent.decode(ERASED.encode()) == ERASED
    for raw in (b"", b"{", b"[]", b'{"event_type": "placement"}'):
        with pytest.raises(BadRecord):
            ErasedEvent.decode(raw)
