"""HTTP read-out on the worker's web server (CONTRACT.md section 5). JSON only from the figures view:
no person ids ever (the view holds none)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .events import MPP_APPLICATION_TYPES
from .metrics import FiguresCollector, HealthCollector
from .state.figures import Area, days_until_full, inflow_curve
from .state.stamp import AMSTERDAM
from .status_page import Thresholds, render

if TYPE_CHECKING:
    import faust

    from alerts.rules import Rule

    from .app import Worker
    from .view import FiguresView


def _area(area: Area, net_per_day: float | None = None) -> dict[str, Any]:
    out = {"occupancy": area.occupancy, "capacity": area.capacity, "headroom": area.headroom,
           "occupancy_ratio": area.occupancy_ratio, "permit_holders_in_reception": area.permit_holders}
    if net_per_day is not None:
        out["net_inflow_per_day"] = net_per_day
        out["days_until_full"] = days_until_full(area.headroom, net_per_day)
    return out


def occupancy_json(view: FiguresView) -> dict[str, Any]:
    occ = view.occupancy()
    national_net, per_province = view.net_inflow_per_day()
    now = view.inflow().now
    return {
        "now": now.isoformat() if now else None,
        "national": _area(occ.national, national_net),
        "provinces": {p: _area(a, per_province.get(p, 0.0)) for p, a in occ.provinces.items()},
        "locations": {
            loc_id: {"name": f.name, "province": f.province, "location_type": f.location_type,
                     **_area(f)}
            for loc_id, f in occ.locations.items()
        },
    }


def inflow_json(view: FiguresView, taakstelling: int = 27_300) -> dict[str, Any]:
    flow = view.inflow()
    totals = view.totals
    decisions: Counter[str] = Counter()
    granted: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for (outcome, nationality), n in totals.decisions.items():
        decisions[outcome] += n
        if outcome in ("granted", "rejected"):
            decided[nationality] += n
            granted[nationality] += n if outcome == "granted" else 0
    outflow: dict[str, dict[str, Any]] = {}
    for (half, reason), n in sorted(totals.outflow.items()):
        outflow.setdefault(half, {"taakstelling": taakstelling})[reason] = n
    for half in outflow.values():
        half["housed_share_of_taakstelling"] = half.get("housed", 0) / taakstelling if taakstelling else None
    data = asdict(flow)
    data["now"] = flow.now.isoformat() if flow.now else None
    data["decisions"] = dict(sorted(decisions.items()))
    data["grant_rate"] = {nat: granted[nat] / n for nat, n in sorted(decided.items()) if n}
    data["outflow"] = outflow
    data["daily"] = daily_inflow(view)
    return data


def daily_inflow(view: FiguresView, days: int = 28) -> dict[str, int]:
    """MPP inflow per calendar day for the last `days` days ending on the watermark's day."""
    flow = view.inflow()
    if flow.now is None:
        return {}
    first = (flow.now.date() - timedelta(days=days - 1)).isoformat()
    per_day: Counter[str] = Counter()
    for (day, app_type, _amv), n in view.totals.inflow.items():
        if day >= first and app_type in MPP_APPLICATION_TYPES:
            per_day[day] += n
    return dict(sorted(per_day.items()))


def alerts_json(view: FiguresView, rules: list[Rule] | None = None) -> dict[str, Any]:
    """Active (firing) and pending alerts, and the latest change of every known alert, from the alerts topic.

    With the rules, each alert also gets `current`: its measure now, from the same figures (`value` is the
    measure at the alert's last change)."""
    from alerts.measures import Snapshot, values
    from alerts.text import iso

    by_name = {rule.name: rule for rule in rules or []}
    snap = (Snapshot(view.now_us or 0, view.occupancy(), view.inflow(), *view.net_inflow_per_day())
            if by_name and view.alerts else None)
    measured: dict[str, dict[str, float | None]] = {}

    def current(rule_name: str, scope: str) -> float | None:
        rule = by_name.get(rule_name)
        if snap is None or rule is None or rule.measure == "staleness":  # staleness is wall-clock time
            return None
        if rule_name not in measured:
            measured[rule_name] = values(rule, snap)
        return measured[rule_name].get(scope)

    def item(alert_id: str, rec: dict) -> dict[str, Any]:
        t, state = rec["transition"], rec["state"]
        return {"alert_id": alert_id, "rule": t["rule"], "scope": t["scope"], "severity": t["severity"],
                "measure": t["measure"], "status": state["status"], "value": state["value"],
                "current": current(t["rule"], t["scope"]) if state["status"] != "inactive" else None,
                "threshold": t["threshold"], "since": iso(state["since_us"]), "fired_at": iso(state["fired_us"]),
                "last_change": {"kind": t["kind"], "at": iso(t["at_us"]), "escalated_from": t["escalated_from"]},
                "unconfirmed_deliveries": [{"kind": e["transition"]["kind"], "receivers": e["missing"]}
                                           for e in rec.get("undelivered", [])]}

    items = [item(k, r) for k, r in sorted(view.alerts.items())]
    return {"active": [i for i in items if i["status"] == "firing"],
            "pending": [i for i in items if i["status"] == "pending"],
            "all": items}


def register_views(app: faust.App, worker: Worker) -> None:
    registry = worker.metrics.registry
    thresholds = Thresholds.from_rules(worker.rules)
    registry.register(FiguresCollector(worker.view, worker.reports_figures, worker.settings.taakstelling))
    registry.register(HealthCollector(worker.view, worker.consumer_lag, lambda: worker.view_caught_up,
                                      worker.reports_figures))

    @app.page("/api/occupancy")
    async def api_occupancy(web: Any, request: Any) -> Any:
        return web.json(occupancy_json(worker.view))

    @app.page("/api/inflow")
    async def api_inflow(web: Any, request: Any) -> Any:
        return web.json(inflow_json(worker.view, worker.settings.taakstelling))

    @app.page("/api/alerts")
    async def api_alerts(web: Any, request: Any) -> Any:
        return web.json(alerts_json(worker.view, worker.rules))

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        consumer = worker.app.consumer
        consumer_ok = consumer.state == "running" and not worker.app.should_stop
        status = {"consuming": consumer_ok, "figures_view_caught_up": worker.view_caught_up,
                  "assigned_partitions": len(consumer.assignment())}
        healthy = consumer_ok and worker.view_caught_up
        return web.json({"status": "ok" if healthy else "unavailable", **status}, status=200 if healthy else 503)

    @app.page("/")
    async def status_page(web: Any, request: Any) -> Any:
        return web.html(status_html(worker.view, thresholds, worker.view_caught_up, worker.settings.taakstelling,
                                     worker.rules, worker.settings.dashboard_url))

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])


def status_html(view: FiguresView, thresholds: Thresholds, caught_up: bool = True,
                taakstelling: int = 27_300, rules: list[Rule] | None = None, dashboard_url: str | None = None) -> str:
    """The status page (streams/status_page.py) from the same read-outs as the JSON API."""
    return render(occupancy_json(view), alerts_json(view, rules), inflow_json(view, taakstelling),
                  inflow_curve(view.totals, view.register, view.now_us), thresholds, caught_up,
                  datetime.now(AMSTERDAM).strftime("%Y-%m-%d %H:%M:%S %Z"), dashboard_url)
