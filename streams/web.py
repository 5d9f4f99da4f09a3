"""HTTP read-out on the worker's web server (CONTRACT.md section 5): the routes, and the JSON of the figures.
JSON only from the figures view: no person ids ever (the view holds none)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST

from .events import MPP_APPLICATION_TYPES
from .state.figures import Area, days_until_full, inflow_curve
from .state.stamp import AMSTERDAM
from .status_page import Thresholds, render

if TYPE_CHECKING:
    import faust

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


class ReadModel(Protocol):
    """What the HTTP views read. Nothing per person and nothing of the stream library: the views get this, not
    the worker, so a route can only ever show what these methods return."""

    def occupancy(self) -> dict[str, Any]: ...
    def inflow(self) -> dict[str, Any]: ...
    def alerts(self) -> dict[str, Any]: ...
    def status_page(self) -> str: ...
    def health(self) -> tuple[bool, dict[str, Any]]: ...
    def metrics_text(self) -> bytes: ...


def register_views(app: faust.App, read: ReadModel) -> None:
    """The contract's routes (CONTRACT.md section 5), and no others."""

    @app.page("/api/occupancy")
    async def api_occupancy(web: Any, request: Any) -> Any:
        return web.json(read.occupancy())

    @app.page("/api/inflow")
    async def api_inflow(web: Any, request: Any) -> Any:
        return web.json(read.inflow())

    @app.page("/api/alerts")
    async def api_alerts(web: Any, request: Any) -> Any:
        return web.json(read.alerts())

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        healthy, status = read.health()
        return web.json({"status": "ok" if healthy else "unavailable", **status}, status=200 if healthy else 503)

    @app.page("/")
    async def status_page(web: Any, request: Any) -> Any:
        return web.html(read.status_page())

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(read.metrics_text(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


def status_html(view: FiguresView, alerts: dict[str, Any], thresholds: Thresholds, caught_up: bool = True,
                taakstelling: int = 27_300, dashboard_url: str | None = None) -> str:
    """The status page (streams/status_page.py) from the same read-outs as the JSON API."""
    return render(occupancy_json(view), alerts, inflow_json(view, taakstelling),
                  inflow_curve(view.totals, view.register, view.now_us), thresholds, caught_up,
                  datetime.now(AMSTERDAM).strftime("%Y-%m-%d %H:%M:%S %Z"), dashboard_url)
