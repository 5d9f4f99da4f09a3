"""Rule evaluation: every rule against one snapshot of the figures, alerts moved through their state machine.

The same code runs live (the worker) and offline (`capmon backtest`). Alert identity is `rule/scope value`,
stable across restarts; states are held in a mapping that the caller owns (a dict, or a table).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import date

from alerts.machine import observe
from alerts.measures import values
from alerts.rules import Rule
from streams.contract.records.alerts import AlertState, Transition
from streams.state.readmodel import Figures
from streams.state.stamp import local_day

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
INACTIVE = AlertState()


def _place(rule: Rule, snap: Figures, scope_value: str) -> str | None:
    if rule.scope != "location" and not rule.scope.startswith("location:"):
        return None
    figures = snap.occupancy.location(scope_value)
    return figures.name if figures is not None else None


def alert_id(rule: Rule, scope_value: str) -> str:
    return f"{rule.name}/{scope_value}"


class Evaluator:
    def __init__(self, rules: list[Rule], states: MutableMapping[str, AlertState] | None = None) -> None:
        self.all_rules = rules
        self.rules = [r for r in rules if r.measure != "staleness"]  # wall-clock rules: alerts/live.py
        self.states: MutableMapping[str, AlertState] = states if states is not None else {}
        self._day: date | None = None  # the day of the last evaluation time (the register's dates follow it)

    def evaluate(self, snap: Figures, at_us: int | None = None, only: set[str] | None = None,
                 touched: set[str] | None = None) -> list[Transition]:
        """Move every alert of every rule (or of the rules named in `only`) by the figures at `at_us`. With
        `touched`, rules per location look only at those locations (and their alerts that are not inactive):
        the caller knows that no other location changed since the last evaluation."""
        at = (snap.now_us or 0) if at_us is None else at_us
        if snap.now_us is not None:  # capacity by the register's dates on the evaluation time's day
            day = local_day(at)
            snap = snap.on_day(day)
            if day != self._day:  # a new day may open or close any dated location: look at every one
                self._day, touched = day, None
        out: list[Transition] = []
        active = self._active_by_rule()
        for rule in self.rules:
            if only is not None and rule.name not in only:
                continue
            known = active.get(rule.name, set())
            only_these = (touched | known) if touched is not None and rule.scope == "location" else None
            current = values(rule, snap, only_these)
            # An inactive alert whose measure does not breach stays inactive: only the others can change.
            breaching = {scope for scope, value in current.items() if value is not None and rule.breaches(value)}
            for scope_value in sorted(breaching | known):
                key = alert_id(rule, scope_value)
                before = self.states.get(key, INACTIVE)
                after, change = observe(rule, before, at, current.get(scope_value))
                if after != before:
                    if after.status == "inactive" and key in self.states:
                        del self.states[key]
                    elif after.status != "inactive":
                        self.states[key] = after
                if change is not None:
                    out.append(Transition(key, rule.name, scope_value, rule.severity, rule.measure, change.kind,
                                          change.at_us, change.value, after.since_us or before.since_us,
                                          rule.threshold, rule.notify, place=_place(rule, snap, scope_value)))
        return self._escalations(out)

    def _active_by_rule(self) -> dict[str, set[str]]:
        """Rule name -> the scope values of its alerts that are not inactive, in one pass over the states (not
        one per rule): a rule's evaluation changes only its own alerts, and rule names have no "/"."""
        active: dict[str, set[str]] = {}
        for key, state in self.states.items():
            if state.status != "inactive":
                name, _, scope_value = key.partition("/")
                active.setdefault(name, set()).add(scope_value)
        return active

    def _escalations(self, changes: list[Transition]) -> list[Transition]:
        """A rule firing for a scope where a lower-severity rule on the same measure already fires escalates."""
        result = []
        for t in changes:
            if t.kind == "fired":
                lower = [
                    r.name for r in self.rules
                    if r.measure == t.measure and r.name != t.rule
                    and SEVERITY_RANK[r.severity] < SEVERITY_RANK[t.severity]
                    and self.states.get(alert_id(r, t.scope), AlertState()).status == "firing"
                ]
                if lower:
                    t = Transition(**{**t.__dict__, "kind": "escalated", "escalated_from": lower[0]})
            result.append(t)
        return result

    def firing(self) -> dict[str, AlertState]:
        return {k: s for k, s in self.states.items() if s.status == "firing"}
