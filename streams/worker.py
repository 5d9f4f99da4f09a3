"""Running one worker process: Faust's worker with capmon's logging, and a prompt stop on SIGTERM."""

from __future__ import annotations

import logging
import os
import sys
import threading

import faust

from .app import create_worker
from .config import Settings

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


def run_worker(settings: Settings, loglevel: str = "info", rules: list | None = None,
               layout: dict[str, int] | None = None) -> int:
    worker = create_worker(settings, rules, layout)
    print(f"capmon worker: web on http://{settings.web_host}:{settings.web_port}/ "
          f"(/metrics, /health, /api/occupancy, /api/inflow); Kafka {settings.kafka_bootstrap}, "
          f"{settings.partitions} partitions", file=sys.stderr, flush=True)
    _Worker(worker.app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
    return 0
