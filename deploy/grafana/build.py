"""Build capmon's Grafana dashboards as JSON (deploy/grafana/dashboards/*.json): `make dashboards`.

The dashboards are written from this one description so that every panel is laid out and wired the same way
(the data source is a template variable, so the same JSON works in any Grafana); the JSON files are what
Grafana provisioning and `capmon dashboards publish` use. A test checks the files equal this script's output
and that every panel's query returns data from a real Prometheus scraping a real worker.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

OUT = Path(__file__).parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
HEADROOM_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 500}, {"color": "green", "value": 2000}]
NORM_STEPS = [{"color": "green", "value": None}, {"color": "orange", "value": 0.96}, {"color": "red", "value": 1.0}]


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False, table: bool = False) -> dict:
    """One Prometheus query; `instant` for the latest value only, `table` for a table panel's rows."""
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if instant or table:
        t.update(instant=True, range=False, format="table" if table else "time_series")
    return t


def panel(kind: str, title: str, targets: list[dict], w: int, h: int, *, unit: str = "short", steps: list | None = None,
          description: str = "", no_value: str | None = None, decimals: int | None = None,
          min: float | None = None, max: float | None = None, **options: object) -> dict:
    defaults: dict = {"unit": unit}
    defaults.update({k: v for k, v in (("min", min), ("max", max)) if v is not None})
    if steps:
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
        defaults["color"] = {"mode": "thresholds"}
    if no_value is not None:
        defaults["noValue"] = no_value
    if decimals is not None:
        defaults["decimals"] = decimals
    refs = "ABCDEFGH"
    return {"type": kind, "title": title, "description": description, "datasource": DS,
            "targets": [{**t, "refId": refs[i]} for i, t in enumerate(targets)],
            "fieldConfig": {"defaults": defaults, "overrides": []}, "options": options, "_size": (w, h)}


def _panel_kind(kind: str, w: int, h: int, **defaults: object):
    """A panel constructor of one kind: its default size and options, overridable per panel."""

    def make(title: str, *targets: dict, **kw: object) -> dict:
        for key, value in defaults.items():
            kw.setdefault(key, copy.deepcopy(value))
        return panel(kind, title, list(targets), kw.pop("w", w), kw.pop("h", h), **kw)  # type: ignore[arg-type]

    return make


LAST_VALUE = {"calcs": ["lastNotNull"], "fields": "", "values": False}
stat = _panel_kind("stat", 6, 5, reduceOptions=LAST_VALUE, colorMode="value", graphMode="area")
series = _panel_kind("timeseries", 12, 8, legend={"displayMode": "list", "placement": "bottom", "showLegend": True},
                     tooltip={"mode": "multi", "sort": "desc"})
bars = _panel_kind("bargauge", 12, 9, reduceOptions=LAST_VALUE, displayMode="gradient", orientation="horizontal")
table = _panel_kind("table", 12, 9, showHeader=True)


def variables(*extra: dict) -> dict:
    datasource = {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0, "refresh": 1}
    return {"list": [datasource, *extra]}


def query_variable(name: str, label: str, query: str) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": DS, "query": {"query": query, "refId": name},
            "definition": query, "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1, "hide": 0}


def custom_variable(name: str, label: str, values: list[str]) -> dict:
    return {"name": name, "label": label, "type": "custom", "query": ",".join(values), "multi": False,
            "includeAll": False, "current": {"selected": True, "text": values[0], "value": values[0]},
            "options": [{"selected": i == 0, "text": v, "value": v} for i, v in enumerate(values)], "hide": 0}


def dashboard(uid: str, title: str, description: str, panels: list[dict], templating: dict) -> dict:
    x = y = row_h = 0
    laid_out = []
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_size")
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        laid_out.append({"id": i, "gridPos": {"x": x, "y": y, "w": w, "h": h}, **p})
        x, row_h = x + w, max(row_h, h)
    return {"uid": uid, "title": title, "description": description, "tags": ["capmon"], "timezone": "browser",
            "editable": True, "schemaVersion": 39, "version": 1, "refresh": "30s",
            "time": {"from": "now-24h", "to": "now"}, "templating": templating, "annotations": {"list": []},
            "links": [{"title": "capmon dashboards", "type": "dashboards", "tags": ["capmon"], "asDropdown": True}],
            "panels": laid_out}


