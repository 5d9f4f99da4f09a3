"""One person's state, folded from their registration, decision and placement events.

A `Person` is small and JSON-friendly (it is the value of the changelog-backed person table). `fold` is
idempotent and commutative: the latest placement and decision win by stamp, and counted events are kept
by event_id, so any delivery order with any duplicates gives the same `Person`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import Decision, Placement, Registration
from .stamp import Stamp, local_day, stamp


@dataclass(frozen=True)
class Person:
    # latest placement: (stamp, location_id or None after a check-out)
    placement: tuple[Stamp, str | None] | None = None
    # latest decision: (stamp, outcome)
    decision: tuple[Stamp, str] | None = None
    # counted once per event_id: registration id -> (day ISO, application_type, unaccompanied minor)
    registrations: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    # decision id -> (day ISO, outcome, nationality)
    decisions: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # check-in id -> (day ISO, location_id); check-out id -> (day ISO, reason, location_id left)
    check_ins: dict[str, tuple[str, str]] = field(default_factory=dict)
    check_outs: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    transfers: frozenset[str] = frozenset()  # ids of transfers, only to recognise their duplicates

    @property
    def location(self) -> str | None:
        """The contract's current location: that of the latest placement, None after a check-out."""
        return self.placement[1] if self.placement else None

    @property
    def permit_holder_in_reception(self) -> bool:
        return self.location is not None and self.decision is not None and self.decision[1] == "granted"


def replace(person: Person, **changes: object) -> Person:
    """`dataclasses.replace` for a Person, without its per-call introspection (it runs for almost every event)."""
    new = object.__new__(Person)
    new.__dict__.update(person.__dict__)
    new.__dict__.update(changes)
    return new


def seen(person: Person, event: Registration | Decision | Placement) -> bool:
    """True when this exact event (by id) has already been folded in: a duplicate."""
    if isinstance(event, Registration):
        return event.event_id in person.registrations
    if isinstance(event, Decision):
        return event.event_id in person.decisions
    latest = person.placement
    return (
        (latest is not None and latest[0][1] == event.event_id)
        or event.event_id in person.check_outs
        or event.event_id in person.check_ins
        or event.event_id in person.transfers
    )


def fold(person: Person, event: Registration | Decision | Placement) -> Person:
    """The person after `event`. Pure; returns `person` itself when nothing changes."""
    st = stamp(event.occurred_at, event.event_id)
    day = local_day(st[0]).isoformat()
    if isinstance(event, Registration):
        if event.event_id in person.registrations:
            return person
        entry = (day, event.application_type, event.unaccompanied_minor)
        return replace(person, registrations={**person.registrations, event.event_id: entry})
    if isinstance(event, Decision):
        changed = person
        if event.event_id not in person.decisions:
            entry3 = (day, event.outcome, event.nationality)
            changed = replace(changed, decisions={**person.decisions, event.event_id: entry3})
        if person.decision is None or st > person.decision[0]:
            changed = replace(changed, decision=(st, event.outcome))
        return changed
    changed = person
    if event.action == "check_out" and event.event_id not in person.check_outs:
        entry = (day, event.reason or "other", event.location_id)
        changed = replace(changed, check_outs={**person.check_outs, event.event_id: entry})
    elif event.action == "check_in" and event.event_id not in person.check_ins:
        changed = replace(changed, check_ins={**person.check_ins, event.event_id: (day, event.location_id)})
    elif event.action == "transfer" and event.event_id not in person.transfers:
        changed = replace(changed, transfers=person.transfers | {event.event_id})
    if person.placement is None or st > person.placement[0]:
        where = None if event.action == "check_out" else event.location_id
        changed = replace(changed, placement=(st, where))
    return changed
