"""A full disk or an unwritable state directory: one clear line and a non-zero exit (4), never a hang; once
there is space again the same worker starts on the same directory and ends exact, nothing cleaned up by hand.

The full disk is a real one: a small tmpfs mounted for the test (needs root, as CI runs here), filled with a
ballast file while the worker runs."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from capmon.harness import WorkerProcess, wait_until
from streams.runtime.state_dir import EXIT_STATE_UNWRITABLE
from tests.streams.test_worker import ground_truth, wait_exact
from tests.support.helpers import replay, run_capmon

pytestmark = pytest.mark.kafka


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_a_state_directory_that_cannot_be_created_is_one_line_and_exit_4(capmon_env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    started = time.monotonic()
    refused = run_capmon("worker", env={**capmon_env, "CAPMON_STATE_DIR": str(blocker / "state")}, timeout=60)
    assert refused.returncode == EXIT_STATE_UNWRITABLE
    line = one_line(refused.stderr)
    assert "cannot write the state directory" in line and "CAPMON_STATE_DIR" in line, line
    assert time.monotonic() - started < 15


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a ballast file until the disk is full."""
    ballast = disk / "ballast"
    chunk = b"\0" * (1 << 20)
    with open(ballast, "wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    return ballast


def test_a_disk_that_fills_up_under_a_running_worker(small_disk, settings, capmon_env, tmp_path):
    fed = run_capmon("simulate", "--days", "2", "--seed", "41", "--initial-occupancy", "0.05", env=capmon_env,
                     timeout=300)
    assert fed.returncode == 0, fed.stderr
    before, valid, _invalid = ground_truth(settings)
    worker = WorkerProcess(capmon_env, tmp_path)
    worker.env["CAPMON_STATE_DIR"] = str(small_disk / "state")
    worker.start()
    try:
        wait_exact(worker, before)
        ballast = fill(small_disk)

        # New people arrive: their state cannot be stored.
        last = max(datetime.fromisoformat(e["occurred_at"]) for e in valid)
        events = [{"event_type": "registration", "event_id": f"disk-reg-{i}", "person_id": f"disk-p{i}",
                   "occurred_at": (last + timedelta(minutes=i)).isoformat(), "application_type": "first",
                   "nationality": "SYR"} for i in range(400)]
        replay(events, tmp_path / "more.jsonl", capmon_env)
        after, _valid, _invalid = ground_truth(settings)

        assert worker.proc is not None
        wait_until(lambda: worker.proc.poll() is not None, timeout=90, what="the worker to stop on a full disk")
        assert worker.proc.returncode == EXIT_STATE_UNWRITABLE, worker.log()[-3000:]
        critical = [line for line in worker.log().splitlines() if "CRITICAL" in line]
        assert len(critical) == 1 and "cannot write the state directory" in critical[0], critical
        assert "No space left on device" in critical[0] and "Traceback" not in worker.log()
        assert not re.search(r"disk-p|p-[0-9a-f]{16}", worker.log())  # no person id, no person state

        # With space again, the same worker on the same directory: exact, nothing cleaned up by hand.
        ballast.unlink()
        worker.start()
        wait_exact(worker, after)
    finally:
        worker.stop()
