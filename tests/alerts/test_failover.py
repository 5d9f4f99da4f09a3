"""Fail-over: kill -9 the leader (which evaluates the alerts) while a standby worker runs; the next threshold
crossing is paged within 30 s of the kill, by the standby, once. Nothing is replayed from history, so this
does not depend on how much history Kafka holds (bench/failover.py measures it with one and three years)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from capmon.harness import WorkerProcess, wait_until
from tests.support.helpers import run_capmon, write_jsonl
from tests.support.receivers import FakeReceiver, ReceiversThread

pytestmark = pytest.mark.kafka

START = datetime.fromisoformat("2023-07-01T06:00:00+02:00")
RULES = """
rules:
  - name: national_low
    scope: national
    measure: headroom
    below: 5
    clear: 8
    for: 0s
    severity: critical
    notify: [pagerduty]
"""


def check_ins(first: int, count: int, minute: int) -> list[dict]:
    return [{"event_type": "placement", "event_id": f"in-{n}", "person_id": f"p{n:03d}", "action": "check_in",
             "location_id": "L1", "occurred_at": (START + timedelta(minutes=minute + n)).isoformat()}
            for n in range(first, first + count)]


def test_the_next_crossing_after_kill_9_of_the_leader_is_paged_by_the_standby_within_30_s(capmon_env, tmp_path):
    (tmp_path / "rules.yaml").write_text(RULES)
    site = {"event_type": "location", "event_id": "loc-L1", "occurred_at": START.isoformat(), "location_id": "L1",
            "name": "AZC Een", "province": "NL-UT", "location_type": "regular", "capacity": 40, "status": "open"}
    before = write_jsonl(tmp_path / "before.jsonl", [site, *check_ins(0, 30, 0)])  # headroom 10
    crossing = write_jsonl(tmp_path / "crossing.jsonl", check_ins(30, 8, 60))  # headroom 2
    assert run_capmon("replay", str(before), env=capmon_env).returncode == 0
    with ReceiversThread(pagerduty=FakeReceiver("pagerduty")) as receivers:
        env = {**capmon_env, "CAPMON_ALERT_RULES": str(tmp_path / "rules.yaml"),
               "CAPMON_PAGERDUTY_ROUTING_KEY": "test-routing-key", "CAPMON_PAGERDUTY_URL": receivers["pagerduty"].url}
        workers = [WorkerProcess(env, tmp_path, name).start() for name in ("a", "b")]
        try:
            wait_until(lambda: all(w.get("/health")["assigned_partitions"] for w in workers), timeout=90,
                       what="both workers to have partitions")
            wait_until(lambda: all(w.get("/api/occupancy")["national"]["headroom"] == 10 for w in workers), timeout=60,
                       what="both workers to show the figures")
            leader = wait_until(lambda: next((w for w in workers if w.metric("capmon_figures_reporter") == 1),
                                             None), timeout=60, what="a leader")
            leader.kill9()
            killed = time.monotonic()
            assert run_capmon("replay", str(crossing), env=capmon_env).returncode == 0
            pd = receivers["pagerduty"]
            wait_until(lambda: pd.accepted, timeout=60, what="the page")
            print(f"paged {pd.arrivals[0] - killed:.1f} s after the kill")
            assert pd.arrivals[0] - killed <= 30, f"paged {pd.arrivals[0] - killed:.1f} s after the kill"
            assert pd.incidents == {"national_low/national": "triggered"} and pd.incidents_opened == 1
        finally:
            for worker in workers:
                worker.stop()
