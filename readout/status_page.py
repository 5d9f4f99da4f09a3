"""The status page at `/`: what a duty officer needs at a glance, without Grafana.

One pure function of the JSON read-outs (the same figures as `/api/occupancy` and `/api/alerts`) and the
alert thresholds. Self-contained: inline CSS and an inline SVG chart, no scripts, fonts or images from
elsewhere (the machine that shows it may have no internet); it reloads itself. Every figure carries a
`data-figure` attribute so tests (and scrapers) can read the page exactly.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from alerts.rules import Rule
from streams.state.inflow import InflowCurve
from streams.state.readmodel import PLANNING_NORM

REFRESH_S = 15
MAX_LOCATION_ROWS = 15  # the fullest first; the count above the table is complete

PROVINCES = {
    "NL-DR": "Drenthe", "NL-FL": "Flevoland", "NL-FR": "Fryslân", "NL-GE": "Gelderland", "NL-GR": "Groningen",
    "NL-LI": "Limburg", "NL-NB": "Noord-Brabant", "NL-NH": "Noord-Holland", "NL-OV": "Overijssel",
    "NL-UT": "Utrecht", "NL-ZE": "Zeeland", "NL-ZH": "Zuid-Holland", "unknown": "unknown location",
}


@dataclass(frozen=True)
class Thresholds:
    """National headroom below `critical` is red, below `warning` amber (from the alert rules)."""

    warning: float | None = None
    critical: float | None = None

    @classmethod
    def from_rules(cls, rules: Sequence[Rule], measure: str = "headroom") -> Thresholds:
        """The highest `below` of the national rules on `measure`, per severity."""
        found: dict[str, float] = {}
        for rule in rules:
            if rule.scope == "national" and rule.measure == measure and rule.below is not None:
                found[rule.severity] = max(found.get(rule.severity, rule.below), rule.below)
        return cls(found.get("warning"), found.get("critical"))

    def level(self, headroom: float) -> str:
        if self.critical is not None and headroom < self.critical:
            return "critical"
        if self.warning is not None and headroom < self.warning:
            return "warning"
        return "ok"


def number(value: float | None, decimals: int = 0) -> str:
    """Thousands grouped with a narrow no-break space (unambiguous in Dutch and English)."""
    if value is None:
        return "–"
    return f"{value:,.{decimals}f}".replace(",", "\u202f")


def percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.1f}\u202f%"


def days_text(days: float | None, never: str = "not shrinking") -> str:
    if days is None:
        return never
    if days <= 0:
        return "full"
    if days < 1:
        return "< 1 day"
    return "1 day" if round(days) == 1 else f"{days:.0f} days"


def _figure(name: str, value: Any, text: str, tag: str = "span", cls: str = "") -> str:
    raw = "" if value is None else str(value)
    klass = f' class="{cls}"' if cls else ""
    attrs = f'data-figure="{html.escape(name)}" data-value="{html.escape(raw)}"'
    return f"<{tag}{klass} {attrs}>{html.escape(text)}</{tag}>"


def render(occupancy: dict[str, Any], alerts: dict[str, Any], inflow: dict[str, Any], curve: InflowCurve | None,
           thresholds: Thresholds, caught_up: bool = True, generated_at: str = "",
           dashboard_url: str | None = None, transfer_thresholds: Thresholds | None = None,
           warning: str | None = None, outlook: dict[str, Any] | None = None) -> str:
    """The page; `warning` is a line the header shows in the stale colour (e.g. Kafka unreachable); `outlook` is
    `/api/outlook`'s answer."""
    if not caught_up:  # a half-read view would show wrong figures: none at all until it is whole
        return "\n".join([_head(), "<body>", _header(None, caught_up, generated_at, dashboard_url, warning),
                           '<main><section><h2>Reading the figures topic</h2><p>No figures until this worker has '
                           "read it whole (seconds after a start).</p></section></main></body></html>"])
    national = occupancy["national"]
    level = thresholds.level(national["headroom"])
    transfer = occupancy.get("transfer")
    lead = (_transfer(transfer, national, level, transfer_thresholds or Thresholds()) if transfer is not None
            else "")
    parts = [_head(), "<body>", _header(occupancy.get("now"), caught_up, generated_at, dashboard_url, warning),
             _page_status(alerts), "<main>", lead, _outlook(outlook), _national(national, level, thresholds),
             _alerts(alerts),
             _norms(occupancy["locations"]),
             _backlog(inflow.get("ind_backlog")), _need(occupancy.get("capacity_need")),
             _provinces(occupancy["provinces"]),
             _locations(occupancy["locations"]), _inflow(inflow, curve), "</main></body></html>"]
    return "\n".join(parts)


