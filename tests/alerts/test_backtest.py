"""`capmon backtest` prints the alert timeline and writes it as JSON; a bad rules file stops the worker."""

from __future__ import annotations

import json

from tests.support.helpers import run_capmon

RULES = """rules:
  - name: l1_full
    scope: location:L1
    measure: headroom
    below: 1
    clear: 2
    for: 10m
    severity: critical
    notify: [pagerduty]
"""


def line(i: int, minute: int, event: dict) -> str:
    return json.dumps({"event_id": f"e{i}", "occurred_at": f"2023-05-01T10:{minute:02d}:00+02:00", **event})


def test_backtest_timeline_and_json(tmp_path):
    site = {"event_type": "location", "location_id": "L1", "name": "L1", "province": "NL-UT",
            "location_type": "regular", "status": "open"}
    lines = [line(0, 0, {**site, "capacity": 2})]
    for i, minute in enumerate((1, 2), start=1):
        lines.append(line(i, minute, {"event_type": "placement", "person_id": f"p{i}", "action": "check_in",
                                      "location_id": "L1"}))
    lines.append(line(3, 30, {**site, "capacity": 4}))  # headroom back to 2: resolves
    lines.append(line(4, 59, {**site, "capacity": 4}))
    lines.append("not json")
    feed, rules, out = tmp_path / "f.jsonl", tmp_path / "r.yaml", tmp_path / "t.json"
    feed.write_text("\n".join(lines) + "\n")
    rules.write_text(RULES)
    result = run_capmon("backtest", str(feed), "--rules", str(rules), "--json", str(out), "--step", "1m")
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()
    assert len(printed) == 2
    assert printed[0].startswith("2023-05-01T10:12+02:00  FIRED") and "l1_full" in printed[0]
    assert printed[1].startswith("2023-05-01T10:30+02:00  RESOLVED")
    timeline = json.loads(out.read_text())
    assert [(t["kind"], t["alert_id"], t["since"]) for t in timeline] == [
        ("fired", "l1_full/L1", "2023-05-01T10:02+02:00"), ("resolved", "l1_full/L1", "2023-05-01T10:02+02:00")]
    assert "1 fired, 1 resolved" in result.stderr


def test_a_bad_rules_file_stops_the_worker_with_one_line(tmp_path, capmon_env):
    rules = tmp_path / "bad.yaml"
    rules.write_text(RULES.replace("below: 1", "below: 1\n    above: 5"))
    result = run_capmon("worker", env={**capmon_env, "CAPMON_ALERT_RULES": str(rules)}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"capmon worker: alert rules {rules}: rule 1 (l1_full): rule: give exactly one of below or above"]
