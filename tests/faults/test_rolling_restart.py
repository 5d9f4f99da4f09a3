"""A rolling restart of two workers under a live feed, as an operator does it for an upgrade: SIGTERM one,
wait until the other has taken over, start it again, then the other one.

No figure is lost (both end exact), no page is sent twice (an alert that fires all along pages once), and
exactly one worker exports the figures (`capmon_figures_reporter` sums to 1) except for at most the session
timeout plus 10 s around each handover."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from capmon.harness import WorkerProcess, wait_until
from tests.streams.test_worker import FEED, ground_truth, wait_exact, watermark_day
from tests.support.helpers import start_capmon
from tests.support.receivers import FakeReceiver, ReceiversThread

pytestmark = pytest.mark.kafka
SESSION_TIMEOUT_S = 10.0  # CAPMON_SESSION_TIMEOUT_S's default
SPEED = 86_400 * 40 / 120  # forty days in about two minutes
RULES = """
rules:
  - name: always_on
    scope: national
    measure: headroom
    below: 100000000
    clear: 100000001
    severity: critical
    notify: [pagerduty]
"""


class ReporterSampler(threading.Thread):
    """Sums `capmon_figures_reporter` over the workers twice a second (a worker that does not answer counts 0)."""

    def __init__(self, workers: list[WorkerProcess]) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.samples: list[tuple[float, int]] = []
        self.running = True

    def run(self) -> None:
        while self.running:
            total = 0
            for worker in self.workers:
                with contextlib.suppress(OSError):
                    total += int(worker.metric("capmon_figures_reporter"))
            self.samples.append((time.monotonic(), total))
            time.sleep(0.5)  # the sampling rate, not a synchronisation

    def off_one(self) -> list[tuple[float, float]]:
        """The stretches (start, end) in which the sum was not 1, after it first was."""
        stretches, start, seen_one = [], None, False
        for at, total in self.samples:
            if total == 1:
                seen_one = True
                if start is not None:
                    stretches.append((start, at))
                    start = None
            elif seen_one and start is None:
                start = at
        if start is not None:
            stretches.append((start, self.samples[-1][0]))
        return stretches


def reporter(workers: list[WorkerProcess]) -> WorkerProcess | None:
    for worker in workers:
        try:
            if worker.metric("capmon_figures_reporter") == 1:
                return worker
        except OSError:
            continue
    return None


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_a_rolling_restart_loses_nothing_and_pages_once(settings, capmon_env, tmp_path):
    (tmp_path / "rules.yaml").write_text(RULES)
    with ReceiversThread(pagerduty=FakeReceiver("pagerduty")) as receivers:
        env = {**capmon_env, "CAPMON_ALERT_RULES": str(tmp_path / "rules.yaml"),
               "CAPMON_PAGERDUTY_ROUTING_KEY": "test-routing-key", "CAPMON_PAGERDUTY_URL": receivers["pagerduty"].url}
        workers = [WorkerProcess(env, tmp_path, name).start() for name in ("a", "b")]
        sampler = ReporterSampler(workers)
        feed = None
        try:
            wait_until(lambda: all(w.get("/health")["assigned_partitions"] for w in workers), timeout=60,
                       what="both workers to have partitions")
            sampler.start()
            feed = start_capmon("simulate", *FEED, "--speed", str(SPEED), env=capmon_env, log=tmp_path / "feed.log")
            handovers = []
            for n, (first, other) in enumerate([(workers[0], workers[1]), (workers[1], workers[0])]):
                day = 10 + 15 * n
                wait_until(lambda day=day: max(watermark_day(w) for w in workers) >= day, timeout=180,
                           what=f"the figures to reach day {day}")
                handovers.append(time.monotonic())
                took = first.stop(timeout=30)
                assert first.proc is not None and first.proc.returncode == 0 and took < 15, first.log()[-3000:]
                wait_until(lambda other=other: reporter(workers) is other, timeout=60,
                           what="the other worker to take over the figures")
                handovers.append(time.monotonic())
                first.start()  # it joins the group again: a rebalance, another handover
                handovers.append(time.monotonic())
            assert feed.wait(timeout=300) == 0, (tmp_path / "feed.log").read_text()
            expected, _valid, _invalid = ground_truth(settings)
            for worker in workers:
                wait_exact(worker, expected)
            wait_until(lambda: reporter(workers) is not None, timeout=60, what="a figures reporter")
            sampler.running = False
            sampler.join(10)

            limit = SESSION_TIMEOUT_S + 10
            for start, end in sampler.off_one():
                assert end - start <= limit, f"{end - start:.1f} s without exactly one reporter"
                assert any(abs(start - h) <= limit for h in handovers), "reporters off one away from a handover"
            pd = receivers["pagerduty"]
            wait_until(lambda: pd.incidents_opened == 1, timeout=30, what="the page")
            assert [b["event_action"] for b in pd.requests] == ["trigger"], "paged again across the handovers"
        finally:
            sampler.running = False
            if feed is not None and feed.poll() is None:
                feed.kill()
            for worker in workers:
                worker.stop()
