"""The worker's local state directory (CAPMON_STATE_DIR): checked before the worker starts, and a failure to
write it while running ends the worker with one line instead of a hang.

RocksDB reports a full disk as an exception in whatever wrote last (a changelog acknowledgement, a batch, a
recovery); Faust logs it and carries on with a store that no longer takes writes, so the worker hangs while it
looks alive. The local store is only a cache of the changelog (streams/person_table.py): a worker that stops
and is started again once there is space recovers what the store is missing from Kafka, no cleanup needed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from pathlib import Path
from typing import NoReturn

from .errors import CapmonError

log = logging.getLogger("capmon.worker")
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
