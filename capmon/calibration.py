"""How often each alert rule fires in a simulated 2023 under the MPP scenarios: the README's table.

    .venv/bin/python -m capmon.calibration [--rules deploy/alerts/rules.yaml] [--days 365] [--seed 1]

Each scenario's year is simulated in memory and replayed through `capmon backtest`'s engine (event time, the
5-minute grid). A rule counts as firing on a day when any of its alerts fires at some moment of that day.
Alerts during the opening state (events dated before the start) are counted apart: there should be none.
A rule that warns ahead of a full transfer network (`LEAD_MEASURES`) also gets its lead time: how long before
the first grid point with transfer headroom <= 0 it first fired.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alerts.rules import Rule, load_rules
from alerts.timeline import run
from streams.contract.events import Event, parse_event
from streams.contract.records.alerts import Transition
from streams.state.stamp import micros
from streams.tools.simulator import mix
from streams.tools.simulator.chain import AMSTERDAM, ChainSimulation, SimConfig

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RULES = REPO / "deploy" / "alerts" / "rules.yaml"
START = datetime(2023, 1, 1, tzinfo=AMSTERDAM)


# The moment the transfer network is first full (transfer headroom <= 0), found by a rule of its own.
FULL = Rule(name="calibration_transfer_network_full", scope="national", measure="transfer_headroom", below=1,
            severity="info")
LEAD_MEASURES = ("transfer_days_until_full", "outlook_days_until_transfer_full:")  # rules that warn ahead


@dataclass
class RuleYear:
    """One rule over one simulated year."""

    days: set[str] = field(default_factory=set)  # local days on which an alert of the rule was firing
    fired: int = 0
    first: str | None = None  # local day of the first firing
    first_us: int | None = None  # event time of the first firing from the start on
    before_start: int = 0  # firings dated before the start (the opening state)


def warns_ahead(rule: Rule) -> bool:
    return rule.measure.startswith(LEAD_MEASURES)


def lead_days(year: RuleYear, full: RuleYear | None) -> float | None:
    """Days from the rule's first firing to the transfer network's first full moment (None: either never)."""
    if year.first_us is None or full is None or full.first_us is None:
        return None
    return (full.first_us - year.first_us) / 86_400e6


def simulated_events(scenario: float, days: int, seed: int, start: datetime = START) -> list[Event]:
    sim = ChainSimulation(SimConfig(start=start, days=days, annual_inflow=scenario, seed=seed))
    return [parse_event(json.dumps(raw)) for _, raw in sim.events()]


def firing_days(transitions: Iterable[Transition], start: datetime, end: datetime) -> dict[str, RuleYear]:
    """Per rule: the local days (from `start` up to `end`) on which one of its alerts was firing."""
    out: dict[str, RuleYear] = {}
    since: dict[str, int] = {}
    start_us, end_us = micros(start), micros(end)
    for t in transitions:
        year = out.setdefault(t.rule, RuleYear())
        if t.kind in ("fired", "escalated"):  # escalated: a higher rule fires where a lower one already did
            year.fired += 1
            if t.at_us < start_us:
                year.before_start += 1
            elif year.first_us is None:
                year.first_us = t.at_us
            since.setdefault(t.alert_id, t.at_us)
        elif t.kind == "resolved" and t.alert_id in since:
            _mark(year, since.pop(t.alert_id), t.at_us, start_us)
    for alert_id, began in since.items():
        _mark(out[alert_id.split("/", 1)[0]], began, end_us, start_us)
    return out


def _mark(year: RuleYear, from_us: int, to_us: int, start_us: int) -> None:
    day = datetime.fromtimestamp(max(from_us, start_us) / 1e6, AMSTERDAM).date()
    last = datetime.fromtimestamp(to_us / 1e6, AMSTERDAM).date()
    if to_us < start_us:
        return
    year.first = min(year.first or day.isoformat(), day.isoformat())
    while day <= last:
        year.days.add(day.isoformat())
        day += timedelta(days=1)


def one_scenario(rules: list[Rule], annual: float, days: int, seed: int) -> dict[str, RuleYear]:
    """Rule -> its year; FULL's entry says when the transfer network was full."""
    events = simulated_events(annual, days, seed)
    return firing_days(run([*rules, FULL], events), START, START + timedelta(days=days))


def calibrate(rules: list[Rule], days: int, seed: int) -> dict[str, dict[str, RuleYear]]:
    """scenario -> rule -> its simulated year (the scenarios in parallel processes)."""
    with ProcessPoolExecutor() as pool:
        futures = {name: pool.submit(one_scenario, rules, annual, days, seed) for name, annual in mix.MPP_2023.items()}
        return {name: future.result() for name, future in futures.items()}


def table(rules: list[Rule], result: dict[str, dict[str, RuleYear]], days: int) -> str:
    scenarios = list(result)
    lines = ["| rule | severity | " + " | ".join(f"{s} ({mix.MPP_2023[s]:,})" for s in scenarios)
             + " | lead time (" + " / ".join(scenarios) + ") |",
             "|---|---|" + "---|" * (len(scenarios) + 1)]
    for rule in rules:
        if rule.measure == "staleness":
            continue
        cells = []
        for s in scenarios:
            year = result[s].get(rule.name, RuleYear())
            share = len(year.days) / days
            cells.append(f"{len(year.days)} d ({share:.0%}), from {year.first[5:]}" if year.days else "never")
        leads = [lead_days(result[s].get(rule.name, RuleYear()), result[s].get(FULL.name)) for s in scenarios]
        lead = " / ".join("–" if d is None else f"{d:.1f} d" for d in leads) if warns_ahead(rule) else ""
        lines.append(f"| `{rule.name}` | {rule.severity} | " + " | ".join(cells) + f" | {lead} |")
    full = [result[s].get(FULL.name, RuleYear()).first for s in scenarios]
    lines.append("| transfer network first full (headroom ≤ 0) | | " + " | ".join(
        f"{day[5:]}" if day else "never" for day in full) + " | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rules = load_rules(args.rules)
    result = calibrate(rules, args.days, args.seed)
    print(table(rules, result, args.days))
    opening = {s: {rule: y.before_start for rule, y in r.items() if y.before_start and rule != FULL.name}
               for s, r in result.items()}
    print(f"\nalerts fired during the opening state (before {START:%Y-%m-%d}): {opening}")


if __name__ == "__main__":
    main()
