"""Benchmark: the outlook (84 days × 4 scenarios) on the simulated opening state and on a simulated year's state.

    .venv/bin/python -m bench.outlook [--days 365]

Baseline in the same run: building `Figures.occupancy` from the same state (what every read-out pays first).
Measured: the outlook computed from nothing (no plan kept), again for new inputs on the same day (what alert
evaluation pays when occupancy moved), and `GET /api/outlook`'s answer built and serialized. Writes its section
of BENCHMARKS.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from alerts.backtest import read_events
from bench.common import REPO, machine, replace_section
from readout.outlook import EverySecond, outlook_json
from streams.state.chain import ChainState
from streams.state.outlook import forget, forget_outlooks
from streams.state.readmodel import Figures

HEADING = "The outlook"
TABLE_HEAD = ("| state | baseline: `Figures.occupancy` (every level) | outlook, first of its day "
              "| outlook, new inputs same day | `/api/outlook` answer (built + JSON) | target (outlook) |\n"
              "|---|---|---|---|---|---|")
RUNS = 30


def state_of(days: int) -> tuple[ChainState, int]:
    feed = Path(tempfile.mkdtemp(prefix="capmon-outlook-")) / "feed.jsonl"
    subprocess.run([sys.executable, "-m", "capmon", "simulate", "--days", str(days), "--out", str(feed)],
                   cwd=REPO, check=True, stderr=subprocess.DEVNULL)
    events, _invalid = read_events(feed)
    state = ChainState()
    for event in events:
        state.apply(event)
    return state, len(events)


def median_ms(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def whole(figures: Figures) -> None:
    """The outlook with every line of every scenario made (its lines are made on first use)."""
    out = figures.outlook
    assert out is not None
    for lines in out.scenarios.values():
        _ = (lines.national_occupancy, lines.transfer_occupancy, lines.national_headroom, lines.transfer_headroom,
             lines.days_until_transfer_full)


def measure(state: ChainState) -> dict[str, float]:
    def fresh() -> Figures:
        return Figures(state.totals, state.register, state.watermark_us)

    def occupancy() -> None:
        figures = fresh()
        occ = figures.occupancy
        _ = occ.national, occ.transfer, occ.provinces, occ.locations  # every level, as the status page reads

    def cold() -> None:
        figures = fresh()
        _ = figures.occupancy.transfer, figures.net_transfer  # its inputs, measured apart
        forget()
        started = time.perf_counter()
        whole(figures)
        cold_times.append((time.perf_counter() - started) * 1000)

    def warm() -> None:
        figures = fresh()
        _ = figures.occupancy.transfer, figures.net_transfer
        forget_outlooks()  # new inputs, same day and register: only the running sums are made
        started = time.perf_counter()
        whole(figures)
        warm_times.append((time.perf_counter() - started) * 1000)

    def answer() -> None:
        forget()
        json.dumps(outlook_json(EverySecond(fresh).reading()))

    cold_times: list[float] = []
    warm_times: list[float] = []
    for _ in range(RUNS):
        cold()
        warm()
    return {"occupancy": median_ms(occupancy), "cold": statistics.median(cold_times),
            "warm": statistics.median(warm_times), "answer": median_ms(answer)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    rows = []
    for label, days in (("opening state (1 simulated day)", 1), (f"a simulated year ({args.days} days)", args.days)):
        state, events = state_of(days)
        got = measure(state)
        rows.append(f"| {label}, {events:,} events | {got['occupancy']:.2f} ms | {got['cold']:.2f} ms | "
                    f"{got['warm']:.2f} ms | {got['answer']:.2f} ms | ≤ 20 ms |")
    section = f"""## {HEADING} (84 days × 4 scenarios)

Run by `bench/outlook.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}. Medians of {RUNS}.

{TABLE_HEAD}
{chr(10).join(rows)}

Every line of every scenario is made in these figures. The first outlook of a day (or after a register change)
builds the plan (planned capacity per day, expected inflow per day); later ones on that day only add up the
scenarios' lines. The read-outs compute it at most once a second (`readout/outlook.py`); alert evaluation only
for rules with an outlook measure, and then only the days until full of that rule's line.
"""
    replace_section(args.out, HEADING, section)
    print(section)


if __name__ == "__main__":
    main()
