"""Benchmark: one capmon worker on a simulated year already in Kafka, against a bare Faust agent and a plain
aiokafka consumer on the same topics.

    make bench            (or: .venv/bin/python -m bench.worker_throughput [--days 365])

Measures, on the same broker in the same run (this machine is shared and noisy):
- baseline: a plain aiokafka consumer (getmany) that only parses the same JSON, events/s;
- a bare Faust agent (bench/bare_agent.py) that only counts the same events, events/s: Faust's machinery alone;
- capmon: one worker from start until every input event is counted, events/s over the processing part,
  without alert rules and with the default rules (each on its own topics);
- restart after kill -9 with a year of state: seconds until the worker processes a new event again;
- resident memory of the worker with a year of state; /metrics response time and series count.
Writes the figures to BENCHMARKS.md (with the machine and the date). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.common import REPO, bench_kafka, machine, messages_in, replace_section, with_prefix
from capmon.harness import WorkerProcess, wait_until
from streams.contract.topics import EVENT_TYPES


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


def bare_agent(bootstrap: str, prefix: str, total: int, tmp: Path, name: str) -> float:
    """Events/s of a bare Faust agent on the topics under `prefix` (bench/bare_agent.py, its own process)."""
    out = tmp / f"bare-agent-{name}.json"
    with open(tmp / f"bare-agent-{name}.log", "ab") as log:
        subprocess.run([sys.executable, "-m", "bench.bare_agent", "--bootstrap", bootstrap, "--prefix", prefix,
                        "--total", str(total), "--out", str(out)], check=True, cwd=REPO, stdout=log,
                       stderr=subprocess.STDOUT, timeout=3600)
    return json.loads(out.read_text())["rate"]


def measure(worker: WorkerProcess, env: dict[str, str], tmp: Path, name: str, total: int) -> dict[str, float]:
    """One worker from start until every input event is counted; then /metrics, memory, and a restart in place."""
    t_start = time.perf_counter()
    worker.start(wait_healthy=False)
    wait_until(lambda: worker.healthy() and worker.metric("capmon_events_total") > 0, 300, "the first event")
    t_first = time.perf_counter()
    wait_until(lambda: worker.metric("capmon_events_total") >= total, 3600, "every event", interval=0.1)
    t_done = time.perf_counter()
    memory = worker.rss_mb()
    timings = []
    for _ in range(20):
        t = time.perf_counter()
        text = worker.text("/metrics")
        timings.append(time.perf_counter() - t)
    time.sleep(3)  # let a commit happen, as in a real run
    worker.kill9()
    restarted = WorkerProcess(env, tmp, name)  # same state directory: a restart in place
    t_kill = time.perf_counter()
    restarted.start(wait_healthy=False)
    marker = tmp / f"marker-{name}.jsonl"
    marker.write_text(json.dumps({
        "event_type": "registration", "event_id": f"marker-{uuid.uuid4().hex}", "person_id": "bench-marker",
        "occurred_at": "2023-12-31T23:59:59+01:00", "application_type": "first", "nationality": "SYR"}) + "\n")
    sh(sys.executable, "-m", "capmon", "replay", str(marker), env=env)
    wait_until(lambda: restarted.metric("capmon_events_total") >= 1, 300, "the restarted worker's first event")
    restart_s = time.perf_counter() - t_kill
    restarted.stop()
    return {"rate": total / (t_done - t_first), "first": t_first - t_start, "memory": memory, "restart": restart_s,
            "metrics_ms": statistics.median(timings) * 1000,
            "series": sum(1 for line in text.splitlines() if line and not line.startswith("#")),
            "families": series_by_family(text)}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()

    results: dict[str, dict] = {}
    with bench_kafka("bench") as setup:
        bootstrap, tmp = setup.bootstrap, setup.tmp
        (tmp / "no-rules.yaml").write_text("rules: []\n")
        base_rates: list[float] = []
        for mode, rules in (("no rules", tmp / "no-rules.yaml"), ("default rules", REPO / "deploy/alerts/rules.yaml")):
            topics, env = with_prefix(setup, "bench")
            env["CAPMON_ALERT_RULES"] = str(rules)
            inputs = [topics.for_event_type(t) for t in EVENT_TYPES]
            print(f"{mode}: producing {args.days} simulated days to {bootstrap} ...", flush=True)
            sh(sys.executable, "-m", "capmon", "simulate", "--days", str(args.days), env=env)
            total = messages_in(bootstrap, inputs)
            base_rates.append(asyncio.run(baseline(bootstrap, inputs, total)))
            bare = bare_agent(bootstrap, topics.prefix, total, tmp, mode.replace(" ", "-"))
            results[mode] = {"total": total, "bare": bare,
                             **measure(WorkerProcess(env, tmp, mode.replace(" ", "-")), env, tmp,
                                       mode.replace(" ", "-"), total)}
            print(mode, {k: v for k, v in results[mode].items() if k != "families"}, flush=True)

    base = statistics.median(base_rates)
    plain, rules = results["no rules"], results["default rules"]
    families = rules["families"]
    header = f"""# Benchmarks

