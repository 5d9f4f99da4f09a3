"""State that belongs to other topics is never used: the state directory is kept per topic prefix, and a state
built from another changelog (the same name, created again) is set aside with one WARNING line, not used. So
`make run` (deploy/run.sh, a fresh prefix each time, one state directory) works any number of times in a row,
and Ctrl-C leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from capmon.harness import WorkerProcess, free_port, wait_until
from streams.config import load_settings
from streams.contract.topics import Topics
from streams.runtime.state_dir import MARKER, ChangelogIdentity, claim, recorded_identity, topic_state_dir
from tests.streams.test_worker import ground_truth, wait_exact
from tests.support.helpers import REPO, run_capmon

# --- claiming a directory (pure file system) -----------------------------------------------------------------


def test_each_prefix_has_its_own_directory_and_no_prefix_can_escape_it(tmp_path):
    dirs = {topic_state_dir(tmp_path, p) for p in ("", "a.", "b.", ".", "..", "topics")}
    assert len(dirs) == 6 and all(d.parent == tmp_path for d in dirs)


def at(day: int):
    return lambda: datetime(2026, 1, day, 12, 0, 0)


def test_a_state_of_another_changelog_is_set_aside_with_one_warning_and_its_own_is_kept(tmp_path, caplog):
    here = tmp_path / "topics-p."
    one = ChangelogIdentity("p.capmon-people-changelog", "id-1")
    assert claim(here, one) is None and recorded_identity(here) == one
    (here / "v1").mkdir()
    (here / "v1" / "people-0.db").write_text("rocks")
    assert claim(here, one) is None and (here / "v1" / "people-0.db").exists()  # its own: kept

    recreated = ChangelogIdentity("p.capmon-people-changelog", "id-2")
    with caplog.at_level("WARNING"):
        aside = claim(here, recreated, clock=at(2))
    assert aside == tmp_path / "topics-p..set-aside-20260102T120000"
    assert (aside / "v1" / "people-0.db").read_text() == "rocks" and recorded_identity(aside) == one
    assert sorted(p.name for p in here.iterdir()) == [MARKER] and recorded_identity(here) == recreated
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "id-1" in warnings[0].getMessage() and "set aside" in warnings[0].getMessage()

    # A state with no record of its changelog is not trusted either; a second set-aside the same second is kept.
    (here / MARKER).unlink()
    (here / "v1").mkdir()
    again = claim(here, recreated, clock=at(2))
    assert again is not None and again != aside and again.exists() and aside.exists()


def test_a_broker_without_topic_ids_compares_names_only(tmp_path):
    here = tmp_path / "topics"
    claim(here, ChangelogIdentity("capmon-people-changelog", None))
    (here / "v1").mkdir()
    assert claim(here, ChangelogIdentity("capmon-people-changelog", "id-9")) is None
    assert recorded_identity(here) == ChangelogIdentity("capmon-people-changelog", "id-9")


# --- real workers on the real broker ---------------------------------------------------------------------------


def feed(env: dict[str, str], seed: int) -> None:
    done = run_capmon("simulate", "--days", "2", "--seed", str(seed), "--initial-occupancy", "0.02", env=env,
                      timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.mark.kafka
def test_one_state_directory_used_with_two_prefixes_in_a_row(kafka_bootstrap, capmon_env, settings, tmp_path):
    shared = tmp_path / "state"
    for number, seed in ((1, 11), (2, 12)):
        prefix = f"{settings.topic_prefix}p{number}."
        env = {**capmon_env, "CAPMON_TOPIC_PREFIX": prefix}
        feed(env, seed)
        expected, _valid, _invalid = ground_truth(load_settings({}, kafka_bootstrap=kafka_bootstrap,
                                                                topic_prefix=prefix))
        worker = WorkerProcess(env, tmp_path, name=f"p{number}")
        worker.env["CAPMON_STATE_DIR"] = str(shared)
        worker.start()
        try:
            wait_exact(worker, expected)
        finally:
            worker.stop()
        assert "set aside" not in worker.log() and "ConsistencyError" not in worker.log()
    assert {p.name for p in shared.iterdir() if p.is_dir()} == {
        f"topics-{settings.topic_prefix}p1.", f"topics-{settings.topic_prefix}p2."}


def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        names = [n for n in admin.list_topics() if n.startswith(prefix)]
        admin.delete_topics(names)
        wait_until(lambda: not any(n.startswith(prefix) for n in admin.list_topics()), timeout=60,
                   what="the topics to be deleted")
    finally:
        admin.close()


@pytest.mark.kafka
def test_topics_created_again_under_the_same_prefix_do_not_meet_the_old_state(settings, capmon_env, tmp_path):
    feed(capmon_env, 21)
    expected, _valid, _invalid = ground_truth(settings)
    worker = WorkerProcess(capmon_env, tmp_path)
    worker.start()
    try:
        wait_exact(worker, expected)
    finally:
        worker.stop()

    delete_topics(settings.kafka_bootstrap, settings.topic_prefix)
    feed(capmon_env, 22)  # creates the topics again, with other events
    expected, _valid, _invalid = ground_truth(settings)
    worker.start()
    try:
        wait_exact(worker, expected)
    finally:
        worker.stop()
    log = worker.log()
    assert "ConsistencyError" not in log and "Traceback" not in log
    warnings = [line for line in log.splitlines() if "set aside as" in line]
    assert len(warnings) == 1 and Topics(settings.topic_prefix).people_changelog in warnings[0]
    state = Path(worker.env["CAPMON_STATE_DIR"])
    assert len([p for p in state.iterdir() if ".set-aside-" in p.name]) == 1


# --- deploy/run.sh, as `make run` runs it ------------------------------------------------------------------


def processes_with(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (this test's own state directory): what a run left behind."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def make_run(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`make run` as from a terminal: Ctrl-C (SIGINT) at its default even when pytest itself was started in the
    background, where SIGINT is ignored and a non-interactive bash could not trap it."""
    with open(log, "wb") as out:
        return subprocess.Popen(["bash", str(REPO / "deploy" / "run.sh")], env=env, cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.fixture
def left_behind(tmp_path):
    """This test's state directory; whatever a failing run left behind is stopped afterwards (by pid)."""
    state = tmp_path / "state"
    yield state
    for pid in processes_with(str(state)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
@pytest.mark.kafka
def test_make_run_twice_in_a_row_on_one_checkout_and_ctrl_c_leaves_nothing_behind(capmon_env, settings, tmp_path,
                                                                                    left_behind):
    state = left_behind
    base = {**capmon_env, "CAPMON_STATE_DIR": str(state), "CAPMON_WEB_PORT": str(free_port()),
            "DAYS": "1", "SPEED": "7200", "SEED": "3"}
    for number in (1, 2):
        log = tmp_path / f"run{number}.log"
        run = make_run({**base, "CAPMON_TOPIC_PREFIX": f"{settings.topic_prefix}run{number}."}, log)
        assert run.wait(timeout=300) == 0, log.read_text()[-3000:]
        said = log.read_text()
        assert "capmon is running" in said and "the worker exited" not in said, said[-3000:]
        worker_log = (REPO / ".cache" / "run" / "worker.log").read_text()
        assert "ConsistencyError" not in worker_log and "Traceback" not in worker_log, worker_log[-3000:]
        assert "persons recovered" in worker_log  # the worker did build state, which the next run must not meet
        assert processes_with(str(state)) == []

    # Ctrl-C in the terminal: SIGINT to the whole foreground process group while the feed runs.
    log = tmp_path / "run3.log"
    run = make_run({**base, "CAPMON_TOPIC_PREFIX": f"{settings.topic_prefix}run3.", "DAYS": "365"}, log)
    wait_until(lambda: "capmon is running" in log.read_text() or run.poll() is not None, timeout=180,
               what="the third run to start")
    assert run.poll() is None, log.read_text()[-3000:]
    os.killpg(run.pid, signal.SIGINT)
    run.wait(timeout=60)
    deadline = time.monotonic() + 30  # the worker's own stop deadline is 10 s after the signal
    while processes_with(str(state)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(str(state)) == [], log.read_text()[-2000:]
    assert "worker stopped" in log.read_text()
