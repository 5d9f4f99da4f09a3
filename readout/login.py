"""Checking logins without freezing the worker (CONTRACT.md section 5, `CAPMON_WEB_USERS_FILE`).

A bcrypt check costs a quarter of a second of CPU on purpose. On the event loop, 20 concurrent requests with
wrong passwords stalled processing, alerting and /health for seconds. So the checks run in a small thread pool
(bcrypt releases the GIL) behind a semaphore of CHECKS_AT_ONCE, a client that keeps failing is answered 429
without any bcrypt for a while (`LoginThrottle`), and when too many checks already wait the answer is 429 too.
Failed logins are logged with the (escaped) user name and the client's address, never the password.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from readout.users import WebUsers

log = logging.getLogger(__name__)

CHECKS_AT_ONCE = 2  # bcrypt checks running at a time: the rest of the worker keeps its cores
WAITING_MAX = 16  # checks queued behind those; more is a storm from many addresses: 429 at once
FAILURES_MAX = 5  # failed logins (and checks in flight) per client address within WINDOW_S
WINDOW_S = 60.0
CLIENTS_MAX = 10_000  # addresses remembered; the oldest is forgotten first
USER_SHOWN_MAX = 64


class Verdict(NamedTuple):
    """The answer to one request's credentials: allowed, or refused (401), or throttled (429 after
    `retry_after` seconds)."""

    allowed: bool
    retry_after: int | None = None


class LoginThrottle:
    """Failed logins per client address in a sliding window; pure apart from the injected clock.

    A check in flight counts as a failure until it ends, so a burst of concurrent requests from one address
    runs at most FAILURES_MAX checks, not one per request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = FAILURES_MAX,
                 window_s: float = WINDOW_S, clients_max: int = CLIENTS_MAX) -> None:
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        self.clients_max = clients_max
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._in_flight: dict[str, int] = {}

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        horizon = self.clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until this client may try again, or None when it may try now."""
        failures = self._recent(client)
        if len(failures) + self._in_flight.get(client, 0) < self.limit:
            return None
        if not failures:  # only checks in flight: they end within a second or so
            return 1
        return max(1, math.ceil(failures[0] + self.window_s - self.clock()))

    def failures(self, client: str) -> int:
        """Failed logins of this client within the window."""
        return len(self._recent(client))

    def start(self, client: str) -> None:
        self._in_flight[client] = self._in_flight.get(client, 0) + 1

    def end(self, client: str, ok: bool) -> None:
        left = self._in_flight.get(client, 1) - 1
        if left:
            self._in_flight[client] = left
        else:
            self._in_flight.pop(client, None)
        if ok:
            self._failures.pop(client, None)
            return
        failures = self._failures.setdefault(client, deque())
        failures.append(self.clock())
        self._failures.move_to_end(client)
        while len(self._failures) > self.clients_max:
            self._failures.popitem(last=False)


def shown_user(user: str) -> str:
    """A user name as typed by anyone, safe in one log line: quoted, control characters escaped, shortened."""
    return repr(user[:USER_SHOWN_MAX] + ("…" if len(user) > USER_SHOWN_MAX else ""))


class LoginGate:
    """Decides a request's credentials off the event loop (see the module docstring). One per web server."""

    def __init__(self, users: WebUsers, throttle: LoginThrottle | None = None,
                 checks_at_once: int = CHECKS_AT_ONCE, waiting_max: int = WAITING_MAX) -> None:
        self.users = users
        self.throttle = throttle or LoginThrottle()
        self.waiting_max = waiting_max
        self._pool = ThreadPoolExecutor(max_workers=checks_at_once, thread_name_prefix="capmon-login")
        self._slots = asyncio.Semaphore(checks_at_once)
        self._waiting = 0

    async def verdict(self, authorization: str | None, client: str) -> Verdict:
        if self.users.remembered(authorization):
            return Verdict(True)
        if not authorization:  # a browser's first request: ask for credentials, nothing failed yet
            return Verdict(False)
        retry = self.throttle.retry_after(client)
        if retry is not None:
            return Verdict(False, retry)
        if self._waiting >= self.waiting_max:
            log.warning("login check refused from %s: %d checks already waiting", client, self._waiting)
            return Verdict(False, 1)
        credentials = self.users.credentials(authorization)
        self.throttle.start(client)
        ok = False
        try:
            if credentials is not None:
                ok = await self._check(*credentials)
        finally:
            self.throttle.end(client, ok)
        if ok:
            self.users.remember(authorization)
            return Verdict(True)
        user = shown_user(credentials[0]) if credentials is not None else "(unreadable credentials)"
        log.warning("failed login for user %s from %s", user, client)
        if self.throttle.failures(client) == self.throttle.limit:
            log.warning("logins from %s refused for up to %.0f s: %d failed within it", client,
                        self.throttle.window_s, self.throttle.limit)
        return Verdict(False)

    async def _check(self, user: str, password: str) -> bool:
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self.users.check, user, password)
        finally:
            self._slots.release()
