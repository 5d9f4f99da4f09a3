"""Login checks: a client that keeps failing is throttled before any bcrypt runs, checks in flight count, a
success clears the slate; a password over bcrypt's 72 bytes fails instead of raising; the gate runs bcrypt off
the event loop."""

from __future__ import annotations

import asyncio
import itertools
import time

import bcrypt
import pytest

from readout.login import LoginGate, LoginThrottle, shown_user
from readout.users import WebUsers
from tests.readout.test_web_users import basic


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_is_throttled_after_the_limit_until_its_oldest_failure_leaves_the_window():
    clock = Clock()
    throttle = LoginThrottle(clock, limit=3, window_s=60)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.start("10.0.0.1")
        throttle.end("10.0.0.1", ok=False)
        clock.now += 10
    assert throttle.retry_after("10.0.0.1") == 30  # the first failure (at 1000) leaves the window at 1060
    assert throttle.retry_after("10.0.0.2") is None  # per client
    clock.now += 30
    assert throttle.retry_after("10.0.0.1") is None


def test_checks_in_flight_count_so_a_concurrent_burst_runs_at_most_the_limit():
    throttle = LoginThrottle(Clock(), limit=3)
    started = 0
    for _ in range(20):
        if throttle.retry_after("c") is None:
            throttle.start("c")
            started += 1
    assert started == 3
    assert throttle.retry_after("c") == 1


def test_a_success_clears_the_clients_failures_and_the_table_stays_bounded():
    clock = Clock()
    throttle = LoginThrottle(clock, limit=2, clients_max=100)
    throttle.start("c")
    throttle.end("c", ok=False)
    throttle.start("c")
    throttle.end("c", ok=True)
    assert throttle.failures("c") == 0
    for i in range(1_000):
        throttle.start(f"10.1.{i // 256}.{i % 256}")
        throttle.end(f"10.1.{i // 256}.{i % 256}", ok=False)
    assert len(throttle._failures) == 100


def test_a_user_name_is_one_quoted_line_in_the_log():
    assert shown_user("officer") == "'officer'"
    assert "\n" not in shown_user("x\nWARNING forged line") and "\\n" in shown_user("x\nWARNING forged")
    assert len(shown_user("a" * 10_000)) < 80


@pytest.fixture(scope="module")
def users() -> WebUsers:
    return WebUsers({"officer": bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4))})


def test_a_password_over_72_bytes_is_a_failed_login_not_an_error(users):
    right = "s3cret"
    assert not users.allows(basic("officer", right + "x" * 80))
    assert not users.allows(basic("nobody", "y" * 200))
    assert not users.check("officer", "é" * 40)  # 80 bytes in UTF-8
    assert users.allows(basic("officer", right))


def test_the_gate_runs_bcrypt_off_the_event_loop():
    """A costly hash: while the gate checks a wrong password, the loop still ticks every few milliseconds."""
    slow = WebUsers({"officer": bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=12))})

    async def run() -> tuple[float, bool]:
        gate = LoginGate(slow)
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.005)

        ticking = asyncio.create_task(ticker())
        verdicts = await asyncio.gather(*(gate.verdict(basic("officer", f"wrong{i}"), "c") for i in range(4)))
        ticking.cancel()
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        return max(gaps), any(v.allowed for v in verdicts)

    worst_gap, allowed = asyncio.run(run())
    assert not allowed
    assert worst_gap < 0.15, worst_gap  # one check of cost 12 alone takes about 0.25 s
