"""Delivery with retries: every firing and resolve reaches each receiver at least once.

Classification (as Alertmanager does): 2xx delivered; 429, 5xx, timeouts and connection errors retried with
exponential backoff (1 s doubling to 60 s), without limit (a receiver that is down for an hour still gets the
page when it is back); a receiver's Retry-After may lengthen a wait (to at most 300 s), never shorten it, so
`Retry-After: 0` cannot turn one alert into a flood. Any other 4xx is not retried: counted and logged.
Redirects are not followed: a 3xx would re-send the body (a PagerDuty routing key) to another address; it is
counted and logged as refused, like a 4xx.
Each receiver has its own queue and task, so a slow or failing receiver never holds up another one, and
none of this runs in the stream-processing path. Webhook URLs and keys are secrets: never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.receivers import Receiver, Request
from alerts.text import printable
from streams.contract.finite import dumps
from streams.contract.records.alerts import Transition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry: bool
    status: int | None
    retry_after_s: float | None = None
    reason: str = ""


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter("capmon_alert_deliveries", "Notifications delivered", ["receiver"], registry=registry)
        self.retries = Counter("capmon_alert_delivery_retries", "Notification attempts retried", ["receiver"],
                               registry=registry)
        self.failures = Counter("capmon_alert_delivery_failures", "Notifications given up (4xx other than 429)",
                                ["receiver"], registry=registry)
        self.coalesced = Counter("capmon_alert_deliveries_coalesced", "Queued re-sends spared because a newer "
                                 "state of the same alert was queued (receiver away)", ["receiver"],
                                 registry=registry)
        self.queued = Gauge("capmon_alert_delivery_queue", "Notifications waiting for a receiver (grows only with "
                            "the alerts' changes while it is away, not with retries)", ["receiver"], registry=registry)
        self.latency = Histogram("capmon_alert_delivery_latency_seconds",
                                 "From the alert change being queued to the receiver accepting it", ["receiver"],
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
                                 registry=registry)


def classify(status: int, retry_after: str | None) -> Attempt:
    if 200 <= status < 300:
        return Attempt(True, False, status)
    if status == 429:
        return Attempt(False, True, status, parse_retry_after(retry_after), "rate limited (429)")
    if status >= 500:
        return Attempt(False, True, status, None, f"server error ({status})")
    if 300 <= status < 400:
        return Attempt(False, False, status, None, f"redirected ({status}), not followed: check the receiver's URL")
    return Attempt(False, False, status, None, f"refused ({status})")


MAX_RETRY_AFTER_S = 300.0  # a receiver cannot stall its queue for longer than this per attempt


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, or as an HTTP date; at most MAX_RETRY_AFTER_S (`inf`, `nan` or a date next year
    from a misbehaving receiver must not stall its notifications for ever)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return MAX_RETRY_AFTER_S
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def pause_before_retry(backoff_s: float, retry_after_s: float | None) -> float:
    """The backoff's wait, or the receiver's Retry-After when that is longer: a receiver can ask for more time
    (up to MAX_RETRY_AFTER_S, parse_retry_after), never for less."""
    return backoff_s if retry_after_s is None else max(backoff_s, retry_after_s)


@dataclass(frozen=True)
class Entry:
    transition: Transition
    queued_at: float
    resend: bool = False  # a repeat of a state already delivered (Alertmanager's keep-alive)


class ReceiverQueue:
    """A receiver's notifications in order, bounded by coalescing: a newer state of an alert supersedes an
    undelivered re-send of it, and a re-send is not queued behind a state of the same alert that is still
    waiting. Triggers and resolves are never dropped, so the queue holds at most the changes the alerts really
    made while the receiver was away, whatever its outage lasts."""

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.in_flight = 0  # the entry taken and not done yet (being sent, or retried)
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, entry: Entry) -> int:
        """Queue `entry`; returns how many notifications coalescing spared (0 or more)."""
        alert_id = entry.transition.alert_id
        if entry.resend and any(e.transition.alert_id == alert_id for e in self.entries):
            return 1
        before = len(self.entries)
        self.entries = deque(e for e in self.entries if not (e.resend and e.transition.alert_id == alert_id))
        spared = before - len(self.entries)
        self.entries.append(entry)
        self._idle.clear()
        self._ready.set()
        return spared

    async def get(self) -> Entry:
        while not self.entries:
            self._ready.clear()
            await self._ready.wait()
        self.in_flight = 1
        return self.entries.popleft()

    def done(self) -> None:
        """The entry last taken is handled; idle once nothing waits."""
        self.in_flight = 0
        if not self.entries:
            self._idle.set()

    async def join(self) -> None:
        await self._idle.wait()

    def qsize(self) -> int:
        return len(self.entries)

    def undelivered(self) -> int:
        """Waiting notifications, the one being sent included."""
        return len(self.entries) + self.in_flight


@dataclass
class Backoff:
    """Waits between attempts: `initial_s` doubling up to `max_s` (CONTRACT.md section 7: 1 s up to 60 s)."""

    initial_s: float = 1.0
    max_s: float = 60.0
    # Longer than a slow receiver's answer: a receiver that takes 30 s still gets each notification once,
    # where a shorter timeout would retry (a duplicate Slack message) for as long as it stays slow.
    timeout_s: float = 60.0


class Dispatcher:
    """One queue and one sending task per receiver. `submit` never blocks."""

    def __init__(self, receivers: list[Receiver], registry: CollectorRegistry, backoff: Backoff | None = None) -> None:
        self.receivers = {r.name: r for r in receivers}
        self.metrics = DeliveryMetrics(registry)
        for name in self.receivers:  # every configured receiver shows 0, not "no data", before its first alert
            for family in (self.metrics.sent, self.metrics.retries, self.metrics.failures, self.metrics.coalesced,
                           self.metrics.latency):
                family.labels(name)
        self.backoff = backoff or Backoff()
        self._queues: dict[str, ReceiverQueue] = {}
        self._tasks: list[asyncio.Task] = []
        self._session: aiohttp.ClientSession | None = None
        self._unconfigured_warned: set[str] = set()
        # called after each confirmed delivery (the alert service logs it to the alerts topic)
        self.on_delivered: Callable[[Transition, str], Awaitable[None]] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.backoff.timeout_s))
        for name in self.receivers:
            queue = self._queues[name] = ReceiverQueue()
            self.metrics.queued.labels(name).set_function(queue.undelivered)
            self._tasks.append(asyncio.create_task(self._run(name), name=f"deliver-{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session:
            await self._session.close()

    def submit(self, t: Transition, only: list[str] | None = None, resend: bool = False) -> None:
        """Queue `t` for its receivers (or `only` these); `resend` marks a repeat of a delivered state, which
        coalescing may spare (see ReceiverQueue)."""
        for name in only if only is not None else t.notify:
            if name in self._queues:
                spared = self._queues[name].put(Entry(t, time.monotonic(), resend))
                if spared:
                    self.metrics.coalesced.labels(name).inc(spared)
            elif name not in self._unconfigured_warned:
                self._unconfigured_warned.add(name)
                log.warning("receiver %s is not configured; alerts for it are only logged", printable(name))

    def pending(self) -> int:
        return sum(q.qsize() for q in self._queues.values())

    async def drain(self, timeout: float) -> bool:
        """Wait until every queue is empty and idle (for tests and shutdown)."""
        try:
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues.values())), timeout)
            return True
        except TimeoutError:
            return False

    async def _run(self, name: str) -> None:
        receiver, queue = self.receivers[name], self._queues[name]
        last_sent = 0.0
        while True:
            entry = await queue.get()
            t, queued_at = entry.transition, entry.queued_at
            try:
                wait = receiver.min_interval_s - (time.monotonic() - last_sent)
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._deliver(receiver, t)
                last_sent = time.monotonic()
                self.metrics.latency.labels(name).observe(time.monotonic() - queued_at)
                if self.on_delivered is not None:
                    await self.on_delivered(t, name)
            finally:
                queue.done()

    async def _deliver(self, receiver: Receiver, t: Transition) -> None:
        request = receiver.request(t)
        if request is None:
            self.metrics.sent.labels(receiver.name).inc()
            return
        delay = self.backoff.initial_s
        while True:
            attempt = await self._post(request)
            if attempt.delivered:
                self.metrics.sent.labels(receiver.name).inc()
                return
            if not attempt.retry:
                self.metrics.failures.labels(receiver.name).inc()
                log.error("%s refused alert %s %s: %s; not retried", receiver.name, printable(t.alert_id), t.kind,
                          attempt.reason)
                return  # counted as handled: retrying a refused request would only be refused again
            self.metrics.retries.labels(receiver.name).inc()
            pause = pause_before_retry(delay, attempt.retry_after_s)
            log.warning("%s: %s for alert %s %s; retrying in %.1f s", receiver.name, attempt.reason,
                        printable(t.alert_id), t.kind, pause)
            await asyncio.sleep(pause)
            delay = min(delay * 2, self.backoff.max_s)

    async def _post(self, request: Request) -> Attempt:
        assert self._session is not None
        try:
            async with self._session.post(request.url, data=dumps(request.json), allow_redirects=False,
                                          headers={"Content-Type": "application/json"}) as response:
                await response.read()
                return classify(response.status, response.headers.get("Retry-After"))
        except TimeoutError:
            return Attempt(False, True, None, None, "timed out")
        except aiohttp.ClientError as exc:
            return Attempt(False, True, None, None, f"connection failed ({type(exc).__name__})")
