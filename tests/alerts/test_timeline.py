"""The backtest's timeline skips work (rules whose inputs did not change, locations nobody moved in or out
of), never answers: it gives exactly the transitions of evaluating every rule and every scope at every grid
point."""

from __future__ import annotations

import json
from pathlib import Path

from alerts.backtest import read_events
from alerts.rules import load_rules, parse_rules
from alerts.timeline import Timeline
from tests.support.helpers import REPO, run_capmon

EXTRA = parse_rules({"rules": [
    {"name": "loc_busy", "scope": "location", "measure": "occupancy_ratio", "above": 0.1, "clear": 0.08,
     "for": "0s", "severity": "info"},
    {"name": "loc_permits", "scope": "location", "measure": "permit_holders", "above": 3, "clear": 2,
     "for": "20m", "severity": "info"},
    {"name": "centres_low", "scope": "location_type:application_centre", "measure": "headroom", "below": 3800,
     "clear": 3900,
     "for": "10m", "severity": "warning"},
    {"name": "week_inflow", "scope": "national", "measure": "inflow_rolling:7d", "above": 1000, "for": "0s",
     "severity": "info"},
    {"name": "national_permits", "scope": "national", "measure": "permit_holders", "above": 1400, "clear": 1350,
     "for": "1h", "severity": "info"},
    {"name": "outlook_max_full", "scope": "national", "measure": "outlook_days_until_transfer_full:max",
     "below": 84, "clear": 84, "for": "0s", "severity": "info"},
]})


STEP_S = 900  # a coarser grid than the default's five minutes: a third of the slow reference's evaluations; alerts
# still wait out their `for` over several grid points (the hour-long ones) or fire at the next one (10 and 20 min)


def transitions(rules, events, exhaustive: bool) -> list[tuple]:
    timeline = Timeline(rules, STEP_S, exhaustive=exhaustive)
    out = []
    for event in events:
        out += timeline.feed(event)
    out += timeline.finish()
    return [(t.alert_id, t.kind, t.at_us, t.value, t.since_us, t.escalated_from) for t in out]


def test_the_fast_timeline_gives_exactly_the_transitions_of_evaluating_everything(tmp_path: Path):
    feed = tmp_path / "feed.jsonl"
    # a small opening state (it spans 16 months of grid points, which the slow reference evaluates one by one);
    # the thresholds of EXTRA fit its size, so every kind of rule still fires (about 40 locations busy at once)
    made = run_capmon("simulate", "--days", "14", "--seed", "5", "--duplicates", "0.02", "--initial-occupancy", "0.1",
                      "--out", str(feed))
    assert made.returncode == 0, made.stderr
    forecast = (REPO / "deploy" / "forecasts" / "mpp-2023.jsonl").read_text()
    feed.write_text(feed.read_text() + "".join(json.dumps({**json.loads(line), "event_type": "forecast"}) + "\n"
                                               for line in forecast.splitlines() if line.strip()))
    events, _invalid = read_events(feed)
    rules = load_rules(REPO / "deploy" / "alerts" / "rules.yaml") + EXTRA
    fast = transitions(rules, events, exhaustive=False)
    assert len({t[0].split("/")[0] for t in fast}) >= 6, {t[0] for t in fast}  # most rules do something
    assert fast == transitions(rules, events, exhaustive=True)
