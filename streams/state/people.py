"""One person's state, folded from their registration, decision and placement events.

A `Person` is small and JSON-friendly (it is the value of the changelog-backed person table). `fold` is
idempotent and commutative: the latest placement and decision win by stamp, and counted events are kept
by event_id, so any delivery order with any duplicates gives the same `Person`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from sys import intern
from typing import NamedTuple

from streams.contract.events import Decision, Placement, Registration
from streams.state.stamp import Stamp, local_day, stamp

# A person's entries are named tuples: named fields for readers, and still tuples where it matters (they compare
# and hash as tuples, are Counter keys in `Totals`, and encode as JSON arrays: streams/contract/records/values.py).


class LatestPlacement(NamedTuple):
    stamp: Stamp
    location_id: str | None  # None after a check-out


class LatestDecision(NamedTuple):
    stamp: Stamp
    outcome: str


class RegistrationEntry(NamedTuple):
    day: str  # ISO, Europe/Amsterdam
    application_type: str
    unaccompanied_minor: bool
    occurred_us: int


class DecisionEntry(NamedTuple):
    day: str
    outcome: str
    nationality: str
    occurred_us: int


class CheckIn(NamedTuple):
    day: str
    location_id: str
    occurred_us: int = 0  # 0: held from before moves were kept (an older changelog format): no move of its own


class CheckOut(NamedTuple):
    day: str
    reason: str
    location_id: str  # the location the event names as left
    occurred_us: int = 0


class Transfer(NamedTuple):
    day: str
    location_id: str  # where it takes them
    occurred_us: int = 0


class Move(NamedTuple):
    """A placement taking a person from where they were to where it puts them (None: no location)."""

    day: str
    source: str | None
    target: str | None


@dataclass(frozen=True)
class Person:
    placement: LatestPlacement | None = None
    decision: LatestDecision | None = None
    # counted once per event_id: event id -> entry
    registrations: dict[str, RegistrationEntry] = field(default_factory=dict)
    decisions: dict[str, DecisionEntry] = field(default_factory=dict)
    check_ins: dict[str, CheckIn] = field(default_factory=dict)
    check_outs: dict[str, CheckOut] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    last_us: int = 0  # greatest occurred_at of their events: retention counts from it
    # latest registration that asks the IND for a decision (first, repeat, relocation): awaiting a decision
    # while no decision is later than it (CONTRACT.md section 3, IND backlog)
    asylum_registration: Stamp | None = None
    erased: bool = False  # a tombstone asked to erase them: only what the figures need is kept (see `minimize`)
    counted: frozenset[str] = frozenset()  # keyed hashes of the event ids counted before the erasure
    # Where their moves start from when their placements before it are not held (erased, or kept by a format
    # without event times): the placement then. None: every placement is held, they start from no location.
    base: LatestPlacement | None = None

    @property
    def location(self) -> str | None:
        """The contract's current location: that of the latest placement, None after a check-out."""
        return self.placement.location_id if self.placement else None

    @property
    def permit_holder_in_reception(self) -> bool:
        return self.location is not None and self.decision is not None and self.decision.outcome == "granted"

    @property
    def awaiting_decision(self) -> bool:
        reg = self.asylum_registration
        return reg is not None and (self.decision is None or not self.decision.stamp > reg)

    @property
    def active(self) -> bool:
        """In reception or awaiting a decision: their state is still needed, whatever its age."""
        return self.location is not None or self.awaiting_decision

    @property
    def fully_erased(self) -> bool:
        """Erased and no longer needed by any figure: only the marker that refuses their later events is left."""
        return self.erased and not self.active


ASYLUM_TYPES = frozenset({"first", "repeat", "relocation"})  # registrations the IND decides on


def minimize(person: Person, hashed: Callable[[str], str]) -> Person:
    """What an erasure leaves (CONTRACT.md section 3): where they are now and since when (the latest
    placement, to order later ones), whether and since when they await a decision, whether their latest
    decision is a grant, and keyed hashes of the event ids already counted, so a duplicate stays a duplicate.
    No history, nationality or days. Once they are out of reception and not awaiting a decision, not even that:
    only a marker, so that their later events are refused ("erased") until it expires."""
    def hide(st: Stamp) -> Stamp:  # the time stays (it orders later events); the event id becomes its hash
        return st if st[1] in person.counted else (st[0], hashed(st[1]))

    placement = LatestPlacement(hide(person.placement.stamp), person.placement.location_id) if person.placement \
        else None
    decision = LatestDecision(hide(person.decision.stamp), "granted" if person.decision.outcome == "granted"
                              else "other") if person.decision else None
    asylum = hide(person.asylum_registration) if person.asylum_registration else None
    marker = Person(last_us=person.last_us, erased=True)
    kept = replace(marker, placement=placement, decision=decision, asylum_registration=asylum, base=placement)
    if not kept.active:
        return marker
    ids = [*person.registrations, *person.decisions, *person.check_ins, *person.check_outs, *person.transfers]
    if person.placement is not None:
        ids.append(person.placement.stamp[1])
    return replace(kept, counted=person.counted | {hashed(i) for i in ids if i not in person.counted})


def replace(person: Person, **changes: object) -> Person:
    """`dataclasses.replace` for a Person, without its per-call introspection (it runs for almost every event)."""
    new = object.__new__(Person)
    new.__dict__.update(person.__dict__)
    new.__dict__.update(changes)
    return new


