"""`capmon replay`: routing rules, and the round trip through the real broker."""

from __future__ import annotations

import json
from collections import Counter

from streams.contract.topics import Topics
from streams.tools.replay import Record, Unroutable, route
from tests.support.helpers import read_topics, run_capmon


def test_route_uses_event_type_and_contract_key():
    line = b'{"event_type":"placement","event_id":"e","person_id":"p7","occurred_at":"2023-01-01T10:00:00Z"}'
    record = route(line, 1, 0.0)
    assert isinstance(record, Record)
    assert (record.event_type, record.key, record.value) == ("placement", b"p7", line)
    assert record.t == 1672567200.0
    forecast = route(b'{"event_type":"forecast","year":2023}', 2, 5.0)
    assert (forecast.key, forecast.t) == (b"2023", 5.0)
    location = route(b'{"event_type":"location","location_id":"ter-apel"}', 3, 0.0)
    assert location.key == b"ter-apel"
    keyless = route(b'{"event_type":"decision","outcome":"granted"}', 4, 0.0)
    assert isinstance(keyless, Record) and keyless.key is None  # invalid, but routable: the worker judges it


def test_unroutable_lines_say_why():
    assert route(b"{nope", 3, 0).reason.startswith("not JSON")
    assert route(b"[]", 4, 0) == Unroutable(4, "not a JSON object")
    assert route(b'{"person_id":"p"}', 5, 0).reason.startswith("no event_type")
    assert route(b'{"event_type":"birth"}', 6, 0).reason.startswith("unknown event_type")
    assert route(b"\xff\xfe", 7, 0).reason == "not UTF-8 text"


def test_replay_round_trip_through_kafka(tmp_path, settings, capmon_env):
    path = tmp_path / "feed.jsonl"
    made = run_capmon("simulate", "--days", "3", "--seed", "8", "--invalid", "0.01", "--duplicates", "0.01",
                      "--out", str(path))
    assert made.returncode == 0, made.stderr
    lines = [line for line in path.read_bytes().splitlines() if line]

    result = run_capmon("replay", str(path), env=capmon_env)
    assert result.returncode == 0, result.stderr
    assert f"{len(lines):,} events produced, 0 lines could not be routed" in result.stderr

    topics = Topics(settings.topic_prefix)
    names = [topics.for_event_type(t) for t in ("registration", "decision", "placement", "location", "forecast")]
    messages = read_topics(settings.kafka_bootstrap, names, expected=len(lines))
    assert len(messages) == len(lines)
    assert Counter(m.value for m in messages) == Counter(lines)  # the bytes as they were, each as often
    for m in messages:
        event = json.loads(m.value)
        assert m.topic == topics.for_event_type(event["event_type"])
        key_field = {"location": "location_id", "forecast": "year"}.get(event["event_type"], "person_id")
        expected_key = str(event[key_field]).encode() if key_field in event else None
        assert m.key == expected_key


def test_replay_reports_unroutable_lines_and_fails_unless_told(tmp_path, settings, capmon_env):
    path = tmp_path / "mixed.jsonl"
    good = ('{"event_type":"location","event_id":"l1","occurred_at":"2023-01-01T00:00:00Z","location_id":"x",'
            '"name":"X","province":"NL-UT","location_type":"regular","capacity":10,"status":"open"}')
    path.write_text(f"{good}\nnot json\n\n{{\"event_type\":\"birth\"}}\n")
    result = run_capmon("replay", str(path), env=capmon_env)
    assert result.returncode == 1
    assert f"{path}:2: cannot route: not JSON" in result.stderr
    assert f"{path}:4: cannot route: unknown event_type" in result.stderr
    assert "1 events produced, 2 lines could not be routed" in result.stderr
    assert "Traceback" not in result.stderr
    again = run_capmon("replay", str(path), "--skip-unroutable", env=capmon_env)
    assert again.returncode == 0, again.stderr
    messages = read_topics(settings.kafka_bootstrap, [Topics(settings.topic_prefix).locations], expected=2)
    assert [m.key for m in messages] == [b"x", b"x"]


def test_times_outside_2000_to_2100_do_not_pace_or_show_a_replay():
    for stamp in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"):
        line = json.dumps({"event_type": "placement", "occurred_at": stamp, "person_id": "p"}).encode()
        assert route(line, 1, last_t=1_672_531_200.0).t == 1_672_531_200.0  # the previous line's time
