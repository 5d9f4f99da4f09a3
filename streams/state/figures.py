"""The figures of CONTRACT.md section 3, computed from totals, the register and the event-time watermark.

Pure functions of their inputs: the HTTP read-out, the metrics collector and alert evaluation all call these,
so every consumer sees the same numbers. `now` is the watermark, never the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from ..events import MPP_APPLICATION_TYPES, Forecast
from .register import Register
from .stamp import AMSTERDAM, from_micros
from .totals import Totals

UNKNOWN = "unknown"
ROLLING_WINDOWS = {"7d": 7, "28d": 28}
NET_INFLOW_WINDOW_DAYS = 28  # days-until-full uses the net inflow into reception over this many days


@dataclass(frozen=True)
class Area:
    occupancy: int
    capacity: int
    permit_holders: int = 0

    @property
    def headroom(self) -> int:
        return self.capacity - self.occupancy

    @property
    def occupancy_ratio(self) -> float | None:
        return self.occupancy / self.capacity if self.capacity else None


@dataclass(frozen=True)
class LocationFigures(Area):
    name: str = ""
    province: str = UNKNOWN
    location_type: str = UNKNOWN


class Occupancy:
    """Occupancy, capacity and headroom per location, province and nationally, each level derived on first use.

    Every location in the register or with people in it is listed; a placement to an unknown location counts
    in occupancy (province and type "unknown"). Province and national figures are sums over locations (the
    national one is summed straight from the counters: the same sum, without building every location).
    """

    def __init__(self, totals: Totals, register: Register) -> None:
        self._totals = totals
        self._register = register

    @cached_property
    def locations(self) -> dict[str, LocationFigures]:
        totals, register = self._totals, self._register
        locations: dict[str, LocationFigures] = {}
        for location_id in sorted(set(register.sites) | set(totals.occupancy)):
            site = register.site(location_id)
            locations[location_id] = LocationFigures(
                occupancy=totals.occupancy.get(location_id, 0),
                capacity=site.capacity if site else 0,
                permit_holders=totals.permit_holders.get(location_id, 0),
                name=site.name if site else location_id,
                province=site.province if site else UNKNOWN,
                location_type=site.location_type if site else UNKNOWN,
            )
        return locations

    @cached_property
    def provinces(self) -> dict[str, Area]:
        provinces: dict[str, Area] = {}
        for loc in self.locations.values():
            prev = provinces.get(loc.province, Area(0, 0, 0))
            provinces[loc.province] = Area(prev.occupancy + loc.occupancy, prev.capacity + loc.capacity,
                                           prev.permit_holders + loc.permit_holders)
        return dict(sorted(provinces.items()))

    @cached_property
    def national(self) -> Area:
        totals = self._totals
        return Area(sum(totals.occupancy.values()), sum(site.capacity for _st, site in self._register.sites.values()),
                    sum(totals.permit_holders.values()))


def occupancy(totals: Totals, register: Register) -> Occupancy:
    return Occupancy(totals, register)


@dataclass(frozen=True)
class Inflow:
    now: datetime | None
    ytd: int  # MPP inflow, calendar year of `now`, up to and including now's day
    ytd_by_type: dict[str, int]  # every application type, relocation included
    ytd_unaccompanied_minors: int
    rolling: dict[str, int]  # MPP inflow over the last 7 / 28 calendar days ending on now's day
    forecast_id: str | None
    expected_ytd: dict[str, float]  # per scenario
    deviation: dict[str, float | None]  # ytd / expected - 1 per scenario (None while nothing is expected)
    rolling_by_type: dict[str, dict[str, int]] = field(default_factory=dict)  # window -> type -> registrations
    rolling_unaccompanied_minors: dict[str, int] = field(default_factory=dict)  # window -> amv registrations


def inflow(totals: Totals, register: Register, now_us: int | None) -> Inflow:
    if now_us is None:
        return Inflow(None, 0, {}, 0, dict.fromkeys(ROLLING_WINDOWS, 0), None, {}, {},
                      {name: {} for name in ROLLING_WINDOWS}, dict.fromkeys(ROLLING_WINDOWS, 0))
    now = from_micros(now_us)
    today = now.date()
    year = str(today.year)
    # Year to date is the whole year so far: no registration is counted on a day after now's (now is the
    # greatest event time accepted), so the per-year index holds exactly the year to date.
    ytd, amv = 0, 0
    by_type: dict[str, int] = {}
    for (y, app_type, minor), count in totals.inflow_years.items():
        if y == year:
            by_type[app_type] = by_type.get(app_type, 0) + count
            amv += count if minor else 0
            ytd += count if app_type in MPP_APPLICATION_TYPES else 0
    kinds = {(t, m) for (y, t, m) in totals.inflow_years if y in (year, str(today.year - 1))}
    rolling = dict.fromkeys(ROLLING_WINDOWS, 0)
    rolling_by_type: dict[str, dict[str, int]] = {name: {} for name in ROLLING_WINDOWS}
    rolling_amv = dict.fromkeys(ROLLING_WINDOWS, 0)
    longest = max(ROLLING_WINDOWS.values())
    for back in range(longest):
        day = (today - timedelta(days=back)).isoformat()
        for app_type, minor in kinds:
            count = totals.inflow.get((day, app_type, minor), 0)
            if not count:
                continue
            for name, n in ROLLING_WINDOWS.items():
                if back < n:
                    rolling[name] += count if app_type in MPP_APPLICATION_TYPES else 0
                    rolling_by_type[name][app_type] = rolling_by_type[name].get(app_type, 0) + count
                    rolling_amv[name] += count if minor else 0
    entry = register.forecasts.get(today.year)
    expected: dict[str, float] = {}
    deviation: dict[str, float | None] = {}
    if entry is not None:
        forecast = entry[1]
        share = elapsed_share(now, forecast)
        for scenario in ("min", "medio", "max"):
            expected[scenario] = getattr(forecast.scenarios, scenario) * share
            deviation[scenario] = ytd / expected[scenario] - 1 if expected[scenario] > 0 else None
    return Inflow(now, ytd, dict(sorted(by_type.items())), amv, rolling,
                  entry[1].forecast_id if entry else None, expected, deviation,
                  {name: dict(sorted(types.items())) for name, types in rolling_by_type.items()}, rolling_amv)


def elapsed_share(now: datetime, forecast: Forecast) -> float:
    """Share of the forecast's year elapsed at `now`: by its monthly profile when given, else by time."""
    local = now.astimezone(AMSTERDAM)
    year = forecast.year
    if local.year < year:
        return 0.0
    if local.year > year:
        return 1.0
    if not forecast.monthly_profile:
        return _fraction(local, datetime(year, 1, 1, tzinfo=AMSTERDAM), datetime(year + 1, 1, 1, tzinfo=AMSTERDAM))
    profile = forecast.monthly_profile
    total = sum(profile)
    m = local.month - 1
    month_start = datetime(year, local.month, 1, tzinfo=AMSTERDAM)
    month_end = datetime(year + (m == 11), 1 if m == 11 else local.month + 1, 1, tzinfo=AMSTERDAM)
    return (sum(profile[:m]) + profile[m] * _fraction(local, month_start, month_end)) / total


