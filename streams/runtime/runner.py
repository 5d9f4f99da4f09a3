"""Running one worker process: Faust's worker with capmon's logging, and a prompt stop on SIGTERM."""

from __future__ import annotations

import logging
import os
import threading

import faust

log = logging.getLogger("capmon.worker")
STOP_GRACE_S = 10.0  # after SIGTERM/SIGINT, a worker that has not stopped by then exits anyway


class _Worker(faust.Worker):
    """Faust's worker, plus a hard deadline after SIGTERM/SIGINT.

    Faust stops gracefully on SIGTERM, but a crash-looping agent has kept it alive for many minutes. A daemon
    timer ends the process STOP_GRACE_S after the first signal, whatever Faust is doing by then.
    """

    def _arm_deadline(self, code: int) -> None:
        timer = threading.Timer(STOP_GRACE_S, lambda: os._exit(code))
        timer.daemon = True
        timer.start()

    def _on_sigterm(self) -> None:
        self._arm_deadline(0)
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._arm_deadline(130)
        super()._on_sigint()


def run(app: faust.App, loglevel: str = "info") -> int:
    """Run the Faust app as this process's worker until it is stopped."""
    _Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
    return 0
