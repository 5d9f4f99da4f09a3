"""The capacity register and the MPP forecasts: the latest event per location id and per year wins.

A register entry may carry dates (`opens_on`, `closes_on`): its beds count only on the days between them
(CONTRACT.md section 3, capacity(location)). Every reader of capacity goes through `capacity` with the day it
reads for (now's day for the read-outs, the evaluation time's day for alerts), so none can forget the dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from streams.contract.events import Forecast, Location
from streams.state.stamp import Stamp, stamp


@dataclass(frozen=True)
class Site:
    name: str
    province: str
    location_type: str
    capacity: int  # usable beds; 0 when closed (the contract's capacity)
    norm: int | None = None  # the agreed maximum occupancy, where one exists (Ter Apel: 2,000)
    opens_on: date | None = None  # the first day with beds (Europe/Amsterdam); none: open already
    closes_on: date | None = None  # the first day without beds; none: no end known

    @property
    def dated(self) -> bool:
        return self.opens_on is not None or self.closes_on is not None


# The day before every day: what capacity is read for while nothing has happened yet (no `now`), so a location
# that opens later has no beds and one that closes later still has its beds.
NO_DAY = date.min


def capacity(site: Site, day: date) -> int:
    """capacity(location) on `day` (Europe/Amsterdam): the entry's beds from the start of `opens_on` until the
    start of `closes_on`, 0 outside them (and when closed: `Site.capacity` is 0 then)."""
    if site.opens_on is not None and day < site.opens_on:
        return 0
    if site.closes_on is not None and day >= site.closes_on:
        return 0
    return site.capacity


@dataclass
class Register:
    sites: dict[str, tuple[Stamp, Site]] = field(default_factory=dict)
    forecasts: dict[int, tuple[Stamp, Forecast]] = field(default_factory=dict)
    # Derived from `sites`, kept up to date by `fold_location` (the read model sums provinces per evaluation).
    # The beds sums hold the sites without dates only; the dated ones (a few contracts) are added per day.
    province_of: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _undated_by_province: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    type_of: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _undated_by_type: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _dated: dict[str, Site] = field(default_factory=dict, compare=False, repr=False)
    _sites_in: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    version: int = field(default=0, init=False, compare=False, repr=False)  # counts changes of sites and forecasts
    # a key equal for registers of the same entries, with the version it was made at (outlook.register_key)
    entries_key: tuple[int, object] | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for location_id, (_st, site) in self.sites.items():
            self._index(location_id, site, +1)

    def _index(self, location_id: str, site: Site, sign: int) -> None:
        """Add (+1) or take out (-1) a site's beds; a province without sites left is dropped."""
        self.version += 1
        self.province_of[location_id] = site.province
        self.type_of[location_id] = site.location_type
        beds = 0 if site.dated else sign * site.capacity
        if site.dated:
            if sign > 0:
                self._dated[location_id] = site
            else:
                self._dated.pop(location_id, None)
        by_type = self._undated_by_type
        by_type[site.location_type] = by_type.get(site.location_type, 0) + beds
        self._sites_in[site.province] = self._sites_in.get(site.province, 0) + sign
        if self._sites_in[site.province]:
            by_province = self._undated_by_province
            by_province[site.province] = by_province.get(site.province, 0) + beds
        else:
            del self._sites_in[site.province]
            self._undated_by_province.pop(site.province, None)

    def beds_by_type(self, day: date) -> dict[str, int]:
        """Capacity per location type on `day` (every type with a registered site, 0 beds included)."""
        beds = dict(self._undated_by_type)
        for site in self._dated.values():
            beds[site.location_type] += capacity(site, day)
        return beds

    def beds_by_province(self, day: date) -> dict[str, int]:
        """Capacity per province on `day` (every province with a registered site, 0 beds included)."""
        beds = dict(self._undated_by_province)
        for site in self._dated.values():
            beds[site.province] += capacity(site, day)
        return beds

    def fold_location(self, event: Location) -> bool:
        """Apply a location event; True when it changed the register (it was the latest)."""
        st = stamp(event.occurred_at, event.event_id)
        current = self.sites.get(event.location_id)
        if current is not None and current[0] >= st:
            return False
        beds = event.capacity if event.status == "open" else 0
        if current is not None:
            self._index(event.location_id, current[1], -1)
        site = Site(event.name, event.province, event.location_type, beds, event.norm, event.opens_on,
                    event.closes_on)
        self.sites[event.location_id] = (st, site)
        self._index(event.location_id, site, +1)
        return True

    def fold_forecast(self, event: Forecast) -> bool:
        st = stamp(event.occurred_at, event.event_id)
        current = self.forecasts.get(event.year)
        if current is not None and current[0] >= st:
            return False
        self.forecasts[event.year] = (st, event)
        self.version += 1
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
