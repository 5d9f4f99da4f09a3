"""Fault injection for tests: duplicates, disorder (late events) and contract-breaking events.

Injected invalid events are extra events (the valid stream is untouched), so the ground truth of a faulty feed
is the ground truth of its valid events. All draws come from a seeded generator: same seed, same bytes.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from streams.contract.topics import KEY_FIELD, event_key

REQUIRED = {
    "registration": ("person_id", "application_type", "nationality"),
    "decision": ("person_id", "outcome", "nationality"),
    "placement": ("person_id", "action", "location_id"),
    "location": ("location_id", "province", "location_type", "capacity", "status"),
    "forecast": ("forecast_id", "year", "scenarios"),
}
ENUM_FIELD = {
    "registration": "application_type",
    "decision": "outcome",
    "placement": "action",
    "location": "location_type",
    "forecast": "scenarios",
}


@dataclass(frozen=True)
class Record:
    """One message to produce: event time, the topic's event type, Kafka key and value bytes."""

    t: float
    event_type: str
    key: bytes | None
    value: bytes


def encode(events: Iterable[tuple[float, dict]]) -> Iterator[Record]:
    """Serialise events compactly and deterministically (field order as built, no spaces)."""
    for t, event in events:
        value = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        yield Record(t, event["event_type"], event_key(event), value)


def _break(event: dict, rng: random.Random, raw_bytes: bool) -> dict | bytes:
    """A copy of `event` that breaks the contract in one of several ways (a new event id unless that breaks)."""
    kind = event["event_type"]
    bad = dict(event, event_id=event["event_id"] + "-bad")
    ways = ["missing", "enum", "no_offset", "epoch", "empty_id", "wrong_type", "too_long", "year_9999", "year_1",
            "huge"]
    if raw_bytes:
        ways += ["not_json", "not_object", "not_utf8"]
    way = rng.choice(ways)
    if way == "missing":
        del bad[rng.choice(REQUIRED[kind])]
    elif way == "enum":
        bad[ENUM_FIELD[kind]] = "unknown"
    elif way == "no_offset":
        bad["occurred_at"] = event["occurred_at"][:19]
    elif way == "epoch":
        bad["occurred_at"] = 1_680_000_000
    elif way == "empty_id":
        bad["event_id"] = ""
    elif way == "wrong_type":
        bad["schema_version"] = "one"
    elif way == "year_9999":
        bad["occurred_at"] = "9999-12-31T23:59:59-01:00"
    elif way == "year_1":
        bad["occurred_at"] = "0001-01-01T00:00:00+01:00"
    elif way == "huge":
        bad["capacity" if kind == "location" else "schema_version"] = 10**400
    elif way == "too_long":
        field = KEY_FIELD[kind] if kind != "forecast" else "forecast_id"
        bad[field] = "x" * 200
    else:
        text = json.dumps(bad, separators=(",", ":")).encode()
        if way == "not_json":
            return text[: len(text) // 2]
        if way == "not_object":
            return b"[" + text + b"]"
        return b"\xff\xfe" + text
    return bad


def inject_invalid(records: Iterable[Record], rate: float, rng: random.Random, raw_bytes: bool) -> Iterator[Record]:
    """After each record, with probability `rate`, add a broken copy. `raw_bytes` allows non-JSON values
    (only for Kafka: a JSONL file cannot carry them to a topic)."""
    for record in records:
        yield record
        if rate > 0 and rng.random() < rate:
            bad = _break(json.loads(record.value), rng, raw_bytes)
            if isinstance(bad, bytes):
                yield Record(record.t, record.event_type, record.key, bad)
            else:
                value = json.dumps(bad, separators=(",", ":")).encode()
                yield Record(record.t, record.event_type, event_key(bad), value)


def reorder(
    records: Iterable[Record], duplicates: float, disorder: float, rng: random.Random
) -> Iterator[Record]:
    """Emit records shuffled within `disorder` seconds of event time, plus exact copies of a `duplicates`
    share of them, each copy arriving up to max(disorder, 10 min) later than its event time."""
    if duplicates <= 0 and disorder <= 0:
        yield from records
        return
    heap: list[tuple[float, int, Record]] = []
    seq = 0
    copy_window = max(disorder, 600.0)
    for record in records:
        seq += 1
        heapq.heappush(heap, (record.t + rng.uniform(0, disorder), seq, record))
        if duplicates > 0 and rng.random() < duplicates:
            seq += 1
            heapq.heappush(heap, (record.t + rng.uniform(0, copy_window), seq, record))
        while heap and heap[0][0] <= record.t:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]
