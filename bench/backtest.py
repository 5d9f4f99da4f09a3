"""Benchmark: `capmon backtest` of a simulated year with the default rules.

    .venv/bin/python -m bench.backtest [--days 365]

Baseline in the same run: reading, validating and sorting the same file (`alerts.backtest.read_events`), which
every backtest must do. Writes its section of BENCHMARKS.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from alerts.backtest import read_events
from bench.common import REPO, machine, replace_section

HEADING = "capmon backtest"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    feed = Path(tempfile.mkdtemp(prefix="capmon-backtest-")) / "year.jsonl"
    subprocess.run([sys.executable, "-m", "capmon", "simulate", "--days", str(args.days), "--out", str(feed)],
                   cwd=REPO, check=True, stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    events, _invalid = read_events(feed)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "capmon", "backtest", str(feed), "--rules",
                           str(REPO / "deploy" / "alerts" / "rules.yaml")], cwd=REPO, check=True,
                          capture_output=True, text=True)
    backtest_s = time.perf_counter() - started
    summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    section = f"""## {HEADING} (a simulated year, the default rules)

Run by `bench/backtest.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.

| figure | value | target |
|---|---|---|
| events in the file ({args.days} simulated days) | {len(events):,} | |
| baseline: read, validate and sort the file | {read_s:.1f} s | |
| `capmon backtest` (whole command, 5-minute grid) | {backtest_s:.1f} s | ≤ 60 s |
| backtest / baseline | {backtest_s / read_s:.1f}x | |

It said: `{summary}`. The timeline evaluates a rule only when one of its inputs changed (or an alert of it is
pending) and, for rules per location, only the locations that events touched; `tests/alerts/test_timeline.py`
checks that this gives exactly the transitions of evaluating every rule and scope at every grid point.
"""
    replace_section(args.out, HEADING, section)
    print(section)


if __name__ == "__main__":
    main()
