"""The simulated week has its rhythm (DOMAIN.md, "The week has a rhythm"): people arrive every day, the offices
that move them on work on weekdays, so Ter Apel is fullest on Monday morning; and housing is paced so that a
medio 2023 keeps as many permit holders in reception as the housing shortage really did ("How 2023 really went")."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from statistics import mean

import pytest

from streams.tools.simulator import mix
from streams.tools.simulator.chain import AMSTERDAM
from streams.tools.simulator.week import OfficeWeek
from tests.support.years import Year, simulated_year

WEEKEND = (5, 6)


@pytest.fixture(scope="module")
def medio() -> Year:
    return simulated_year(mix.MPP_2023["medio"])  # the session's medio year (test_calibration.py reads it too)


def _per_weekday_day(year: Year, kind: str) -> tuple[float, float]:
    """Mean events of `kind` per weekday and per Saturday or Sunday over the year."""
    weekday, weekend = [], []
    for d in year.days:
        n = year.per_day[d["day"].isoformat(), kind]
        (weekend if d["day"].weekday() in WEEKEND else weekday).append(n)
    return mean(weekday), mean(weekend)


def test_the_offices_rest_at_weekends_while_people_keep_arriving(medio):
    for kind in ("decision", "housed", "transfer_out"):
        weekday, weekend = _per_weekday_day(medio, kind)
        assert weekend < 0.15 * weekday, (kind, weekday, weekend)
    weekday, weekend = _per_weekday_day(medio, "registration")
    assert 0.9 * weekday < weekend < 1.1 * weekday, (weekday, weekend)


def test_ter_apel_is_fullest_on_monday_morning(medio):
    at: dict[tuple[int, int], list[int]] = {}
    start = medio.days[0]["day"]
    for i, occupancy in enumerate(medio.ter_apel_hourly):
        local = datetime.fromtimestamp(datetime(start.year, start.month, start.day, tzinfo=AMSTERDAM).timestamp()
                                       + i * 3_600, AMSTERDAM)
        at.setdefault((local.weekday(), local.hour), []).append(occupancy)
    monday_morning = mean(at[0, 8])
    assert monday_morning > max(mean(at[day, 8]) for day in range(1, 7)), monday_morning
    assert monday_morning > mean(at[4, 18]) + 100  # a weekend's arrivals, still there before Monday's transfers


def test_a_medio_year_ends_with_16000_to_20000_permit_holders_in_reception(medio):
    assert 16_000 <= medio.permit_holders <= 20_000, medio.permit_holders


def test_work_due_outside_office_hours_waits_for_the_next_working_morning():
    week = OfficeWeek(date(2023, 3, 24), 10, (8.0, 18.0), weekend_share=0.0)  # Friday; DST starts on Sunday 26th
    rng = random.Random(1)

    def local(day: int, hour: float) -> float:
        return (datetime(2023, 3, day, tzinfo=AMSTERDAM) + timedelta(hours=hour)).timestamp()

    assert week.time(local(24, 10), rng) == local(24, 10)  # Friday morning: at once
    for due in (local(24, 19), local(25, 11), local(26, 3)):  # Friday evening, Saturday, Sunday night
        done = datetime.fromtimestamp(week.time(due, rng), AMSTERDAM)
        assert done.date() == date(2023, 3, 27) and 8 <= done.hour < 18, done  # Monday, in office hours (CEST)
    done = datetime.fromtimestamp(week.time(local(28, 6), rng), AMSTERDAM)  # Tuesday before opening: that day
    assert done.date() == date(2023, 3, 28) and 8 <= done.hour < 18
    duty = OfficeWeek(date(2023, 3, 24), 10, (8.0, 18.0), weekend_share=1.0)
    assert datetime.fromtimestamp(duty.time(local(25, 11), rng), AMSTERDAM).date() == date(2023, 3, 25)