PROVINCE = 'province=~"$province"'


def capacity() -> dict:
    panels = [
        stat("Transfer headroom", target("capmon_national_transfer_headroom"), steps=HEADROOM_STEPS,
             description="Free beds in regular, emergency, crisis-emergency and small-scale locations: where "
                         "people in the application centres can move on to. When it is gone, Ter Apel fills up."),
        stat("National headroom", target("capmon_national_headroom"), steps=HEADROOM_STEPS,
             description="Usable beds minus persons in reception, application-centre and amv beds included. "
                         "Orange below 2,000 and red below 500, as the default alert rules."),
        stat("Occupancy against the 96 % norm", target("capmon_national_occupancy / capmon_national_capacity"),
             unit="percentunit", decimals=1, steps=NORM_STEPS,
             description="COA plans at 96 %: above it there is no slack for transfers."),
        stat("Days until full", target("capmon_national_days_until_full"), unit="d", decimals=0,
             no_value="not shrinking",
             steps=[{"color": "red", "value": None}, {"color": "orange", "value": 7}, {"color": "green", "value": 21}],
             description="National headroom divided by the net inflow per day (moves into reception minus moves "
                         "out) of the last 28 days."),
        stat("Days until the transfer network is full", target("capmon_transfer_days_until_full"), unit="d",
             decimals=0, no_value="not filling",
             steps=[{"color": "red", "value": None}, {"color": "orange", "value": 7}, {"color": "green", "value": 21}],
             description="Transfer headroom divided by the net moves per day into regular, emergency, "
                         "crisis-emergency and small-scale locations over the last 28 days, at today's beds."),
        bars("Outlook: projected transfer headroom per scenario",
             target('capmon_outlook_headroom{scope="transfer"}', "{{scenario}} in {{horizon_days}} days",
                    instant=True),
             steps=HEADROOM_STEPS, w=12, h=10,
             description="Planned beds by the register's dates minus occupancy now plus the scenario's net per day "
                         "(MPP: expected inflow x bed share - moves out; trend: the last 28 days). Arithmetic, not "
                         "a forecast model. The days until full per scenario: "
                         "capmon_outlook_days_until_transfer_full (absent when not within the horizon)."),
        stat("Permit holders in reception", target("capmon_permit_holders_in_reception"),
             description="Persons with a residence permit still in a COA location, waiting for a home."),
        series("National occupancy and capacity", target("capmon_national_occupancy", "in reception"),
               target("capmon_national_capacity", "usable beds")),
        bars("Beds needed on 1 January per MPP scenario", target("capmon_capacity_need", "{{scenario}} needed"),
             target("capmon_capacity_short", "{{scenario}} short", ref="B"), w=12, h=8,
             description="Occupancy now + the scenario's remaining inflow x the share of new applicants who need a "
                         "bed - check-outs per day until 1 January; short = need - usable beds now. No 96 % "
                         "buffer in it."),
        series("Headroom per location type", target("capmon_location_type_headroom", "{{location_type}}"),
               target("capmon_national_transfer_headroom", "transfer (regular, emergency, crisis, small-scale)")),
        series("Against the agreed norm (Ter Apel: 2,000)",
               target("capmon_location_occupancy and on (location_id) capmon_location_norm",
                      "{{location_id}} in reception"),
               target("capmon_location_norm", "{{location_id}} norm"),
               description="Locations with an agreed maximum occupancy; above it people sleep in waiting rooms "
                           "or outside."),
        series("Headroom per province", target(f"capmon_province_headroom{{{PROVINCE}}}", "{{province}}")),
        bars("Occupancy per province (96 % norm)",
             target(f"capmon_province_occupancy{{{PROVINCE}}} / capmon_province_capacity{{{PROVINCE}}}",
                    "{{province}}"),
             unit="percentunit", decimals=1, steps=NORM_STEPS, min=0, max=1.1),
        bars("Days until full per province", target(f"capmon_province_days_until_full{{{PROVINCE}}}", "{{province}}"),
             unit="d", decimals=0, no_value="no province is filling up",
             steps=[{"color": "red", "value": None}, {"color": "orange", "value": 7}, {"color": "green", "value": 21}]),
        bars("Fullest locations",
             target(f"topk(15, capmon_location_occupancy{{{PROVINCE}}} / (capmon_location_capacity{{{PROVINCE}}} > 0))",
                    "{{location_id}} ({{location_type}}, {{province}})", instant=True),
             unit="percentunit", decimals=1, steps=NORM_STEPS, min=0, max=1.2, w=12, h=12),
        table("Active capmon alerts", target("capmon_alert_active == 1", table=True), w=12, h=12,
              description="Alerts capmon evaluates in event time (deploy/alerts/rules.yaml)."),
    ]
    return dashboard("capmon-capacity", "capmon · capacity overview",
                     "National and provincial headroom, occupancy against the 96 % norm, days until full.",
                     panels, variables(query_variable("province", "Province",
                                                      "label_values(capmon_province_headroom, province)")))


