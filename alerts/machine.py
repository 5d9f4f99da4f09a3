"""The alert state machine: one alert per rule and scope value, moved by observations in event time.

    inactive --breach--> pending --held `for`--> firing --recovered past `clear`--> inactive (resolved)
                 pending --no longer breaching--> inactive (cancelled, nobody is told)

Pure: `observe` returns the new state and what happened; the clock is the event time passed in. The state
itself is a record of the alerts topic (streams/contract/records/alerts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from alerts.rules import Rule
from streams.contract.records.alerts import AlertState

Kind = Literal["pending", "cancelled", "fired", "resolved"]


@dataclass(frozen=True)
class Change:
    kind: Kind
    at_us: int
    value: float | None


def observe(rule: Rule, state: AlertState, at_us: int, value: float | None) -> tuple[AlertState, Change | None]:
    """The state after observing `value` at event time `at_us` (None: the measure does not exist now,
    e.g. days until full when headroom is not shrinking; it never breaches and counts as recovered)."""
    breach = value is not None and rule.breaches(value)
    if state.status == "inactive":
        if not breach:
            return state, None  # nothing to remember while inactive
        pending = AlertState("pending", since_us=at_us, value=value)
        if rule.for_s == 0:
            return replace(pending, status="firing", fired_us=at_us), Change("fired", at_us, value)
        return pending, Change("pending", at_us, value)
    if state.status == "pending":
        if not breach:
            return AlertState(value=value), Change("cancelled", at_us, value)
        assert state.since_us is not None
        if at_us - state.since_us >= rule.for_s * 1_000_000:
            return replace(state, status="firing", fired_us=at_us, value=value), Change("fired", at_us, value)
        return (state if state.value == value else replace(state, value=value)), None
    if value is None or rule.recovered(value):
        return AlertState(value=value), Change("resolved", at_us, value)
    return (state if state.value == value else replace(state, value=value)), None
