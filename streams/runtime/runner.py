"""Running one worker process: Faust's worker with capmon's logging, and a prompt stop on SIGTERM."""

from __future__ import annotations

import os
import threading

import faust

from streams.runtime.faust_adapter import SignalledWorker

STOP_GRACE_S = 10.0  # after SIGTERM/SIGINT, a worker that has not stopped by then exits anyway


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
    DeadlineWorker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
    return 0