def _transfer(transfer: dict[str, Any], national: dict[str, Any], national_level: str,
              thresholds: Thresholds) -> str:
    """The lead: free beds people can move on to from the application centres. National headroom counts
    application-centre and amv beds too, which hides a full transfer network (Ter Apel overflows because there
    is nowhere to move people)."""
    level = thresholds.level(transfer["headroom"])
    return f"""<section class="card-{level}"><h2>Transfer headroom (free beds people can move on to)</h2>
{_figure("transfer-headroom", transfer["headroom"], number(transfer["headroom"]), "div", f"big {level}")}
<div class="muted">regular, emergency, crisis-emergency and small-scale locations · status: {level}</div>
<dl>
<dt>national headroom</dt><dd>{_figure("transfer-national-headroom", national["headroom"],
                                       number(national["headroom"]), cls=national_level)}
 <span class="muted">(with application-centre and amv beds)</span></dd>
<dt>in transfer locations</dt><dd>{_figure("transfer-occupancy", transfer["occupancy"],
                                           number(transfer["occupancy"]))}
 of {_figure("transfer-capacity", transfer["capacity"], number(transfer["capacity"]))} beds
 ({percent(transfer["occupancy_ratio"])})</dd>
<dt>full in</dt><dd>{_figure("transfer-days-until-full", transfer.get("days_until_full"),
                               days_text(transfer.get("days_until_full")))}
 <span class="muted">at {number(transfer.get("net_inflow_per_day"), 1)} net/day into these locations (28 days),
 today's beds</span></dd>
</dl></section>"""


OUTLOOK_CHART_DAYS = 84  # the coming 12 weeks
SCENARIO_COLOURS = {"min": "#1a7f37", "medio": "#3d6fb6", "max": "#c62828", "trend": "#5f6368"}
SCENARIO_DASH = {"min": "", "medio": "", "max": "", "trend": ' stroke-dasharray="6 4"'}


def full_on_text(day: str | None, until: int | None, weeks: str, shown_days: int) -> str:
    """"full now", "full on Thu 24 Aug 2023", or "not within 12 weeks" (the chart's span)."""
    if until is None or day is None or until > shown_days:
        return f"not within {weeks} weeks"
    if until == 0:
        return "full now"
    return "full on " + date.fromisoformat(day).strftime("%a %-d %b %Y")


def _outlook(outlook: dict[str, Any] | None) -> str:
    """Projected transfer headroom for the coming 12 weeks, one line per scenario, zero marked, the register's
    planned closings and openings marked on their days with their beds, and when each line reaches zero in
    words (arithmetic from today's figures, not a promise)."""
    if not outlook or not outlook.get("days"):
        return ""
    days = outlook["days"][:OUTLOOK_CHART_DAYS]
    weeks_text = f"{len(days) / 7:.3g}"
    lines = {s: v["headroom"]["transfer"][:len(days)] for s, v in outlook["scenarios"].items()}
    words = "".join(
        f'<dt style="color:{SCENARIO_COLOURS[s]}">{html.escape(s)}</dt><dd>'
        + _figure(f"outlook-full:{s}", v["transfer_full_on"],
                  full_on_text(v["transfer_full_on"], v["days_until_transfer_full"], weeks_text, len(days)))
        + "</dd>" for s, v in outlook["scenarios"].items())
    changes = [c for c in outlook["changes"] if c["day"] <= days[-1]]
    listed = "".join(
        "<li>" + _figure(f"outlook-change:{c['location_id']}:{c['day']}", c["beds"], _change_text(c)) + "</li>"
        for c in changes)
    return f"""<section><h2>Transfer headroom, the coming {weeks_text} weeks (by scenario)</h2>
{_outlook_chart(days, lines, changes)}
<dl>{words}</dl>
{f'<ul class="muted">{listed}</ul>' if listed else '<p class="muted">No openings or closings planned.</p>'}
<p class="muted">Arithmetic, not a forecast: today's occupancy plus the MPP scenario's expected inflow × the bed
share ({percent(outlook.get("bed_share"))}) minus {number(outlook.get("moves_out_per_day"), 1)} moves out per day;
trend: the last 28 days go on. Beds as the register plans them.</p></section>"""


