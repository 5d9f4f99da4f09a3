"""Where `simulate` and `replay` send records: a JSONL file or Kafka, paced in event time, with progress.

Both commands build a stream of `Record`s and hand it to `run_feed`; the sink decides where they go.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol
from zoneinfo import ZoneInfo

from streams.config import Settings
from streams.contract.topics import Topics
from streams.errors import KafkaUnavailable
from streams.tools.simulator.faults import Record

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class Sink(Protocol):
    def send(self, record: Record) -> None: ...

    def close(self) -> None:
        """Deliver everything still buffered; raise if anything could not be delivered."""


class FileSink:
    """One JSON event per line, exactly the bytes a Kafka sink would send."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = sys.stdout.buffer if str(path) == "-" else open(path, "wb")  # noqa: SIM115

    def send(self, record: Record) -> None:
        self._file.write(record.value + b"\n")

    def close(self) -> None:
        self._file.flush()
        if self._file is not sys.stdout.buffer:
            self._file.close()


class KafkaSink:
    """Produces each record to the topic of its event type, keyed per the contract; counts failed sends."""

    def __init__(self, settings: Settings) -> None:
        # the Kafka client only here: writing a file (`capmon simulate --out`, tests) need not load it
        from streams.runtime.kafka_io import ensure_topics, make_producer

        self.topics = Topics(settings.topic_prefix)
        ensure_topics(settings, self.topics)
        self._producer = make_producer(settings)
        self.failed = 0
        self._first_error: str | None = None

    def send(self, record: Record) -> None:
        future = self._producer.send(self.topics.for_event_type(record.event_type), key=record.key,
                                     value=record.value)
        future.add_errback(self._on_error)

    def _on_error(self, exc: BaseException) -> None:
        self.failed += 1
        self._first_error = self._first_error or str(exc)

    def close(self) -> None:
        self._producer.flush(timeout=60)
        self._producer.close(timeout=10)
        if self.failed:
            raise KafkaUnavailable(
                f"{self.failed} events were not delivered to Kafka (first error: {self._first_error})"
            )


class Pacer:
    """Sleeps so that event time advances `speed` times faster than the wall clock (0 = no pacing). Events
    before `paced_from` (a feed's opening state, dated when it happened) go at once."""

    def __init__(self, speed: float, paced_from: float | None = None) -> None:
        self.speed = speed
        self.paced_from = paced_from
        self._origin: tuple[float, float] | None = None
        self._latest = float("-inf")

    def wait(self, event_time: float) -> None:
        if self.speed <= 0 or (self.paced_from is not None and event_time < self.paced_from):
            return
        self._latest = max(self._latest, event_time)
        if self._origin is None:
            self._origin = (self._latest, time.monotonic())
        ahead = self._origin[1] + (self._latest - self._origin[0]) / self.speed - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


class Progress:
    """Counts per event type; a live line on a terminal, a line every `every` seconds otherwise."""

    def __init__(self, total: int | None = None, stream: IO[str] | None = None, every: float = 10.0) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.counts: Counter[str] = Counter()
        self.tty = self.stream.isatty()
        self.every = 0.25 if self.tty else every
        self._started = self._shown = time.monotonic()
        self._latest = float("-inf")

    def update(self, record: Record) -> None:
        self.counts[record.event_type] += 1
        self._latest = max(self._latest, record.t)
        now = time.monotonic()
        if now - self._shown >= self.every:
            self._shown = now
            self._show(final=False)

    def _show(self, final: bool) -> None:
        n = sum(self.counts.values())
        rate = n / max(time.monotonic() - self._started, 1e-9)
        done = f"{n:,}/{self.total:,}" if self.total else f"{n:,}"
        mix = " ".join(f"{k}s={v:,}" for k, v in sorted(self.counts.items()))
        line = f"{done} events ({rate:,.0f}/s) {mix}"
        if self._latest > 0:
            line += f", event time {datetime.fromtimestamp(self._latest, AMSTERDAM):%Y-%m-%d %H:%M}"
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self._show(final=True)


def run_feed(records: Iterable[Record], sink: Sink, speed: float = 0.0, progress: Progress | None = None,
             paced_from: float | None = None) -> int:
    """Send every record to the sink in order, paced from `paced_from` on; returns how many were sent."""
    pacer = Pacer(speed, paced_from)
    sent = 0
    try:
        for record in records:
            pacer.wait(record.t)
            sink.send(record)
            sent += 1
            if progress:
                progress.update(record)
    finally:
        sink.close()
        if progress:
            progress.finish()
    return sent
