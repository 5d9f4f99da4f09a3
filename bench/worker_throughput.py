"""Benchmark: one capmon worker on a simulated year already in Kafka, against a plain aiokafka baseline.

    make bench            (or: .venv/bin/python -m bench.worker_throughput [--days 365])

Measures, on the same broker in the same run (this machine is shared and noisy):
- baseline: a plain aiokafka consumer (getmany) that only parses the same JSON, events/s;
- capmon: one worker from start until every input event is counted, events/s over the processing part;
- restart after kill -9 with a year of state: seconds until the worker processes a new event again;
- resident memory of the worker with a year of state; /metrics response time and series count.
Writes the figures to BENCHMARKS.md (with the machine and the date). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.common import REPO, bench_kafka
from streams.topics import EVENT_TYPES
from tests.worker_harness import WorkerProcess


def sh(*args: str, env: dict | None = None) -> None:
    subprocess.run(args, check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)


def series_by_family(text: str) -> list[tuple[str, int]]:
    from prometheus_client.parser import text_string_to_metric_families

    counts = {family.name: len(family.samples) for family in text_string_to_metric_families(text)}
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def partitions_of(bootstrap: str, topics: list[str]) -> list[tuple[str, int]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        return [(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    finally:
        consumer.close()


async def baseline(bootstrap: str, topics: list[str], total: int) -> float:
    """A plain aiokafka consumer that parses every value as JSON: the ceiling for this broker and machine."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t, p in partitions_of(bootstrap, topics)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        started = time.perf_counter()
        while seen < total:
            for messages in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for message in messages:
                    json.loads(message.value)
                seen += sum(1 for _ in messages)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def processed(worker: WorkerProcess) -> float:
    total = 0.0
    for line in worker.text("/metrics").splitlines():
        if line.startswith("capmon_events_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--alerts", action="store_true",
                        help="run the worker with the default alert rules (its leader then also evaluates them)")
    args = parser.parse_args()

    with bench_kafka("bench") as setup:
        bootstrap, tmp, env = setup.bootstrap, setup.tmp, dict(setup.env)
        if not args.alerts:
            (tmp / "no-rules.yaml").write_text("rules: []\n")
            env["CAPMON_ALERT_RULES"] = str(tmp / "no-rules.yaml")
        inputs = [setup.topics.for_event_type(t) for t in EVENT_TYPES]
        print(f"producing {args.days} simulated days to {bootstrap} ...", flush=True)
        t0 = time.perf_counter()
        sh(sys.executable, "-m", "capmon", "simulate", "--days", str(args.days), env=env)
        produce_s = time.perf_counter() - t0
        from tests.helpers import read_all
        total = len(read_all(bootstrap, inputs, timeout=300))
        print(f"{total:,} events in Kafka ({produce_s:.0f} s to produce)", flush=True)

        base_rates = [asyncio.run(baseline(bootstrap, inputs, total)) for _ in range(2)]

        worker = WorkerProcess(env, tmp, "bench")
        t_start = time.perf_counter()
        worker.start(wait_healthy=False)
        while True:
            try:
                if worker.get_status("/health") == 200 and processed(worker) > 0:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        t_first = time.perf_counter()
        while processed(worker) < total:
            time.sleep(0.1)
        t_done = time.perf_counter()
        rate = total / (t_done - t_first)
        memory = rss_mb(worker.proc.pid)  # type: ignore[union-attr]

        timings = []
        for _ in range(20):
            t = time.perf_counter()
            text = worker.text("/metrics")
            timings.append(time.perf_counter() - t)
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        families = series_by_family(text)

        time.sleep(3)  # let a commit happen, as in a real run
        worker.kill9()
        restarted = WorkerProcess(env, tmp, "bench")  # same state directory: a restart in place
        t_kill = time.perf_counter()
        restarted.start(wait_healthy=False)
        marker = tmp / "marker.jsonl"
        marker.write_text(json.dumps({
            "event_type": "registration", "event_id": f"marker-{uuid.uuid4().hex}", "person_id": "bench-marker",
            "occurred_at": "2023-12-31T23:59:59+01:00", "application_type": "first", "nationality": "SYR"}) + "\n")
        sh(sys.executable, "-m", "capmon", "replay", str(marker), env=env)
        while True:
            try:
                if processed(restarted) >= 1:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        restart_s = time.perf_counter() - t_kill
        restarted.stop()

    base = statistics.median(base_rates)
    mode = "with the default alert rules" if args.alerts else "stream processing only: no alert rules"
    report = f"""# Benchmarks

Run by `make bench` (`bench/worker_throughput.py`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.
Machine: {machine()}. Broker: the local single-node Kafka ({bootstrap}), 4 partitions per topic.

## One worker, a simulated year already in Kafka ({mode})

| figure | value | target |
|---|---|---|
| events in Kafka ({args.days} simulated days, no faults) | {total:,} | |
| baseline: plain aiokafka `getmany` + `json.loads` | {base:,.0f} events/s | |
| capmon worker (first event to last, one process) | {rate:,.0f} events/s | ≥ 20,000 |
| capmon / baseline | {rate / base:.2f} | ≥ 0.3 |
| worker start to first event processed | {t_first - t_start:.1f} s | |
| restart after `kill -9` with a year of state, to a new event processed | {restart_s:.1f} s | < 15 s |
| resident memory with a year of state | {memory:.0f} MB | < 500 MB |
| `/metrics` with a year of state, median of 20 | {statistics.median(timings) * 1000:.1f} ms | < 100 ms |
| `/metrics` series | {series:,} | bounded |

Series per metric family on that scrape (largest first; locations, provinces, topics × partitions, histogram
buckets and the contract's enums bound them, nothing grows with events or persons):
{", ".join(f"`{name}` {n}" for name, n in families[:14])}; {len(families) - 14} more families with
{min((n for _, n in families[14:]), default=0)}-{max((n for _, n in families[14:]), default=0)} series each.

Notes: the restart time includes the consumer-group session timeout of the killed member
(`CAPMON_SESSION_TIMEOUT_S`, default 10 s) and the recovery of the person table from its changelog
(RocksDB: only what was written since the last persisted offset).

## Where the time goes

Profiled with py-spy (`py-spy record -r 50 -d 15` on a worker processing 200 simulated days; the shares are
of all samples of the worker process, 2026-11-27). capmon's own work is small:

| part | share |
|---|---|
| Faust's stream machinery: fetcher, conductor, `take_events` buffering and acking, event-loop waits | ~55 % |
| writing the person table: RocksDB put + changelog send per changed person (aiokafka accumulator) | ~12 % |
| decoding (pydantic, strict, from bytes) and folding (`PeopleProcessor.process`) | ~7 % |
| idle (waiting on the broker, which shares the 2 cores) | ~18 % |

Without Kafka, `PeopleProcessor.process` alone folds ~47,000 events/s on this machine (21 µs per event),
~33,000/s with the person encoding. The 20,000 events/s target is above what a Faust agent does on this machine
with no work at all (about 13,000-14,500 events/s for a bare agent or `take()`), so it cannot be met while every
event passes through a Faust stream; 0.3 of the raw aiokafka baseline (~80,000/s) even less. Ways to go further,
not taken: several workers (the partitions are shared; on 2 cores the broker competes), or reading the person
topics with aiokafka `getmany` inside the Faust app (Faust would keep the table, web and group management).

## The cost of alerting on the leader

`--alerts` runs the same measurement with the default alert rules. The leader worker then also runs the live
alert evaluator (alerts/live.py), which reads all input topics itself and evaluates the rules every 5 minutes of
event time; catching up on a year of history in the same Python process. Measured on 2026-11-27 with
`--alerts`: 1,899 events/s, 667 MB resident, restart 11.3 s, `/metrics` 3.1 ms (compare the table above).
Once caught up, a live feed costs little (alert latency below); a year-long backlog costs about 70 s of the
leader's CPU and ~250 MB for its own copy of the chain state. Moving the evaluator to its own process is the
next step if that matters.
"""
    previous = args.out.read_text() if args.out.exists() else ""
    kept = previous[previous.index("\n## Alert latency"):] if "\n## Alert latency" in previous else ""
    args.out.write_text(report.rstrip() + "\n" + kept)  # keep bench/alert_latency.py's section
    print(report)


if __name__ == "__main__":
    main()
