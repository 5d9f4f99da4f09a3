"""The capacity register and the MPP forecasts: the latest event per location id and per year wins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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

    def apply(self, event: Location | Forecast) -> Literal["changed", "duplicate", "older"]:
        """Fold a register event in: "changed" when it became the latest, "duplicate" when the latest already
        has its event id, "older" when a later entry stands (then nothing changes)."""
        if isinstance(event, Location):
            latest = self.sites.get(event.location_id)
            if latest is not None and latest[0][1] == event.event_id:
                return "duplicate"
            return "changed" if self.fold_location(event) else "older"
        latest_forecast = self.forecasts.get(event.year)
        if latest_forecast is not None and latest_forecast[0][1] == event.event_id:
            return "duplicate"
        return "changed" if self.fold_forecast(event) else "older"

    def site(self, location_id: str) -> Site | None:
        entry = self.sites.get(location_id)
        return entry[1] if entry else None
