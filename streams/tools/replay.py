"""`capmon replay FILE.jsonl`: route each line to the topic of its `event_type`, keyed per the contract.

The line's bytes are sent as they are: validating is the worker's job (an invalid event must reach
`dead-letters` with its reason). Only lines that cannot be routed at all are refused here, with their number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from streams.contract.events import EARLIEST, END
from streams.contract.topics import EVENT_TYPES, PUBLISH_MAX_BYTES, event_key
from streams.tools.simulator.faults import Record

LINE_MAX_BYTES = PUBLISH_MAX_BYTES - 4_096  # room for the key and the record's framing


@dataclass(frozen=True)
class Unroutable:
    line_no: int
    reason: str


def route(line: bytes, line_no: int, last_t: float) -> Record | Unroutable:
    """The record for one JSONL line; its time is `occurred_at` when readable (for pacing), else `last_t`."""
    if len(line) > LINE_MAX_BYTES:
        return Unroutable(line_no, f"too large for Kafka ({len(line):,} bytes; at most {LINE_MAX_BYTES:,})")
    try:
        event = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return Unroutable(line_no, "not UTF-8 text")
    except RecursionError:
        return Unroutable(line_no, "not JSON (nested too deeply)")
    except ValueError as exc:
        return Unroutable(line_no, f"not JSON ({exc.msg})")  # type: ignore[attr-defined]
    if not isinstance(event, dict):
        return Unroutable(line_no, "not a JSON object")
    event_type = event.get("event_type")
    if event_type not in EVENT_TYPES:
        what = "no event_type" if event_type is None else "unknown event_type"
        return Unroutable(line_no, f"{what} (expected one of {', '.join(EVENT_TYPES)})")
    return Record(_event_time(event, last_t), event_type, event_key(event), line)


def _event_time(event: dict, fallback: float) -> float:
    """For pacing and progress only: a time outside 2000-2100 (invalid anyway, the worker dead-letters it) must
    not stall a paced replay or break the progress line."""
    try:
        t = datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError, OverflowError, TypeError):
        return fallback
    return t if EARLIEST.timestamp() <= t < END.timestamp() else fallback


def read_lines(path: Path) -> Iterator[Record | Unroutable]:
    """Every non-blank line of the file, routed, in file order."""
    last_t = 0.0
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            item = route(line, line_no, last_t)
            if isinstance(item, Record):
                last_t = item.t
            yield item


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())
