"""Running one worker process: Faust's worker with capmon's logging, and a prompt stop on SIGTERM."""

from __future__ import annotations

import gc
import os
import threading

import faust

from streams.runtime.faust_adapter import SignalledWorker

STOP_GRACE_S = 10.0  # after SIGTERM/SIGINT, a worker that has not stopped by then exits anyway
# The fold allocates many small objects that live long (the persons held): with Python's default thresholds
# (700, 10, 10) the cyclic collector ran so often that it took a third of the fold's time. A young collection
# every 50,000 net allocations keeps cycles (asyncio, Faust) collected within a fraction of a second at these
# rates; the full collection stays bounded by CPython's own rule (only once the objects that survived
# collections since the last full one reach a quarter of all long-lived ones).
GC_THRESHOLDS = (50_000, 20, 100)


class DeadlineWorker(SignalledWorker):
    """Faust's worker, plus a hard deadline after SIGTERM/SIGINT.

    Faust stops gracefully on SIGTERM, but a crash-looping agent has kept it alive for many minutes. A daemon
    timer ends the process STOP_GRACE_S after the first signal, whatever Faust is doing by then.
    """

    def stop_signalled(self, exit_code: int) -> None:
        timer = threading.Timer(STOP_GRACE_S, lambda: os._exit(exit_code))
        timer.daemon = True
        timer.start()


def run(app: faust.App, loglevel: str = "info") -> int:
    """Run the Faust app as this process's worker until it is stopped."""
    gc.set_threshold(*GC_THRESHOLDS)
    DeadlineWorker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
    return 0
