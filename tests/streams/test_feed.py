"""Pacing of `simulate` and `replay`: a feed's opening state goes at once, the rest at the asked speed."""

from __future__ import annotations

import time

from streams.tools.feed import Pacer


def test_events_before_paced_from_are_not_paced_and_the_rest_are():
    pacer = Pacer(speed=1_000, paced_from=1_000_000.0)
    started = time.monotonic()
    for t in (0.0, 400_000.0, 999_999.0):  # a year of opening state would take 1,000 s at this speed
        pacer.wait(t)
    assert time.monotonic() - started < 0.5
    pacer.wait(1_000_000.0)  # the origin: pacing starts here
    started = time.monotonic()
    pacer.wait(1_000_200.0)  # 200 s of event time at 1,000x: 0.2 s
    assert time.monotonic() - started >= 0.19


def test_without_paced_from_the_first_event_is_the_origin():
    pacer = Pacer(speed=1_000)
    pacer.wait(0.0)
    started = time.monotonic()
    pacer.wait(200.0)
    assert time.monotonic() - started >= 0.19