def _change_text(change: dict[str, Any]) -> str:
    sign = "+" if change["change"] == "opens" else "−"
    where = "" if change["transfer"] else " (not a transfer location)"
    return f'{change["day"]}: {change["name"]} {change["change"]} ({sign}{number(change["beds"])} beds){where}'


def _outlook_chart(days: list[str], lines: dict[str, list[float]], changes: list[dict[str, Any]]) -> str:
    width, height, left, right, top_pad, bottom = 600.0, 320.0, 64.0, 12.0, 22.0, 30.0
    values = [v for line in lines.values() for v in line] + [0.0]
    high = max(max(values), 1.0)
    # a steep line would flatten the others: below -high it runs along the bottom edge (labelled "≤")
    floor = -high
    low = max(min(values), floor)
    n = len(days)

    def x(i: float) -> float:
        return left + (width - left - right) * i / max(n - 1, 1)

    def y(v: float) -> float:
        return top_pad + (height - top_pad - bottom) * (high - max(v, low)) / (high - low)

    shapes = [f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#202124" '
              'stroke-width="1.5"/>',
              f'<text x="{left - 6}" y="{y(0) + 5:.1f}" font-size="16" text-anchor="end" fill="#202124">0</text>',
              f'<text x="{left - 6}" y="{y(high) + 5:.1f}" font-size="16" text-anchor="end" fill="#5f6368">'
              f'{number(high)}</text>',
              f'<text x="{left - 6}" y="{y(low) + 5:.1f}" font-size="16" text-anchor="end" fill="#5f6368">'
              f'{"≤ " if min(values) < low else ""}{number(low)}</text>' if low < 0 else ""]
    index = {d: i for i, d in enumerate(days)}
    for c in changes:
        i = index.get(c["day"])
        if i is None:
            continue
        colour = "#1a7f37" if c["change"] == "opens" else "#b35900"
        sign = "+" if c["change"] == "opens" else "−"
        shapes.append(f'<line x1="{x(i):.1f}" y1="{top_pad}" x2="{x(i):.1f}" y2="{height - bottom}" '
                      f'stroke="{colour}" stroke-dasharray="2 3" data-change="{html.escape(c["day"])}"/>'
                      f'<text x="{x(i) + 3:.1f}" y="{top_pad - 6}" font-size="16" fill="{colour}">'
                      f'{sign}{number(c["beds"])}</text>')
    for scenario, line in lines.items():
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line))
        shapes.append(f'<polyline points="{points}" fill="none" stroke="{SCENARIO_COLOURS[scenario]}" '
                      f'stroke-width="2"{SCENARIO_DASH[scenario]} data-scenario="{html.escape(scenario)}"/>')
    shapes.append(f'<text x="{left}" y="{height - 8}" font-size="16" fill="#5f6368">{days[0]}</text>'
                  f'<text x="{width - right}" y="{height - 8}" font-size="16" fill="#5f6368" text-anchor="end">'
                  f'{days[-1]}</text>')
    legend = "".join(f'<span style="color:{c}">━ {s}</span>' for s, c in SCENARIO_COLOURS.items() if s in lines)
    return (f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" data-figure="outlook-chart" '
            f'aria-label="projected transfer headroom per scenario">{"".join(shapes)}</svg>'
            f'<div class="legend muted">{legend}<span>┆ planned opening / closing (beds)</span></div>')


