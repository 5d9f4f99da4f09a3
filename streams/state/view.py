"""The national picture every worker reads: per-partition summaries plus the register, from one topic.

Each worker publishes, for the source partitions it owns, a summary (absolute totals, versioned by the
offsets processed) and every register entry that became the latest. Every worker reads the whole topic
back into a `FiguresView`, so any worker can answer for the whole country, and a partition that moves to
another worker is simply published again by its new owner. Applying a message is idempotent.
"""

from __future__ import annotations

import logging

from streams.contract.events import Forecast, Location
from streams.contract.records.figures import (
    PartitionSummary,
    RegisterKey,
    RegisterOffsetsKey,
    RegisterProgress,
    SummaryKey,
    decode_register_entry,
    parse_key,
)
from streams.contract.records.parts import BadParts, is_head, join
from streams.errors import BadRecord
from streams.state.outlook import DEFAULT_OUTLOOK_DAYS
from streams.state.readmodel import Figures
from streams.state.register import Register
from streams.state.stamp import micros
from streams.state.terms import DEFAULT_DECISION_TERMS, DecisionTerms
from streams.state.totals import Totals

log = logging.getLogger(__name__)


class FiguresView:
    def __init__(self, terms: DecisionTerms = DEFAULT_DECISION_TERMS, outlook_days: int = DEFAULT_OUTLOOK_DAYS) -> None:
        self.terms = terms  # the decision term by registration day (CAPMON_DECISION_TERMS)
        self.outlook_days = outlook_days  # CAPMON_OUTLOOK_DAYS
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
            self._apply(key, value)
        except (BadRecord, ValueError, TypeError, KeyError, RecursionError) as exc:
            self.bad_records += 1
            log.warning("figures topic: skipped a broken record (key %r): %s", key[:80], exc)

    def _apply(self, raw_key: bytes, value: bytes) -> None:
        key = parse_key(raw_key)
        if isinstance(key, SummaryKey):
            if key.part is not None:
                self.parts.setdefault(key.partition, {})[key.part] = value
                self._join(key.partition)
            elif is_head(value):
                self.heads[key.partition] = value
                self._join(key.partition)
            else:
                self.heads.pop(key.partition, None)
                self._summary(key.partition, value)
        elif isinstance(key, RegisterKey):
            self._fold(decode_register_entry(value, key.event_type))
        elif isinstance(key, RegisterOffsetsKey):
            tp = (key.topic, key.partition)
            progress = RegisterProgress.decode(value)
            self.register_offsets[tp] = max(self.register_offsets.get(tp, 0), progress.next_offset)

    def _join(self, partition: int) -> None:
        """A large summary, once its head and all the parts it names are read (records/figures.py `split`)."""
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

    def _fold(self, event: Location | Forecast) -> None:
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
            self._figures = Figures(self.totals, self.register, self.now_us, terms=self.terms,
                                   outlook_days=self.outlook_days)
        return self._figures