def inflow() -> dict:
    panels = [
        series("Inflow year to date against the MPP scenarios", target("capmon_inflow_ytd", "actual (MPP inflow)"),
               target("capmon_mpp_expected_ytd", "expected {{scenario}}"), w=16, h=9),
        stat("Deviation from each scenario", target("capmon_mpp_deviation_ratio", "{{scenario}}"),
             unit="percentunit", decimals=1, w=8, h=9,
             steps=[{"color": "green", "value": None}, {"color": "orange", "value": 0},
                    {"color": "red", "value": 0.1}]),
        series("Registrations in the last $window by application type",
               target('capmon_inflow_rolling_by_type{window="$window"}', "{{application_type}}")),
        series("MPP inflow in the last 7 and 28 days", target("capmon_inflow_rolling", "{{window}}")),
        stat("Unaccompanied minors this year", target("capmon_inflow_unaccompanied_minors_ytd"), w=6),
        series("Unaccompanied minors in the last $window",
               target('capmon_inflow_unaccompanied_minors_rolling{window="$window"}', "amv"), w=6, h=5),
        bars("Registrations this year by application type", target("capmon_inflow_ytd_by_type", "{{application_type}}"),
             h=5),
    ]
    return dashboard("capmon-inflow", "capmon · inflow against the MPP",
                     "Actual asylum inflow against the min/medio/max scenarios of the Meerjarige Productieprognose.",
                     panels, variables(custom_variable("window", "Window", ["7d", "28d"])))


def chain() -> dict:
    national = "capmon_first_instance_decisions_national"  # exact; the cells by nationality withhold small ones
    granted, decided = f'{national}{{outcome="granted"}}', f'{national}{{outcome=~"granted|rejected"}}'
    with_dublin = f'{national}{{outcome=~"granted|rejected|dublin"}}'
    by_nat = "capmon_first_instance_decisions"  # published cells only: groups of at least 10 per cell, and other
    panels = [
        bars("IND decisions by outcome", target("capmon_decisions_total", "{{outcome}}"), w=8, h=8),
        stat("Grant rate, first-instance asylum decisions",
             target(f"sum({granted}) / sum({decided})", "without Dublin"),
             target(f"sum({granted}) / sum({with_dublin})", "with Dublin", ref="B"),
             unit="percentunit", decimals=1, w=4, h=8,
             description="Granted / (granted + rejected), and with Dublin claims counted as decisions, of decisions "
                         "whose latest earlier registration asked for asylum (not nareis or resettlement)."),
        bars("Grant rate by nationality",
             target(f'sum by (nationality) ({by_nat}{{outcome="granted"}}) / '
                    f'sum by (nationality) ({by_nat}{{outcome=~"granted|rejected"}})', "{{nationality}}"),
             unit="percentunit", decimals=0, min=0, max=1, w=12, h=8),
        series("Permit holders in reception", target("capmon_permit_holders_in_reception", "permit holders"), w=12),
        bars("Awaiting an IND decision, by waiting time", target("capmon_ind_backlog", "{{waiting}}"), w=6, h=8,
             description="Persons whose latest first, repeat or relocation registration has no later decision."),
        stat("Past six months", target("capmon_ind_backlog_overdue"), w=3, h=8,
             steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1}],
             description="Waiting 183 days or more: past the normal six-month decision term."),
        stat("Past their decision term", target("capmon_ind_backlog_past_term"), w=3, h=8,
             steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1}],
             description="Waiting at least the decision term of their registration day (CAPMON_DECISION_TERMS; "
                         "fifteen months for 2022-03-27 to 2023-12-31): they may go to court for a decision, "
                         "and no penalty payment follows by itself."),
        series("Housed this half year against the taakstelling",
               target('capmon_outflow_half_year{reason="housed"}', "housed by municipalities"),
               target("capmon_taakstelling", "taakstelling"), w=12,
               description="Municipalities must house the taakstelling of permit holders each half year."),
        bars("Check-outs this half year by reason", target("capmon_outflow_half_year", "{{reason}}"), w=12, h=6),
        bars("Registrations by application type (all time)", target("capmon_registrations_total",
                                                                     "{{application_type}}"), w=12, h=6),
    ]
    return dashboard("capmon-chain", "capmon · the chain",
                     "Registration, IND decisions and outflow: what fills and empties reception.", panels, variables())


