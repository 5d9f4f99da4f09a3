"""Alert leadership: the alert service runs on exactly one worker, the consumer group's leader.

`tick` is called regularly (a Faust timer). It starts the service when this worker leads and its figures have
caught up, stops it when leadership moves elsewhere, and restarts it after a failure (logged). A new leader
restores from the alerts topic, so a change of leader neither re-pages nor forgets anything.
"""

from __future__ import annotations

import asyncio
import logging

from alerts.delivery import Dispatcher
from alerts.service import AlertService

log = logging.getLogger(__name__)


class AlertLeadership:
    def __init__(self, service: AlertService, dispatcher: Dispatcher) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self._task: asyncio.Task | None = None
        self._dispatcher_started = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def tick(self, leading: bool, ready: bool) -> None:
        """Run the service while `leading` (once `ready`: the figures have caught up); stop it otherwise."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            error = self._task.exception()
            if error is not None:
                log.error("alert evaluation stopped: %r; restarting it", error)
        if leading and ready and not self.running:
            if not self._dispatcher_started:
                await self.dispatcher.start()
                self._dispatcher_started = True
            self._task = asyncio.create_task(self.service.run(), name="alert-evaluation")
        elif not leading and self.running:
            assert self._task is not None
            self._task.cancel()
