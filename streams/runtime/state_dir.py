"""The worker's local state directory (CAPMON_STATE_DIR): checked before the worker starts, kept per topic prefix
and claimed for one changelog (a state of other topics is set aside, never used), and a failure to write it
while running ends the worker with one line instead of a hang.

RocksDB reports a full disk as an exception in whatever wrote last (a changelog acknowledgement, a batch, a
recovery); Faust logs it and carries on with a store that no longer takes writes, so the worker hangs while it
looks alive. The local store is only a cache of the changelog (streams/runtime/person_table.py): a worker that stops
and is started again once there is space recovers what the store is missing from Kafka, no cleanup needed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, NoReturn

from streams.errors import CapmonError

log = logging.getLogger(__name__)
EXIT_STATE_UNWRITABLE = 4
PROBE_BYTES = 4 * 1024 * 1024  # RocksDB needs room for a write-ahead log and a memtable flush to open at all


class StateDirUnwritable(CapmonError):
    """The state directory cannot be created or written (full disk, read-only mount, permissions, a file)."""

    exit_code = EXIT_STATE_UNWRITABLE


def advice(state_dir: Path) -> str:
    return (f"free space on its disk or fix its permissions (CAPMON_STATE_DIR={state_dir}), then start the worker "
            "again: it recovers its state from Kafka, nothing to clean up")


def check_writable(state_dir: Path, probe_bytes: int = PROBE_BYTES) -> None:
    """Create the directory and write (and sync) a few megabytes in it; raise `StateDirUnwritable` if not."""
    probe = state_dir / ".capmon-write-probe"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as out:
            out.write(b"\0" * probe_bytes)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise StateDirUnwritable(f"cannot write the state directory {state_dir}: {reason(exc)}; "
                                 f"{advice(state_dir)}") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)


def reason(exc: BaseException) -> str:
    """What went wrong, in one line without a stack (OSError's strerror, or RocksDB's own message)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split())[:300]


def is_storage_failure(exc: BaseException) -> bool:
    """An exception that says the local store cannot be written (RocksDB raises a plain `Exception` with an
    "IO error: ..." message; Python raises OSError with ENOSPC, EROFS, EACCES...)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO)
    text = str(exc)
    return text.startswith("IO error") or "No space left on device" in text


def exit_unwritable(state_dir: Path, exc: BaseException) -> NoReturn:
    """One line on what failed and what to do, then end the process (the batch is not committed)."""
    log.critical("cannot write the state directory %s: %s; stopping: %s", state_dir, reason(exc), advice(state_dir))
    logging.shutdown()
    os._exit(EXIT_STATE_UNWRITABLE)


# --- whose state it is -----------------------------------------------------------------------------------

MARKER = "changelog.json"


class ChangelogIdentity(NamedTuple):
    """The changelog a local state was built from: its name and Kafka's id for it (None on a broker without
    topic ids). A topic deleted and created again has the same name and a new id."""

    topic: str
    topic_id: str | None

    def matches(self, recorded: ChangelogIdentity) -> bool:
        if self.topic != recorded.topic:
            return False
        return self.topic_id is None or recorded.topic_id is None or self.topic_id == recorded.topic_id


def topic_state_dir(state_dir: Path, prefix: str) -> Path:
    """The state of the topics under `prefix`, inside CAPMON_STATE_DIR: each prefix its own directory, so a new
    prefix (every `make run`) never meets the RocksDB offsets of another changelog. The prefix's alphabet
    (`A-Z a-z 0-9 . _ -`, streams/config.py) is safe in a file name; the `topics-` in front rules out `.` and `..`."""
    return state_dir / (f"topics-{prefix}" if prefix else "topics")


def recorded_identity(directory: Path) -> ChangelogIdentity | None:
    try:
        data = json.loads((directory / MARKER).read_text())
        return ChangelogIdentity(str(data["topic"]), data.get("topic_id"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def claim(directory: Path, identity: ChangelogIdentity, clock: Callable[[], datetime] = datetime.now) -> Path | None:
    """Make `directory` the local state of `identity`'s changelog, before Faust opens it.

    A state built from another changelog (another name, the same name created again, or no record of it) would
    make Faust stop with "persisted offset ... is higher than the last offset": it is set aside (renamed next
    to it, never deleted) with one WARNING line, and the worker rebuilds from the changelog. Returns where the
    old state went, or None."""
    set_aside = None
    try:
        recorded = recorded_identity(directory)
        held = [p for p in directory.iterdir() if p.name != MARKER] if directory.is_dir() else []
        if held and (recorded is None or not identity.matches(recorded)):
            set_aside = directory.with_name(f"{directory.name}.set-aside-{clock():%Y%m%dT%H%M%S}")
            while set_aside.exists():
                set_aside = set_aside.with_name(set_aside.name + "x")
            directory.rename(set_aside)
            was = f"changelog {recorded.topic} (id {recorded.topic_id})" if recorded else "an unrecorded changelog"
            log.warning("the local state in %s was built from %s, not from %s (id %s): set aside as %s, rebuilding "
                        "from the changelog (delete the set-aside directory when it is not needed)", directory, was,
                        identity.topic, identity.topic_id, set_aside)
        directory.mkdir(parents=True, exist_ok=True)
        if recorded != identity:
            written = directory / f".{MARKER}.new"
            written.write_text(json.dumps(identity._asdict()) + "\n")
            written.replace(directory / MARKER)
    except OSError as exc:
        raise StateDirUnwritable(f"cannot prepare the state directory {directory}: {reason(exc)}; "
                                 f"{advice(directory.parent)}") from None
    return set_aside
