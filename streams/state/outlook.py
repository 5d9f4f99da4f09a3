"""The outlook (CONTRACT.md section 3a): headroom for each of the coming days per scenario, by arithmetic.

Not a forecast model: planned capacity is the register as it stands now (its `opens_on` / `closes_on`), and
occupancy goes on from now by a constant step per day: for an MPP scenario the day's expected MPP inflow × the
bed share − national moves out per day; for `trend` each scope's own net inflow of the last 28 days. A closing
takes its beds away while its residents stay in the network (they move, they do not leave).

Pure functions of hashable inputs and the register. The parts that change only with the day or the register
(planned capacity, expected inflow per day) are kept per (day, horizon, register), so alert evaluation at every
5-minute grid point pays only for the running sums.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from itertools import accumulate
from typing import Literal, TypeVar

from streams.contract.events import Forecast
from streams.state.inflow import day_share
from streams.state.occupancy import TRANSFER_TYPES
from streams.state.register import Register

MPP_SCENARIOS = ("min", "medio", "max")
SCENARIOS = (*MPP_SCENARIOS, "trend")
DEFAULT_OUTLOOK_DAYS = 84
HORIZONS = (7, 14, 28, 56, 84)  # the days ahead /metrics gives headroom for (those within the horizon)


@dataclass(frozen=True, slots=True)
class OutlookInputs:
    """What the outlook depends on besides the register: all from the read model, nothing per person."""

    today: date  # now's day (the read-outs) or the evaluation time's day (alerts), Europe/Amsterdam
    horizon_days: int  # CAPMON_OUTLOOK_DAYS
    national_occupancy: int
    transfer_occupancy: int
    transfer_headroom: int  # today's: 0 days until full when it is <= 0
    bed_share: float  # of the persons first registered in the last 90 days, the share with a check-in (1: none)
    moves_out_per_day: float  # national moves out of reception per day over the net inflow's 28 days
    net_national: float  # the trend lines: each scope's own net inflow per day
    net_transfer: float


@dataclass(frozen=True)
class ScenarioOutlook:
    """One scenario's lines, indexed by day (tomorrow first): occupancy now plus the running sum of net(d) from
    tomorrow, against the planned capacity. Each line is made on first use: alert evaluation reads only the days
    until the network is full, of one scenario."""

    expected: tuple[float, ...] | None  # an MPP scenario's expected MPP inflow per day; None: the trend line
    inputs: OutlookInputs
    national_start: int  # occupancy now
    transfer_start: int
    national_capacity: tuple[int, ...]  # planned
    transfer_capacity: tuple[int, ...]
    transfer_headroom_now: int

    @cached_property
    def national_net(self) -> tuple[float, ...]:
        """net(d) of the national line: expected inflow × bed share − moves out, or the national net inflow."""
        if self.expected is None:
            return (self.inputs.net_national,) * len(self.national_capacity)
        return self.transfer_net

    @cached_property
    def transfer_net(self) -> tuple[float, ...]:
        """net(d) of the transfer line: an MPP scenario's is the national one (growth lands where people move
        on to); the trend's is the transfer network's own net inflow."""
        if self.expected is None:
            return (self.inputs.net_transfer,) * len(self.transfer_capacity)
        share, out = self.inputs.bed_share, self.inputs.moves_out_per_day
        return tuple(e * share - out for e in self.expected)

    @cached_property
    def national_occupancy(self) -> tuple[float, ...]:
        return tuple(accumulate(self.national_net, initial=self.national_start))[1:]

    @cached_property
    def transfer_occupancy(self) -> tuple[float, ...]:
        return tuple(accumulate(self.transfer_net, initial=self.transfer_start))[1:]

    @cached_property
    def national_headroom(self) -> tuple[float, ...]:
        return tuple(c - o for c, o in zip(self.national_capacity, self.national_occupancy, strict=True))

    @cached_property
    def transfer_headroom(self) -> tuple[float, ...]:
        return tuple(c - o for c, o in zip(self.transfer_capacity, self.transfer_occupancy, strict=True))

    @cached_property
    def days_until_transfer_full(self) -> int | None:
        """Days from today to the first day whose projected transfer headroom is <= 0; 0 when it is now; None
        when not within the horizon. Walks the days until then only (the same sums as `transfer_headroom`)."""
        if self.transfer_headroom_now <= 0:
            return 0
        occupied: float = self.transfer_start
        for k, (beds, step) in enumerate(zip(self.transfer_capacity, self.transfer_net, strict=True), start=1):
            occupied += step
            if beds - occupied <= 0:
                return k
        return None


@dataclass(frozen=True, slots=True)
class Change:
    """A planned opening or closing within the horizon, as the register says now."""

    day: date
    location_id: str
    name: str
    location_type: str
    change: Literal["opens", "closes"]
    beds: int

    @property
    def transfer(self) -> bool:
        return self.location_type in TRANSFER_TYPES


@dataclass(frozen=True, slots=True)
class Outlook:
    today: date
    horizon_days: int
    days: tuple[date, ...]  # tomorrow … today + horizon
    national_capacity: tuple[int, ...]  # planned, per day
    transfer_capacity: tuple[int, ...]
    bed_share: float
    moves_out_per_day: float
    forecast_ids: dict[int, str]  # year of a day in the horizon -> the forecast it takes
    scenarios: dict[str, ScenarioOutlook]
    changes: tuple[Change, ...]

    def full_on(self, scenario: str) -> date | None:
        """The first day the transfer network is full under `scenario` (today when it is full now)."""
        until = self.scenarios[scenario].days_until_transfer_full
        return None if until is None else self.today + timedelta(days=until)

    def headroom_at(self, scope: Literal["national", "transfer"], scenario: str, days_ahead: int) -> float | None:
        """Projected headroom `days_ahead` days after today (None beyond the horizon)."""
        if not 1 <= days_ahead <= len(self.days):
            return None
        lines = self.scenarios[scenario]
        return (lines.national_headroom if scope == "national" else lines.transfer_headroom)[days_ahead - 1]


def forecast_for(year: int, forecasts: dict[int, Forecast]) -> Forecast | None:
    """The forecast a day of `year` takes: its own year's, else the nearest earlier year's, else the earliest
    later year's (CONTRACT.md section 3a); None without any."""
    if year in forecasts:
        return forecasts[year]
    earlier = [y for y in forecasts if y < year]
    if earlier:
        return forecasts[max(earlier)]
    later = [y for y in forecasts if y > year]
    return forecasts[min(later)] if later else None


