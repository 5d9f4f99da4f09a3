"""The alerts topic (`Topics.alerts`, compacted, keyed by alert id): the alert states' changelog, as typed records.

The leader writes an `AlertRecord` for every change of an alert and every confirmed delivery, and a
`Checkpoint` (under CHECKPOINT_KEY) saying up to which event time it has evaluated. Every worker reads the topic
back (alerts/log.py `AlertLog`); a new leader restores from it. Here too are the types those records carry: an
alert's `AlertState` (moved by alerts/machine.py) and a `Transition` (what alerts/evaluate.py decides and
alerts/delivery.py tells). One codec, round-trip tested; a record that is not one raises `BadRecord`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from streams.contract.finite import dumps
from streams.errors import BadRecord

CHECKPOINT_KEY = b"__evaluated_until__"
Status = Literal["inactive", "pending", "firing"]


def alert_key(alert_id: str) -> bytes:
    """The Kafka key of an alert's records: its id (`rule/scope value`)."""
    return alert_id.encode()


def alert_id_of(key: bytes) -> str:
    try:
        return key.decode()
    except UnicodeDecodeError as exc:
        raise BadRecord(f"not an alert id: {exc}") from None


@dataclass(frozen=True)
class AlertState:
    status: Status = "inactive"
    since_us: int | None = None  # when the entry condition started to hold (pending and firing)
    fired_us: int | None = None  # when it fired
    value: float | None = None  # the measure at the last observation

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> AlertState:
        return cls(**data)


@dataclass(frozen=True)
class Transition:
    """Something a duty officer may need to hear about. `kind`: pending, cancelled, fired, escalated, resolved."""

    alert_id: str
    rule: str
    scope: str
    severity: str
    measure: str
    kind: str
    at_us: int
    value: float | None
    since_us: int | None
    threshold: float
    notify: tuple[str, ...]
    escalated_from: str | None = None
    place: str | None = None  # a location scope's name in the register: what texts for people show

    @property
    def notifies(self) -> bool:
        return self.kind in ("fired", "escalated", "resolved")


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
            raise BadRecord(f"not an alert record: {type(exc).__name__}") from None


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
            raise BadRecord(f"not a checkpoint: {type(exc).__name__}") from None
