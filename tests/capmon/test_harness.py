"""The harness the tests and the benchmarks run workers with: ports, polling, /metrics, a worker that dies."""

from __future__ import annotations

import os
import time

import pytest

from capmon.harness import (
    PORTS_HIGH,
    PORTS_LOW,
    WorkerExited,
    WorkerProcess,
    free_port,
    free_ports,
    metric_sum,
    wait_until,
)

METRICS = """# HELP capmon_events_total Events read.
# TYPE capmon_events_total counter
capmon_events_total{result="accepted",topic="registrations"} 7.0
capmon_events_total{result="invalid",topic="registrations"} 2.0
capmon_events_total{result="accepted",topic="placements"} 3.0
capmon_events_created{result="accepted",topic="placements"} 1.7e+09
capmon_national_headroom 12.0
"""


def test_ports_are_below_the_ephemeral_range_consecutive_and_never_handed_out_twice():
    handed = [free_port() for _ in range(50)] + free_ports(2) + free_ports(2)
    assert len(set(handed)) == len(handed)
    assert all(PORTS_LOW <= p < PORTS_HIGH for p in handed)
    pair = free_ports(2)
    assert pair[1] == pair[0] + 1


def test_a_metric_is_the_sum_of_its_samples_with_those_labels_and_0_without_any():
    assert metric_sum(METRICS, "capmon_events_total") == 12
    assert metric_sum(METRICS, "capmon_events_total", {"result": "accepted"}) == 10
    assert metric_sum(METRICS, "capmon_events_total", {"result": "accepted", "topic": "placements"}) == 3
    assert metric_sum(METRICS, "capmon_events") == 0  # a name is whole: not a prefix of another
    assert metric_sum(METRICS, "capmon_national_headroom") == 12
    assert metric_sum(METRICS, "capmon_nothing") == 0


def test_wait_until_returns_what_the_condition_gave_and_takes_an_oserror_for_not_yet():
    answers = iter([ConnectionRefusedError(), None, 0, "ready"])

    def condition() -> str | None:
        answer = next(answers)
        if isinstance(answer, OSError):
            raise answer
        return answer

    assert wait_until(condition, timeout=10, interval=0.001) == "ready"


def test_wait_until_gives_up_at_its_deadline_saying_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="the moon"):
        wait_until(lambda: False, timeout=0.2, what="the moon", interval=0.01)
    assert time.monotonic() - started < 5


def test_a_worker_that_exits_while_waited_on_ends_the_wait_at_once_with_its_log(tmp_path):
    (tmp_path / "users").write_text("officer:not-a-hash\n")  # a bad users file: the worker stops at once
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}", CAPMON_WEB_USERS_FILE=str(tmp_path / "users"))
    worker = WorkerProcess(env, tmp_path)
    started = time.monotonic()
    with pytest.raises(WorkerExited, match=r"(?s)exited with 2.*CAPMON_WEB_USERS_FILE"):
        worker.start(timeout=60)
    assert time.monotonic() - started < 30
    assert worker.stop() == 0.0  # already ended: nothing to stop
