"""The alerts topic: the alert states' changelog (compacted, keyed by alert id), as typed records.

The leader writes an `AlertRecord` for every change of an alert and every confirmed delivery, and a
`Checkpoint` saying up to which event time it has evaluated. Every worker reads the topic back into an
`AlertLog` (for /api/alerts, the status page and `capmon_alert_active`); a new leader restores from it. One
codec, round-trip tested; a broken record is logged and skipped, never fatal.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

from alerts.evaluate import Transition
from alerts.machine import AlertState
from alerts.text import printable
from streams.contract.finite import dumps

log = logging.getLogger(__name__)
CHECKPOINT_KEY = b"__evaluated_until__"


class BadAlertRecord(ValueError):
    """Bytes on the alerts topic that are not an alert record or a checkpoint."""


def _transition(body: dict) -> Transition:
    return Transition(**{**body, "notify": tuple(body["notify"])})


@dataclass(frozen=True)
class Undelivered:
    """A notification of the alert that some receivers have not confirmed yet."""

    transition: Transition
    missing: tuple[str, ...]


@dataclass(frozen=True)
class AlertRecord:
    """An alert's latest change, its state after it, and its unconfirmed notifications (oldest first), so a new
    leader finishes them in order. `seq` grows with every record of the alert."""

    transition: Transition
    state: AlertState
    seq: int
    undelivered: tuple[Undelivered, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        body = {"transition": asdict(self.transition), "state": self.state.to_json(), "seq": self.seq,
                "undelivered": [{"transition": asdict(u.transition), "missing": list(u.missing)}
                                for u in self.undelivered]}
        return dumps(body).encode()

    @classmethod
    def decode(cls, raw: bytes) -> AlertRecord:
        try:
            body = json.loads(raw)
            return cls(_transition(body["transition"]), AlertState.from_json(body["state"]), int(body["seq"]),
                       tuple(Undelivered(_transition(u["transition"]), tuple(u["missing"]))
                             for u in body.get("undelivered", [])))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise BadAlertRecord(f"not an alert record: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Checkpoint:
    """The event time up to which the leader has evaluated: a new leader never re-decides what lies before."""

    evaluated_until_us: int

    def encode(self) -> bytes:
        return json.dumps({"evaluated_until_us": self.evaluated_until_us}).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Checkpoint:
        try:
            return cls(int(json.loads(raw)["evaluated_until_us"]))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise BadAlertRecord(f"not a checkpoint: {type(exc).__name__}") from None


class AlertLog:
    """The alerts topic read back: the latest record per alert and the latest checkpoint."""

    def __init__(self) -> None:
        self.records: dict[str, AlertRecord] = {}
        self.evaluated_until_us: int | None = None
        self.bad_records = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            if key == CHECKPOINT_KEY:
                if value is not None:
                    self.evaluated_until_us = Checkpoint.decode(value).evaluated_until_us
                return
            alert_id = key.decode()
            if value is None:
                self.records.pop(alert_id, None)
                return
            rec = AlertRecord.decode(value)
        except (BadAlertRecord, UnicodeDecodeError) as exc:
            self.bad_records += 1
            log.warning("alerts topic: skipped a broken record (key %r): %s", key[:80], printable(str(exc)))
            return
        current = self.records.get(alert_id)
        if current is None or rec.seq >= current.seq:
            self.records[alert_id] = rec