def horizon_days(today: date, horizon: int) -> tuple[date, ...]:
    return tuple(today + timedelta(days=k) for k in range(1, horizon + 1))


def planned_capacity(register: Register, days: tuple[date, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """National and transfer-network capacity on each day by the register as it stands (its dates applied:
    `Register.beds_by_type`, as today's capacity is read)."""
    national, transfer = [], []
    for day in days:
        beds = register.beds_by_type(day)
        national.append(sum(beds.values()))
        transfer.append(sum(n for kind, n in beds.items() if kind in TRANSFER_TYPES))
    return tuple(national), tuple(transfer)


def expected_inflow(days: tuple[date, ...], forecasts: dict[int, Forecast]) -> dict[str, tuple[float, ...]]:
    """Expected MPP inflow per day and MPP scenario: the annual figure of the day's forecast × the day's share
    of the year (0 on every day while no forecast exists)."""
    out: dict[str, list[float]] = {s: [] for s in MPP_SCENARIOS}
    for day in days:
        forecast = forecast_for(day.year, forecasts)
        share = day_share(day, forecast) if forecast is not None else 0.0
        for scenario in MPP_SCENARIOS:
            out[scenario].append(getattr(forecast.scenarios, scenario) * share if forecast is not None else 0.0)
    return {s: tuple(v) for s, v in out.items()}


def changes_ahead(register: Register, today: date, last: date) -> tuple[Change, ...]:
    """Every opening (`opens_on`) and closing (`closes_on`) after today up to `last`, by day then location; a
    closed entry (no beds) changes nothing."""
    changes = []
    for location_id, (_stamp, site) in register.sites.items():
        if not site.dated or site.capacity <= 0:
            continue
        for kind, on in (("opens", site.opens_on), ("closes", site.closes_on)):
            if on is not None and today < on <= last:
                changes.append(Change(on, location_id, site.name, site.location_type, kind, site.capacity))
    return tuple(sorted(changes, key=lambda c: (c.day, c.location_id, c.change)))


def scenario_lines(expected: tuple[float, ...] | None, inputs: OutlookInputs, national_capacity: tuple[int, ...],
                   transfer_capacity: tuple[int, ...]) -> ScenarioOutlook:
    return ScenarioOutlook(expected, inputs, inputs.national_occupancy, inputs.transfer_occupancy,
                           national_capacity, transfer_capacity, inputs.transfer_headroom)


def outlook(inputs: OutlookInputs, register: Register) -> Outlook:
    """The outlook of CONTRACT.md section 3a for every scenario (kept for the last inputs and register seen)."""
    key = (inputs, register_key(register))
    return _remember(_OUTLOOKS, key, lambda: _outlook(inputs, register, key[1]))


def _outlook(inputs: OutlookInputs, register: Register, plan: Hashable) -> Outlook:
    days, national_capacity, transfer_capacity, expected, forecast_ids, changes = _remember(
        _PLANS, (inputs.today, inputs.horizon_days, plan), lambda: _plan(inputs.today, inputs.horizon_days, register))
    scenarios = {scenario: scenario_lines(expected[scenario], inputs, national_capacity, transfer_capacity)
                 for scenario in MPP_SCENARIOS}
    scenarios["trend"] = scenario_lines(None, inputs, national_capacity, transfer_capacity)
    return Outlook(inputs.today, inputs.horizon_days, days, national_capacity, transfer_capacity, inputs.bed_share,
                   inputs.moves_out_per_day, forecast_ids, scenarios, changes)


_Plan = tuple[tuple[date, ...], tuple[int, ...], tuple[int, ...], dict[str, tuple[float, ...]], dict[int, str],
              tuple[Change, ...]]


def _plan(today: date, horizon: int, register: Register) -> _Plan:
    """What changes only with the day, the horizon and the register."""
    days = horizon_days(today, horizon)
    forecasts = {year: forecast for year, (_stamp, forecast) in register.forecasts.items()}
    national, transfer = planned_capacity(register, days)
    ids = {}
    for year in sorted({d.year for d in days}):
        forecast = forecast_for(year, forecasts)
        if forecast is not None:
            ids[year] = forecast.forecast_id
    return (days, national, transfer, expected_inflow(days, forecasts), ids,
            changes_ahead(register, today, days[-1] if days else today))


def register_key(register: Register) -> Hashable:
    """Equal for two registers with the same entries (by their stamps): what the plan depends on. Made once per
    change of the register (alert evaluation asks at every grid point)."""
    kept = register.entries_key
    if kept is not None and kept[0] == register.version:
        return kept[1]
    key = (tuple((location_id, entry[0]) for location_id, entry in register.sites.items()),
           tuple((year, entry[0]) for year, entry in register.forecasts.items()))
    register.entries_key = (register.version, key)
    return key


T = TypeVar("T")
_OUTLOOKS: OrderedDict[Hashable, Outlook] = OrderedDict()
_PLANS: OrderedDict[Hashable, _Plan] = OrderedDict()
_KEEP = 8


def forget() -> None:
    """Drop every kept outlook and plan (the bench measures a first computation)."""
    forget_outlooks()
    _PLANS.clear()


def forget_outlooks() -> None:
    """Drop the kept outlooks, keep the plans (the bench measures a computation for new inputs)."""
    _OUTLOOKS.clear()


def _remember(memo: OrderedDict[Hashable, T], key: Hashable, make: Callable[[], T]) -> T:
    """A small least-recently-used memo (the inputs hold a register, which is not hashable itself)."""
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    value = memo[key] = make()
    if len(memo) > _KEEP:
        memo.popitem(last=False)
    return value

