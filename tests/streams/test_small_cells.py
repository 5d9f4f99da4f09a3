"""Small cells on the real worker (CONTRACT.md section 4): after decisions spread over the partitions, no
read-out (`/metrics`, `/api/*`, the status page, the log) carries a cell by nationality under 10, nor a
nationality that has one; the sums over partitions come first (a nationality small in every partition but
large in all shows)."""

from __future__ import annotations

import re

import pytest

from capmon.harness import WorkerProcess, wait_until
from tests.support.helpers import replay

pytestmark = pytest.mark.kafka

# (nationality, outcome, persons): rejected/ERI = 1 beside 9 granted (the review's case), MDA and DZA small too.
DECIDED = [("SYR", "granted", 20), ("SYR", "rejected", 10), ("ERI", "granted", 9), ("ERI", "rejected", 1),
           ("MDA", "rejected", 9), ("DZA", "granted", 1)]
HIDDEN = ("ERI", "MDA", "DZA")


def events() -> list[dict]:
    out, i = [], 0
    for nationality, outcome, persons in DECIDED:
        for _ in range(persons):
            person = f"person-{i:03d}"
            out.append({"event_type": "registration", "event_id": f"r{i}", "person_id": person,
                        "occurred_at": "2023-07-01T09:00:00+02:00", "application_type": "first",
                        "nationality": nationality})
            out.append({"event_type": "decision", "event_id": f"d{i}", "person_id": person,
                        "occurred_at": "2023-07-01T12:00:00+02:00", "outcome": outcome, "nationality": nationality})
            i += 1
    return out


def nationality_samples(metrics: str) -> dict[tuple[str, str, str], float]:
    """(metric, nationality, outcome) -> value of every series with a nationality label."""
    found = {}
    for line in metrics.splitlines():
        if line.startswith("#") or 'nationality="' not in line:
            continue
        name = line.split("{", 1)[0]
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        found[(name, labels["nationality"], labels["outcome"])] = float(line.rsplit(" ", 1)[1])
    return found


def test_no_read_out_of_the_real_worker_carries_a_small_cell(capmon_env, tmp_path):
    replay(events(), tmp_path / "decided.jsonl", capmon_env)
    worker = WorkerProcess(capmon_env, tmp_path).start()
    try:
        wait_until(lambda: sum(worker.get("/api/inflow")["decisions"].values()) == 50, timeout=120,
                   what="all 50 decisions in the figures")
        metrics = worker.text("/metrics")
        flow = worker.get("/api/inflow")
        everything = "\n".join([metrics, str(flow), str(worker.get("/api/occupancy")), worker.text("/"),
                                worker.log()])
    finally:
        worker.stop()
    cells = nationality_samples(metrics)
    assert cells, "no series by nationality"
    assert all(n == 0 or n >= 10 for n in cells.values()), {k: n for k, n in cells.items() if 0 < n < 10}
    assert {nat for _name, nat, _outcome in cells} == {"SYR", "other"}
    for name in ("capmon_decisions_by_nationality", "capmon_first_instance_decisions"):
        assert cells[(name, "SYR", "granted")] == 20 and cells[(name, "SYR", "rejected")] == 10
        assert cells[(name, "other", "granted")] == 10 and cells[(name, "other", "rejected")] == 10
    assert "# TYPE capmon_decisions_by_nationality gauge" in metrics
    assert flow["grant_rate"] == {"SYR": 20 / 30, "other": 10 / 20}
    by_group = flow["grant_rates"]["by_nationality"]
    assert {g: r["decisions"] for g, r in by_group.items()} == {"SYR": 30, "other": 20}
    assert flow["decisions"] == {"granted": 30, "rejected": 20}  # national: whole
    for nationality in HIDDEN:
        assert not re.search(rf"\b{nationality}\b", everything), nationality
