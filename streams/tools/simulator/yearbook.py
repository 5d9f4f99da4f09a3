"""A simulated feed read back through capmon's own read model, one row per day: how the simulator is
calibrated against the letter (DOMAIN.md), and what the calibration test checks.

    .venv/bin/python -m streams.tools.simulator.yearbook [--days 365] [--scenario 67000] [--seed 1] [--every 7]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from streams.contract.events import parse_event
from streams.state.chain import ChainState
from streams.state.occupancy import daily_kept_from
from streams.state.readmodel import Figures
from streams.state.stamp import micros
from streams.tools.simulator import mix
from streams.tools.simulator.chain import AMSTERDAM, ChainSimulation, SimConfig


@dataclass(frozen=True)
class Day:
    """The figures at the end of one simulated day (Europe/Amsterdam)."""

    day: str
    capacity: int
    occupancy: int
    headroom: int
    transfer_headroom: int
    ter_apel: int
    ter_apel_over_norm: int
    permit_holders: int
    backlog: int
    overdue: int
    mpp_inflow_ytd: int
    days_until_full: float | None
    need_medio: float | None
    nareis_28d: int
    resettlement_ytd: int


def days(events: Iterable[tuple[float, dict]]) -> Iterator[Day]:
    """Fold the events (in event-time order) into capmon's state and read the figures at each day's end."""
    state = ChainState()
    current: str | None = None
    for _, raw in events:
        event = parse_event(json.dumps(raw))
        day = event.occurred_at.astimezone(AMSTERDAM).date().isoformat()
        if current is not None and day != current:
            yield _read(state, current)
        current = day
        state.apply(event)
        state.totals.forget_daily_before(daily_kept_from(micros(event.occurred_at)))
    if current is not None:
        yield _read(state, current)


def _read(state: ChainState, day: str) -> Day:
    f = Figures(state.totals, state.register, state.watermark_us)
    occ = f.occupancy
    national, ter_apel = occ.national, occ.location("ter-apel")
    need = f.capacity_need
    ytd = f.year_to_date
    return Day(
        day, national.capacity, national.occupancy, national.headroom, occ.transfer.headroom,
        ter_apel.occupancy if ter_apel else 0, (ter_apel.over_norm or 0) if ter_apel else 0,
        national.permit_holders, f.backlog.total, f.backlog.overdue, ytd.ytd,
        f.days_until_full_national, round(need.need["medio"]) if need else None,
        f.rolling.by_type["28d"].get("family_reunification", 0), ytd.by_type.get("resettlement", 0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scenario", type=float, default=mix.DEFAULT_ANNUAL_INFLOW)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--every", type=int, default=7, help="print every Nth day (and the last)")
    args = parser.parse_args()
    sim = ChainSimulation(SimConfig(start=datetime(2023, 1, 1, tzinfo=AMSTERDAM), days=args.days,
                                    annual_inflow=args.scenario, seed=args.seed))
    rows = list(days(sim.events()))
    print(" ".join(f"{k:>8}" for k in asdict(rows[0])))
    for i, row in enumerate(rows):
        if i % args.every == 0 or i == len(rows) - 1:
            print(" ".join(f"{'' if v is None else (round(v) if isinstance(v, float) else v):>8}"
                           for v in asdict(row).values()))


if __name__ == "__main__":
    main()