def _norms(locations: dict[str, Any]) -> str:
    """Locations with an agreed maximum occupancy (Ter Apel: 2,000), against it."""
    normed = sorted(((loc_id, f) for loc_id, f in locations.items() if f.get("norm") is not None),
                    key=lambda item: -item[1]["over_norm"])
    if not normed:
        return ""
    rows = []
    for loc_id, f in normed:
        over = f["over_norm"]
        cls = "critical" if over > 0 else "ok"
        rows.append(
            f'<tr data-location="{html.escape(loc_id)}"><td>{html.escape(f["name"])}</td>'
            f'<td>{_figure(f"norm-occupancy:{loc_id}", f["occupancy"], number(f["occupancy"]))}</td>'
            f'<td>{_figure(f"norm:{loc_id}", f["norm"], number(f["norm"]))}</td>'
            f'<td>{_figure(f"over-norm:{loc_id}", over, f"{over:+,}".replace(",", chr(0x202F)), cls=cls)}</td>'
            f'<td class="wide">{number(f["capacity"])}</td></tr>')
    return ('<section><h2>Against the agreed norm</h2><div class="scroll"><table><tr><th>location</th>'
            '<th>in reception</th><th>norm</th><th>over norm</th><th class="wide">beds</th></tr>'
            f'{"".join(rows)}</table></div></section>')


def _need(need: dict[str, Any] | None) -> str:
    """Beds needed on 1 January per MPP scenario, and how many are missing against the beds there are now."""
    if need is None:
        return ""
    rows = []
    for scenario, v in need["scenarios"].items():
        short = _figure(f"capacity-short:{scenario}", round(v["short"]), number(v["short"]),
                        cls="critical" if v["short"] > 0 else "ok")
        needed = _figure(f"capacity-need:{scenario}", round(v["need"]), number(v["need"]))
        rows.append(f'<tr><td>{scenario}</td><td>{needed}</td><td>{short}</td>'
                    f'<td class="wide">{number(v["need_at_96_percent"])}</td></tr>')
    share = "–" if need["bed_share"] is None else percent(need["bed_share"])
    return (f'<section><h2>Beds needed on {html.escape(need["target"])} (MPP {html.escape(need["forecast_id"])})</h2>'
            '<div class="scroll"><table><tr><th>scenario</th><th>needed</th><th>short now</th>'
            f'<th class="wide">at 96&nbsp;%</th></tr>{"".join(rows)}</table></div>'
            f'<p class="muted">{share} of new applicants need a bed; {number(need["checkouts_per_day"], 1)} '
            'check-outs a day; the register knows no future openings.</p></section>')


BAND_WORDS = {"lt_1m": "under 1 month", "1m_3m": "1–3 months", "3m_6m": "3–6 months", "6m_15m": "6–15 months",
              "ge_15m": "15 months or more"}


def _backlog(backlog: dict[str, Any] | None) -> str:
    """Persons awaiting an IND decision, by how long they have waited; past six months is overdue, and past the
    decision term of their registration day (fifteen months for 2022-2023) they may go to court."""
    if backlog is None:
        return ""
    rows = "".join(
        f'<dt>{BAND_WORDS.get(band, band)}</dt><dd>{_figure(f"backlog:{band}", n, number(n))}</dd>'
        for band, n in backlog["by_waiting"].items())
    overdue, past = backlog["overdue"], backlog["past_term"]
    return f"""<section><h2>Awaiting an IND decision</h2>
{_figure("backlog-total", backlog["total"], number(backlog["total"]), "div", "big")}
<div class="muted">past six months: {_figure("backlog-overdue", overdue, number(overdue),
                                              cls="critical" if overdue else "ok")}</div>
<div class="muted">past their decision term: {_figure("backlog-past-term", past, number(past),
                                                      cls="critical" if past else "ok")}</div>
<dl>{rows}</dl></section>"""


