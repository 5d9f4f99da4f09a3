"""HTTP read-out on the worker's web server (CONTRACT.md section 5): the routes, and the JSON of the figures.
JSON only from the figures view: no person ids ever (the view holds none)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp.web_response
from prometheus_client import CONTENT_TYPE_LATEST

from readout.outlook import Reading, outlook_json
from readout.status_page import Thresholds, render
from streams.config import DEFAULT_TAAKSTELLING
from streams.contract.finite import finite
from streams.state.occupancy import Area
from streams.state.stamp import AMSTERDAM

if TYPE_CHECKING:
    import faust

    from readout.login import LoginGate
    from streams.state.readmodel import CapacityNeed, Figures


def _area(area: Area, net_per_day: float | None = None, until: float | None = None) -> dict[str, Any]:
    out = {"occupancy": area.occupancy, "capacity": area.capacity, "headroom": area.headroom,
           "occupancy_ratio": area.occupancy_ratio, "permit_holders_in_reception": area.permit_holders}
    if net_per_day is not None:
        out["net_inflow_per_day"] = net_per_day
        out["days_until_full"] = until
    return out


def _need(need: CapacityNeed | None) -> dict[str, Any] | None:
    if need is None:
        return None
    return {"target": need.target.isoformat(), "days_until_target": need.days_until_target,
            "forecast_id": need.forecast_id, "bed_share": need.bed_share, "checkouts_per_day": need.checkouts_per_day,
            "scenarios": {s: {"need": need.need[s], "short": need.short[s], "need_at_96_percent": need.need_at_norm[s]}
                          for s in need.need}}


def occupancy_json(figures: Figures) -> dict[str, Any]:
    occ, now = figures.occupancy, figures.inflow.now
    return {
        "now": now.isoformat() if now else None,
        "national": _area(occ.national, figures.net_national, figures.days_until_full_national),
        # regular, emergency, crisis-emergency and small-scale beds: where people can move on to
        "transfer": _area(occ.transfer, figures.net_transfer, figures.transfer_days_until_full),
        "location_types": {t: _area(a) for t, a in occ.location_types.items()},
        "capacity_need": _need(figures.capacity_need),
        "provinces": {p: _area(a, figures.net_provinces.get(p, 0.0), figures.days_until_full_provinces.get(p))
                      for p, a in occ.provinces.items()},
        "locations": {
            loc_id: {"name": f.name, "province": f.province, "location_type": f.location_type,
                     **_area(f), **({"norm": f.norm, "over_norm": f.over_norm} if f.norm is not None else {})}
            for loc_id, f in occ.locations.items()
        },
    }


def inflow_json(figures: Figures, taakstelling: Mapping[str, int] = DEFAULT_TAAKSTELLING) -> dict[str, Any]:
    flow = figures.inflow
    outflow: dict[str, dict[str, Any]] = {}
    for half, reasons in figures.outflow.items():
        target, _housed, share = _housed_against_taakstelling(figures, half, taakstelling)
        outflow[half] = {"taakstelling": target, **reasons, "housed_share_of_taakstelling": share}
    data = asdict(flow)
    data["now"] = flow.now.isoformat() if flow.now else None
    data["decisions"] = figures.decisions_by_outcome
    data["grant_rate"] = figures.grant_rate
    rates = figures.grant_rates
    data["grant_rates"] = {"basis": "first-instance asylum decisions", "overall": asdict(rates.overall),
                           "by_nationality": {g: asdict(r) for g, r in rates.by_nationality.items()}}
    data["outflow"] = outflow
    data["daily"] = figures.daily_mpp_inflow
    half = figures.current_half_year
    if half is not None:
        target, housed, share = _housed_against_taakstelling(figures, half, taakstelling)
        data["taakstelling"] = {"half_year": half, "target": target, "housed": housed, "share": share}
    backlog = figures.backlog
    data["ind_backlog"] = {"total": backlog.total, "by_waiting": backlog.bands, "overdue": backlog.overdue,
                           "past_term": backlog.past_term}
    return data


def _housed_against_taakstelling(figures: Figures, half: str,
                                 taakstelling: Mapping[str, int]) -> tuple[int | None, int, float | None]:
    """A half year's taakstelling (None: none configured), the permit holders housed, and their share of it."""
    housed, target = figures.outflow.get(half, {}).get("housed", 0), taakstelling.get(half)
    return target, housed, housed / target if target else None


