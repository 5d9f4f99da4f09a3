"""Benchmark: from an event that crosses a threshold being produced to the notification arriving at the
receiver, p50 and p99, while the simulator feeds the same worker at an accelerated pace.

    .venv/bin/python -m bench.alert_latency [--toggles 60] [--speed 7200]

A location `bench-l` outside the simulated register toggles between 1,000 and 10 usable beds; a rule on its
headroom (below 100, for 0s) fires and resolves on every toggle; PagerDuty events (no rate limit) arrive at a
loopback receiver in this process. Appends its figures to BENCHMARKS.md. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer

from bench.alerting import BENCH_RULES, PagerDutyEndpoint, toggle_bench_location
from bench.common import REPO, bench_kafka, replace_section
from capmon.harness import WorkerProcess, wait_until
from streams.state.stamp import AMSTERDAM


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--toggles", type=int, default=60)
    parser.add_argument("--speed", type=float, default=7200)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    latencies: list[float] = []
    with bench_kafka("alertbench") as setup, PagerDutyEndpoint() as pd:
        (setup.tmp / "rules.yaml").write_text(BENCH_RULES)
        env = {**setup.env, "CAPMON_ALERT_RULES": str(setup.tmp / "rules.yaml"),
               "CAPMON_PAGERDUTY_ROUTING_KEY": "bench", "CAPMON_PAGERDUTY_URL": pd.url}
        subprocess.run([sys.executable, "-m", "capmon", "topics"], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        worker = WorkerProcess(env, setup.tmp, "bench").start(timeout=120)
        sim = subprocess.Popen([sys.executable, "-m", "capmon", "simulate", "--speed", str(args.speed)],
                               env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        producer = KafkaProducer(bootstrap_servers=setup.bootstrap, linger_ms=0, acks=1)
        try:
            sim_start, wall_start = datetime(2023, 1, 1, tzinfo=AMSTERDAM), time.monotonic()
            # Steady state: the simulator sends its opening state (about 100,000 events dated before the start)
            # at once; while the worker is behind that burst every event waits, whatever alerting does.
            opening_over = datetime(2023, 1, 1, 12, tzinfo=AMSTERDAM).timestamp()
            wait_until(lambda: worker.metric("capmon_watermark_timestamp_seconds") > opening_over
                       and worker.metric("capmon_consumer_lag") < 500, 180, "the worker to catch up")
            for i in range(args.toggles):
                when = sim_start + timedelta(seconds=(time.monotonic() - wall_start) * args.speed)
                seen = len(pd.events)
                sent = time.monotonic()
                toggle_bench_location(producer, setup.topics.locations, i, 10 if i % 2 == 0 else 1000,
                                      when.isoformat())
                while len(pd.events) <= seen and time.monotonic() < sent + 30:
                    time.sleep(0.002)
                if len(pd.events) > seen:
                    latencies.append(pd.events[seen][0] - sent)
                    print(f"crossing {i}: {latencies[-1] * 1000:.0f} ms", flush=True)
                time.sleep(0.3)
        finally:
            producer.close()
            sim.terminate()
            sim.wait(10)
            worker.stop()
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan")
    section = f"""
## Alert latency (threshold-crossing event produced → PagerDuty event received)

Run by `bench/alert_latency.py` on {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, same machine, while the
simulator fed the same worker at {args.speed:g}x real time, once the worker had caught up with the simulator's
opening burst. {len(latencies)} of {args.toggles} crossings notified (a rule with `for: 0s` on one location's
headroom, toggled by capacity events).

| figure | value | target |
|---|---|---|
| p50 | {p50 * 1000:.0f} ms | |
| p99 | {p99 * 1000:.0f} ms | < 1,000 ms |
| max | {max(latencies) * 1000 if latencies else float('nan'):.0f} ms | |
"""
    replace_section(args.out, "Alert latency", section)
    print(section)


if __name__ == "__main__":
    main()