def _head() -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_S}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>capmon – reception capacity</title>
<style>
:root{{--ok:#1a7f37;--warning:#b35900;--critical:#c62828;--muted:#5f6368;--line:#dadce0}}
*{{box-sizing:border-box}}
body{{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#202124;background:#f6f7f9;font-size:15px}}
header{{padding:.8rem 1rem;background:#202124;color:#fff;display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;
align-items:baseline}}
header h1{{font-size:1.1rem;margin:0}} header span{{color:#cfd2d6;font-size:.85rem}}
main{{display:grid;gap:1rem;padding:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr))}}
section{{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;min-width:0}}
h2{{font-size:1rem;margin:0 0 .6rem}}
.big{{font-size:clamp(3rem,12vw,5.5rem);font-weight:700;line-height:1;font-variant-numeric:tabular-nums}}
.ok{{color:var(--ok)}} .warning{{color:var(--warning)}} .critical{{color:var(--critical)}}
.card-ok{{border-left:8px solid var(--ok)}} .card-warning{{border-left:8px solid var(--warning)}}
.card-critical{{border-left:8px solid var(--critical)}}
.page-status{{padding:.5rem 1rem;color:#fff;font-weight:600}} .page-ok{{background:var(--ok)}}
.page-warning{{background:var(--warning)}} .page-critical{{background:var(--critical)}}
.muted{{color:var(--muted)}} .stale{{background:var(--critical);color:#fff;padding:.1rem .5rem;border-radius:4px}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem;margin:.8rem 0 0}} dt{{color:var(--muted)}}
dd{{margin:0;font-variant-numeric:tabular-nums}}
table{{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}}
th,td{{text-align:right;padding:.25rem .4rem;border-bottom:1px solid var(--line);white-space:nowrap}}
th:first-child,td:first-child{{text-align:left;white-space:normal}}
.scroll{{overflow-x:auto}}
.badge{{display:inline-block;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.8rem;font-weight:600}}
.badge.critical{{background:var(--critical)}} .badge.warning{{background:var(--warning)}}
.badge.info{{background:var(--muted)}}
ul.alerts{{list-style:none;padding:0;margin:0}} ul.alerts li{{padding:.35rem 0;border-bottom:1px solid var(--line)}}
@media (max-width:520px){{.wide{{display:none}} main{{padding:.5rem;gap:.5rem}} section{{padding:.7rem}}
th,td{{padding:.25rem .2rem}}}}
svg{{width:100%;height:auto}} .legend{{display:flex;flex-wrap:wrap}}
.legend span{{margin-right:1rem;white-space:nowrap}}
</style></head>"""


def _header(now: str | None, caught_up: bool, generated_at: str, dashboard_url: str | None,
            warning: str | None = None) -> str:
    stale = "" if caught_up else ' <span class="stale">catching up: no figures until the view is whole</span>'
    if warning:
        stale += f' <span class="stale" data-warning>{html.escape(warning)}</span>'
    grafana = (f'<span><a href="{html.escape(dashboard_url)}" style="color:#fff">Grafana dashboards</a></span>'
               if dashboard_url else "")
    return (f"<header><h1>capmon · asylum reception capacity</h1>"
            f"<span>figures at event time {_figure('now', now, now or 'no events yet')}</span>"
            f"<span>page made {html.escape(generated_at)}, reloads every {REFRESH_S} s</span>{grafana}{stale}"
            "</header>")


def _national(national: dict[str, Any], level: str, thresholds: Thresholds) -> str:
    limits = []
    if thresholds.warning is not None:
        limits.append(f"warning below {number(thresholds.warning)}")
    if thresholds.critical is not None:
        limits.append(f"critical below {number(thresholds.critical)}")
    return f"""<section class="card-{level}"><h2>National headroom (free usable beds)</h2>
{_figure("national-headroom", national["headroom"], number(national["headroom"]), "div", f"big {level}")}
<div class="muted">{html.escape(", ".join(limits) or "no national headroom rule")} · status: {level}</div>
<dl>
<dt>in reception</dt><dd>{_figure("national-occupancy", national["occupancy"], number(national["occupancy"]))}</dd>
<dt>usable beds</dt><dd>{_figure("national-capacity", national["capacity"], number(national["capacity"]))}</dd>
<dt>occupancy</dt><dd>{_figure("national-occupancy-ratio", national["occupancy_ratio"],
                                percent(national["occupancy_ratio"]))} (norm {PLANNING_NORM * 100:.0f}&nbsp;%)</dd>
<dt>days until full</dt><dd>{_figure("national-days-until-full", national.get("days_until_full"),
                                     days_text(national.get("days_until_full")))}
 <span class="muted">at {number(national.get("net_inflow_per_day"), 1)} net/day (28 days)</span></dd>
<dt>permit holders in reception</dt><dd>{_figure("national-permit-holders", national["permit_holders_in_reception"],
                                                 number(national["permit_holders_in_reception"]))}</dd>
</dl></section>"""


SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
PAGE_LEVEL = {"critical": "critical", "warning": "warning"}  # info alerts do not colour the page


def page_level(alerts: dict[str, Any]) -> str:
    """The page's colour: that of the most severe firing alert, so a figure's own colour (against its
    thresholds) can never show green beside a critical page."""
    severities = sorted((a["severity"] for a in alerts.get("active", [])), key=lambda s: SEVERITY_ORDER.get(s, 3))
    return PAGE_LEVEL.get(severities[0], "ok") if severities else "ok"


def _page_status(alerts: dict[str, Any]) -> str:
    level = page_level(alerts)
    active = alerts.get("active", [])
    worst = [a for a in active if PAGE_LEVEL.get(a["severity"]) == level]
    if level == "ok":
        text = f"ok: no critical or warning alert firing ({len(active)} info)" if active else "ok: no alert firing"
    else:
        names = ", ".join(sorted({a["rule"] for a in worst}))
        text = f"{level}: {len(worst)} {level} alert{'s' if len(worst) != 1 else ''} firing ({names})"
    return (f'<div class="page-status page-{level}">'
            f'{_figure("page-status", level, text)}</div>')


def _alerts(alerts: dict[str, Any]) -> str:
    active = alerts.get("active", [])
    items = []
    for a in sorted(active, key=lambda a: (SEVERITY_ORDER.get(a["severity"], 3), a["rule"], a["scope"])):
        if a.get("current") is not None:
            value = f'now {_measure(a["current"])}'
        else:
            value = f'{_measure(a["value"])} when it last changed'
        items.append(
            f'<li data-alert="{html.escape(a["alert_id"])}"><span class="badge {html.escape(a["severity"])}">'
            f'{html.escape(a["severity"])}</span> <b>{html.escape(a["rule"])}</b> · {html.escape(a["scope"])}<br>'
            f'<span class="muted">{html.escape(a["measure"])} {value} (threshold {_measure(a["threshold"])}); '
            f'firing since {html.escape(a["fired_at"] or "?")}</span></li>')
    pending = len(alerts.get("pending", []))
    body = f'<ul class="alerts">{"".join(items)}</ul>' if items else '<p class="ok">No alert is firing.</p>'
    return (f'<section><h2>Active alerts ({_figure("alerts-firing", len(active), str(len(active)))})</h2>{body}'
            f'<p class="muted">{pending} pending (condition holds, waiting for its duration)</p></section>')


def _measure(value: float | None) -> str:
    """A measure as people read it: ratios with decimals, counts and days without."""
    if value is None:
        return "–"
    return number(value, 2 if abs(value) < 10 and value != int(value) else 0)


def _provinces(provinces: dict[str, Any]) -> str:
    rows = []
    for code, a in sorted(provinces.items(), key=lambda kv: kv[1]["headroom"]):
        ratio = a["occupancy_ratio"]
        cls = "critical" if a["headroom"] < 0 else "warning" if ratio is not None and ratio > PLANNING_NORM else ""
        rows.append(
            f'<tr data-province="{html.escape(code)}"><td>{html.escape(PROVINCES.get(code, code))}</td>'
            f'<td>{_figure(f"province-headroom:{code}", a["headroom"], number(a["headroom"]), cls=cls)}</td>'
            f'<td>{percent(ratio)}</td>'
            f'<td class="wide">{_figure(f"province-occupancy:{code}", a["occupancy"], number(a["occupancy"]))}</td>'
            f'<td class="wide">{_figure(f"province-capacity:{code}", a["capacity"], number(a["capacity"]))}</td>'
            f'<td>{days_text(a.get("days_until_full"), never="never")}</td></tr>')
    return ('<section><h2>Headroom per province</h2><div class="scroll"><table><tr><th>province</th>'
            '<th>headroom</th><th>occupancy</th><th class="wide">in reception</th><th class="wide">beds</th>'
            '<th>full in</th></tr>'
            f'{"".join(rows)}</table></div></section>')


def _locations(locations: dict[str, Any]) -> str:
    crowded = [(loc_id, f) for loc_id, f in locations.items()
               if f["headroom"] < 0 or (f["occupancy_ratio"] is not None and f["occupancy_ratio"] > PLANNING_NORM)]
    crowded.sort(key=lambda item: (item[1]["occupancy_ratio"] is None, -(item[1]["occupancy_ratio"] or 0)))
    rows = []
    for loc_id, f in crowded[:MAX_LOCATION_ROWS]:
        cls = "critical" if f["headroom"] < 0 else "warning"
        rows.append(
            f'<tr data-location="{html.escape(loc_id)}"><td>{html.escape(f["name"])} '
            f'<span class="muted">{html.escape(PROVINCES.get(f["province"], f["province"]))}, '
            f'{html.escape(f["location_type"].replace("_", " "))}</span></td>'
            f'<td class="{cls}">{percent(f["occupancy_ratio"])}</td>'
            f'<td class="wide">{_figure(f"location-occupancy:{loc_id}", f["occupancy"], number(f["occupancy"]))}</td>'
            f'<td class="wide">{_figure(f"location-capacity:{loc_id}", f["capacity"], number(f["capacity"]))}</td>'
            '</tr>')
    body = ('<div class="scroll"><table><tr><th>location</th><th>occupancy</th><th class="wide">in reception</th>'
            '<th class="wide">beds</th>'
            f'</tr>{"".join(rows)}</table></div>') if rows else '<p class="ok">Every location is within the norm.</p>'
    if len(crowded) > MAX_LOCATION_ROWS:
        body += f'<p class="muted">and {len(crowded) - MAX_LOCATION_ROWS} more (all in /api/occupancy)</p>'
    return (f'<section><h2>Locations over the {PLANNING_NORM * 100:.0f}&nbsp;% norm or over capacity '
            f'({_figure("locations-crowded", len(crowded), str(len(crowded)))})</h2>{body}</section>')


def _inflow(inflow: dict[str, Any], curve: InflowCurve | None) -> str:
    expected = inflow.get("expected_ytd", {})
    deviation = inflow.get("deviation", {})
    dl = "".join(
        f"<dt>MPP {s}</dt><dd>{number(expected.get(s))} expected"
        f"{'' if deviation.get(s) is None else f' ({deviation[s] * 100:+.1f}&nbsp;%)'}</dd>"
        for s in ("min", "medio", "max") if s in expected)
    rolling = inflow.get("rolling", {})
    return f"""<section><h2>Inflow against the MPP (year to date)</h2>
{_chart(curve)}
<dl><dt>actual</dt><dd>{_figure("inflow-ytd", inflow.get("ytd"), number(inflow.get("ytd")))}</dd>{dl}
<dt>last 7 / 28 days</dt><dd>{number(rolling.get("7d"))} / {number(rolling.get("28d"))}</dd>
<dt>unaccompanied minors</dt><dd>{number(inflow.get("ytd_unaccompanied_minors"))} this year</dd></dl>
<p class="muted">forecast {html.escape(str(inflow.get("forecast_id") or "none received"))}</p></section>"""


def _chart(curve: InflowCurve | None) -> str:
    """Cumulative inflow (line) against the min–max band and the medio line, for the whole year."""
    if curve is None or not curve.actual:
        return '<p class="muted">No inflow yet.</p>'
    width, height, pad = 600.0, 220.0, 30.0
    n = len(curve.days)
    top = max([curve.actual[-1], *[v[-1] for v in curve.expected.values()], 1])

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * i / max(n - 1, 1)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * v / top

    def points(values: list[float]) -> str:
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))

    shapes = []
    if {"min", "max"} <= curve.expected.keys():
        low, high = curve.expected["min"], curve.expected["max"]
        band = points(high) + " " + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(low))))
        shapes.append(f'<polygon points="{band}" fill="#9ec5fe" fill-opacity=".45" stroke="none"/>')
    if "medio" in curve.expected:
        shapes.append(f'<polyline points="{points(curve.expected["medio"])}" fill="none" stroke="#3d6fb6" '
                      'stroke-dasharray="5 4" stroke-width="1.5"/>')
    shapes.append(f'<polyline points="{points(curve.actual)}" fill="none" stroke="#c62828" stroke-width="2.5"/>')
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="{pad}" y="{height - 8}" font-size="11" fill="#5f6368">1 Jan {curve.year}</text>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="11" fill="#5f6368" text-anchor="end">31 Dec</text>'
            f'<text x="{pad}" y="{pad - 10}" font-size="11" fill="#5f6368">{number(top)}</text>')
    return (f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="cumulative inflow against the MPP band">{axis}{"".join(shapes)}</svg>'
            '<div class="legend muted"><span style="color:#c62828">━ actual</span>'
            '<span style="color:#3d6fb6">╌ medio</span><span style="color:#6b9be0">▇ min–max band</span></div>')
