"""The alerts topic's records: each round-trips, writes the bytes it always wrote, and refuses what it is not."""

from __future__ import annotations

import pytest

from streams.contract.records.alerts import (
    CHECKPOINT_KEY,
    AlertRecord,
    AlertState,
    Checkpoint,
    Transition,
    Undelivered,
    alert_id_of,
    alert_key,
)
from streams.errors import BadRecord

FIRED = Transition("low/NL-GR", "low", "NL-GR", "critical", "headroom", "fired", 100, 5.0, 50, 10.0,
                   ("pagerduty", "slack"), None, "Gr\u00f6ningen")
RECORD = AlertRecord(FIRED, AlertState("firing", 50, 100, 5.0), 3, (Undelivered(FIRED, ("slack",)),))
TRANSITION_JSON = (b'{"alert_id": "low/NL-GR", "rule": "low", "scope": "NL-GR", "severity": "critical", "measure": '
                   b'"headroom", "kind": "fired", "at_us": 100, "value": 5.0, "since_us": 50, "threshold": 10.0, '
                   b'"notify": ["pagerduty", "slack"], "escalated_from": null, "place": "Gr\\u00f6ningen"}')
GOLDEN_RECORD = (b'{"transition": ' + TRANSITION_JSON + b', "state": {"status": "firing", "since_us": 50, '
                 b'"fired_us": 100, "value": 5.0}, "seq": 3, "undelivered": [{"transition": ' + TRANSITION_JSON +
                 b', "missing": ["slack"]}]}')


def test_an_alert_record_round_trips_and_is_the_bytes_it_always_was():
    assert RECORD.encode() == GOLDEN_RECORD
    assert AlertRecord.decode(GOLDEN_RECORD) == RECORD
    plain = AlertRecord(FIRED, AlertState(), 1)
    assert AlertRecord.decode(plain.encode()) == plain


def test_a_measure_that_is_not_finite_is_written_as_null():
    odd = AlertRecord(FIRED, AlertState("pending", 1, None, float("nan")), 2)
    assert b'"value": null}' in odd.encode()
    assert AlertRecord.decode(odd.encode()).state.value is None


def test_a_checkpoint_round_trips_and_is_the_bytes_it_always_was():
    assert (CHECKPOINT_KEY, Checkpoint(123).encode()) == (b"__evaluated_until__", b'{"evaluated_until_us": 123}')
    assert Checkpoint.decode(Checkpoint(123).encode()) == Checkpoint(123)


def test_an_alert_is_keyed_by_its_id():
    assert alert_key("low/Gr\u00f6ningen") == "low/Gr\u00f6ningen".encode()
    assert alert_id_of(alert_key("low/Gr\u00f6ningen")) == "low/Gr\u00f6ningen"
    with pytest.raises(BadRecord):
        alert_id_of(b"\xff")


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"\xff", b'{"transition": {}, "state": {}, "seq": 1}',
                                 GOLDEN_RECORD.replace(b'"seq": 3', b'"seq": "x"')])
def test_anything_else_is_a_bad_record(raw):
    with pytest.raises(BadRecord):
        AlertRecord.decode(raw)
    with pytest.raises(BadRecord):
        Checkpoint.decode(raw)
