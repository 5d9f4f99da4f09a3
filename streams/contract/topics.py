"""Topic names (CONTRACT.md section 1) and which event field keys each topic.

`Topics` is the one owner of every topic name capmon uses: the contract's, the worker's figures topic and the
person table's changelog (the records on them: streams/contract/records/).
"""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPES = ("registration", "decision", "placement", "location", "forecast")

# The field whose value is the Kafka key, per event type: one person's events stay on one partition.
KEY_FIELD = {
    "registration": "person_id",
    "decision": "person_id",
    "placement": "person_id",
    "location": "location_id",
    "forecast": "year",
}

# Topics that hold the latest value per key and are compacted.
COMPACTED = frozenset({"locations", "forecasts", "alerts"})
PERSON_TOPICS = frozenset({"registrations", "decisions", "placements"})
PEOPLE_TABLE = "people"  # the person table's name: Faust names its changelog <app id>-people-changelog
DAY_MS = 86_400_000
DEAD_LETTER_RETENTION_DAYS = 14
# The largest record capmon's producers send and the topics it creates accept (the broker's own default, made
# explicit so the two agree): what a worker publishes is bounded well below it by design (dead letters cut to
# 1 KiB, large summaries split into parts of 256 KiB).
PUBLISH_MAX_BYTES = 1_048_576


@dataclass(frozen=True)
class Topics:
    """The names of capmon's topics under one prefix (`CAPMON_TOPIC_PREFIX`)."""

    prefix: str = ""

    @property
    def registrations(self) -> str:
        return f"{self.prefix}registrations"

    @property
    def decisions(self) -> str:
        return f"{self.prefix}decisions"

    @property
    def placements(self) -> str:
        return f"{self.prefix}placements"

    @property
    def locations(self) -> str:
        return f"{self.prefix}locations"

    @property
    def forecasts(self) -> str:
        return f"{self.prefix}forecasts"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}alerts"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}dead-letters"

    @property
    def figures(self) -> str:
        """The worker's own read-model topic (records/figures.py), created by `capmon worker`."""
        return f"{self.prefix}capmon-figures"

    @property
    def people_changelog(self) -> str:
        """The person table's changelog (records/changelog.py): Faust's name for the table's topic."""
        return f"{self.app_id}-{PEOPLE_TABLE}-changelog"

    @property
    def people_partitions(self) -> str:
        """An empty topic with the person topics' partition count, created by `capmon worker`: the worker's Faust
        consumer subscribes to it instead of the person topics (which a plain consumer reads,
        streams/runtime/people_reader.py), so Faust's group assigns its partitions, and with them the person
        table's, while nothing passes through Faust's stream machinery. Partition p assigned: the person
        topics' partition p and the table's are this worker's."""
        return f"{self.app_id}-people-partitions"

    @property
    def app_id(self) -> str:
        """The Faust app id: it names the consumer group and internal topics, so the prefix keeps them apart."""
        return f"{self.prefix}capmon"

    def for_event_type(self, event_type: str) -> str:
        return f"{self.prefix}{event_type}s"

    def event_type_of(self, topic: str) -> str | None:
        """The event type a topic carries, or None for capmon's own output topics."""
        for event_type in EVENT_TYPES:
            if topic == self.for_event_type(event_type):
                return event_type
        return None

    def all(self) -> list[str]:
        """Every contract topic, inputs first."""
        return [self.for_event_type(t) for t in EVENT_TYPES] + [self.alerts, self.dead_letters]

    def is_compacted(self, topic: str) -> bool:
        return topic.removeprefix(self.prefix) in COMPACTED


def event_key(event: dict) -> bytes | None:
    """The Kafka key for an event given as a JSON object (None when the key field is missing)."""
    value = event.get(KEY_FIELD.get(event.get("event_type", ""), ""))
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).encode()


def topic_configs(base: str, input_retention_days: int) -> dict[str, str]:
    """The settings capmon gives a topic it creates (`base` is the name without prefix; CONTRACT.md sections 2
    and 3, README "Privacy"). Every topic takes the broker's time (a producer's clock cannot vouch for itself);
    person events are kept only as long as re-delivery and recovery need them (state lives in the changelog);
    dead letters 14 days; the latest-value topics are compacted."""
    configs = {"message.timestamp.type": "LogAppendTime", "max.message.bytes": str(PUBLISH_MAX_BYTES)}
    if base in PERSON_TOPICS:
        configs |= {"cleanup.policy": "delete", "retention.ms": str(input_retention_days * DAY_MS)}
    elif base == "dead-letters":
        configs |= {"cleanup.policy": "delete", "retention.ms": str(DEAD_LETTER_RETENTION_DAYS * DAY_MS)}
    elif base in COMPACTED:
        configs["cleanup.policy"] = "compact"
    return configs


def figures_configs() -> dict[str, str]:
    """The worker's figures topic (summaries, the register, the pseudonym key's fingerprint): latest per key."""
    return {"cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime",
            "max.message.bytes": str(PUBLISH_MAX_BYTES)}


def people_partitions_configs() -> dict[str, str]:
    """The empty topic that carries the person partitions' assignment (`Topics.people_partitions`): nothing is
    written to it; anything that is, is small, kept briefly and ignored."""
    return {"cleanup.policy": "delete", "retention.ms": str(DAY_MS), "max.message.bytes": "1024"}


def changelog_configs(input_retention_days: int) -> dict[str, str]:
    """The person table's changelog: compacted, an erased value (a tombstone or a smaller record) replaces the
    old one on disk within a day (the erasure deadline), and tombstones stay as long as the input topics so a
    worker that was down (up to that long) still sees them when it catches up."""
    return {"cleanup.policy": "compact", "max.compaction.lag.ms": str(DAY_MS),
            "max.message.bytes": str(PUBLISH_MAX_BYTES), "delete.retention.ms": str(input_retention_days * DAY_MS),
            "min.cleanable.dirty.ratio": "0.1", "segment.ms": str(DAY_MS)}
