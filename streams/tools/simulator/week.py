"""The week's rhythm (DOMAIN.md, "The week has a rhythm"): people arrive every day and at any hour, while the
offices that move them on (transfers, IND decisions, removals, housing by municipalities) work on weekdays in
office hours. Work that falls due outside them waits for the next working morning, so what arrives at Ter Apel
over a weekend is still there on Monday morning.

The office days are worked out once per simulation (local wall-clock days, DST-aware), so placing a moment is a
bisection, not a time-zone conversion: the simulator keeps its speed. The caller's seeded random source makes
every draw, so the simulation stays deterministic. Public holidays are not modelled.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SATURDAY = 5


def day_factors(weekend_share: float) -> tuple[float, float]:
    """(weekday, weekend) multipliers of a daily rate such that a week keeps its seven days' worth of work while
    a Saturday or Sunday does `weekend_share` of a weekday's."""
    weekday = 7 / (5 + 2 * weekend_share)
    return weekday, weekday * weekend_share


class OfficeWeek:
    """Office hours on the local days from `first` for `days` days; outside them nothing is moved (the
    simulation never emits a moment after its end)."""

    def __init__(self, first: date, days: int, hours: tuple[float, float], weekend_share: float) -> None:
        self.weekend_share = weekend_share
        dates = [first + timedelta(days=i) for i in range(days + 1)]
        self._midnights = [_local(d, 0.0) for d in dates]
        self._opens = [_local(d, hours[0]) for d in dates]
        self._closes = [_local(d, hours[1]) for d in dates]
        self._working = [d.weekday() < SATURDAY for d in dates]
        self._next_working = [0] * len(dates)  # index of the first working day after each day (the last: itself)
        following = len(dates) - 1
        for i in range(len(dates) - 1, -1, -1):
            self._next_working[i] = following
            if self._working[i]:
                following = i

    def time(self, t: float, rng: random.Random) -> float:
        """When work that falls due at `t` is done: at `t` itself within office hours on a weekday; otherwise at
        a random moment in the office hours of the next working day (of the same day when `t` is before
        opening). On a Saturday or Sunday a duty service does `weekend_share` of it on the day."""
        i = bisect_right(self._midnights, t) - 1
        if i < 0 or i >= len(self._midnights) - 1:
            return t
        if self._working[i] and self._opens[i] <= t < self._closes[i]:
            return t
        if t < self._closes[i] and (self._working[i] or rng.random() < self.weekend_share):
            j = i
        else:
            j = self._next_working[i]
        return rng.uniform(max(t, self._opens[j]), self._closes[j])


def _local(day: date, hour: float) -> float:
    return (datetime.combine(day, time(), AMSTERDAM) + timedelta(hours=hour)).timestamp()
