"""Every use of a private field or method of Faust (faust-streaming) in capmon, behind a named function.

Faust keeps no public view of a few things capmon needs: the offsets its consumer has committed and read, the
RocksDB database of one table partition, its worker's signal handlers, and the list of its own web pages; and
one of its methods loses changelog records (`keep_fetched_changelog` replaces it).
Each use is here and nowhere else, and tests/streams/test_faust_adapter.py checks every one against the
installed faust-streaming, so an upgrade that renames or reshapes one fails that test by name instead of
breaking a worker quietly (the callers treat a missing offset as "unknown").
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import faust
import faust.transport.consumer
from faust.types import TP

log = logging.getLogger(__name__)


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


# the source of faust.transport.consumer.Consumer.getmany in faust-streaming 0.15.3, which `keep_fetched_changelog`
# replaces: a test compares the installed one with it, so an upgrade is read again before the replacement is kept
GETMANY_SHA256 = "4b168d84882a70d6e3e2f9804430a63b92f8fd117d3187cbb4aeb54305bda34e"
original_getmany = faust.transport.consumer.Consumer.getmany


async def _getmany_keeping_changelog(self: Any, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
    """Faust's `Consumer.getmany`, except that changelog records it fetched and did not hand on are fetched again.

    Faust fetches from every assigned partition, then drops the fetched records of a partition paused meanwhile,
    or all that remain once the flow stops or the generation changes; the client's position has already moved
    past them. Stream partitions are sought back to their committed offsets later; changelog partitions have
    none, so a standby copy of a table silently missed them (docs/upstream/faust-standby-catch-up-skip.md). Here
    each changelog partition with dropped records is sought back to the first of them, unless someone (the
    recovery) has sought it elsewhere meanwhile. Reading a changelog record twice is harmless: the recovery
    applies only offsets past the last it saw."""
    records, active_partitions = await self._wait_next_records(timeout)
    generation_id = self.app.consumer_generation_id
    if records is None or self.should_stop:
        return
    dropped: dict[TP, tuple[int, int | None]] = {}  # changelog tp -> (first dropped offset, read offset then)
    records_it = self.scheduler.iterate(records)
    try:
        if self.flow_active:
            for tp, record in records_it:
                if not self.flow_active or self.app.consumer_generation_id != generation_id:
                    _note_dropped(self, dropped, tp, record.offset)
                    break
                if active_partitions is None or tp in active_partitions or tp in self._buffered_partitions:
                    self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                    yield tp, self._to_message(tp, record)
                else:
                    _note_dropped(self, dropped, tp, record.offset)
        else:
            try:
                await self.perform_seek()  # Faust: back to the committed offsets of the stream partitions
            except Exception as exc:
                self.log.warning(f"exception performing seek when flow not active {exc}")
    finally:
        for tp, record in records_it:  # what a break left
            _note_dropped(self, dropped, tp, record.offset)
        await _fetch_again(self, dropped)


def _note_dropped(consumer: Any, dropped: dict[TP, tuple[int, int | None]], tp: TP, offset: int) -> None:
    """Remember the first dropped offset of a changelog partition, and where Faust's read offset was then."""
    if consumer._is_changelog_tp(tp):
        first, was = dropped.get(tp, (offset, read_offset(consumer, tp)))
        dropped[tp] = (min(first, offset), was)


async def _fetch_again(consumer: Any, dropped: dict[TP, tuple[int, int | None]]) -> None:
    """Seek each partition back to its first dropped record, unless it was sought elsewhere meanwhile (a seek sets
    the read offset: the recovery's seek wins) or the client is not past it."""
    if consumer.app.should_stop:
        return  # the worker stops: its standby copies go on from their persisted offsets next time
    for tp, (first, was) in dropped.items():
        try:
            if read_offset(consumer, tp) != was or tp not in consumer.assignment():
                continue
            position = await consumer.position(tp)
            if position is not None and position > first:
                await consumer.seek(tp, first)
                log.info("changelog %s[%d]: records from %d were fetched but not handed on; fetching them again",
                         tp.topic, tp.partition, first)
        except Exception as exc:  # not assigned any more: its next owner reads it from where it needs
            consumer.log.info("changelog %s: not fetched again from %d: %r", tp, first, exc)


def keep_fetched_changelog() -> None:
    """Install `_getmany_keeping_changelog` in place of Faust's `Consumer.getmany` (once per process)."""
    faust.transport.consumer.Consumer.getmany = _getmany_keeping_changelog  # type: ignore[method-assign]
