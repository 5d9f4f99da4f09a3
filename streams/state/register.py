"""The capacity register and the MPP forecasts: the latest event per location id and per year wins."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import Forecast, Location
from .stamp import Stamp, stamp


@dataclass(frozen=True)
class Site:
    name: str
    province: str
    location_type: str
    capacity: int  # usable beds; 0 when closed (the contract's capacity)


@dataclass
class Register:
    sites: dict[str, tuple[Stamp, Site]] = field(default_factory=dict)
    forecasts: dict[int, tuple[Stamp, Forecast]] = field(default_factory=dict)

    def fold_location(self, event: Location) -> bool:
        """Apply a location event; True when it changed the register (it was the latest)."""
        st = stamp(event.occurred_at, event.event_id)
        current = self.sites.get(event.location_id)
        if current is not None and current[0] >= st:
            return False
        capacity = event.capacity if event.status == "open" else 0
        self.sites[event.location_id] = (st, Site(event.name, event.province, event.location_type, capacity))
        return True

    def fold_forecast(self, event: Forecast) -> bool:
        st = stamp(event.occurred_at, event.event_id)
        current = self.forecasts.get(event.year)
        if current is not None and current[0] >= st:
            return False
        self.forecasts[event.year] = (st, event)
        return True

    def site(self, location_id: str) -> Site | None:
        entry = self.sites.get(location_id)
        return entry[1] if entry else None
