"""Every rule of the event contract (CONTRACT.md section 2), with good and bad examples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from streams.contract.events import Decision, Forecast, Location, Placement, Registration, parse_event
from streams.errors import InvalidEvent

BASE = {"event_id": "e-1", "occurred_at": "2023-03-14T09:30:00+01:00"}
GOOD = {
    "registration": {**BASE, "person_id": "p1", "application_type": "first", "nationality": "SYR"},
    "decision": {**BASE, "person_id": "p1", "outcome": "granted", "nationality": "YEM", "track": "4"},
    "placement": {**BASE, "person_id": "p1", "action": "check_out", "location_id": "ter-apel", "reason": "housed"},
    "location": {**BASE, "location_id": "ter-apel", "name": "Ter Apel", "province": "NL-GR",
                 "location_type": "application_centre", "capacity": 2000, "status": "open"},
    "forecast": {**BASE, "forecast_id": "MPP-2023-spring", "year": 2023,
                 "scenarios": {"min": 49000, "medio": 67000, "max": 77000}},
}


def raw(event: dict) -> bytes:
    return json.dumps(event).encode()


def invalid(event_type: str | None, event: dict | bytes) -> str:
    with pytest.raises(InvalidEvent) as info:
        parse_event(event if isinstance(event, bytes) else raw(event), event_type)
    return info.value.reason


@pytest.mark.parametrize("event_type", list(GOOD))
def test_good_events_parse_from_bytes_by_topic_and_by_their_own_type(event_type):
    from_topic = parse_event(raw(GOOD[event_type]), event_type)
    from_file = parse_event(raw({**GOOD[event_type], "event_type": event_type}))
    assert type(from_topic) is type(from_file)
    assert from_topic.event_id == "e-1"
    assert from_topic.occurred_at == datetime(2023, 3, 14, 8, 30, tzinfo=UTC)


def test_defaults_and_types():
    reg = parse_event(raw(GOOD["registration"]), "registration")
    assert isinstance(reg, Registration)
    assert reg.unaccompanied_minor is False and reg.schema_version == 1 and reg.registration_centre is None
    assert reg.counts_for_mpp
    relocation = parse_event(raw({**GOOD["registration"], "application_type": "relocation"}), "registration")
    assert not relocation.counts_for_mpp
    assert isinstance(parse_event(raw(GOOD["decision"]), "decision"), Decision)
    assert isinstance(parse_event(raw(GOOD["placement"]), "placement"), Placement)
    assert isinstance(parse_event(raw(GOOD["location"]), "location"), Location)
    assert isinstance(parse_event(raw(GOOD["forecast"]), "forecast"), Forecast)


def test_unknown_fields_are_ignored():
    event = parse_event(raw({**GOOD["registration"], "shoe_size": 44, "nested": {"a": 1}}), "registration")
    assert not hasattr(event, "shoe_size")


@pytest.mark.parametrize(
    "stamp, offset_minutes",
    [("2023-03-14T09:30:00Z", 0), ("2023-03-14T09:30:00.123+01:00", 60), ("2023-03-14t09:30:00z", 0),
     ("2023-03-14 09:30:00-05:30", -330), ("2023-03-14T09:30:00.123456789+02:00", 120)],
)
def test_rfc3339_timestamps_with_offsets(stamp, offset_minutes):
    event = parse_event(raw({**GOOD["decision"], "occurred_at": stamp}), "decision")
    assert event.occurred_at.utcoffset() == timedelta(minutes=offset_minutes)


@pytest.mark.parametrize(
    "stamp", ["2023-03-14T09:30:00", "2023-03-14", "14-03-2023T09:30:00Z", "2023-02-30T09:30:00Z", "", 1678782600,
              None, "2023-03-14T25:00:00Z"],
)
def test_timestamps_without_offset_or_not_rfc3339_are_invalid(stamp):
    assert invalid("decision", {**GOOD["decision"], "occurred_at": stamp}).startswith("occurred_at:")


@pytest.mark.parametrize("event_type", list(GOOD))
def test_every_required_field_is_required(event_type):
    optional = {"schema_version", "source", "event_type", "unaccompanied_minor", "registration_centre", "track",
                "reason", "monthly_profile"}
    for field in GOOD[event_type]:
        if field in optional:
            continue
        event = {k: v for k, v in GOOD[event_type].items() if k != field}
        assert invalid(event_type, event) == f"{field}: Field required"


@pytest.mark.parametrize(
    "event_type, field, value",
    [
        ("registration", "application_type", "asylum"),
        ("registration", "nationality", "syr"),
        ("registration", "nationality", "SY"),
        ("registration", "unaccompanied_minor", "yes"),
        ("registration", "unaccompanied_minor", 1),
        ("registration", "person_id", ""),
        ("registration", "person_id", "x" * 65),
        ("registration", "person_id", 12345),
        ("decision", "outcome", "approved"),
        ("placement", "action", "move"),
        ("placement", "reason", "evicted"),
        ("location", "province", "NL-XX"),
        ("location", "location_type", "hotel"),
        ("location", "capacity", -1),
        ("location", "capacity", "120"),
        ("location", "capacity", 12.5),
        ("location", "status", "full"),
        ("forecast", "year", "2023"),
        ("forecast", "scenarios", {"min": 1, "medio": 2}),
        ("forecast", "scenarios", {"min": 3, "medio": 2, "max": 1}),
        ("forecast", "monthly_profile", [1] * 11),
        ("forecast", "monthly_profile", [0] * 12),
        ("forecast", "monthly_profile", [1] * 11 + [-1]),
        ("registration", "event_id", ""),
        ("registration", "event_id", "x" * 129),
        ("registration", "schema_version", "1"),
        ("registration", "schema_version", 0),
    ],
)
def test_bad_values_are_invalid_and_the_reason_names_the_field(event_type, field, value):
    reason = invalid(event_type, {**GOOD[event_type], field: value})
    assert reason.startswith(field)


def test_the_reason_never_contains_the_offending_value():
    secret = "PERSON-ID-42"
    reason = invalid("registration", {**GOOD["registration"], "person_id": secret * 10, "nationality": secret})
    assert secret not in reason
    assert "person_id" in reason and "nationality" in reason


def test_event_type_must_match_the_topic():
    assert invalid("decision", {**GOOD["registration"], "event_type": "registration"}).startswith("event_type:")


@pytest.mark.parametrize(
    "payload, reason",
    [(b"not json", "event: not JSON"), (b"\xff\xfe{}", "event: not JSON"), (b"[1, 2]", "event: not a JSON object"),
     (b'{"event_id": "e"', "event: not JSON"), (b"", "event: not JSON")],
)
def test_bytes_that_are_not_a_json_object(payload, reason):
    assert invalid("registration", payload).startswith(reason)


@pytest.mark.parametrize(
    "payload, reason",
    [(b"not json", "not JSON"), (b"\xff\xfe{}", "not UTF-8"), (b"[1]", "not a JSON object"),
     (raw(GOOD["registration"]), "event_type: Field required"),
     (raw({**GOOD["registration"], "event_type": "birth"}), "event_type: Input should be one of")],
)
def test_jsonl_lines_need_a_known_event_type(payload, reason):
    assert invalid(None, payload).startswith(reason)


def test_a_forecast_profile_may_be_given():
    profile = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2.5]
    event = parse_event(raw({**GOOD["forecast"], "monthly_profile": profile}), "forecast")
    assert event.monthly_profile == [float(x) for x in profile]
    assert event.scenarios.medio == 67000
