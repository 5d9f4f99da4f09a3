"""The national picture every worker reads: per-partition summaries plus the register, from one topic.

Each worker publishes, for the source partitions it owns, a summary (absolute totals, versioned by the
offsets processed) and every register entry that became the latest. Every worker reads the whole topic
back into a `FiguresView`, so any worker can answer for the whole country, and a partition that moves to
another worker is simply published again by its new owner. Applying a message is idempotent.
"""

from __future__ import annotations

import logging

from streams.contract.events import Forecast, Location, parse_event
from streams.contract.record_parts import BadParts, is_head, join
from streams.contract.summary import PART_SEPARATOR, BadRecord, PartitionSummary, RegisterProgress
from streams.errors import InvalidEvent
from streams.state.readmodel import Figures
from streams.state.register import Register
from streams.state.stamp import micros
from streams.state.totals import Totals

log = logging.getLogger(__name__)

PARTITION_PREFIX = "partition:"
SITE_PREFIX = "site:"
FORECAST_PREFIX = "forecast:"
OFFSETS_PREFIX = "offsets:"  # how far a register partition has been processed: offsets:<topic>:<partition>


def partition_key(partition: int) -> bytes:
    return f"{PARTITION_PREFIX}{partition}".encode()


def register_key(event: Location | Forecast) -> bytes:
    if isinstance(event, Location):
        return f"{SITE_PREFIX}{event.location_id}".encode()
    return f"{FORECAST_PREFIX}{event.year}".encode()


def register_offsets_key(topic: str, partition: int) -> bytes:
    return f"{OFFSETS_PREFIX}{topic}:{partition}".encode()


class FiguresView:
    def __init__(self) -> None:
        self.summaries: dict[int, PartitionSummary] = {}
        self.register = Register()
        self._totals: Totals | None = None
        self._figures: Figures | None = None
        self.messages = 0
        self.bad_records = 0
        self.register_offsets: dict[tuple[str, int], int] = {}  # register (topic, partition) -> next offset
        self.parts: dict[int, dict[int, bytes]] = {}  # partition -> part number -> bytes (large summaries)
        self.heads: dict[int, bytes] = {}  # partition -> the latest head whose parts have not all been read
        self._changed_from: int | None = None  # earliest event time of the changes since `take_changed_from`

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one message of the figures topic in. Unknown keys are ignored; a broken record is logged and
        skipped (one bad message must not stop every worker's read-out)."""
        if key is None or value is None:
            return
        self.messages += 1
        self._figures = None
        try:
            self._apply(key.decode(), value)
        except (BadRecord, BadParts, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError) as exc:
            self.bad_records += 1
            log.warning("figures topic: skipped a broken record (key %r): %s", key[:80], exc)

    def _apply(self, name: str, value: bytes) -> None:
        if name.startswith(PARTITION_PREFIX):
            partition, _, part = name.removeprefix(PARTITION_PREFIX).partition(PART_SEPARATOR)
            if part:
                self.parts.setdefault(int(partition), {})[int(part)] = value
                self._join(int(partition))
            elif is_head(value):
                self.heads[int(partition)] = value
                self._join(int(partition))
            else:
                self.heads.pop(int(partition), None)
                self._summary(int(partition), value)
        elif name.startswith(SITE_PREFIX):
            self._fold(value, "location")
        elif name.startswith(FORECAST_PREFIX):
            self._fold(value, "forecast")
        elif name.startswith(OFFSETS_PREFIX):
            topic, _, partition = name.removeprefix(OFFSETS_PREFIX).rpartition(":")
            tp = (topic, int(partition))
            progress = RegisterProgress.decode(value)
            self.register_offsets[tp] = max(self.register_offsets.get(tp, 0), progress.next_offset)

    def _join(self, partition: int) -> None:
        """A large summary, once its head and all the parts it names are read (streams/contract/summary.py `split`)."""
        head = self.heads.get(partition)
        if head is None:
            return
        try:
            raw = join(head, self.parts.get(partition, {}))
        except BadParts:
            del self.heads[partition]  # counted once, not again with every later part
            raise
        if raw is not None:
            del self.heads[partition]
            self._summary(partition, raw)

    def _summary(self, partition: int, value: bytes) -> None:
        summary = PartitionSummary.decode(value)
        current = self.summaries.get(partition)
        if current is None or summary.version >= current.version:
            self.summaries[partition] = summary
            self._totals = None
            if current is None or summary.version > current.version:
                self._changed(summary.since_us)

    def _changed(self, at_us: int | None) -> None:
        if at_us is not None:
            self._changed_from = at_us if self._changed_from is None else min(self._changed_from, at_us)

    def take_changed_from(self) -> int | None:
        """The earliest event time of what changed in the figures since the last call (None: nothing did;
        UNKNOWN, below any event time, when a change cannot say): before it, the figures of the last call held."""
        changed, self._changed_from = self._changed_from, None
        return changed

    def slowest_watermark_us(self, partitions: int) -> int | None:
        """The event time up to which every person partition has spoken: the least watermark of the partitions
        that still had input to process, or, when none had, the greatest event time of the figures (an idle
        partition must not hold evaluation back forever, and a register change in a quiet night is evaluated at
        its own time). A partition with no summary yet holds everything back (None)."""
        busy, marks = [], []
        for partition in range(partitions):
            summary = self.summaries.get(partition)
            if summary is None:
                return None
            if summary.watermark_us is not None:
                marks.append(summary.watermark_us)
                if not summary.caught_up:
                    busy.append(summary.watermark_us)
            elif not summary.caught_up:
                return None  # it has input but has accepted nothing yet
        if busy:
            return min(busy)
        return max([*marks, *(st[0] for st, _site in self.register.sites.values())], default=None) if marks else None

    def read_per_topic(self) -> dict[str, int]:
        """How far each input topic has been processed, summed over the partitions' summaries."""
        read: dict[str, int] = {}
        for summary in self.summaries.values():
            for topic, offset in summary.offsets.items():
                read[topic] = read.get(topic, 0) + offset
        return read

    def register_processed(self, topic: str, partition: int) -> int:
        """The offset up to which a register partition's events are already in the figures (any worker's)."""
        return self.register_offsets.get((topic, partition), 0)

    def _fold(self, value: bytes, event_type: str) -> None:
        try:
            event = parse_event(value, event_type)
        except InvalidEvent as exc:  # workers publish only valid entries: this one is not a worker's
            raise BadRecord(f"not a register entry: {exc.reason}") from None
        if isinstance(event, Location):
            changed = self.register.fold_location(event)
        else:
            changed = isinstance(event, Forecast) and self.register.fold_forecast(event)
        if changed:
            self._changed(micros(event.occurred_at))

    @property
    def totals(self) -> Totals:
        if self._totals is None:
            self._totals = Totals.sum(summary.totals for summary in self.summaries.values())
        return self._totals

    @property
    def now_us(self) -> int | None:
        """The watermark: greatest event time accepted by any partition or the register."""
        stamps = [s.watermark_us for s in self.summaries.values() if s.watermark_us is not None]
        stamps += [st[0] for st, _site in self.register.sites.values()]
        stamps += [st[0] for st, _f in self.register.forecasts.values()]
        return max(stamps, default=None)

    def figures(self) -> Figures:
        """Every figure, derived once per change of the view (streams/state/readmodel.py)."""
        if self._figures is None:
            self._figures = Figures(self.totals, self.register, self.now_us)
        return self._figures


__all__ = ["FiguresView", "micros", "partition_key", "register_key"]
