"""The alerts topic's records: one codec that round-trips, the newest record per alert wins, and a broken
record is skipped rather than stopping the read-out."""

from __future__ import annotations

from alerts.log import AlertLog
from streams.contract.records.alerts import CHECKPOINT_KEY, AlertRecord, AlertState, Checkpoint, Transition, Undelivered

FIRED = Transition("low/NL-GR", "low", "NL-GR", "critical", "headroom", "fired", 100, 5.0, 50, 10.0,
                   ("pagerduty", "slack"), None)


def test_records_and_checkpoints_round_trip():
    rec = AlertRecord(FIRED, AlertState("firing", 50, 100, 5.0), 3, (Undelivered(FIRED, ("slack",)),))
    assert AlertRecord.decode(rec.encode()) == rec
    assert Checkpoint.decode(Checkpoint(123).encode()) == Checkpoint(123)


def test_the_newest_record_per_alert_wins_a_tombstone_forgets_it_and_a_broken_one_is_skipped():
    log = AlertLog()
    newer = AlertRecord(FIRED, AlertState("firing", 50, 100, 5.0), 2)
    older = AlertRecord(FIRED, AlertState("pending", 50, None, 5.0), 1)
    log.apply(b"low/NL-GR", newer.encode())
    log.apply(b"low/NL-GR", older.encode())  # a stale record read after a newer one
    log.apply(b"low/NL-FR", b"{broken")
    log.apply(b"low/NL-DR", b'{"transition": {}, "state": {}, "seq": 1}')
    log.apply(CHECKPOINT_KEY, b"[]")
    log.apply(CHECKPOINT_KEY, Checkpoint(500).encode())
    assert log.records == {"low/NL-GR": newer}
    assert (log.evaluated_until_us, log.bad_records) == (500, 3)
    log.apply(b"low/NL-GR", None)
    assert log.records == {}
