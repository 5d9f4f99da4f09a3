"""The whole chain state of one worker (or of an offline run): people, totals, register, watermark.

`ChainState.apply` is what an agent calls per validated event. The people mapping is injected: a dict in
tests and backtests, a changelog-backed table in the worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Literal

from streams.contract.events import Decision, Event, Forecast, Location, Placement, Registration
from streams.state.people import MAX_EVENTS_PER_PERSON, Person, events_held, fold, minimize, replace, seen
from streams.state.register import Register
from streams.state.stamp import micros
from streams.state.totals import Totals

Result = Literal["accepted", "duplicate", "erased", "too_many"]
EMPTY = Person()


def _unkeyed(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()[:32]


@dataclass
class ChainState:
    people: MutableMapping[str, Person] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    register: Register = field(default_factory=Register)
    watermark_us: int | None = None
    # What erased or expired persons' histories added to `totals`: `totals` = their sum over `people` plus this
    # (a recovery rebuilds the totals so). Changes only when a history is erased or expires.
    forgotten: Totals = field(default_factory=Totals, compare=False, repr=False)
    hashed: Callable[[str], str] = field(default=_unkeyed, compare=False, repr=False)  # event ids after erasure
    # erasures from before keyed hashes hold plain SHA-256 hashes: still recognised, never made any more
    legacy_unkeyed: bool = field(default=False, compare=False, repr=False)

    def apply(self, event: Event, touched: set[str] | None = None) -> Result:
        """Fold one valid event in. A repeated event id changes nothing and says "duplicate"; an event of a
        fully erased person says "erased" (refused). `touched`, when given, collects the locations whose
        figures the event may have changed."""
        if isinstance(event, (Registration, Decision, Placement)):
            before = self.people.get(event.person_id, EMPTY)
            if before.fully_erased:
                return "erased"
            if seen(before, event, self.hashed) or (self.legacy_unkeyed and seen(before, event, _unkeyed)):
                return "duplicate"
            if events_held(before) >= MAX_EVENTS_PER_PERSON:
                return "too_many"
            after = fold(before, event)
            self.totals.apply(before, after)
            if after.erased:  # still in reception or awaiting a decision: counted, then minimised again
                self.forgotten.add(Totals.history_of(after))
                after = minimize(after, self.hashed)
            self.people[event.person_id] = after
            if touched is not None:
                touched.update(loc for loc in (before.location, after.location) if loc is not None)
        elif isinstance(event, (Location, Forecast)):
            if self.register.apply(event) == "duplicate":
                return "duplicate"
            if touched is not None and isinstance(event, Location):
                touched.add(event.location_id)
        us = micros(event.occurred_at)
        if self.watermark_us is None or us > self.watermark_us:
            self.watermark_us = us
        return "accepted"

    def erase(self, person_id: str, at_us: int) -> bool:
        """A tombstone for `person_id` (CONTRACT.md section 3): keep only what the figures need now, so no figure
        changes. A person this state does not hold (never seen, or already forgotten) gets nothing: a marker
        for every tombstone would let anyone fill the state with "persons" and refuse those ids' later events.
        False when there was nothing to erase."""
        before = self.people.get(person_id)
        if before is None or before.fully_erased:
            return False
        self.forgotten.add(Totals.history_of(before))
        self.people[person_id] = replace(minimize(before, self.hashed), last_us=max(before.last_us, at_us))
        return True

    def forget(self, person_ids: Iterable[str]) -> None:
        """Forget persons past the retention (which ones: streams/state/retention.py); their history stays in the
        counts (`forgotten`)."""
        for pid in person_ids:
            self.forgotten.add(Totals.history_of(self.people.pop(pid)))
