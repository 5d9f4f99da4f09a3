"""Occupancy, capacity and headroom per location, location type, province and nationally, and the net inflow
into reception behind "days until full" (CONTRACT.md section 3).

Pure functions of totals and the register; `now` is the watermark, never the wall clock. Capacity is read for
one day (the register's dates: streams/state/register.py `capacity`), given by whoever builds the figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, lru_cache

from streams.state.grouped import GroupSums
from streams.state.register import NO_DAY, Register, capacity
from streams.state.stamp import from_micros
from streams.state.totals import MoveWindow, Totals

UNKNOWN = "unknown"
UNREGISTERED = "unregistered"  # streams/contract/events.py refuses it as a location id
NET_INFLOW_WINDOW_DAYS = 28  # days-until-full uses the net inflow into reception over this many days


@dataclass(slots=True)
class Area:
    """Occupancy and capacity of an area (not frozen, for speed: the read model builds these per evaluation and
    nothing changes them afterwards)."""

    occupancy: int
    capacity: int
    permit_holders: int = 0

    @property
    def headroom(self) -> int:
        return self.capacity - self.occupancy

    @property
    def occupancy_ratio(self) -> float | None:
        return self.occupancy / self.capacity if self.capacity else None


@dataclass(slots=True)
class LocationFigures(Area):
    name: str = ""
    province: str = UNKNOWN
    location_type: str = UNKNOWN
    norm: int | None = None  # the agreed maximum occupancy, where the register gives one

    @property
    def over_norm(self) -> int | None:
        """Occupancy above the norm (negative: below it); None without a norm."""
        return None if self.norm is None else self.occupancy - self.norm


LOCATION_TYPES = ("application_centre", "regular", "emergency", "crisis_emergency", "small_scale", "amv")
# The beds people in the application centres can move on to (CONTRACT.md section 3, transfer headroom).
TRANSFER_TYPES = frozenset({"regular", "emergency", "crisis_emergency", "small_scale"})


class Occupancy:
    """Occupancy, capacity and headroom per location, province and nationally, each level derived on first use.

    Every location in the register or with people in it is listed; a placement to an unknown location counts
    in occupancy (province and type "unknown"). Province and national figures are sums over locations (the
    national one is summed straight from the counters: the same sum, without building every location).
    """

    def __init__(self, totals: Totals, register: Register, day: date | None = None) -> None:
        self._totals = totals
        self._register = register
        self.day = NO_DAY if day is None else day  # the day capacity is read for (Europe/Amsterdam)

    @cached_property
    def locations(self) -> dict[str, LocationFigures]:
        """Every registered location, and everyone placed where the register knows no location summed under
        UNREGISTERED (producers choose location ids: only registered ones become labels, scopes or keys)."""
        totals, register, day = self._totals, self._register, self.day
        locations: dict[str, LocationFigures] = {}
        for location_id, (_stamp, site) in sorted(register.sites.items()):
            locations[location_id] = LocationFigures(
                totals.occupancy.get(location_id, 0), capacity(site, day), totals.permit_holders.get(location_id, 0),
                site.name, site.province, site.location_type, site.norm)
        unregistered = self.unregistered
        if unregistered.occupancy or unregistered.permit_holders:
            locations[UNREGISTERED] = unregistered
        return locations

    @cached_property
    def unregistered(self) -> LocationFigures:
        """Everyone at locations the register does not know, as one location without beds."""
        totals, sites = self._totals, self._register.sites
        occupied = sum(n for location_id, n in totals.occupancy.items() if location_id not in sites)
        permits = sum(n for location_id, n in totals.permit_holders.items() if location_id not in sites)
        return LocationFigures(occupied, 0, permits, UNREGISTERED, UNKNOWN, UNKNOWN)

    def location(self, location_id: str) -> LocationFigures | None:
        """One registered location (or UNREGISTERED, all the others together); None for any other id."""
        if "locations" in self.__dict__:
            return self.locations.get(location_id)
        if location_id == UNREGISTERED:
            return self.unregistered if self.unregistered.occupancy or self.unregistered.permit_holders else None
        totals, site = self._totals, self._register.site(location_id)
        if site is None:
            return None
        return LocationFigures(totals.occupancy.get(location_id, 0), capacity(site, self.day),
                               totals.permit_holders.get(location_id, 0), site.name, site.province, site.location_type,
                               site.norm)

    def of_type(self, location_type: str) -> Area:
        """All locations of one type added up (unregistered ones are of type "unknown")."""
        return self.location_types.get(location_type) or Area(0, 0, 0)

    @cached_property
    def location_types(self) -> dict[str, Area]:
        """Every contract location type (and "unknown" when unregistered locations have people), summed."""
        occupied, permits = self._people_by("type", self._register.type_of)
        beds = self._register.beds_by_type(self.day)
        names = [*LOCATION_TYPES, *([UNKNOWN] if occupied.get(UNKNOWN) else [])]
        return {t: Area(occupied.get(t, 0), beds.get(t, 0), permits.get(t, 0)) for t in names}

    @cached_property
    def transfer(self) -> Area:
        """Registered regular, emergency, crisis-emergency and small-scale locations together: transfer headroom
        is its headroom (net: an over-full location's negative headroom counts)."""
        types = self.location_types
        return Area(sum(types[t].occupancy for t in TRANSFER_TYPES), sum(types[t].capacity for t in TRANSFER_TYPES),
                    sum(types[t].permit_holders for t in TRANSFER_TYPES))

    @cached_property
    def provinces(self) -> dict[str, Area]:
        """Sums over each province's locations, straight from the counters (the same sums as over `locations`)."""
        occupied, permits = self._people_by("province", self._register.province_of)
        beds = self._beds_by_province
        names = sorted(set(beds) | set(occupied) | set(permits))
        return {p: Area(occupied.get(p, 0), beds.get(p, 0), permits.get(p, 0)) for p in names}

    def _people_by(self, name: str, group_of: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
        """Persons and permit holders in reception per group of locations (unregistered ones: "unknown"), from
        the sums the totals keep (made on the first read, again after the register changed): read only."""
        totals, version = self._totals, self._register.version
        sums = totals.groupings.get(name)
        if sums is None or sums.group_of is not group_of or sums.version != version:
            sums = totals.groupings[name] = GroupSums.of(group_of, version, UNKNOWN, totals.occupancy,
                                                         totals.permit_holders)
        return sums.occupancy, sums.permit_holders

    @cached_property
    def _beds_by_province(self) -> dict[str, int]:
        return self._register.beds_by_province(self.day)

    @cached_property
    def national(self) -> Area:
        totals = self._totals
        return Area(sum(totals.occupancy.values()), sum(self._beds_by_province.values()),
                    sum(totals.permit_holders.values()))


@dataclass(frozen=True, slots=True)
class ScopedNet:
    """Net moves per day into the provinces and the transfer network over the window."""

    provinces: dict[str, float]
    transfer: float


def net_window(totals: Totals, now_us: int | None) -> MoveWindow | None:
    """The net moves of the NET_INFLOW_WINDOW_DAYS days ending on now's day (CONTRACT.md section 3, net inflow:
    (moves into a scope - moves out of it) / 28, a move inside a scope being neither)."""
    if now_us is None:
        return None
    window = _window_days(from_micros(now_us).date())
    return totals.moves_in(window[-1], window[0])


def scoped_net(window: MoveWindow | None, register: Register) -> ScopedNet:
    """Net inflow per day per province and of the transfer network: the sum over their locations by the register
    as it stands now (a location it does not know is in the national scope only)."""
    if window is None:
        return ScopedNet({}, 0.0)
    provinces: dict[str, int] = {}
    transfer = 0
    province_of, type_of = register.province_of, register.type_of
    for location_id, n in window.by_location.items():
        province = province_of.get(location_id)
        if province is None or not n:
            continue
        provinces[province] = provinces.get(province, 0) + n
        if type_of[location_id] in TRANSFER_TYPES:
            transfer += n
    days = NET_INFLOW_WINDOW_DAYS
    return ScopedNet({p: n / days for p, n in sorted(provinces.items())}, transfer / days)


@lru_cache(maxsize=8)
def _window_days(today: date) -> tuple[str, ...]:
    """The ISO days of the net inflow window ending on `today`, newest first: made once a day, not at every read
    (the alert evaluation reads the net inflow at every grid point)."""
    return tuple((today - timedelta(days=back)).isoformat() for back in range(NET_INFLOW_WINDOW_DAYS))


def check_outs_by_location(totals: Totals, now_us: int | None) -> Counter[str]:
    """Check-outs per location over the NET_INFLOW_WINDOW_DAYS days ending on now's day (no day after now's is
    counted: now is the greatest event time). The capacity need reads these."""
    outs: Counter[str] = Counter()
    if now_us is None:
        return outs
    start = _window_start(now_us)
    for (day, location_id), count in totals.check_outs.items():
        if day >= start:
            outs[location_id] += count
    return outs


def _window_start(now_us: int) -> str:
    return (from_micros(now_us).date() - timedelta(days=NET_INFLOW_WINDOW_DAYS - 1)).isoformat()


def daily_kept_from(now_us: int) -> str:
    """The first day whose moves and check-outs the net inflow can still read at `now_us` (a week of margin)."""
    return (from_micros(now_us).date() - timedelta(days=NET_INFLOW_WINDOW_DAYS + 7)).isoformat()


def days_until_full(headroom: int, net_per_day: float) -> float | None:
    """Days until headroom is gone at the current net inflow; 0 when already full; None ("never") when the
    net inflow is not positive (headroom is not shrinking)."""
    if headroom <= 0:
        return 0.0
    if net_per_day <= 0:
        return None
    return headroom / net_per_day
