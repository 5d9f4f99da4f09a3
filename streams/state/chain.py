"""The whole chain state of one worker (or of an offline run): people, totals, register, watermark.

`ChainState.apply` is what an agent calls per validated event. The people mapping is injected: a dict in
tests and backtests, a changelog-backed table in the worker.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Literal

from ..events import Decision, Event, Forecast, Location, Placement, Registration
from .people import Person, fold, seen
from .register import Register
from .stamp import micros
from .totals import Totals

Result = Literal["accepted", "duplicate"]


@dataclass
class ChainState:
    people: MutableMapping[str, Person] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    register: Register = field(default_factory=Register)
    watermark_us: int | None = None

    def apply(self, event: Event, touched: set[str] | None = None) -> Result:
        """Fold one valid event in. A repeated event id changes nothing and says "duplicate". `touched`, when
        given, collects the locations whose figures the event may have changed."""
        if isinstance(event, (Registration, Decision, Placement)):
            before = self.people.get(event.person_id, Person())
            if seen(before, event):
                return "duplicate"
            after = fold(before, event)
            self.people[event.person_id] = after
            self.totals.apply(before, after)
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
