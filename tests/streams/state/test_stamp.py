"""Calendar days in Europe/Amsterdam: the per-hour shortcut equals the direct conversion, DST days included."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from streams.state.stamp import AMSTERDAM, local_day


@given(st.integers(946_684_800_000_000, 4_102_444_800_000_000))
def test_the_local_day_of_any_instant_between_2000_and_2100_is_the_direct_conversion(us):
    assert local_day(us) == datetime.fromtimestamp(us / 1e6, AMSTERDAM).date()


def test_the_hour_around_local_midnight_on_both_dst_changes():
    for moment in ("2023-03-25T22:59:59.999999+00:00", "2023-03-25T23:00:00+00:00",
                   "2023-10-28T21:59:59.999999+00:00", "2023-10-28T22:00:00+00:00",
                   "2023-10-29T22:59:59.999999+00:00", "2023-10-29T23:00:00+00:00"):
        us = round(datetime.fromisoformat(moment).timestamp() * 1e6)
        assert local_day(us) == datetime.fromisoformat(moment).astimezone(AMSTERDAM).date(), moment
