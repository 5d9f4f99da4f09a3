"""Whole simulated years, each made once per test session: a year takes seconds, and several test files read
the same one (the medio year: the calibration's properties, the simulator's inflow and its week)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from capmon.calibration import START
from streams.tools.simulator.chain import AMSTERDAM, APPLICATION_CENTRES, ChainSimulation, SimConfig


@dataclass(frozen=True)
class Year:
    days: list[dict]  # per day: national capacity/occupancy, Ter Apel, IND caseload
    registrations: list[dict]  # the registration events from the start on
    ter_apel_hourly: list[int]  # Ter Apel's occupancy at each whole hour from the start
    per_day: Counter[tuple[str, str]]  # (local day, kind) -> events from the start on: registration, decision,
    # housed (check-outs of permit holders given a home), transfer_out (transfers out of an application centre)
    permit_holders: int  # residents whose decision was a grant, at the end (as the events tell it)


def simulate_year(annual: float, seed: int = 1, stop: Callable[[dict], bool] | None = None) -> Year:
    """A year of the simulation's own bookkeeping, hour by hour; with `stop`, only up to the first day it holds."""
    sim = ChainSimulation(SimConfig(start=START, days=365, annual_inflow=annual, seed=seed))
    days, registrations, hourly, per_day = [], [], [], Counter()
    where: dict[str, str | None] = {}
    granted: set[str] = set()
    start = START.timestamp()
    next_hour = start
    for t, event in sim.events():
        while t >= next_hour:
            hourly.append(sim.occupancy.get("ter-apel", 0))
            if len(hourly) % 24 == 1:
                capacity = sum(site.capacity for lid, site in sim.sites.items() if sim.open[lid])
                days.append({"day": datetime.fromtimestamp(next_hour, AMSTERDAM).date(), "capacity": capacity,
                             "occupancy": sum(sim.occupancy.values()), "ter_apel": hourly[-1],
                             "ind": len(sim.ind)})
                if stop is not None and stop(days[-1]):
                    return Year(days, registrations, hourly, per_day, 0)
            next_hour += 3_600
        kind = _tally(event, where, granted)
        if t >= start:
            if event["event_type"] == "registration":
                registrations.append(event)
            if kind:
                per_day[event["occurred_at"][:10], kind] += 1
    permit_holders = sum(1 for person, location in where.items() if location and person in granted)
    return Year(days, registrations, hourly, per_day, permit_holders)


def _tally(event: dict, where: dict[str, str | None], granted: set[str]) -> str | None:
    """Follow who is where and who was granted; the kind of event counted per day, if any."""
    kind = event["event_type"]
    if kind == "decision":
        if event["outcome"] == "granted":
            granted.add(event["person_id"])
        return kind
    if kind != "placement":
        return kind if kind == "registration" else None
    person, action = event["person_id"], event["action"]
    before = where.get(person)
    where[person] = None if action == "check_out" else event["location_id"]
    if action == "check_out":
        return "housed" if event.get("reason") == "housed" else None
    return "transfer_out" if action == "transfer" and before in APPLICATION_CENTRES else None


@cache
def simulated_year(annual: float, seed: int = 1) -> Year:
    """The whole year, shared by every test that reads it (read only)."""
    return simulate_year(annual, seed)
