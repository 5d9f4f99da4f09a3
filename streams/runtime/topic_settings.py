"""Topics that already exist keep the settings they were created with, whoever created them: capmon only
creates missing topics. A person topic with the producer's clock (`CreateTime`), a longer retention than the
privacy statement promises, or a register that is not compacted silently breaks what CONTRACT.md and
SECURITY.md say. So the existing topics are compared with what capmon would give them, and each one that
differs is one WARNING line (the settings and what to run) and `capmon_topic_config_mismatch{topic} 1`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from streams.config import Settings
from streams.contract.topics import Topics, changelog_configs, figures_configs, people_partitions_configs, topic_configs
from streams.runtime.kafka_io import client_options, kafka_errors

log = logging.getLogger(__name__)


class Difference(NamedTuple):
    """One setting of an existing topic that is not what capmon would have set."""

    setting: str
    wanted: str
    actual: str | None  # None: the broker did not name it


def wanted_settings(settings: Settings, topics: Topics, worker: bool = True) -> dict[str, dict[str, str]]:
    """Topic name -> the settings capmon creates it with: the contract topics, and for a worker its own."""
    wanted = {name: topic_configs(name.removeprefix(topics.prefix), settings.input_retention_days)
              for name in topics.all()}
    if worker:
        wanted[topics.figures] = figures_configs()
        wanted[topics.people_changelog] = changelog_configs(settings.input_retention_days)
        wanted[topics.people_partitions] = people_partitions_configs()
    return wanted


AT_LEAST = frozenset({"max.message.bytes"})  # a larger limit (the broker's default, 1,048,588) is as good


def differences(wanted: Mapping[str, str], actual: Mapping[str, str]) -> list[Difference]:
    """Every setting capmon gives the topic whose effective value on the broker is another (for a limit in
    AT_LEAST: a smaller one)."""
    return [Difference(key, value, actual.get(key)) for key, value in sorted(wanted.items())
            if not _satisfies(key, value, actual.get(key))]


def _satisfies(key: str, wanted: str, actual: str | None) -> bool:
    if key in AT_LEAST and actual is not None and actual.isdigit():
        return int(actual) >= int(wanted)
    return actual == wanted


def warning_line(topic: str, found: list[Difference]) -> str:
    """One line: what differs, and the command that makes the topic what capmon expects."""
    shown = ", ".join(f"{d.setting}={d.actual} (capmon creates it with {d.wanted})" for d in found)
    fix = ",".join(f"{d.setting}={d.wanted}" for d in found)
    return (f"topic {topic} exists with other settings than capmon gives it: {shown}; to align it: "
            f"kafka-configs.sh --alter --entity-type topics --entity-name {topic} --add-config '{fix}'")


def check_topic_settings(settings: Settings, worker: bool = True) -> dict[str, bool]:
    """Compare the existing topics with `wanted_settings`; log one WARNING line per topic that differs.

    Returns topic (without prefix) -> whether it differs, for every topic the broker described. A topic the
    broker does not describe yet (just created: its settings reach the answers a moment later, all at once)
    is left out rather than guessed at.
    """
    topics = Topics(settings.topic_prefix)
    wanted = wanted_settings(settings, topics, worker)
    with kafka_errors("checking the topics' settings", settings):
        admin = KafkaAdminClient(**client_options(settings))
        try:
            present = set(admin.list_topics())
            existing = [name for name in wanted if name in present]
            answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in existing],
                                            config_filter="all").get("topic", {}) if existing else {}
        finally:
            admin.close()
    checked: dict[str, bool] = {}
    for name in existing:
        actual = {key: entry.get("value") for key, entry in answer.get(name, {}).items()}
        if not actual:
            continue
        found = differences(wanted[name], actual)
        if found:
            log.warning(warning_line(name, found))
        checked[name.removeprefix(topics.prefix)] = bool(found)
    return checked
