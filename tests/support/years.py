"""Whole simulated years, each made once per test session: a year takes seconds, and several test files read
the same one (the medio year: the calibration's properties and the simulator's inflow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from capmon.calibration import START
from streams.tools.simulator.chain import AMSTERDAM, ChainSimulation, SimConfig


@dataclass(frozen=True)
class Year:
    days: list[dict]  # per day: national capacity/occupancy, Ter Apel, IND caseload
    registrations: list[dict]  # the registration events from the start on


def simulate_year(annual: float, seed: int = 1, stop: Callable[[dict], bool] | None = None) -> Year:
    """A year of the simulation's own bookkeeping, day by day; with `stop`, only up to the first day it holds."""
    sim = ChainSimulation(SimConfig(start=START, days=365, annual_inflow=annual, seed=seed))
    days, registrations = [], []
    next_day = START.timestamp()
    for t, event in sim.events():
        while t >= next_day:
            capacity = sum(site.capacity for lid, site in sim.sites.items() if sim.open[lid])
            days.append({"day": datetime.fromtimestamp(next_day, AMSTERDAM).date(), "capacity": capacity,
                         "occupancy": sum(sim.occupancy.values()), "ter_apel": sim.occupancy.get("ter-apel", 0),
                         "ind": len(sim.ind)})
            if stop is not None and stop(days[-1]):
                return Year(days, registrations)
            next_day += 86_400
        if event["event_type"] == "registration" and t >= START.timestamp():
            registrations.append(event)
    return Year(days, registrations)


@cache
def simulated_year(annual: float, seed: int = 1) -> Year:
    """The whole year, shared by every test that reads it (read only)."""
    return simulate_year(annual, seed)
