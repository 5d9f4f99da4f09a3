"""Benchmark: alerting fail-over does not grow with history.

    .venv/bin/python -m bench.failover [--years 1 3]

For each history length, in the same run: the simulator writes that many years to Kafka; one worker starts
cold (seconds to its first page); a standby joins; once both have caught up, a crossing is resolved, the
leader is killed with `kill -9` and a new crossing is produced at once: seconds from the kill to the standby's
page. The crossing is a location outside the simulated register (`bench-l`) whose capacity toggles between
1,000 and 10 beds, under a rule on its headroom (below 100, for 0s). Writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer

from bench.alerting import BENCH_RULES, PagerDutyEndpoint, toggle_bench_location
from bench.common import REPO, bench_kafka, machine, messages_in, replace_section
from capmon.harness import WorkerProcess, wait_until
from streams.contract.topics import EVENT_TYPES, Topics

HEADING = "Alerting fail-over"


def one_history(years: int, tmp: Path, env: dict[str, str], bootstrap: str, topics: Topics) -> dict[str, float]:
    subprocess.run([sys.executable, "-m", "capmon", "simulate", "--days", str(365 * years)], env=env, cwd=REPO,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    events = messages_in(bootstrap, [topics.for_event_type(t) for t in EVENT_TYPES])
    end = f"{2023 + years}-01-01T00:00:00+01:00"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    with PagerDutyEndpoint() as pd:
        env = {**env, "CAPMON_ALERT_RULES": str(tmp / "rules.yaml"), "CAPMON_PAGERDUTY_ROUTING_KEY": "bench",
               "CAPMON_PAGERDUTY_URL": pd.url}
        toggle_bench_location(producer, topics.locations, 0, 10, end)  # already crossed when the first worker starts
        started = time.monotonic()
        first = WorkerProcess(env, tmp, f"a{years}").start(wait_healthy=False)
        wait_until(lambda: pd.events, 600, "the first page")
        cold = time.monotonic() - started
        second = WorkerProcess(env, tmp, f"b{years}").start(wait_healthy=False)
        workers = [first, second]
        wait_until(lambda: all(w.healthy() for w in workers), 300, "both workers healthy")
        wait_until(lambda: sum(w.metric("capmon_events_total") for w in workers) >= events
                   and all(w.metric("capmon_consumer_lag") == 0 for w in workers), 1800,
                   "both workers to catch up", interval=1)
        caught_up = time.monotonic() - started
        toggle_bench_location(producer, topics.locations, 1, 1000, end)
        wait_until(lambda: [e for e in pd.events if e[1] == "resolve"], 120, "the resolve")
        leader = next(w for w in workers if w.metric("capmon_figures_reporter") == 1)
        memory = max(w.rss_mb() for w in workers)
        pages = len(pd.events)
        leader.kill9()
        killed = time.monotonic()
        toggle_bench_location(producer, topics.locations, 2, 10, end)
        wait_until(lambda: len(pd.events) > pages, 300, "the page after the kill")
        paged = time.monotonic() - killed
        for worker in workers:
            worker.stop()
    producer.close()
    return {"events": events, "cold": cold, "caught_up": caught_up, "failover": paged, "memory": memory}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    results = {}
    for years in args.years:
        with bench_kafka(f"failover{years}y") as setup:
            (setup.tmp / "rules.yaml").write_text(BENCH_RULES)
            print(f"{years} simulated year(s) ...", flush=True)
            results[years] = one_history(years, setup.tmp, setup.env, setup.bootstrap, setup.topics)
            print(results[years], flush=True)
    rows = "\n".join(
        f"| {y} | {r['events']:,} | {r['cold']:.1f} s | {r['caught_up']:.0f} s | {r['failover']:.1f} s | "
        f"{r['memory']:.0f} MB |" for y, r in results.items())
    ratio = ""
    if len(results) > 1:
        low, high = min(results), max(results)
        ratio = (f"\nFail-over with {high} years against {low}: "
                 f"{results[high]['failover'] / results[low]['failover']:.2f}x (target ≤ 1.5x).\n")
    section = f"""## {HEADING} (kill -9 of the leader → the standby pages the next crossing)

Run by `bench/failover.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.
Two workers; history already in Kafka; a rule on one location's headroom (`for: 0s`); the crossing is produced
right after the kill. The standby does not replay history: it restores the alert states from the alerts topic.

| simulated years | events in Kafka | cold start to first page | both caught up | kill to page | memory (larger) |
|---|---|---|---|---|---|
{rows}
{ratio}"""
    replace_section(args.out, HEADING, section)
    print(section)


if __name__ == "__main__":
    main()
