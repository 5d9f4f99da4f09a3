"""A worker stopped with SIGTERM while it processes: it writes nothing more once it lets its partitions go.

Faust's own stop closes the tables and leaves the consumer group before it cancels the app's tasks; the person
reader (an app task) went on folding and writing the changelog through all of that (and, on the producer Faust had
closed by then, exited 70): a stopping worker's writes could reach the changelog after the partitions' next owner
had recovered them."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from capmon.harness import WorkerProcess, wait_until
from streams.contract.topics import Topics
from tests.streams.test_worker import produce_feed, watermark_day
from tests.support.helpers import read_all

pytestmark = pytest.mark.kafka


LOG_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \[\d+\] \[\w+\] (.*)$", re.M)


def logged_at(log: str, message: str) -> float:
    """When the worker first logged a line containing `message` (seconds since the epoch, the worker's clock)."""
    for stamp, text in LOG_LINE.findall(log):
        if message in text:
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise AssertionError(f"the worker never logged {message!r}")


def test_a_worker_stopped_while_it_processes_writes_no_changelog_after_closing_its_table(settings, capmon_env,
                                                                                          tmp_path):
    produce_feed(capmon_env)
    worker = WorkerProcess(capmon_env, tmp_path, "a").start()
    wait_until(lambda: watermark_day(worker) >= 3, timeout=120, what="the worker to be processing the feed")
    took = worker.stop(timeout=30)
    assert worker.proc is not None and worker.proc.returncode == 0 and took < 15, worker.log()[-3000:]
    log = worker.log()
    closed = logged_at(log, "Closing rocksdb on stop")  # Faust's table is closed; the group is left next
    changelog = read_all(settings.kafka_bootstrap, [Topics(settings.topic_prefix).people_changelog])
    assert changelog, "the worker wrote no changelog before it was stopped"
    last = max(m.timestamp for m in changelog) / 1000  # the producer's clock: the same machine
    assert last <= closed + 0.001, (f"changelog written {last - closed:.3f} s after the table was closed",
                                    log[-3000:])
