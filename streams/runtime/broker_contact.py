"""Whether this worker can reach Kafka: a metadata request every PROBE_INTERVAL_S on a client of its own.

Faust's consumer stays "running" while the broker is gone (it retries for ever, quietly), so a health check
that asks Faust says 200 through a whole outage. Asking the cluster for its metadata is the plainest evidence
that the worker can consume: `/health` answers 503 once no request has got through for UNREACHABLE_AFTER_S,
and the metrics count outages and their seconds. `Contact` is the pure bookkeeping; `BrokerProbe` the task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 2.0
PROBE_TIMEOUT_S = 5.0  # a broker that accepts connections but does not answer counts as gone too
UNREACHABLE_AFTER_S = 6.0  # one slow answer (a GC pause, a busy machine) is not an outage


@dataclass
class Contact:
    """The broker's reachability from the probes' results, on a monotonic clock (seconds)."""

    last_ok: float  # the last probe that got an answer (the worker's start counts as one)
    unreachable_after_s: float = UNREACHABLE_AFTER_S
    down_since: float | None = None  # the last answer before the current outage; None while reachable
    outages: int = 0
    down_seconds_done: float = 0.0  # the seconds of outages that have ended
    last_outage_s: float = 0.0

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def record(self, ok: bool, now: float) -> Literal["lost", "back"] | None:
        """Fold one probe's result in; says when the broker was lost or came back."""
        if ok:
            self.last_ok = now
            if self.down_since is None:
                return None
            self.last_outage_s = now - self.down_since
            self.down_seconds_done += self.last_outage_s
            self.down_since = None
            return "back"
        if self.down_since is None and now - self.last_ok >= self.unreachable_after_s:
            self.down_since = self.last_ok
            self.outages += 1
            return "lost"
        return None

    def down_for(self, now: float) -> float:
        """Seconds since the last answer, while the broker is unreachable (0 while it is reachable)."""
        return 0.0 if self.down_since is None else now - self.down_since

    def down_seconds(self, now: float) -> float:
        """Every second without the broker so far, the current outage included."""
        return self.down_seconds_done + self.down_for(now)


class BrokerProbe:
    """Asks the cluster for its metadata every `interval` seconds and keeps a `Contact` (run as a Faust task)."""

    def __init__(self, kafka: dict[str, Any], clock: Callable[[], float] = time.monotonic,
                 interval: float = PROBE_INTERVAL_S, timeout: float = PROBE_TIMEOUT_S) -> None:
        self.kafka = kafka  # aiokafka connection options (bootstrap servers, SASL/TLS)
        self.clock = clock
        self.interval = interval
        self.timeout = timeout
        self.contact = Contact(last_ok=clock())

    async def run(self) -> None:
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(**self.kafka, request_timeout_ms=int(self.timeout * 1000))
        try:
            while True:
                self._note(await self._ask(client))
                await asyncio.sleep(self.interval)
        finally:
            await client.close()

    async def _ask(self, client: Any) -> bool:
        try:
            if not client.cluster.brokers():
                await asyncio.wait_for(client.bootstrap(), self.timeout)
            await asyncio.wait_for(client.fetch_all_metadata(), self.timeout)
            return True
        except asyncio.CancelledError:
            raise
        except Exception:  # refused, timed out, no broker answered: all the same to the operator
            return False

    def _note(self, ok: bool) -> None:
        now = self.clock()
        change = self.contact.record(ok, now)
        if change == "lost":
            log.error("Kafka unreachable: no answer for %.0f s; /health answers 503 until it is back",
                      self.contact.down_for(now))
        elif change == "back":
            log.warning("Kafka reachable again after %.0f s without it", self.contact.last_outage_s)
