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

ANSWERS: dict[str, dict[str, Any]] = {"api-outlook.json": OUTLOOK}
