"""Helpers for tests: run the real CLI, read a topic back (polling for a condition: capmon.harness.wait_until)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer

REPO = Path(__file__).resolve().parents[2]


def run_capmon(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real command line (`python -m capmon`) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "capmon", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO
    )


def write_jsonl(path: Path, events: list[dict]) -> Path:
    """Events as a JSONL file, one per line (what `capmon replay` and `capmon backtest` read)."""
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def replay(events: list[dict], path: Path, env: dict[str, str]) -> None:
    """Produce `events` with the real `capmon replay` (through a JSONL file at `path`), unpaced."""
    done = run_capmon("replay", str(write_jsonl(path, events)), env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def start_capmon(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start the real command line in the background, its output going to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "capmon", *args], env=env, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)


def read_topics(bootstrap: str, topics: list[str], expected: int, timeout: float = 60.0) -> list:
    """Every message of `topics` from the beginning, polling until `expected` arrived (or failing)."""
    consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=1000)
    messages: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=10_000).values():
                messages.extend(batch)
    finally:
        consumer.close()
    if len(messages) < expected:
        pytest.fail(f"read {len(messages)} of {expected} messages from {topics} in {timeout:.0f} s")
    return messages


def read_all(bootstrap: str, topics: list[str], timeout: float = 60.0) -> list:
    """Every message currently in `topics` (up to their end offsets when called)."""
    from kafka import TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        messages: list = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                pytest.fail(f"could not read {topics} to their end in {timeout:.0f} s")
            for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
                messages.extend(batch)
        return messages
    finally:
        consumer.close()
