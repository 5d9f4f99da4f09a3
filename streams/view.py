"""The national picture every worker reads: per-partition summaries plus the register, from one topic.

Each worker publishes, for the source partitions it owns, a summary (absolute totals, versioned by the
offsets processed) and every register entry that became the latest. Every worker reads the whole topic
back into a `FiguresView`, so any worker can answer for the whole country, and a partition that moves to
another worker is simply published again by its new owner. Applying a message is idempotent.
"""

from __future__ import annotations

import json

from .errors import InvalidEvent
from .events import Forecast, Location, parse_event
from .state.codec import decode_totals
from .state.figures import Inflow, Occupancy, inflow, net_inflow_per_day, occupancy
from .state.register import Register
from .state.stamp import micros
from .state.totals import Totals

PARTITION_PREFIX = "partition:"
ALERTS_CHECKPOINT_KEY = b"__evaluated_until__"  # written by alerts/live.py
SITE_PREFIX = "site:"
FORECAST_PREFIX = "forecast:"


def partition_key(partition: int) -> bytes:
    return f"{PARTITION_PREFIX}{partition}".encode()


def register_key(event: Location | Forecast) -> bytes:
    if isinstance(event, Location):
        return f"{SITE_PREFIX}{event.location_id}".encode()
    return f"{FORECAST_PREFIX}{event.year}".encode()


class FiguresView:
    def __init__(self) -> None:
        self.summaries: dict[int, tuple[int, int | None, Totals]] = {}
        self.register = Register()
        self._totals: Totals | None = None
        self.messages = 0
        self.alerts: dict[str, dict] = {}  # alert id -> latest record of the alerts topic
        self.alerts_evaluated_until_us: int | None = None

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one message of the figures topic in (unknown or broken messages are ignored)."""
        if key is None or value is None:
            return
        self.messages += 1
        name = key.decode()
        if name.startswith(PARTITION_PREFIX):
            partition = int(name.removeprefix(PARTITION_PREFIX))
            body = json.loads(value)
            current = self.summaries.get(partition)
            if current is None or body["version"] >= current[0]:
                self.summaries[partition] = (body["version"], body["watermark_us"], decode_totals(body["totals"]))
                self._totals = None
        elif name.startswith(SITE_PREFIX):
            self._fold(value, "location")
        elif name.startswith(FORECAST_PREFIX):
            self._fold(value, "forecast")

    def apply_alert(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one record of the alerts topic (the alert state's changelog) in."""
        if key is None:
            return
        if key == ALERTS_CHECKPOINT_KEY:
            if value is not None:
                self.alerts_evaluated_until_us = json.loads(value)["evaluated_until_us"]
            return
        if value is None:
            self.alerts.pop(key.decode(), None)
            return
        try:
            rec = json.loads(value)
        except ValueError:
            return
        current = self.alerts.get(key.decode())
        if current is None or rec.get("seq", 0) >= current.get("seq", 0):
            self.alerts[key.decode()] = rec

    def _fold(self, value: bytes, event_type: str) -> None:
        try:
            event = parse_event(value, event_type)
        except InvalidEvent:
            return
        if isinstance(event, Location):
            self.register.fold_location(event)
        elif isinstance(event, Forecast):
            self.register.fold_forecast(event)

    @property
    def totals(self) -> Totals:
        if self._totals is None:
            merged = Totals()
            for _version, _wm, part in self.summaries.values():
                merged = merged.merge(part)
            self._totals = merged
        return self._totals

    @property
    def now_us(self) -> int | None:
        """The watermark: greatest event time accepted by any partition or the register."""
        stamps = [wm for _v, wm, _t in self.summaries.values() if wm is not None]
        stamps += [st[0] for st, _site in self.register.sites.values()]
        stamps += [st[0] for st, _f in self.register.forecasts.values()]
        return max(stamps, default=None)

    def net_inflow_per_day(self) -> tuple[float, dict[str, float]]:
        """Net inflow into reception per day (28 days), nationally and per province: for days until full."""
        return net_inflow_per_day(self.totals, self.register, self.now_us)

    def occupancy(self) -> Occupancy:
        return occupancy(self.totals, self.register)

    def inflow(self) -> Inflow:
        return inflow(self.totals, self.register, self.now_us)


__all__ = ["FiguresView", "micros", "partition_key", "register_key"]
