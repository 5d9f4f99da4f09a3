"""Real HTTP receivers on 127.0.0.1 for tests, speaking Slack's and PagerDuty's formats, failing on demand.

`script` is a list of what to do with the next requests: an int status (500, 429, 400...), ("429", seconds)
for a Retry-After, ("slow", seconds) to answer late, (307, url) to redirect there, or "ok". When it runs out,
every request is "ok".
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web


class FakeReceiver:
    def __init__(self, kind: str, script: list[Any] | None = None) -> None:
        self.kind = kind  # "slack" | "pagerduty" | "webhook"
        self.script = list(script or [])
        self.requests: list[Any] = []  # every body received, including those answered with an error
        self.arrivals: list[float] = []  # time.monotonic() of each request, for latency measurements
        self.accepted: list[Any] = []  # bodies answered with 2xx (a late answer too, even if the client gave up)
        self.incidents: dict[str, str] = {}  # PagerDuty: dedup_key -> "triggered" | "resolved"
        self.incidents_opened = 0
        self.url = ""
        self.unavailable_until = 0.0  # time.monotonic() until which every request is answered 503
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> FakeReceiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/" + {"slack": "services/T0/B0/secret", "pagerduty": "v2/enqueue"}.get(
            self.kind, "hook")
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.arrivals.append(time.monotonic())
        self.requests.append(body)
        if time.monotonic() < self.unavailable_until:
            return web.Response(status=503, text="unavailable")
        action = self.script.pop(0) if self.script else "ok"
        if isinstance(action, tuple) and action[0] == "slow":
            self._apply(body)  # the receiver acts on it but answers late (a short client timeout retries it)
            await asyncio.sleep(action[1])
            self.accepted.append(body)
            return web.Response(status=202, text="late")
        if isinstance(action, tuple) and action[0] == "429":
            return web.Response(status=429, headers={"Retry-After": str(action[1])}, text="slow down")
        if isinstance(action, tuple) and isinstance(action[0], int):  # a redirect
            return web.Response(status=action[0], headers={"Location": action[1]}, text="moved")
        if isinstance(action, int):
            return web.Response(status=action, text="error")
        self._apply(body)
        self.accepted.append(body)
        if self.kind == "pagerduty":
            return web.json_response({"status": "success", "message": "Event processed",
                                      "dedup_key": body.get("dedup_key")}, status=202)
        return web.Response(status=200, text="ok")

    def _apply(self, body: Any) -> None:
        if self.kind != "pagerduty":
            return
        key = body["dedup_key"]
        if body["event_action"] == "trigger" and self.incidents.get(key) != "triggered":
            self.incidents[key] = "triggered"
            self.incidents_opened += 1
        elif body["event_action"] == "resolve" and key in self.incidents:
            self.incidents[key] = "resolved"


class ReceiversThread:
    """Fake receivers served from their own event loop in a thread, for tests that run real workers."""

    def __init__(self, **receivers: FakeReceiver) -> None:
        import threading

        self.receivers = receivers
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ReceiversThread:
        self._thread.start()
        for receiver in self.receivers.values():
            if not receiver.url:  # one given with its URL set starts later (`start`): connections refused till then
                self.start(receiver)
        return self

    def start(self, receiver: FakeReceiver, port: int = 0) -> None:
        asyncio.run_coroutine_threadsafe(receiver.start(port), self.loop).result(10)

    def __exit__(self, *exc: object) -> None:
        for receiver in self.receivers.values():
            asyncio.run_coroutine_threadsafe(receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def __getitem__(self, name: str) -> FakeReceiver:
        return self.receivers[name]
