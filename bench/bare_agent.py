"""Benchmark baseline: a bare Faust agent on capmon's input topics that only counts the events.

    .venv/bin/python -m bench.bare_agent --bootstrap 127.0.0.1:29092 --prefix bench1a2b3c. --total 131313 \
        --out rate.json

The same Faust (faust-streaming) as the worker, the worker's batches (`take_events` of at most 2,000 events
within 0.1 s), raw bytes, the earliest offsets of a new consumer group, and the same commit settings; but no
decoding, state, changelog or summaries. So a worker's events/s over this agent's, on the same topics in the same
run, is what capmon adds to Faust's stream machinery (bench/worker_throughput.py runs both). Writes
{"rate": events/s from the first event to the last, "first": seconds from start to the first event} and exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import uuid
from pathlib import Path

import faust

from streams.contract.topics import EVENT_TYPES, Topics

BATCH_MAX = 2_000  # as the worker's people agent (streams/runtime/pipeline.py)
BATCH_WITHIN_S = 0.1


def bare_app(bootstrap: str, prefix: str, total: int, out: Path) -> faust.App:
    """A Faust app with one agent on every input topic under `prefix`, which ends the process once it has
    counted `total` events (and written the rate to `out`)."""
    topics = Topics(prefix)
    app = faust.App(
        f"{prefix}bare-agent-{uuid.uuid4().hex[:6]}",  # a group of its own: every event from the earliest offset
        broker=[f"kafka://{server}" for server in bootstrap.split(",")],
        store="memory://",
        datadir=tempfile.mkdtemp(prefix="capmon-bare-agent-"),
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        worker_redirect_stdouts=False,
        logging_config=None,
    )
    inputs = app.topic(*(topics.for_event_type(t) for t in EVENT_TYPES), key_serializer="raw",
                       value_serializer="raw")
    started = time.perf_counter()
    first: list[float] = []
    seen = 0

    async def count(stream: faust.StreamT) -> None:
        nonlocal seen
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            if not first:
                first.append(time.perf_counter())
            seen += len(events)
            if seen >= total:
                done = time.perf_counter()
                out.write_text(json.dumps({"rate": seen / (done - first[0]), "first": first[0] - started}))
                logging.shutdown()
                os._exit(0)  # nothing to keep: no stop, no rebalance, no commit wait

    app.agent(inputs, name="count")(count)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--total", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    app = bare_app(args.bootstrap, args.prefix, args.total, args.out)
    faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
