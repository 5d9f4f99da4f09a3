"""The worker's own health metrics: events per topic and result, batches, dead letters, delivery.

Label values are bounded: topics, partitions and the contract's enums; no person id is ever a label. The figures
and the health read at scrape time are the read side's collectors (readout/collectors.py). Each registry is
passed in, so tests use a fresh `CollectorRegistry()`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

if TYPE_CHECKING:
    from streams.ingest.processors import Incoming

Metric = GaugeMetricFamily | CounterMetricFamily


class WorkerMetrics:
    """What this worker processed (labels: topic without prefix, result), and how fast."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        if registry is None:  # the worker's own registry: with process metrics (memory, CPU, open files)
            disable_created_metrics()  # no `*_created` series: Prometheus does not need them
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
        self.registry = registry
        self.events = PromCounter("capmon_events", "Input events by topic and result (accepted, duplicate, invalid)",
                                  ["topic", "result"], registry=self.registry)
        self.redelivered = PromCounter(
            "capmon_events_redelivered", "Input messages Kafka delivered again after a restart or rebalance, already "
            "in the state (not counted in capmon_events_total)", ["topic"], registry=self.registry)
        self.refetched = PromCounter(
            "capmon_events_refetched", "Input messages the consumer skipped after a rebalance (a faust-streaming "
            "race), read back from Kafka and processed (also counted in capmon_events_total)", ["topic"],
            registry=self.registry)
        self.erasures = PromCounter("capmon_erasures", "Tombstones on the person topics (one for a person not held "
                                    "erases nothing)", ["topic"], registry=self.registry)
        self.expired = PromCounter("capmon_persons_expired", "Persons forgotten after CAPMON_PERSON_RETENTION_DAYS "
                                   "(out of reception, not awaiting a decision)", registry=self.registry)
        self.dead_letters = PromCounter("capmon_dead_letters", "Invalid events sent to dead-letters", ["topic"],
                                        registry=self.registry)
        self.publish_refused = PromCounter("capmon_publish_refused", "Records capmon could not publish because the "
                                           "producer refused their size (logged; the worker goes on)", ["topic"],
                                           registry=self.registry)
        self.batch_seconds = Histogram("capmon_batch_processing_seconds", "Time to process one batch of events",
                                       buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                                       registry=self.registry)
        self.delay_seconds = Histogram(
            "capmon_event_delay_seconds",
            "From an event's Kafka timestamp to its batch being processed (the oldest event of each batch)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900), registry=self.registry)
        self.last_processed = Gauge("capmon_last_processed_timestamp_seconds",
                                    "Wall-clock time this worker last processed a batch of input events",
                                    registry=self.registry)
        self.topic_config_mismatch = Gauge(
            "capmon_topic_config_mismatch", "1 when an existing topic's settings (timestamp type, retention, "
            "compaction) differ from those capmon creates it with, checked at start (runtime/topic_settings.py)",
            ["topic"], registry=self.registry)

    def topics_checked(self, checked: Mapping[str, bool]) -> None:
        """The start-up comparison of each existing topic (name without prefix) with capmon's settings."""
        for topic, differs in checked.items():
            self.topic_config_mismatch.labels(topic).set(1 if differs else 0)

    def refetched_messages(self, messages: list[Incoming], prefix: str) -> None:
        for message in messages:
            self.refetched.labels(message.topic.removeprefix(prefix)).inc()

    def observe_batch(self, counts: Counter[tuple[str, str]], seconds: float,
                      oldest_timestamp_s: float | None = None) -> None:
        for (topic, result), n in counts.items():
            if result == "redelivered":
                self.redelivered.labels(topic).inc(n)
                continue
            if result == "erasure":
                self.erasures.labels(topic).inc(n)
                continue
            if result == "expired":
                self.expired.inc(n)
                continue
            self.events.labels(topic, result).inc(n)
            if result == "invalid":
                self.dead_letters.labels(topic).inc(n)
        self.batch_seconds.observe(seconds)
        now = time.time()
        self.last_processed.set(now)
        if oldest_timestamp_s is not None:
            self.delay_seconds.observe(max(0.0, now - oldest_timestamp_s))
