"""An independent reference of CONTRACT.md section 3: a plain function over a list of events.

Written from the contract's words, not from streams/state: sort by (occurred_at, event_id), drop repeated
event ids, replay in that order. Tests compare the stream code's figures with this.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

AMS = ZoneInfo("Europe/Amsterdam")
MPP_TYPES = {"first", "repeat", "family_reunification", "resettlement"}
ASYLUM_TYPES = {"first", "repeat", "relocation"}  # registrations that await an IND decision
TRANSFER = {"regular", "emergency", "crisis_emergency", "small_scale"}


def _when(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00").replace("z", "+00:00"))


# The decision term by registration day, as CONTRACT.md section 3 words its default: 457 days for registrations
# from 2022-03-27 to 2023-12-31, 183 days for every other day.
DEFAULT_TERMS = [{"from": date(2022, 3, 27), "to": date(2023, 12, 31), "days": 457}]


def term_of(day: date, terms: list[dict]) -> int:
    """The first entry whose from..to (both inclusive) holds the day, else six months."""
    return next((t["days"] for t in terms if t["from"] <= day <= t["to"]), 183)


def expected_figures(events: list[dict], terms: list[dict] | None = None, at: datetime | None = None,
                     outlook_days: int = 84) -> dict:
    """Figures for a list of *valid* events (dicts with event_type), in any order, with duplicates. `terms`: the
    decision term schedule (default DEFAULT_TERMS); `at`: the backlog's now, when not the latest event;
    `outlook_days`: the outlook's horizon (CAPMON_OUTLOOK_DAYS)."""
    unique: dict[str, dict] = {}
    for event in events:
        unique.setdefault(event["event_id"], event)
    ordered = sorted(unique.values(), key=lambda e: (_when(e).timestamp(), e["event_id"]))

    where: dict[str, str | None] = {}
    outcome: dict[str, str] = {}
    decided_at: dict[str, tuple[float, str]] = {}  # person -> (occurred_at, event_id) of the latest decision
    asks: dict[str, tuple[float, str, date]] = {}  # person -> latest first/repeat/relocation registration
    regs_of: dict[str, list[tuple[float, str, str]]] = {}  # person -> (occurred_at, event_id, type), in order
    first_instance: list[str] = []  # outcomes of decisions whose latest earlier registration asks for asylum
    sites: dict[str, dict] = {}
    forecasts: dict[int, dict] = {}
    registrations: list[tuple[date, str]] = []
    first_registered: dict[str, date] = {}  # person -> day of their first registration
    checked_in: set[str] = set()  # persons with a check-in
    check_outs: list[date] = []
    moved: list[tuple[date, str | None, str | None]] = []  # (day, from, to) of every placement that moved someone
    now: datetime | None = None
    for e in ordered:
        kind = e["event_type"]
        if kind == "placement":
            was = where.get(e["person_id"])
            where[e["person_id"]] = None if e["action"] == "check_out" else e["location_id"]
            if was != where[e["person_id"]]:
                moved.append((_when(e).astimezone(AMS).date(), was, where[e["person_id"]]))
            if e["action"] == "check_in":
                checked_in.add(e["person_id"])
            elif e["action"] == "check_out":
                check_outs.append(_when(e).astimezone(AMS).date())
        elif kind == "decision":
            outcome[e["person_id"]] = e["outcome"]
            decided_at[e["person_id"]] = (_when(e).timestamp(), e["event_id"])
        elif kind == "location":
            sites[e["location_id"]] = e
        elif kind == "forecast":
            forecasts[e["year"]] = e
        elif kind == "registration":
            registrations.append((_when(e).astimezone(AMS).date(), e["application_type"]))
            day = _when(e).astimezone(AMS).date()
            first_registered[e["person_id"]] = min(first_registered.get(e["person_id"], day), day)
            regs_of.setdefault(e["person_id"], []).append((_when(e).timestamp(), e["event_id"],
                                                           e["application_type"]))
            if e["application_type"] in ASYLUM_TYPES:
                asks[e["person_id"]] = (_when(e).timestamp(), e["event_id"], _when(e).astimezone(AMS).date())
        if now is None or _when(e) > now:
            now = _when(e)

    occupancy: dict[str, int] = {}
    for loc in where.values():
        if loc is not None:
            occupancy[loc] = occupancy.get(loc, 0) + 1
    today = now.astimezone(AMS).date().isoformat() if now is not None else None
    capacity = {k: reference_capacity(s, today) for k, s in sites.items()}
    locations = {}
    for loc in set(occupancy) | set(capacity):
        site = sites.get(loc, {})
        locations[loc] = {"occupancy": occupancy.get(loc, 0), "capacity": capacity.get(loc, 0),
                          "headroom": capacity.get(loc, 0) - occupancy.get(loc, 0),
                          "province": site.get("province", "unknown")}
    provinces: dict[str, dict] = {}
    for loc in locations.values():
        p = provinces.setdefault(loc["province"], {"occupancy": 0, "capacity": 0, "headroom": 0})
        for k in ("occupancy", "capacity", "headroom"):
            p[k] += loc[k]
    national = {k: sum(loc[k] for loc in locations.values()) for k in ("occupancy", "capacity", "headroom")}
    permit_holders = sum(1 for p, loc in where.items() if loc is not None and outcome.get(p) == "granted")

    # First-instance decisions: the person's latest registration before the decision (in event order) asks for
    # asylum. Registrations may arrive after the decision, so this is judged over all events, not while replaying.
    for e in ordered:
        if e["event_type"] == "decision":
            earlier = [r for r in regs_of.get(e["person_id"], []) if (r[0], r[1]) < (_when(e).timestamp(),
                                                                                    e["event_id"])]
            if earlier and earlier[-1][2] in ASYLUM_TYPES:
                first_instance.append(e["outcome"])
    g, r, d = (first_instance.count(o) for o in ("granted", "rejected", "dublin"))
    grant_rates = {"decisions": len(first_instance), "without_dublin": g / (g + r) if g + r else None,
                   "with_dublin": g / (g + r + d) if g + r + d else None}
    types: dict[str, dict] = {}
    for loc, figures in locations.items():
        kind = sites[loc]["location_type"] if loc in sites else "unknown"
        t = types.setdefault(kind, {"occupancy": 0, "capacity": 0, "headroom": 0})
        for k in ("occupancy", "capacity", "headroom"):
            t[k] += figures[k]
    transfer = {k: sum(t[k] for kind, t in types.items() if kind in TRANSFER) for k in ("occupancy", "capacity",
                                                                                          "headroom")}
    norms = {loc: (s["norm"], occupancy.get(loc, 0) - s["norm"]) for loc, s in sites.items()
             if s.get("norm") is not None}
    # Only registered locations are shown by their id; everyone elsewhere is one location, "unregistered".
    shown = {loc: figures for loc, figures in locations.items() if loc in sites}
    elsewhere = sum(figures["occupancy"] for loc, figures in locations.items() if loc not in sites)
    if elsewhere:
        shown["unregistered"] = {"occupancy": elsewhere, "capacity": 0, "headroom": -elsewhere, "province": "unknown"}
    result = {"locations": shown, "provinces": provinces, "national": national,
              "permit_holders": permit_holders, "now": now, "transfer": transfer, "location_types": types,
              "norms": norms, "grant_rates": grant_rates}
    if now is not None:
        today = now.astimezone(AMS).date()
        on = (at or now).astimezone(AMS).date()  # the backlog's day
        awaiting = [day for person, (when, eid, day) in asks.items()
                    if not (person in decided_at and decided_at[person] > (when, eid))]
        waiting = [(on - day).days for day in awaiting]
        schedule = DEFAULT_TERMS if terms is None else terms
        bands = {"lt_1m": (0, 30), "1m_3m": (31, 91), "3m_6m": (92, 182), "6m_15m": (183, 456),
                 "ge_15m": (457, 10**9)}
        result["backlog"] = {"total": len(waiting), "overdue": sum(1 for w in waiting if w >= 183),
                             "past_term": sum(1 for day in awaiting if (on - day).days >= term_of(day, schedule)),
                             "by_waiting": {b: sum(1 for w in waiting if lo <= w <= hi)
                                            for b, (lo, hi) in bands.items()}}
        result["net_inflow"] = _net_inflow(moved, sites, today)
        recent = [p for p, d in first_registered.items() if today - timedelta(days=90) < d <= today]
        share_with_bed = sum(1 for p in recent if p in checked_in) / len(recent) if recent else 1.0
        moves_out = sum(1 for day, source, target in moved
                        if source is not None and target is None and today - timedelta(days=27) <= day <= today) / 28
        result["outlook"] = _outlook(today, outlook_days, sites, forecasts, national["occupancy"],
                                     transfer["occupancy"], transfer["headroom"], share_with_bed, moves_out,
                                     result["net_inflow"])
        mpp = [d for d, t in registrations if t in MPP_TYPES]
        result["inflow_ytd"] = sum(1 for d in mpp if d.year == today.year)
        result["rolling"] = {f"{n}d": sum(1 for d in mpp if today - timedelta(days=n - 1) <= d <= today)
                             for n in (7, 28)}
        forecast = forecasts.get(today.year)
        if forecast:
            share = _share(now.astimezone(AMS), forecast)
            result["expected"] = {s: forecast["scenarios"][s] * share for s in ("min", "medio", "max")}
            # Capacity need (issue 11): occupancy now + max(0, annual - MPP inflow ytd) x bed share - check-outs
            # per day (last 28 days) x days until 1 January; bed share = of the persons first registered in the
            # 90 days before now, the fraction with a check-in (1 when there are none).
            recent = [p for p, d in first_registered.items() if today - timedelta(days=90) < d <= today]
            bed_share = sum(1 for p in recent if p in checked_in) / len(recent) if recent else 1.0
            outs = sum(1 for d in check_outs if today - timedelta(days=27) <= d <= today) / 28
            days = (date(today.year + 1, 1, 1) - today).days
            result["capacity_need"] = {
                s: national["occupancy"] + max(0, forecast["scenarios"][s] - result["inflow_ytd"]) * bed_share
                - outs * days for s in ("min", "medio", "max")}
    return result


