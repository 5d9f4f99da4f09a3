"""What a worker says about itself at scrape time (/health, /metrics): its consumer, its lag, what it holds."""

from __future__ import annotations

from collections.abc import Iterable

import faust

from streams.ingest.processors import PeopleProcessor
from streams.runtime.faust_adapter import committed_offset, read_offset
from streams.runtime.people_reader import PeopleReader


class WorkerHealth:
    """Reads Faust's consumer, the person reader and the people processor's partitions; changes nothing.
    `register_inputs` are the topics Faust's consumer reads (the person topics are the person reader's)."""

    def __init__(self, app: faust.App, people_processor: PeopleProcessor, people_reader: PeopleReader,
                 register_inputs: Iterable[str], prefix: str) -> None:
        self.app = app
        self.people_processor = people_processor
        self.people_reader = people_reader
        self.inputs = frozenset(register_inputs)
        self.prefix = prefix

    def consumer_lag(self) -> dict[tuple[str, int], int]:
        """Messages in the input partitions this worker owns that it has not processed yet, per topic (no
        prefix)."""
        return self._people_lag() | self._register_lag()

    def _people_lag(self) -> dict[tuple[str, int], int]:
        lag: dict[tuple[str, int], int] = {}
        reader = self.people_reader
        for partition, state in list(self.people_processor.partitions.items()):
            for topic in reader.people_topics:
                high = reader.highwater(topic, partition)
                if high is not None:
                    lag[(topic.removeprefix(self.prefix), partition)] = max(0, high - state.offsets.get(topic, 0))
        return lag

    def _register_lag(self) -> dict[tuple[str, int], int]:
        consumer = self.app.consumer
        try:
            assigned = consumer.assignment()
        except Exception:  # not started, or between generations: no lag to report
            return {}
        lag: dict[tuple[str, int], int] = {}
        for tp in assigned:
            if tp.topic not in self.inputs:
                continue
            high = consumer.highwater(tp)
            if high is None:
                continue
            read = read_offset(consumer, tp)
            position = read + 1 if read is not None else (committed_offset(consumer, tp) or 0)
            lag[(tp.topic.removeprefix(self.prefix), tp.partition)] = max(0, high - position)
        return lag

    def persons_held(self) -> int:
        return sum(len(state.people) for state in self.people_processor.partitions.values())

    def oldest_person_age_s(self) -> float | None:
        """capmon_person_oldest_event_age_seconds: the greatest over the owned partitions (runtime/metrics.py)."""
        partitions = list(self.people_processor.partitions.values())
        ages = [age for state in partitions if (age := state.oldest_age_us()) is not None]
        return max(ages) / 1e6 if ages else None

    def is_leader(self) -> bool:
        """This worker leads the consumer group (it exports the figures and evaluates the alerts)."""
        try:
            return bool(self.app.is_leader())
        except Exception:  # consumer not started yet
            return False

    def consuming(self) -> bool:
        return self.app.consumer.state == "running" and not self.app.should_stop

    def assigned_partitions(self) -> int:
        try:
            return len(self.app.consumer.assignment())
        except Exception:  # consumer not started yet: /health must still answer (503), not fail
            return 0
