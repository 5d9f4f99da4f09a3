"""Event stamps: the total order that "latest" means, and calendar days in Europe/Amsterdam."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# (microseconds since the epoch, event_id): compared as a tuple, this is the contract's "latest".
Stamp = tuple[int, str]


def micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def stamp(occurred_at: datetime, event_id: str) -> Stamp:
    return (micros(occurred_at), event_id)


def local_day(us: int) -> date:
    """The calendar day in Europe/Amsterdam of an instant given in epoch microseconds."""
    return datetime.fromtimestamp(us / 1_000_000, AMSTERDAM).date()


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, AMSTERDAM)
