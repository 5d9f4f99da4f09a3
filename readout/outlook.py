"""The outlook on the read side: `GET /api/outlook`'s JSON, and the outlook computed at most once a second.

Every read-out of a worker (the API, the status page, /metrics) asks `EverySecond` for the outlook: the view
makes new figures with every message of the figures topic, and the outlook (84 days × 4 scenarios) need not
follow each of them; a second of wall clock is fresh enough for a duty officer and for Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.state.outlook import SCENARIOS, Outlook
from streams.state.stamp import from_micros

if TYPE_CHECKING:
    from streams.state.readmodel import Figures

RECOMPUTE_S = 1.0  # CONTRACT.md section 3a: recomputed at most once a second


@dataclass(frozen=True)
class Reading:
    """The outlook as of the figures' `now_us` (None before any event)."""

    now_us: int | None
    horizon_days: int
    outlook: Outlook | None


class EverySecond:
    """The outlook of the latest figures, computed again only once `interval_s` of `clock` has passed since the
    last computation (one instance per worker, shared by every read-out)."""

    def __init__(self, figures: Callable[[], Figures], clock: Callable[[], float] = time.monotonic,
                 interval_s: float = RECOMPUTE_S) -> None:
        self.figures, self.clock, self.interval_s = figures, clock, interval_s
        self._reading: Reading | None = None
        self._at = 0.0
        self.computed = 0  # how many times the outlook was computed (read by tests and the bench)

    def reading(self) -> Reading:
        now = self.clock()
        if self._reading is None or now - self._at >= self.interval_s:
            figures = self.figures()
            self._reading = Reading(figures.now_us, figures.outlook_days, figures.outlook)
            self._at = now
            self.computed += 1
        return self._reading


def outlook_json(reading: Reading) -> dict[str, Any]:
    """`GET /api/outlook` (schema: streams/contract/schemas/api-outlook.json): per scenario and day from
    tomorrow, planned capacity, net per day, projected occupancy and headroom (national and the transfer
    network), the days until the transfer network is full, and the openings and closings ahead."""
    out = reading.outlook
    now = from_micros(reading.now_us).isoformat() if reading.now_us is not None else None
    if out is None:
        return {"now": now, "today": None, "horizon_days": reading.horizon_days, "bed_share": None,
                "moves_out_per_day": None, "forecasts": {}, "days": [],
                "planned_capacity": {"national": [], "transfer": []}, "scenarios": {}, "changes": []}
    scenarios = {}
    for name in SCENARIOS:
        lines = out.scenarios[name]
        full_on = out.full_on(name)
        scenarios[name] = {
            "net_per_day": {"national": list(lines.national_net), "transfer": list(lines.transfer_net)},
            "occupancy": {"national": list(lines.national_occupancy), "transfer": list(lines.transfer_occupancy)},
            "headroom": {"national": list(lines.national_headroom), "transfer": list(lines.transfer_headroom)},
            "days_until_transfer_full": lines.days_until_transfer_full,
            "transfer_full_on": full_on.isoformat() if full_on is not None else None,
        }
    return {
        "now": now, "today": out.today.isoformat(), "horizon_days": out.horizon_days, "bed_share": out.bed_share,
        "moves_out_per_day": out.moves_out_per_day,
        "forecasts": {str(year): forecast_id for year, forecast_id in out.forecast_ids.items()},
        "days": [d.isoformat() for d in out.days],
        "planned_capacity": {"national": list(out.national_capacity), "transfer": list(out.transfer_capacity)},
        "scenarios": scenarios,
        "changes": [{"day": c.day.isoformat(), "location_id": c.location_id, "name": c.name,
                     "location_type": c.location_type, "change": c.change, "beds": c.beds, "transfer": c.transfer}
                    for c in out.changes],
    }
