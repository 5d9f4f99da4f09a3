"""What the benchmarks run and read: capmon worker processes on loopback ports, a PagerDuty endpoint on
loopback that notes when each event arrives, and a few readings of the machine. Independent of tests/."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.common import REPO


class Worker:
    """`python -m capmon worker` with its own web port and state directory (the same name: the same state)."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {**env, "CAPMON_WEB_PORT": str(self.port), "CAPMON_STATE_DIR": str(tmp / f"state-{name}")}
        self.log = tmp / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "capmon", "worker"], env=self.env, cwd=REPO,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def text(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            return response.read().decode()

    def get(self, path: str) -> Any:
        return json.loads(self.text(path))

    def healthy(self) -> bool:
        try:
            return self.get("/health")["status"] == "ok"
        except (OSError, urllib.error.HTTPError, ValueError):
            return False

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on /metrics (0 when it is not there or the worker does not answer)."""
        try:
            lines = self.text("/metrics").splitlines()
        except OSError:
            return 0.0
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines
                   if line.startswith((name + "{", name + " ")))

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def wait_until(condition, timeout: float, what: str, every: float = 0.05) -> float:
    """Poll until `condition()` holds; returns time.monotonic() then. Raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
    return time.monotonic()


class PagerDutyEndpoint:
    """A PagerDuty Events v2 endpoint on loopback, in a thread: (time.monotonic(), event_action, dedup_key)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, str]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.events.append((time.monotonic(), body["event_action"], body["dedup_key"]))
        return web.json_response({"status": "success", "dedup_key": body["dedup_key"]}, status=202)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v2/enqueue"  # type: ignore

    def __enter__(self) -> PagerDutyEndpoint:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def messages_in(bootstrap: str, topics: list[str]) -> int:
    """How many messages the topics hold (end minus beginning offsets, all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends, begins = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        return sum(ends[tp] - begins[tp] for tp in tps)
    finally:
        consumer.close()


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"


# The benchmarks' threshold: a location outside the simulated register whose capacity they toggle between
# 1,000 and 10 beds, and a rule on its headroom that fires (and resolves) on every toggle.
BENCH_RULES = """rules:
  - name: bench_location_low
    scope: location:bench-l
    measure: headroom
    below: 100
    clear: 100
    for: 0s
    severity: critical
    notify: [pagerduty]
"""


def toggle_bench_location(producer: Any, locations_topic: str, n: int, beds: int, when: str) -> None:
    """Produce capacity `beds` for the benchmark location (and wait until Kafka has it)."""
    event = {"event_id": f"bench-{n}", "occurred_at": when, "location_id": "bench-l", "name": "Benchmark",
             "province": "NL-UT", "location_type": "regular", "capacity": beds, "status": "open"}
    producer.send(locations_topic, key=b"bench-l", value=json.dumps(event).encode())
    producer.flush()
