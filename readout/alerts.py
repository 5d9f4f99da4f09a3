"""The alerts as the HTTP read-out shows them: from the alerts topic (`AlertLog`), with each
alert's measure now from the same figures the rules read."""

from __future__ import annotations

from typing import Any

from alerts.log import AlertLog
from alerts.measures import values
from alerts.rules import Rule
from alerts.text import iso
from streams.contract.records.alerts import AlertRecord
from streams.state.view import FiguresView


def alerts_json(alert_log: AlertLog, view: FiguresView, rules: list[Rule] | None = None) -> dict[str, Any]:
    """Active (firing) and pending alerts, and the latest change of every known alert.

    With the rules, each alert also gets `current`: its measure now, from the same figures (`value` is the
    measure at the alert's last change)."""
    by_name = {rule.name: rule for rule in rules or []}
    snap = view.figures() if by_name and alert_log.records else None
    measured: dict[str, dict[str, float | None]] = {}

    def current(rule_name: str, scope: str) -> float | None:
        rule = by_name.get(rule_name)
        if snap is None or rule is None or rule.measure == "staleness":  # staleness is wall-clock time
            return None
        if rule_name not in measured:
            measured[rule_name] = values(rule, snap)
        return measured[rule_name].get(scope)

    def item(alert_id: str, rec: AlertRecord) -> dict[str, Any]:
        t, state = rec.transition, rec.state
        return {"alert_id": alert_id, "rule": t.rule, "scope": t.scope, "severity": t.severity,
                "measure": t.measure, "status": state.status, "value": state.value,
                "current": current(t.rule, t.scope) if state.status != "inactive" else None,
                "threshold": t.threshold, "since": iso(state.since_us), "fired_at": iso(state.fired_us),
                "last_change": {"kind": t.kind, "at": iso(t.at_us), "escalated_from": t.escalated_from},
                "unconfirmed_deliveries": [{"kind": u.transition.kind, "receivers": list(u.missing)}
                                           for u in rec.undelivered]}

    items = [item(k, r) for k, r in sorted(alert_log.records.items())]
    return {"active": [i for i in items if i["status"] == "firing"],
            "pending": [i for i in items if i["status"] == "pending"],
            "all": items}
