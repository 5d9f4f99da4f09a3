"""Every use of a private field or method of Faust (faust-streaming) in capmon, behind a named function.

Faust keeps no public view of a few things capmon needs: the offsets its consumer has committed and read, the
RocksDB database of one table partition, its worker's signal handlers, and the list of its own web pages.
Each use is here and nowhere else, and tests/streams/test_faust_adapter.py checks every one against the
installed faust-streaming, so an upgrade that renames or reshapes one fails that test by name instead of
breaking a worker quietly (the callers treat a missing offset as "unknown").
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TP


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The offset the consumer group last committed for `tp` as this consumer knows it (None: none yet)."""
    return consumer._committed_offset.get(tp)


def read_offset(consumer: Any, tp: TP) -> int | None:
    """The offset of the last message the consumer handed to a stream for `tp` (None: none yet)."""
    return consumer._read_offset.get(tp)


def partition_store(table: faust.Table, partition: int) -> Any:
    """The local store (a rocksdict database, a mapping of bytes) that holds one partition of `table`."""
    return table.data._db_for_partition(partition)


def mount_no_faust_pages(app: faust.App) -> None:
    """Mount none of Faust's own web blueprints ("/" answering {"status": "OK"} is left after every
    `web_*_enabled` flag is off): the routes are exactly the ones capmon adds."""
    app.web.blueprints._enabled = []


class SignalledWorker(faust.Worker):
    """Faust's worker that calls `stop_signalled` first when SIGTERM or SIGINT arrives (Faust's own handlers
    are private methods: `_on_sigterm`, `_on_sigint`)."""

    def stop_signalled(self, exit_code: int) -> None:
        """Called on SIGTERM (exit code 0) or SIGINT (130) before Faust starts its graceful stop."""

    def _on_sigterm(self) -> None:
        self.stop_signalled(0)
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self.stop_signalled(130)
        super()._on_sigint()
