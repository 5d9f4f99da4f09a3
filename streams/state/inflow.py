"""Inflow: registrations year to date against the MPP forecast, over rolling windows, and day by day through
the year (CONTRACT.md section 3).

Pure functions of totals and the register; `now` is the watermark, never the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate

from streams.contract.events import MPP_APPLICATION_TYPES, Forecast
from streams.state.register import Register
from streams.state.stamp import AMSTERDAM, from_micros
from streams.state.totals import Totals

ROLLING_WINDOWS = {"7d": 7, "28d": 28}
MPP_TYPES = tuple(sorted(MPP_APPLICATION_TYPES))


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


@dataclass(frozen=True)
class YearToDate:
    """MPP inflow in now's year so far, and against the forecast for that year."""

    ytd: int
    by_type: dict[str, int]
    unaccompanied_minors: int
    forecast_id: str | None
    expected: dict[str, float]
    deviation: dict[str, float | None]


@dataclass(frozen=True)
class Rolling:
    """Registrations over the 7 and 28 calendar days ending on now's day."""

    mpp: dict[str, int]
    by_type: dict[str, dict[str, int]]
    unaccompanied_minors: dict[str, int]


def year_to_date(totals: Totals, register: Register, now_us: int | None) -> YearToDate:
    if now_us is None:
        return YearToDate(0, {}, 0, None, {}, {})
    now = from_micros(now_us)
    year = str(now.year)
    # Year to date is the whole year so far: no registration is counted on a day after now's (now is the
    # greatest event time accepted), so the per-year index holds exactly the year to date.
    ytd, amv = 0, 0
    by_type: dict[str, int] = {}
    for (y, app_type, minor), count in totals.inflow_years.items():
        if y == year:
            by_type[app_type] = by_type.get(app_type, 0) + count
            amv += count if minor else 0
            ytd += count if app_type in MPP_APPLICATION_TYPES else 0
    entry = register.forecasts.get(now.year)
    expected: dict[str, float] = {}
    deviation: dict[str, float | None] = {}
    if entry is not None:
        forecast = entry[1]
        share = elapsed_share(now, forecast)
        for scenario in ("min", "medio", "max"):
            expected[scenario] = getattr(forecast.scenarios, scenario) * share
            deviation[scenario] = ytd / expected[scenario] - 1 if expected[scenario] > 0 else None
    return YearToDate(ytd, dict(sorted(by_type.items())), amv, entry[1].forecast_id if entry else None, expected,
                      deviation)


def rolling_windows(totals: Totals, now_us: int | None, mpp_per_day: Mapping[str, int]) -> Rolling:
    """`mpp_per_day` is MPP inflow per day over (at least) the longest window ending on now's day."""
    if now_us is None:
        return Rolling(dict.fromkeys(ROLLING_WINDOWS, 0), {name: {} for name in ROLLING_WINDOWS},
                       dict.fromkeys(ROLLING_WINDOWS, 0))
    today = from_micros(now_us).date()
    years = (str(today.year), str(today.year - 1))
    kinds = {(t, m) for (y, t, m) in totals.inflow_years if y in years}
    days = _days_back(today, max(ROLLING_WINDOWS.values()))
    mpp = {name: sum(mpp_per_day.get(day, 0) for day in days[:n]) for name, n in ROLLING_WINDOWS.items()}
    by_type: dict[str, dict[str, int]] = {name: {} for name in ROLLING_WINDOWS}
    amv = dict.fromkeys(ROLLING_WINDOWS, 0)
    for back, day in enumerate(days):
        for app_type, minor in kinds:
            count = totals.inflow.get((day, app_type, minor), 0)
            if not count:
                continue
            for name, n in ROLLING_WINDOWS.items():
                if back < n:
                    by_type[name][app_type] = by_type[name].get(app_type, 0) + count
                    amv[name] += count if minor else 0
    return Rolling(mpp, {name: dict(sorted(types.items())) for name, types in by_type.items()}, amv)


@lru_cache(maxsize=16)
def _days_back(today: date, n: int) -> tuple[str, ...]:
    """The ISO days of the `n` days ending on `today`, newest first: made once a day, not at every read (the alert
    evaluation reads the rolling windows at every grid point with a registration)."""
    return tuple((today - timedelta(days=back)).isoformat() for back in range(n))


def last_days(now_us: int, n: int) -> list[date]:
    """The `n` calendar days ending on now's day, oldest first."""
    today = from_micros(now_us).date()
    return [today - timedelta(days=back) for back in range(n - 1, -1, -1)]


def mpp_inflow_per_day(totals: Totals, days: Iterable[date]) -> dict[str, int]:
    """MPP registrations on each of `days` that had any (ISO day -> registrations, in the order asked): a lookup
    per day asked and MPP type, never a pass over every day ever counted."""
    inflow = totals.inflow
    per_day: dict[str, int] = {}
    for day in days:
        iso = day.isoformat()
        n = sum(inflow.get((iso, app_type, minor), 0) for app_type in MPP_TYPES for minor in (False, True))
        if n:
            per_day[iso] = n
    return per_day


def compose_inflow(now_us: int | None, ytd: YearToDate, rolling: Rolling) -> Inflow:
    return Inflow(from_micros(now_us) if now_us is not None else None, ytd.ytd, ytd.by_type,
                  ytd.unaccompanied_minors, rolling.mpp, ytd.forecast_id, ytd.expected, ytd.deviation,
                  rolling.by_type, rolling.unaccompanied_minors)


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


def day_share(day: date, forecast: Forecast) -> float:
    """One calendar day's share of its year (the outlook's expected inflow per day): by the forecast's monthly
    profile (the month's share spread over its days) when given, else one day of the year's days."""
    if not forecast.monthly_profile:
        return 1 / _days_in(date(day.year, 1, 1), date(day.year + 1, 1, 1))
    profile = forecast.monthly_profile
    start = date(day.year, day.month, 1)
    end = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return profile[day.month - 1] / sum(profile) / _days_in(start, end)


def _days_in(start: date, end: date) -> int:
    return (end - start).days


def _fraction(moment: datetime, start: datetime, end: datetime) -> float:
    return (moment.timestamp() - start.timestamp()) / (end.timestamp() - start.timestamp())


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
    so_far = days[: (today - first).days + 1]
    per_day = mpp_inflow_per_day(totals, so_far)
    actual = list(accumulate(per_day.get(day.isoformat(), 0) for day in so_far))
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