class ReadModel(Protocol):
    """What the HTTP views read. Nothing per person and nothing of the stream library: the views get this, not
    the worker, so a route can only ever show what these methods return."""

    def occupancy(self) -> dict[str, Any]: ...
    def inflow(self) -> dict[str, Any]: ...
    def alerts(self) -> dict[str, Any]: ...
    def outlook(self) -> dict[str, Any]: ...
    def status_page(self) -> str: ...
    def health(self) -> tuple[bool, dict[str, Any]]: ...
    def whole(self) -> bool: ...
    def metrics_text(self) -> bytes: ...


# The status page has inline styles and inline SVG, no script, nothing loaded from elsewhere; no page may frame it.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                           "form-action 'none'; frame-ancestors 'none'")
SERVER = "capmon"  # aiohttp would name itself and its version (and Python's)


def security_headers(path: str) -> dict[str, str]:
    """The headers every answer carries (the JSON read-outs are never cached: they change every second)."""
    headers = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
               "Content-Security-Policy": CONTENT_SECURITY_POLICY, "Server": SERVER}
    if path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    return headers


async def _harden(request: Any, response: Any) -> None:
    """aiohttp's on_response_prepare: runs for every answer of a route or of the router (404, 405, 500)."""
    response.headers.update(security_headers(request.path))


def add_routes(app: faust.App, read: ReadModel, gate: LoginGate | None = None) -> None:
    """The contract's routes (CONTRACT.md section 5), and no others, all with `security_headers`. With `gate`,
    every route but /health and /metrics (which monitoring reads) needs HTTP basic auth."""
    app.web.web_app.on_response_prepare.append(_harden)
    # Answers to requests that never reach the router (a malformed request line or header: 400) skip that
    # hook; aiohttp fills their `Server` from this module constant.
    aiohttp.web_response.SERVER_SOFTWARE = SERVER

    def guarded(handler: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
        if gate is None:
            return handler

        async def check(web: Any, request: Any) -> Any:
            verdict = await gate.verdict(request.headers.get("Authorization"), request.remote or "unknown")
            if verdict.retry_after is not None:
                return web.json({"error": "too many failed logins or checks: retry later"}, status=429,
                                headers={"Retry-After": str(verdict.retry_after)})
            if not verdict.allowed:
                return web.json({"error": "authentication required"}, status=401,
                                headers={"WWW-Authenticate": 'Basic realm="capmon", charset="UTF-8"'})
            return await handler(web, request)

        return check

    def figures(answer: Callable[[], dict[str, Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
        """A JSON read-out, or 503 while the view is still being read (a half-read view has wrong figures)."""
        async def handler(web: Any, request: Any) -> Any:
            if not read.whole():
                return web.json({"error": "figures view not read whole yet (the worker is starting): retry in a "
                                          "few seconds", "figures_view_caught_up": False}, status=503,
                                headers={"Retry-After": "5"})
            return web.json(finite(answer()))

        return handler

    async def status_page(web: Any, request: Any) -> Any:
        return web.html(read.status_page())

    async def health(web: Any, request: Any) -> Any:
        healthy, status = read.health()
        body = finite({"status": "ok" if healthy else "unavailable", **status})
        return web.json(body, status=200 if healthy else 503)

    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(read.metrics_text(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    for path, handler in (("/api/occupancy", figures(read.occupancy)), ("/api/inflow", figures(read.inflow)),
                          ("/api/alerts", figures(read.alerts)), ("/api/outlook", figures(read.outlook)),
                          ("/", status_page)):
        app.page(path, name=path)(guarded(handler))
    app.page("/health", name="/health")(health)
    app.page("/metrics", name="/metrics")(metrics)


def status_html(figures: Figures, alerts: dict[str, Any], thresholds: Thresholds, caught_up: bool = True,
                taakstelling: Mapping[str, int] = DEFAULT_TAAKSTELLING, dashboard_url: str | None = None,
                transfer_thresholds: Thresholds | None = None, warning: str | None = None,
                outlook: Reading | None = None) -> str:
    """The status page (readout/status_page.py) from the same read-outs as the JSON API (the outlook: the
    worker's once-a-second reading, else the figures' own)."""
    reading = outlook or Reading(figures.now_us, figures.outlook_days, figures.outlook)
    return render(occupancy_json(figures), alerts, inflow_json(figures, taakstelling), figures.curve, thresholds,
                  caught_up, datetime.now(AMSTERDAM).strftime("%Y-%m-%d %H:%M:%S %Z"), dashboard_url,
                  transfer_thresholds, warning, outlook_json(reading))