# One person's events a state holds at most: a real person has a few dozen; a producer writing thousands for one
# id would make their record (about 130 bytes an event) too large to publish to the changelog.
MAX_EVENTS_PER_PERSON = 2_000


def events_held(person: Person) -> int:
    return (len(person.registrations) + len(person.decisions) + len(person.check_ins) + len(person.check_outs)
            + len(person.transfers) + len(person.counted))


def seen(person: Person, event: Registration | Decision | Placement,
         hashed: Callable[[str], str] | None = None) -> bool:
    """True when this exact event (by id) has already been folded in: a duplicate. For an erased person the ids
    counted before the erasure are known by their keyed hash (`hashed`)."""
    if person.counted and hashed is not None and hashed(event.event_id) in person.counted:
        return True
    if isinstance(event, Registration):
        return event.event_id in person.registrations
    if isinstance(event, Decision):
        return event.event_id in person.decisions
    latest = person.placement
    return (
        (latest is not None and latest.stamp[1] == event.event_id)
        or event.event_id in person.check_outs
        or event.event_id in person.check_ins
        or event.event_id in person.transfers
    )


def fold(person: Person, event: Registration | Decision | Placement) -> Person:
    """The person after `event`. Pure; returns `person` itself when nothing changes."""
    st = stamp(event.occurred_at, event.event_id)
    if st[0] > person.last_us:
        person = replace(person, last_us=st[0])
    # Interned: days, location ids and the contract's enums repeat across hundreds of thousands of persons; one
    # string object each instead of one per person is most of a year's state (measured: bench/worker_throughput).
    day = intern(local_day(st[0]).isoformat())
    if isinstance(event, Registration):
        if event.event_id in person.registrations:
            return person
        entry = RegistrationEntry(day, intern(event.application_type), event.unaccompanied_minor, st[0])
        changed = replace(person, registrations={**person.registrations, event.event_id: entry})
        if event.application_type in ASYLUM_TYPES and (person.asylum_registration is None
                                                       or st > person.asylum_registration):
            changed = replace(changed, asylum_registration=st)
        return changed
    if isinstance(event, Decision):
        changed = person
        if event.event_id not in person.decisions:
            entry3 = DecisionEntry(day, intern(event.outcome), intern(event.nationality), st[0])
            changed = replace(changed, decisions={**person.decisions, event.event_id: entry3})
        if person.decision is None or st > person.decision.stamp:
            changed = replace(changed, decision=LatestDecision(st, intern(event.outcome)))
        return changed
    changed = person
    if event.action == "check_out" and event.event_id not in person.check_outs:
        out = CheckOut(day, intern(event.reason or "other"), intern(event.location_id), st[0])
        changed = replace(changed, check_outs={**person.check_outs, event.event_id: out})
    elif event.action == "check_in" and event.event_id not in person.check_ins:
        check_in = CheckIn(day, intern(event.location_id), st[0])
        changed = replace(changed, check_ins={**person.check_ins, event.event_id: check_in})
    elif event.action == "transfer" and event.event_id not in person.transfers:
        transfer = Transfer(day, intern(event.location_id), st[0])
        changed = replace(changed, transfers={**person.transfers, event.event_id: transfer})
    if person.placement is None or st > person.placement.stamp:
        where = None if event.action == "check_out" else intern(event.location_id)
        changed = replace(changed, placement=LatestPlacement(st, where))
    return changed


def moves(person: Person) -> list[Move]:
    """Each held placement, in the order of the person's own placements (by occurred_at, event_id: a late one
    slotted in), as a move from where they were to where it puts them (CONTRACT.md section 3, net inflow). A
    placement that leaves them where they were is no move. After an erasure they start from `base`, and only
    placements after it move them (the earlier ones are no longer held)."""
    held = [(e.occurred_us, eid, e.day, e.location_id) for eid, e in person.check_ins.items() if e.occurred_us]
    held += [(e.occurred_us, eid, e.day, e.location_id) for eid, e in person.transfers.items() if e.occurred_us]
    held += [(e.occurred_us, eid, e.day, None) for eid, e in person.check_outs.items() if e.occurred_us]
    base = person.base
    where = base.location_id if base is not None else None
    out = []
    for us, eid, day, target in sorted(held):
        if base is not None and (us, eid) <= base.stamp:
            continue
        if target != where:
            out.append(Move(day, where, target))
            where = target
    return out


def first_instance_decisions(person: Person) -> Counter[tuple[str, str]]:
    """(outcome, nationality) of the person's first-instance asylum decisions (`first_instance`). Computed from
    the whole person, so the order in which events arrive does not matter."""
    counts: Counter[tuple[str, str]] = Counter()
    if not person.decisions or not person.registrations:
        return counts
    for did, decision in person.decisions.items():
        if first_instance(person, did):
            counts[(decision.outcome, decision.nationality)] += 1
    return counts


def first_instance(person: Person, decision_id: str) -> bool:
    """Whether a decision of the person is a first-instance asylum decision: their latest registration before it
    (by occurred_at, event_id) asks for asylum (first, repeat, relocation). Not a nareis or resettlement grant."""
    us = person.decisions[decision_id].occurred_us
    before = max(((r.occurred_us, rid, r.application_type) for rid, r in person.registrations.items()
                  if (r.occurred_us, rid) < (us, decision_id)), default=None)
    return before is not None and before[2] in ASYLUM_TYPES