Run by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (`bench/worker_throughput.py`, `bench/failover.py`,
`bench/alert_latency.py`). Machine: {machine()}. Broker: the local single-node Kafka ({bootstrap}), 4 partitions
per topic. Each figure below is measured in the same run as the figure it is compared with.
"""
    span = "a simulated year" if args.days == 365 else f"{args.days} simulated days"
    held = "a year" if args.days == 365 else f"{args.days} days"
    throughput = f"""## One worker, {span} already in Kafka

Without alert rules, and with the default rules (the worker is then the leader and also evaluates them, on the
figures it already has). Each mode on its own topics with the same simulated events; the bare Faust agent
(`bench/bare_agent.py`: Faust's stream machinery alone, counting events) runs on each mode's topics just before
its worker.

| figure | no rules | default rules | target |
|---|---|---|---|
| events in Kafka ({args.days} simulated days, no faults) | {plain["total"]:,} | {rules["total"]:,} | |
| baseline: plain aiokafka `getmany` + `json.loads` | {base:,.0f} events/s | | |
| bare Faust agent on the same topics (first event to last) | {plain["bare"]:,.0f} events/s | \
{rules["bare"]:,.0f} events/s | |
| capmon worker (first event to last, one process) | {plain["rate"]:,.0f} events/s | {rules["rate"]:,.0f} events/s | |
| capmon worker / bare Faust agent | {plain["rate"] / plain["bare"]:.2f} | {rules["rate"] / rules["bare"]:.2f} | ≥ 0.8 |
| with rules / without | | {rules["rate"] / plain["rate"]:.2f} | ≥ 0.9 |
| capmon / baseline | {plain["rate"] / base:.2f} | {rules["rate"] / base:.2f} | |
| worker start to first event processed | {plain["first"]:.1f} s | {rules["first"]:.1f} s | |
| restart after `kill -9` with {held} of state, to a new event processed | {plain["restart"]:.1f} s | \
{rules["restart"]:.1f} s | < 15 s |
| resident memory with {held} of state | {plain["memory"]:.0f} MB | {rules["memory"]:.0f} MB | ≤ 450 MB |
| `/metrics` with {held} of state, median of 20 | {plain["metrics_ms"]:.1f} ms | {rules["metrics_ms"]:.1f} ms | \
< 100 ms |
| `/metrics` series | {plain["series"]:,} | {rules["series"]:,} | bounded |

Series per metric family with the rules (largest first; locations, provinces, topics × partitions, histogram
buckets and the contract's enums bound them, nothing grows with events or persons):
{", ".join(f"`{name}` {n}" for name, n in families[:14])}; {len(families) - 14} more families with
{min((n for _, n in families[14:]), default=0)}-{max((n for _, n in families[14:]), default=0)} series each.

Notes: the restart time includes the consumer-group session timeout of the killed member
(`CAPMON_SESSION_TIMEOUT_S`, default 10 s) and the recovery of the person table from its changelog
(RocksDB: only what was written since the last persisted offset).
"""
    text = args.out.read_text() if args.out.exists() else ""
    body = text[text.index("\n## "):] if "\n## " in text else ""
    args.out.write_text(header + body)
    replace_section(args.out, "One worker, a simulated year already in Kafka", throughput)
    print(header + throughput)


if __name__ == "__main__":
    main()