def health() -> dict:
    rate = "$__rate_interval"
    panels = [
        stat("Workers up", target('sum(up{job="capmon"})'), w=4,
             steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}]),
        stat("Figures reporter", target("sum(capmon_figures_reporter)"), w=4,
             steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}, {"color": "red", "value": 2}],
             description="Exactly one worker (the group leader) exports the figures."),
        stat("Workers reaching Kafka", target("sum(capmon_kafka_reachable) / count(capmon_kafka_reachable)"),
             unit="percentunit", w=4, steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
             description="Share of the workers whose metadata requests reach Kafka (below 100 %: figures frozen)."),
        stat("Unread input messages", target("sum(capmon_consumer_lag)"), w=4),
        stat("Newest event age", target("min(capmon_newest_event_age_seconds)"), unit="s", w=4,
             description="Wall clock minus the event time of the newest event (large for a replayed or "
                         "simulated feed)."),
        stat("Dead letters (1 h)", target("sum(increase(capmon_dead_letters_total[1h]))"), w=4,
             steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1}]),
        stat("Resident memory", target('max(process_resident_memory_bytes{job="capmon"})'), unit="bytes", w=4),
        series("Events processed per second", target(f"sum by (topic, result) (rate(capmon_events_total[{rate}]))",
                                                     "{{topic}} {{result}}"), unit="ops"),
        series("Consumer lag by topic", target("sum by (topic) (capmon_consumer_lag)", "{{topic}}")),
        series("Event delay (Kafka timestamp to processed)",
               target(f"histogram_quantile(0.5, sum by (le) (rate(capmon_event_delay_seconds_bucket[{rate}])))",
                      "p50"),
               target(f"histogram_quantile(0.99, sum by (le) (rate(capmon_event_delay_seconds_bucket[{rate}])))",
                      "p99"), unit="s"),
        series("Batch processing time",
               target(f"histogram_quantile(0.99, sum by (le) (rate(capmon_batch_processing_seconds_bucket[{rate}])))",
                      "p99"), unit="s"),
        series("Dead letters per second", target(f"sum by (topic) (rate(capmon_dead_letters_total[{rate}]))",
                                                 "{{topic}}"), unit="ops"),
        series("Alert deliveries",
               target("sum by (receiver) (capmon_alert_deliveries_total)", "delivered {{receiver}}"),
               target("sum by (receiver) (capmon_alert_delivery_retries_total)", "retried {{receiver}}"),
               target("sum by (receiver) (capmon_alert_delivery_failures_total)", "refused {{receiver}}")),
        series("CPU per worker", target(f'rate(process_cpu_seconds_total{{job="capmon"}}[{rate}])', "{{instance}}"),
               unit="percentunit"),
        series("Alert delivery latency p99",
               target(f"histogram_quantile(0.99, sum by (le, receiver) "
                      f"(rate(capmon_alert_delivery_latency_seconds_bucket[{rate}])))", "{{receiver}}"), unit="s"),
    ]
    return dashboard("capmon-health", "capmon · health", "Is capmon itself keeping up? Workers, lag, delay, dead "
                     "letters, alert deliveries.", panels, variables())


DASHBOARDS = {"capacity": capacity, "inflow": inflow, "chain": chain, "health": health}


def render_all() -> dict[str, str]:
    return {f"{name}.json": json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
            for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render_all().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