def _net_inflow(moved: list[tuple[date, str | None, str | None]], sites: dict[str, dict], today: date) -> dict:
    """(moves into a scope - moves out of it) / 28 over the 28 days ending today, by the contract's words: a move
    is into a scope when it takes someone from outside it (or from no location) into it; scopes by the register
    as it stands; a location it does not know is in the national scope only."""
    def scopes(location: str | None) -> set[str]:
        if location is None:
            return set()
        site = sites.get(location)
        if site is None:
            return {"national"}
        return {"national", f"province:{site['province']}",
                *({"transfer"} if site["location_type"] in TRANSFER else ())}

    net: dict[str, int] = {}
    for day, source, target in moved:
        if not today - timedelta(days=27) <= day <= today:
            continue
        before, after = scopes(source), scopes(target)
        for scope in after - before:
            net[scope] = net.get(scope, 0) + 1
        for scope in before - after:
            net[scope] = net.get(scope, 0) - 1
    return {"national": net.get("national", 0) / 28, "transfer": net.get("transfer", 0) / 28,
            "provinces": {k.split(":", 1)[1]: n / 28 for k, n in sorted(net.items()) if k.startswith("province:")}}


def _outlook(today: date, horizon: int, sites: dict[str, dict], forecasts: dict[int, dict], occupied: int,
             transfer_occupied: int, transfer_headroom: int, bed_share: float, moves_out: float,
             net: dict) -> dict:
    """CONTRACT.md section 3a by its words: per scenario and day from tomorrow to today + horizon, planned capacity
    by the register as it stands, occupancy now plus the sum of net(k) from tomorrow to the day, headroom; the
    first day the transfer network's projected headroom is <= 0; the openings and closings within the horizon."""
    days = [today + timedelta(days=k) for k in range(1, horizon + 1)]

    def beds(day: date, transfer_only: bool) -> int:
        return sum(reference_capacity(s, day.isoformat()) for s in sites.values()
                   if not transfer_only or s["location_type"] in TRANSFER)

    def forecast_for(year: int) -> dict | None:
        earlier = [y for y in forecasts if y <= year]
        later = [y for y in forecasts if y > year]
        return forecasts[max(earlier)] if earlier else forecasts[min(later)] if later else None

    def day_share(day: date, forecast: dict) -> float:
        """The day's share of its year: by the forecast's monthly profile (a month's share spread over its
        days), else one day of the year's days."""
        profile = forecast.get("monthly_profile")
        if profile:
            month_days = (date(day.year + day.month // 12, day.month % 12 + 1, 1) - date(day.year, day.month, 1)).days
            return profile[day.month - 1] / sum(profile) / month_days
        return 1 / (date(day.year + 1, 1, 1) - date(day.year, 1, 1)).days

    national_beds = [beds(d, False) for d in days]
    transfer_beds = [beds(d, True) for d in days]
    out: dict = {"scenarios": {}, "changes": []}
    for scenario in ("min", "medio", "max", "trend"):
        national, transfer = [], []
        total_national = total_transfer = 0.0
        for i, day in enumerate(days):
            if scenario == "trend":
                total_national += net["national"]
                total_transfer += net["transfer"]
            else:
                forecast = forecast_for(day.year)
                expected = forecast["scenarios"][scenario] * day_share(day, forecast) if forecast else 0.0
                step = expected * bed_share - moves_out
                total_national += step
                total_transfer += step  # growth lands where people move on to
            national.append(national_beds[i] - (occupied + total_national))
            transfer.append(transfer_beds[i] - (transfer_occupied + total_transfer))
        full = 0 if transfer_headroom <= 0 else next((i + 1 for i, h in enumerate(transfer) if h <= 0), None)
        out["scenarios"][scenario] = {"national_headroom": national, "transfer_headroom": transfer,
                                      "days_until_transfer_full": full}
    last = days[-1] if days else today
    for location_id, site in sorted(sites.items()):
        if site["status"] != "open":
            continue
        for kind, key in (("opens", "opens_on"), ("closes", "closes_on")):
            on = site.get(key)
            if on is not None and today < date.fromisoformat(on) <= last:
                out["changes"].append({"day": on, "location_id": location_id, "change": kind,
                                       "beds": site["capacity"]})
    return out


def reference_capacity(site: dict, today: str | None) -> int:
    """capacity(location) by the contract's words: the latest event's beds, 0 when it says closed, or when
    today (YYYY-MM-DD, Europe/Amsterdam; None: no now yet, before every date) is before `opens_on` or on or
    after `closes_on` (the first day without beds). Dates compare as text: YYYY-MM-DD sorts by day."""
    if site["status"] != "open":
        return 0
    opens, closes = site.get("opens_on"), site.get("closes_on")
    if opens is not None and (today is None or today < opens):
        return 0
    if closes is not None and today is not None and today >= closes:
        return 0
    return site["capacity"]


def _share(now: datetime, forecast: dict) -> float:
    start = datetime(now.year, 1, 1, tzinfo=AMS)
    profile = forecast.get("monthly_profile")
    if not profile:
        end = datetime(now.year + 1, 1, 1, tzinfo=AMS)
        return (now.timestamp() - start.timestamp()) / (end.timestamp() - start.timestamp())
    month_start = datetime(now.year, now.month, 1, tzinfo=AMS)
    nxt = datetime(now.year + 1, 1, 1, tzinfo=AMS) if now.month == 12 else datetime(now.year, now.month + 1, 1,
                                                                                      tzinfo=AMS)
    into_month = (now.timestamp() - month_start.timestamp()) / (nxt.timestamp() - month_start.timestamp())
    done = sum(profile[: now.month - 1]) + profile[now.month - 1] * into_month
    return done / sum(profile)


class ReadsApi(Protocol):
    def get(self, path: str) -> Any: ...


def figures_differences(worker: ReadsApi, expected: dict) -> list[str]:
    """What differs between a worker's API and `expected_figures` (empty when they are equal): one list of
    differences for every test that compares a running worker with the reference."""
    try:
        occ = worker.get("/api/occupancy")
        flow = worker.get("/api/inflow")
    except OSError as exc:
        return [f"API not answering: {exc}"]
    diffs = []
    for key in ("occupancy", "capacity", "headroom"):
        if occ["national"][key] != expected["national"][key]:
            diffs.append(f"national {key}: {occ['national'][key]} != {expected['national'][key]}")
    if occ["national"]["permit_holders_in_reception"] != expected["permit_holders"]:
        diffs.append(f"permit holders {occ['national']['permit_holders_in_reception']} != {expected['permit_holders']}")
    got_prov = {p: {k: v[k] for k in ("occupancy", "capacity", "headroom")} for p, v in occ["provinces"].items()}
    if got_prov != expected["provinces"]:
        diffs.append("provinces differ")
    got_loc = {loc: (v["occupancy"], v["capacity"]) for loc, v in occ["locations"].items()}
    exp_loc = {loc: (v["occupancy"], v["capacity"]) for loc, v in expected["locations"].items()}
    if got_loc != exp_loc:
        diffs.append(f"{sum(got_loc.get(k) != v for k, v in exp_loc.items())} locations differ")
    got_transfer = {k: occ["transfer"][k] for k in ("occupancy", "capacity", "headroom")}
    if got_transfer != expected["transfer"]:
        diffs.append(f"transfer {got_transfer} != {expected['transfer']}")
    got_types = {t: {k: v[k] for k in ("occupancy", "capacity", "headroom")}
                 for t, v in occ["location_types"].items() if v["occupancy"] or v["capacity"]}
    if got_types != {t: v for t, v in expected["location_types"].items() if v["occupancy"] or v["capacity"]}:
        diffs.append("location types differ")
    got_norms = {loc: (v["norm"], v["over_norm"]) for loc, v in occ["locations"].items() if "norm" in v}
    if got_norms != expected["norms"]:
        diffs.append(f"norms {got_norms} != {expected['norms']}")
    overall = flow["grant_rates"]["overall"]
    if overall != expected["grant_rates"] and not _close(overall, expected["grant_rates"]):
        diffs.append(f"grant rates {overall} != {expected['grant_rates']}")
    if "backlog" in expected and flow["ind_backlog"] != expected["backlog"]:
        diffs.append(f"backlog {flow['ind_backlog']} != {expected['backlog']}")
    need = occ.get("capacity_need")
    if "capacity_need" in expected and (need is None or any(
            abs(need["scenarios"][s]["need"] - v) > 1e-6 for s, v in expected["capacity_need"].items())):
        diffs.append(f"capacity need {need and {s: v['need'] for s, v in need['scenarios'].items()}} != "
                     f"{expected['capacity_need']}")
    if "net_inflow" in expected:
        want = expected["net_inflow"]
        got = {"national": occ["national"]["net_inflow_per_day"], "transfer": occ["transfer"]["net_inflow_per_day"],
               "provinces": {p: v["net_inflow_per_day"] for p, v in occ["provinces"].items()
                             if v["net_inflow_per_day"]}}
        if not _near(got, {**want, "provinces": {p: n for p, n in want["provinces"].items() if n}}):
            diffs.append(f"net inflow {got} != {want}")
    if flow["ytd"] != expected["inflow_ytd"] or flow["rolling"] != expected["rolling"]:
        diffs.append(f"inflow {flow['ytd']} {flow['rolling']} != {expected['inflow_ytd']} {expected['rolling']}")
    if expected["now"] is not None and (occ["now"] is None or datetime.fromisoformat(occ["now"]) != expected["now"]):
        diffs.append(f"now {occ['now']} != {expected['now'].isoformat()}")
    return diffs


def _near(got: Any, want: Any) -> bool:
    """Equal, floats to 1e-9 (sums of n / 28 in different orders), nested through dicts."""
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_near(got[k], want[k]) for k in got)
    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        return abs(got - want) < 1e-9
    return bool(got == want)


def _close(got: dict, want: dict) -> bool:
    """Equal, ratios to 1e-9 (they are divided in different orders)."""
    return got.keys() == want.keys() and all(
        got[k] == want[k] or (isinstance(got[k], float) and want[k] is not None and abs(got[k] - want[k]) < 1e-9)
        for k in got)
