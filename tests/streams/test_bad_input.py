"""No single event breaks the figures (CONTRACT.md sections 2 and 3): any JSON value in any field of any event
type is either a valid event, folded in, or a dead letter with a reason; every read-out (`/api/*`, the status
page, `/metrics`, alert measures) still renders afterwards, with no NaN or infinity in its JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from alerts.evaluate import Evaluator
from alerts.rules import load_rules
from readout.collectors import FiguresCollector
from readout.status_page import Thresholds
from readout.web import inflow_json, occupancy_json, status_html
from streams.contract.events import check_not_in_future, parse_event
from streams.contract.finite import dumps, finite
from streams.contract.records.figures import partition_key, register_key
from streams.contract.topics import Topics
from streams.ingest.processors import Incoming, PeopleProcessor, RegisterProcessor
from streams.state.view import FiguresView
from tests.support.examples import examples
from tests.support.helpers import REPO

T = Topics("")
AT = "2023-07-01T10:00:00+02:00"
BASE: dict[str, tuple[str, dict[str, Any]]] = {
    "registration": ("registrations", {"event_id": "r", "occurred_at": AT, "person_id": "p",
                                       "application_type": "first", "nationality": "SYR"}),
    "decision": ("decisions", {"event_id": "d", "occurred_at": AT, "person_id": "p", "outcome": "granted",
                               "nationality": "SYR"}),
    "placement": ("placements", {"event_id": "c", "occurred_at": AT, "person_id": "p", "action": "check_in",
                                 "location_id": "L1"}),
    "location": ("locations", {"event_id": "l", "occurred_at": AT, "location_id": "L1", "name": "AZC",
                               "province": "NL-UT", "location_type": "regular", "capacity": 10,
                               "status": "open", "norm": 8}),
    "forecast": ("forecasts", {"event_id": "f", "occurred_at": AT, "forecast_id": "MPP", "year": 2023,
                               "scenarios": {"min": 1, "medio": 2, "max": 3},
                               "monthly_profile": [1.0] * 12}),
}
FIELDS = sorted({f for _, body in BASE.values() for f in body} | {"scenarios.max", "monthly_profile.0",
                                                                   "unaccompanied_minor", "reason", "source"})
TIMES = st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2099-12-31T23:00:00Z",
                         "2101-01-01T00:00:00+14:00", "1999-12-31T23:59:59-12:00", "2023-02-30T10:00:00Z",
                         "2023-07-01T10:00:00.123456789+02:00", AT])
NUMBERS = st.one_of(st.integers(), st.sampled_from([10**400, -(10**400), 2**63, 1e308, -0.0]),
                    st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=80), TIMES),
                    lambda inner: st.lists(inner, max_size=13) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=4), max_leaves=20)
RULES = load_rules(REPO / "deploy" / "alerts" / "rules.yaml")
NOW_US = 1_700_000_000_000_000  # the message timestamp (2023-11-14): later events are "in the future"


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    target: Any = body
    for name in parents:
        target = target.setdefault(name, {}) if isinstance(target, dict) else {}
    if isinstance(target, dict):
        target[last] = value
    elif isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = value
    return body


def read_outs(view: FiguresView) -> None:
    """Every read-out of the figures, as the web server and the alert evaluation make them."""
    figures = view.figures()
    dumps(occupancy_json(figures))
    dumps(inflow_json(figures))
    status_html(figures, {"firing": [], "pending": []}, Thresholds())
    registry = CollectorRegistry()
    registry.register(FiguresCollector(view))
    generate_latest(registry)
    Evaluator(RULES).evaluate(figures, at_us=figures.now_us or NOW_US)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(BASE)), path=st.sampled_from(FIELDS), value=JSON,
       raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_any_value_in_any_field_is_an_event_or_a_dead_letter_and_never_breaks_a_read_out(kind, path, value, raw):
    topic, base = BASE[kind]
    body = json.dumps(with_value(base, path, value)).encode() if raw is None else raw
    message = Incoming(topic, 0, 0, b"k", body, NOW_US)
    if topic in ("locations", "forecasts"):
        result = RegisterProcessor(T).process([message])
    else:
        result = PeopleProcessor(T).process([message])
    accepted = result.counts[(topic, "accepted")]
    assert accepted + result.counts[(topic, "invalid")] == 1
    assert len(result.dead) == result.counts[(topic, "invalid")]
    for dead in result.dead:
        assert dead.reason and dead.source.value == body  # the original bytes, and why
    view = FiguresView()
    for event, raw_event in result.register:
        view.apply(register_key(event), raw_event)
    view.apply(register_key(parse_event(json.dumps(BASE["location"][1]).encode(), "location")),
               json.dumps(BASE["location"][1]).encode())
    processor = PeopleProcessor(T)
    if topic not in ("locations", "forecasts"):
        processor.process([message, Incoming("placements", 0, 1, b"q", json.dumps(
            {**BASE["placement"][1], "event_id": "c2", "person_id": "q"}).encode(), NOW_US)])
    for partition, state in processor.partitions.items():
        view.apply(partition_key(partition), state.summary())
    read_outs(view)


def test_an_event_more_than_the_allowed_skew_after_its_message_is_in_the_future():
    _, body = BASE["placement"]
    event = parse_event(json.dumps({**body, "occurred_at": "2023-11-15T22:13:20Z"}).encode(), "placement")
    check_not_in_future(event, NOW_US, 86_400)  # 2023-11-14T22:13:20Z + one day: just inside
    late = parse_event(json.dumps({**body, "occurred_at": "2023-11-15T22:13:20.000001Z"}).encode(), "placement")
    result = PeopleProcessor(T).process([Incoming("placements", 0, 0, b"p", json.dumps(
        {**body, "occurred_at": "2023-11-15T22:13:20.000001Z"}).encode(), NOW_US)])
    assert result.counts == {("placements", "invalid"): 1}
    assert result.dead[0].reason.startswith("occurred_at in the future")
    assert late.occurred_at  # it is a valid event on its own: only its message's time makes it invalid


def test_times_outside_2000_to_2100_are_out_of_range_whatever_their_offset():
    _, body = BASE["registration"]
    for stamp in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1999-12-31T23:59:59Z",
                  "2101-01-01T00:00:00Z"):
        result = PeopleProcessor(T).process([Incoming("registrations", 0, 0, b"p", json.dumps(
            {**body, "occurred_at": stamp}).encode())])
        assert result.dead and "out of range" in result.dead[0].reason, stamp


def test_json_out_has_no_nan_or_infinity():
    assert finite({"a": [math.nan, 1.5, (math.inf, -math.inf)], "b": {"c": 2}}) == {"a": [None, 1.5, [None, None]],
                                                                                 "b": {"c": 2}}
    assert dumps({"x": math.inf}) == '{"x": null}'