def _fraction(moment: datetime, start: datetime, end: datetime) -> float:
    return (moment.timestamp() - start.timestamp()) / (end.timestamp() - start.timestamp())


def net_inflow_national(totals: Totals, now_us: int | None) -> float:
    """Net inflow into reception (check-ins minus check-outs) per day over the last NET_INFLOW_WINDOW_DAYS days
    ending on now's day, nationally (transfers between locations do not count)."""
    if now_us is None:
        return 0.0
    today = from_micros(now_us).date()
    net = sum(totals.net_days.get((today - timedelta(days=back)).isoformat(), 0)
              for back in range(NET_INFLOW_WINDOW_DAYS))
    return net / NET_INFLOW_WINDOW_DAYS


def net_inflow_per_province(totals: Totals, register: Register, now_us: int | None) -> dict[str, float]:
    """The same net inflow per province (they add up to the national one)."""
    if now_us is None:
        return {}
    today = from_micros(now_us).date()
    start = (today - timedelta(days=NET_INFLOW_WINDOW_DAYS - 1)).isoformat()
    per_location: dict[str, int] = {}
    for (day, location_id), count in totals.check_ins.items():
        if day >= start:
            per_location[location_id] = per_location.get(location_id, 0) + count
    for (day, location_id), count in totals.check_outs.items():
        if day >= start:
            per_location[location_id] = per_location.get(location_id, 0) - count
    per_province: dict[str, float] = {}
    for location_id, n in per_location.items():
        site = register.site(location_id)
        province = site.province if site else UNKNOWN
        per_province[province] = per_province.get(province, 0) + n
    return {p: n / NET_INFLOW_WINDOW_DAYS for p, n in per_province.items()}


def net_inflow_per_day(totals: Totals, register: Register, now_us: int | None) -> tuple[float, dict[str, float]]:
    """Net inflow per day, nationally and per province."""
    return net_inflow_national(totals, now_us), net_inflow_per_province(totals, register, now_us)


def daily_kept_from(now_us: int) -> str:
    """The first day whose check-ins and -outs the net inflow can still read at `now_us` (a week of margin)."""
    return (from_micros(now_us).date() - timedelta(days=NET_INFLOW_WINDOW_DAYS + 7)).isoformat()


def days_until_full(headroom: int, net_per_day: float) -> float | None:
    """Days until headroom is gone at the current net inflow; 0 when already full; None ("never") when the
    net inflow is not positive (headroom is not shrinking)."""
    if headroom <= 0:
        return 0.0
    if net_per_day <= 0:
        return None
    return headroom / net_per_day


@dataclass(frozen=True)
class InflowCurve:
    """Cumulative MPP inflow through now's year, day by day, against the forecast's expected cumulative inflow."""

    year: int
    days: list[str]  # every day of the year, ISO
    actual: list[int]  # cumulative MPP inflow at the end of each day, up to and including now's day
    expected: dict[str, list[float]]  # per scenario, cumulative expected at the end of every day of the year


def inflow_curve(totals: Totals, register: Register, now_us: int | None) -> InflowCurve | None:
    """The status page's chart: actual year-to-date inflow against the MPP min/medio/max band (None before data)."""
    if now_us is None:
        return None
    today = from_micros(now_us).date()
    first = date(today.year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(today.year + 1, 1, 1) - first).days)]
    per_day: dict[str, int] = {}
    for (day, app_type, _minor), count in totals.inflow.items():
        if app_type in MPP_APPLICATION_TYPES and day.startswith(str(today.year)):
            per_day[day] = per_day.get(day, 0) + count
    actual, running = [], 0
    for day in days[: (today - first).days + 1]:
        running += per_day.get(day.isoformat(), 0)
        actual.append(running)
    expected: dict[str, list[float]] = {}
    entry = register.forecasts.get(today.year)
    if entry is not None:
        forecast = entry[1]
        shares = [elapsed_share(datetime.combine(d + timedelta(days=1), datetime.min.time(), AMSTERDAM), forecast)
                  for d in days]
        for scenario in ("min", "medio", "max"):
            total = getattr(forecast.scenarios, scenario)
            expected[scenario] = [total * share for share in shares]
    return InflowCurve(today.year, [d.isoformat() for d in days], actual, expected)
