"""Benchmark: from an event that crosses a threshold being produced to the notification arriving at the
receiver, p50 and p99, while the simulator feeds the same worker at an accelerated pace.

    .venv/bin/python -m bench.alert_latency [--toggles 60] [--speed 7200]

A location `bench-l` outside the simulated register toggles between 1,000 and 10 usable beds; a rule on its
headroom (below 100, for 0s) fires and resolves on every toggle; PagerDuty events (no rate limit) arrive at a
loopback receiver in this process. Appends its figures to BENCHMARKS.md. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "deploy" / "kafka"))

import localkafka  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from streams.state.stamp import AMSTERDAM  # noqa: E402
from streams.topics import Topics  # noqa: E402
from tests.alerts.receivers import FakeReceiver, ReceiversThread  # noqa: E402
from tests.worker_harness import WorkerProcess  # noqa: E402

RULES = """rules:
  - name: bench_location_low
    scope: location:bench-l
    measure: headroom
    below: 100
    clear: 100
    for: 0s
    severity: critical
    notify: [pagerduty]
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--toggles", type=int, default=60)
    parser.add_argument("--speed", type=float, default=7200)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    port = int(os.environ.get("KAFKA_PORT") or 29092)
    tmp = Path(tempfile.mkdtemp(prefix="capmon-alert-bench-"))
    started_broker = not localkafka.metadata_ok("127.0.0.1", port)
    if started_broker:
        localkafka.start(port, tmp / "kafka", localkafka.DEFAULT_CACHE)
    bootstrap = f"127.0.0.1:{port}"
    prefix = f"alertbench{uuid.uuid4().hex[:6]}."
    (tmp / "rules.yaml").write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=bootstrap, CAPMON_TOPIC_PREFIX=prefix, CAPMON_ALERT_RULES=str(tmp / "rules.yaml"))
    topics = Topics(prefix)
    sim = None
    try:
        with ReceiversThread(pagerduty=FakeReceiver("pagerduty")) as receivers:
            env.update(CAPMON_PAGERDUTY_ROUTING_KEY="bench", CAPMON_PAGERDUTY_URL=receivers["pagerduty"].url)
            subprocess.run([sys.executable, "-m", "streams", "topics"], env=env, cwd=REPO, check=True,
                           stdout=subprocess.DEVNULL)
            worker = WorkerProcess(env, tmp, "bench").start()
            sim = subprocess.Popen([sys.executable, "-m", "streams", "simulate", "--speed", str(args.speed)],
                                   env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sim_start, wall_start = datetime(2023, 1, 1, tzinfo=AMSTERDAM), time.monotonic()
            producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
            pd = receivers["pagerduty"]
            latencies = []
            time.sleep(3)  # let the simulator's initial burst start
            for i in range(args.toggles):
                capacity = 10 if i % 2 == 0 else 1000
                when = sim_start + timedelta(seconds=(time.monotonic() - wall_start) * args.speed)
                event = {"event_id": f"bench-{i}", "occurred_at": when.isoformat(), "location_id": "bench-l",
                         "name": "Benchmark", "province": "NL-UT", "location_type": "regular",
                         "capacity": capacity, "status": "open"}
                seen = len(pd.arrivals)
                sent = time.monotonic()
                producer.send(topics.locations, key=b"bench-l", value=json.dumps(event).encode())
                producer.flush()
                deadline = sent + 30
                while len(pd.arrivals) <= seen and time.monotonic() < deadline:
                    time.sleep(0.002)
                if len(pd.arrivals) > seen:
                    latencies.append(pd.arrivals[seen] - sent)
                time.sleep(0.3)
            producer.close()
            worker.stop()
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(10)
        if started_broker:
            localkafka.stop(tmp / "kafka")
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan")
    section = f"""
## Alert latency (threshold-crossing event produced → PagerDuty event received)

Run by `bench/alert_latency.py` on {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, same machine, while the
simulator fed the same worker at {args.speed:g}x real time. {len(latencies)} of {args.toggles} crossings
notified (a rule with `for: 0s` on one location's headroom, toggled by capacity events).

| figure | value | target |
|---|---|---|
| p50 | {p50 * 1000:.0f} ms | |
| p99 | {p99 * 1000:.0f} ms | < 1,000 ms |
| max | {max(latencies) * 1000 if latencies else float('nan'):.0f} ms | |
"""
    text = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    marker = "\n## Alert latency"
    text = text.split(marker)[0].rstrip() + "\n" + section
    args.out.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
