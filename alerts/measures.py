"""The value of a rule's measure for each scope value, from the read model (streams/state/readmodel.py):
alert evaluation maps the same `Figures` as the API and /metrics, it derives none of its own."""

from __future__ import annotations

from alerts.rules import Rule
from streams.state.occupancy import UNREGISTERED, Area
from streams.state.readmodel import Figures

OUTLOOK_MEASURE = "outlook_days_until_transfer_full:"
ALWAYS = frozenset({"registration", "decision", "placement", "location", "forecast", "day", "time"})


def inputs(rule: Rule) -> frozenset[str]:
    """What can change a rule's values: event types, a new calendar day of the evaluation time ("day"), or now
    itself ("time").
    A rule none of whose inputs changed gives the same values again, so an evaluation can skip it."""
    measure = rule.measure
    if measure.startswith("mpp_deviation:"):
        return frozenset({"registration", "forecast", "time"})  # expected year to date moves with now
    if measure.startswith("inflow_rolling:"):
        return frozenset({"registration", "day"})
    if measure in ("days_until_full", "transfer_days_until_full"):
        return frozenset({"placement", "location", "day"})
    if measure == "permit_holders":
        return frozenset({"placement", "decision", "location"})
    if measure in ("headroom", "occupancy_ratio", "transfer_headroom"):
        return frozenset({"placement", "location", "day"})  # capacity follows the register's dates by day
    if measure in ("occupancy", "over_norm"):
        return frozenset({"placement", "location"})
    if measure in ("ind_backlog_overdue", "ind_backlog_past_term"):
        return frozenset({"registration", "decision", "day"})
    if measure.startswith(OUTLOOK_MEASURE):  # occupancy, the bed share, moves, the register, forecasts, the day
        return frozenset({"registration", "placement", "location", "forecast", "day"})
    return ALWAYS


def _area_measure(measure: str, area: Area, days_until_full: float | None = None) -> float | None:
    if measure == "headroom":
        return float(area.headroom)
    if measure == "occupancy":
        return float(area.occupancy)
    if measure == "occupancy_ratio":
        return area.occupancy_ratio
    if measure == "permit_holders":
        return float(area.permit_holders)
    if measure == "days_until_full":
        return days_until_full
    if measure == "over_norm":
        over = getattr(area, "over_norm", None)
        return None if over is None else float(over)
    return None


def values(rule: Rule, snap: Figures, locations: set[str] | None = None) -> dict[str, float | None]:
    """Scope value -> measure. National: {"national": v}; province: per province; location: per location (only
    those in `locations` when given); location:<id>: that location; location_type:<t>: all locations of that
    type added up."""
    measure, scope, occ = rule.measure, rule.scope, snap.occupancy
    if measure.startswith("inflow_rolling:"):
        return {"national": float(snap.rolling.mpp.get(measure.split(":", 1)[1], 0))}
    if measure.startswith("mpp_deviation:"):
        return {"national": snap.year_to_date.deviation.get(measure.split(":", 1)[1])}
    if measure == "transfer_headroom":
        return {"national": float(occ.transfer.headroom)}
    if measure == "transfer_days_until_full":
        return {"national": snap.transfer_days_until_full}
    if measure == "ind_backlog_overdue":
        return {"national": float(snap.backlog.overdue)}
    if measure.startswith(OUTLOOK_MEASURE):  # only these rules compute the outlook (kept per day and inputs)
        outlook = snap.outlook
        until = outlook.scenarios[measure.split(":", 1)[1]].days_until_transfer_full if outlook else None
        return {"national": None if until is None else float(until)}
    if measure == "ind_backlog_past_term":
        return {"national": float(snap.backlog.past_term)}
    until = measure == "days_until_full"  # only then derive the net inflow behind it
    if scope == "national":
        return {"national": _area_measure(measure, occ.national, snap.days_until_full_national if until else None)}
    if scope == "province":
        return {p: _area_measure(measure, a, snap.days_until_full_provinces.get(p) if until else None)
                for p, a in occ.provinces.items() if p != "unknown"}
    if scope == "location":  # registered locations only: a producer's id never becomes an alert scope
        if locations is None:
            return {loc: _area_measure(measure, f) for loc, f in occ.locations.items() if loc != UNREGISTERED}
        chosen = {loc: occ.location(loc) for loc in locations if loc != UNREGISTERED}
        return {loc: _area_measure(measure, f) for loc, f in chosen.items() if f is not None}
    if scope.startswith("location:"):
        wanted = scope.split(":", 1)[1]
        figures = occ.location(wanted)
        return {wanted: _area_measure(measure, figures) if figures else None}
    if scope.startswith("location_type:"):
        kind = scope.split(":", 1)[1]
        return {kind: _area_measure(measure, occ.of_type(kind))}
    return {}
