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
from itertools import accumulate
from typing import Literal, TypeVar

from streams.contract.events import Forecast
from streams.state.inflow import day_share
from streams.state.occupancy import TRANSFER_TYPES
from streams.state.register import Register, capacity

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


@dataclass(frozen=True, slots=True)
class ScenarioOutlook:
    """One scenario's lines, indexed by day (tomorrow first); occupancy and headroom are projected."""

    national_net: tuple[float, ...]  # net(d) for the national line
    transfer_net: tuple[float, ...]  # net(d) for the transfer line
    national_occupancy: tuple[float, ...]
    transfer_occupancy: tuple[float, ...]
    national_headroom: tuple[float, ...]
    transfer_headroom: tuple[float, ...]
    days_until_transfer_full: int | None  # days from today; 0: full now; None: not within the horizon


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
    """National and transfer-network capacity on each day by the register as it stands (its dates applied)."""
    national, transfer = [], []
    sites = [site for _stamp, site in register.sites.values()]
    for day in days:
        beds = [(capacity(site, day), site.location_type) for site in sites]
        national.append(sum(n for n, _ in beds))
        transfer.append(sum(n for n, kind in beds if kind in TRANSFER_TYPES))
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


def days_until_full(transfer_headroom_now: int, headroom: tuple[float, ...]) -> int | None:
    """Days from today to the first day whose projected transfer headroom is <= 0; 0 when it is now."""
    if transfer_headroom_now <= 0:
        return 0
    return next((k for k, h in enumerate(headroom, start=1) if h <= 0), None)


def scenario_lines(steps_national: tuple[float, ...], steps_transfer: tuple[float, ...], inputs: OutlookInputs,
                   national_capacity: tuple[int, ...], transfer_capacity: tuple[int, ...]) -> ScenarioOutlook:
    """Occupancy now plus the running sum of the steps from tomorrow, against the planned capacity."""
    national = tuple(accumulate(steps_national, initial=inputs.national_occupancy))[1:]
    transfer = tuple(accumulate(steps_transfer, initial=inputs.transfer_occupancy))[1:]
    transfer_headroom = tuple(c - o for c, o in zip(transfer_capacity, transfer, strict=True))
    return ScenarioOutlook(steps_national, steps_transfer, national, transfer,
                           tuple(c - o for c, o in zip(national_capacity, national, strict=True)), transfer_headroom,
                           days_until_full(inputs.transfer_headroom, transfer_headroom))


def outlook(inputs: OutlookInputs, register: Register) -> Outlook:
    """The outlook of CONTRACT.md section 3a for every scenario (kept for the last inputs and register seen)."""
    key = (inputs, register_key(register))
    return _remember(_OUTLOOKS, key, lambda: _outlook(inputs, register, key[1]))


def _outlook(inputs: OutlookInputs, register: Register, plan: Hashable) -> Outlook:
    days, national_capacity, transfer_capacity, expected, forecast_ids, changes = _remember(
        _PLANS, (inputs.today, inputs.horizon_days, plan), lambda: _plan(inputs.today, inputs.horizon_days, register))
    scenarios = {}
    for scenario in MPP_SCENARIOS:
        share, out = inputs.bed_share, inputs.moves_out_per_day
        steps = tuple(e * share - out for e in expected[scenario])
        scenarios[scenario] = scenario_lines(steps, steps, inputs, national_capacity, transfer_capacity)
    scenarios["trend"] = scenario_lines((inputs.net_national,) * len(days), (inputs.net_transfer,) * len(days),
                                        inputs, national_capacity, transfer_capacity)
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
    """Equal for two registers with the same entries (by their stamps): what the plan depends on."""
    return (tuple((location_id, entry[0]) for location_id, entry in register.sites.items()),
            tuple((year, entry[0]) for year, entry in register.forecasts.items()))


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

