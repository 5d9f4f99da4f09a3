"""Sponsors of family reunification (nareis): the permit holders whose families follow them months later.

Every first-instance grant joins the pool at its time; a nareis registration draws its sponsor from the grants
of a lag window before it (the visa procedure), weighted by nationality, and takes the sponsor's nationality.
So nareis lags the grants of earlier months and follows the nationalities recently granted (DOMAIN.md).
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right

DAY = 86_400.0


class SponsorPool:
    def __init__(self, lag_days: tuple[float, float], propensity: dict[str, float], other: float) -> None:
        self.lag_s = (lag_days[0] * DAY, lag_days[1] * DAY)
        self.propensity, self.other = propensity, other
        self.times: list[float] = []
        self.sponsors: list[tuple[str, str | None]] = []  # (nationality, person id; None: housed before the feed)

    def add(self, t: float, nationality: str, person_id: str | None) -> None:
        """Grants must be added in time order (the simulation's clock guarantees it; see `sort`)."""
        self.times.append(t)
        self.sponsors.append((nationality, person_id))

    def sort(self) -> None:
        """After the opening state (added out of order) is loaded."""
        order = sorted(range(len(self.times)), key=self.times.__getitem__)
        self.times = [self.times[i] for i in order]
        self.sponsors = [self.sponsors[i] for i in order]

    def draw(self, rng: random.Random, now: float) -> tuple[str, str | None] | None:
        """A sponsor granted within the lag window before `now`, or None when the window is empty."""
        lo = bisect_left(self.times, now - self.lag_s[1])
        hi = bisect_right(self.times, now - self.lag_s[0])
        if lo >= hi:
            return None
        pick = self.sponsors[rng.randrange(lo, hi)]
        for _ in range(8):  # rejection sampling by nationality propensity
            if rng.random() < self.propensity.get(pick[0], self.other):
                break
            pick = self.sponsors[rng.randrange(lo, hi)]
        return pick
