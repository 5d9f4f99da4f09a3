"""Event stamps: the total order that "latest" means, and calendar days in Europe/Amsterdam."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# (microseconds since the epoch, event_id): compared as a tuple, this is the contract's "latest".
Stamp = tuple[int, str]


def micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def stamp(occurred_at: datetime, event_id: str) -> Stamp:
    return (micros(occurred_at), event_id)


HOUR_US = 3_600 * 1_000_000


def local_day(us: int) -> date:
    """The calendar day in Europe/Amsterdam of an instant given in epoch microseconds."""
    return _local_day_of_hour(us // HOUR_US)


@lru_cache(maxsize=4096)
def _local_day_of_hour(hour: int) -> date:
    """Amsterdam's offsets are whole hours and change on whole UTC hours, so local midnight is always on a UTC
    hour boundary: every instant of one UTC hour has the same local day (folding calls this per event)."""
    return datetime.fromtimestamp(hour * 3_600, AMSTERDAM).date()


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, AMSTERDAM)
