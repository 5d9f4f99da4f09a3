"""What the alerting benchmarks share: a PagerDuty endpoint on loopback that notes when each event arrives, and a
location whose capacity they toggle across a threshold (with the rule on it)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web


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
