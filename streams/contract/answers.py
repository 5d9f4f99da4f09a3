"""JSON Schemas of the HTTP answers (CONTRACT.md section 5), written with the events' schemas by `capmon schemas`.

Hand-written, not generated: the answers are built as plain JSON by readout/, and a test validates each answer
against its schema, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import Any

_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_NUMBERS = {"type": "array", "items": {"type": "number"}}
_SCOPES = {"type": "object", "additionalProperties": False, "required": ["national", "transfer"],
           "properties": {"national": _NUMBERS, "transfer": _NUMBERS}}
_SCENARIO = {
    "type": "object", "additionalProperties": False,
    "required": ["net_per_day", "occupancy", "headroom", "days_until_transfer_full", "transfer_full_on"],
    "properties": {
        "net_per_day": {**_SCOPES, "description": "net(d): the step added to occupancy on each day"},
        "occupancy": {**_SCOPES, "description": "projected occupancy at the end of each day"},
        "headroom": {**_SCOPES, "description": "planned capacity - projected occupancy on each day"},
        "days_until_transfer_full": {"type": ["integer", "null"], "minimum": 0,
                                     "description": "days from today to the first day with transfer headroom <= 0; "
                                                    "0: full now; null: not within the horizon"},
        "transfer_full_on": {"anyOf": [_DAY, {"type": "null"}]},
    },
}
_CHANGE = {
    "type": "object", "additionalProperties": False,
    "required": ["day", "location_id", "name", "location_type", "change", "beds", "transfer"],
    "properties": {"day": _DAY, "location_id": {"type": "string"}, "name": {"type": "string"},
                   "location_type": {"type": "string"}, "change": {"enum": ["opens", "closes"]},
                   "beds": {"type": "integer", "minimum": 0}, "transfer": {"type": "boolean"}},
}
OUTLOOK = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "capmon/api-outlook.json",
    "title": "GET /api/outlook",
    "description": "capmon outlook (CONTRACT.md section 3a): per scenario (min, medio, max, trend) and day from "
                   "tomorrow to today + horizon_days, planned capacity by the register's dates, projected "
                   "occupancy and headroom, days until the transfer network is full, and the changes ahead. "
                   "Arithmetic, not a forecast model. Lists in `planned_capacity` and `scenarios` are indexed "
                   "like `days`.",
    "type": "object", "additionalProperties": False,
    "required": ["now", "today", "horizon_days", "bed_share", "moves_out_per_day", "forecasts", "days",
                 "planned_capacity", "scenarios", "changes"],
    "properties": {
        "now": {"type": ["string", "null"], "description": "the watermark (null before any event)"},
        "today": {"anyOf": [_DAY, {"type": "null"}], "description": "the day the outlook starts after"},
        "horizon_days": {"type": "integer", "minimum": 1},
        "bed_share": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "moves_out_per_day": {"type": ["number", "null"]},
        "forecasts": {"type": "object", "additionalProperties": {"type": "string"},
                      "description": "year of a day in the horizon -> the MPP forecast its days take"},
        "days": {"type": "array", "items": _DAY},
        "planned_capacity": _SCOPES,
        "scenarios": {"type": "object", "additionalProperties": False,
                      "properties": {s: _SCENARIO for s in ("min", "medio", "max", "trend")}},
        "changes": {"type": "array", "items": _CHANGE},
    },
}

_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_RATIO = {"type": ["number", "null"]}
_NOW = {"type": ["string", "null"], "description": "the watermark: the latest event time read (null before any event)"}
_AREA_FIELDS = {
    "occupancy": _COUNT, "capacity": _COUNT,
    "headroom": {"type": "integer", "description": "capacity - occupancy (negative: over capacity)"},
    "occupancy_ratio": {**_RATIO, "description": "occupancy / capacity (null without capacity)"},
    "permit_holders_in_reception": _COUNT,
}
_AREA = {"type": "object", "additionalProperties": False, "required": list(_AREA_FIELDS),
         "properties": _AREA_FIELDS}
_SCOPE = {"type": "object", "additionalProperties": False, "required": list(_AREA_FIELDS),
          "properties": {**_AREA_FIELDS,
                         "net_inflow_per_day": {"type": "number", "description": "moves into the scope minus "
                                                "moves out of it, per day over the last 28 days"},
                         "days_until_full": {"type": ["number", "null"], "description": "headroom / net inflow "
                                             "per day at today's beds; null while the scope is not filling"}}}
_LOCATION = {"type": "object", "additionalProperties": False,
             "required": ["name", "province", "location_type", *_AREA_FIELDS],
             "properties": {**_AREA_FIELDS, "name": {"type": "string"}, "province": {"type": "string"},
                            "location_type": {"type": "string"},
                            "norm": {**_COUNT, "description": "the location's norm (only locations with one)"},
                            "over_norm": {"type": "integer", "description": "occupancy - norm"}}}
_NEED = {"type": "object", "additionalProperties": False,
         "required": ["target", "days_until_target", "forecast_id", "bed_share", "checkouts_per_day", "scenarios"],
         "properties": {"target": _DAY, "days_until_target": {"type": "integer"},
                        "forecast_id": {"type": ["string", "null"]}, "bed_share": _RATIO,
                        "checkouts_per_day": {"type": "number"},
                        "scenarios": {"type": "object", "additionalProperties": {
                            "type": "object", "additionalProperties": False,
                            "required": ["need", "short", "need_at_96_percent"],
                            "properties": {"need": {"type": "number"}, "short": {"type": "number"},
                                           "need_at_96_percent": {"type": "number"}}}}}}
OCCUPANCY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "capmon/api-occupancy.json",
    "title": "GET /api/occupancy",
    "description": "capmon occupancy (CONTRACT.md section 3): nationally, in the transfer network, per location "
                   "type, province and location, with headroom, permit holders still in reception, net inflow "
                   "and days until full, and the capacity need per MPP scenario.",
    "type": "object", "additionalProperties": False,
    "required": ["now", "national", "transfer", "location_types", "capacity_need", "provinces", "locations"],
    "properties": {
        "now": _NOW, "national": _SCOPE, "transfer": _SCOPE,
        "location_types": {"type": "object", "additionalProperties": _AREA},
        "capacity_need": {"anyOf": [_NEED, {"type": "null"}]},
        "provinces": {"type": "object", "additionalProperties": _SCOPE},
        "locations": {"type": "object", "additionalProperties": _LOCATION},
    },
}
_RATE = {"type": "object", "additionalProperties": False, "required": ["decisions", "without_dublin", "with_dublin"],
         "properties": {"decisions": _COUNT, "without_dublin": _RATIO, "with_dublin": _RATIO}}
_BY_SCENARIO = {"type": "object", "additionalProperties": {"type": ["number", "null"]}}
INFLOW = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "capmon/api-inflow.json",
    "title": "GET /api/inflow",
    "description": "capmon inflow and the chain (CONTRACT.md section 3): MPP inflow this year and in rolling "
                   "windows against the MPP scenarios, decisions and grant rates, outflow per half year against "
                   "the taakstelling, MPP inflow per day, and the IND backlog.",
    "type": "object", "additionalProperties": False,
    "required": ["now", "ytd", "ytd_by_type", "ytd_unaccompanied_minors", "rolling", "forecast_id", "expected_ytd",
                 "deviation", "rolling_by_type", "rolling_unaccompanied_minors", "decisions", "grant_rate",
                 "grant_rates", "outflow", "daily", "ind_backlog"],
    "properties": {
        "now": _NOW, "ytd": _COUNT, "ytd_by_type": _COUNTS, "ytd_unaccompanied_minors": _COUNT,
        "rolling": {**_COUNTS, "description": "window (7d, 28d) -> MPP inflow"},
        "forecast_id": {"type": ["string", "null"]},
        "expected_ytd": _BY_SCENARIO, "deviation": _BY_SCENARIO,
        "rolling_by_type": {"type": "object", "additionalProperties": _COUNTS},
        "rolling_unaccompanied_minors": _COUNTS,
        "decisions": {**_COUNTS, "description": "outcome -> decisions"},
        "grant_rate": {"type": "object", "additionalProperties": {"type": "number"},
                       "description": "nationality group -> granted / (granted + rejected)"},
        "grant_rates": {"type": "object", "additionalProperties": False,
                        "required": ["basis", "overall", "by_nationality"],
                        "properties": {"basis": {"type": "string"}, "overall": _RATE,
                                       "by_nationality": {"type": "object", "additionalProperties": _RATE}}},
        "outflow": {"type": "object", "description": "half year (2023-H1) -> check-out reason -> persons",
                    "additionalProperties": {
                        "type": "object", "required": ["taakstelling", "housed_share_of_taakstelling"],
                        "properties": {"taakstelling": {"type": ["integer", "null"]},
                                       "housed_share_of_taakstelling": _RATIO},
                        "additionalProperties": _COUNT}},
        "daily": {**_COUNTS, "description": "day -> MPP inflow"},
        "taakstelling": {"type": "object", "additionalProperties": False,
                         "required": ["half_year", "target", "housed", "share"],
                         "properties": {"half_year": {"type": "string"}, "target": {"type": ["integer", "null"]},
                                        "housed": _COUNT, "share": _RATIO}},
        "ind_backlog": {"type": "object", "additionalProperties": False,
                        "required": ["total", "by_waiting", "overdue", "past_term"],
                        "properties": {"total": _COUNT, "by_waiting": _COUNTS, "overdue": _COUNT,
                                       "past_term": _COUNT}},
    },
}
_STAMP = {"type": ["string", "null"]}
_ALERT = {
    "type": "object", "additionalProperties": False,
    "required": ["alert_id", "rule", "scope", "severity", "measure", "status", "value", "current", "threshold",
                 "since", "fired_at", "last_change", "unconfirmed_deliveries"],
    "properties": {
        "alert_id": {"type": "string"}, "rule": {"type": "string"}, "scope": {"type": "string"},
        "severity": {"enum": ["critical", "warning", "info"]}, "measure": {"type": "string"},
        "status": {"enum": ["inactive", "pending", "firing"]},
        "value": {"type": ["number", "null"], "description": "the measure at the alert's last change"},
        "current": {"type": ["number", "null"], "description": "the measure now"},
        "threshold": {"type": "number"}, "since": _STAMP, "fired_at": _STAMP,
        "last_change": {"type": "object", "additionalProperties": False, "required": ["kind", "at", "escalated_from"],
                        "properties": {"kind": {"type": "string"}, "at": _STAMP,
                                       "escalated_from": {"type": ["string", "null"]}}},
        "unconfirmed_deliveries": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["kind", "receivers"],
            "properties": {"kind": {"type": "string"}, "receivers": {"type": "array", "items": {"type": "string"}}}}},
    },
}
ALERTS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "capmon/api-alerts.json",
    "title": "GET /api/alerts",
    "description": "capmon alerts (CONTRACT.md section 7): the firing and pending ones, and the latest change of "
                   "every alert known.",
    "type": "object", "additionalProperties": False, "required": ["active", "pending", "all"],
    "properties": {"active": {"type": "array", "items": _ALERT}, "pending": {"type": "array", "items": _ALERT},
                   "all": {"type": "array", "items": _ALERT}},
}

ANSWERS: dict[str, dict[str, Any]] = {"api-occupancy.json": OCCUPANCY, "api-inflow.json": INFLOW,
                                      "api-alerts.json": ALERTS, "api-outlook.json": OUTLOOK}
