"""The command line fails with one clear line, never a traceback, on the mistakes users make."""

from __future__ import annotations

import os

from capmon.harness import free_port, wait_until
from tests.support.helpers import run_capmon


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(extra)
    return env


def test_an_unreachable_broker_is_one_line_saying_what_to_do(tmp_path):
    feed = tmp_path / "one.jsonl"
    feed.write_text('{"event_type":"forecast","year":2023}\n')
    env = _env(CAPMON_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}")
    for args in (["replay", str(feed)], ["simulate", "--days", "1"], ["topics"]):
        result = run_capmon(*args, env=env, timeout=60)
        assert result.returncode == 3, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot reach Kafka" in lines[0] and "make kafka" in lines[0], result.stderr


def test_a_bad_setting_stops_the_command_with_one_line():
    result = run_capmon("topics", env=_env(CAPMON_WEB_PORT="eighty"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "capmon topics: bad configuration: CAPMON_WEB_PORT='eighty': Input should be a valid integer, "
        "unable to parse string as an integer")


def test_bad_arguments_are_refused_by_name(tmp_path):
    result = run_capmon("simulate", "--scenario", "huge", "--out", str(tmp_path / "x.jsonl"))
    assert result.returncode == 2 and "--scenario" in result.stderr and "Traceback" not in result.stderr
    missing = run_capmon("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_topics_are_created_with_broker_time_retention_and_compaction(settings):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from streams.contract.topics import Topics
    from streams.runtime.kafka_io import client_options, prepare_worker_topics

    prepare_worker_topics(settings)
    topics = Topics(settings.topic_prefix)
    names = [*topics.all(), topics.people_changelog]
    admin = KafkaAdminClient(**client_options(settings))

    def described() -> dict[str, dict[str, str]] | None:
        answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])["topic"]
        configs = {name.removeprefix(settings.topic_prefix): {k: v["value"] for k, v in entries.items()}
                   for name, entries in answer.items()}
        return configs if all(configs.get(n.removeprefix(settings.topic_prefix)) for n in names) else None

    try:  # a new topic's settings reach the broker's answers a moment after it is created
        configs = wait_until(described, timeout=30, what="the topics' settings")
    finally:
        admin.close()
    day = 86_400_000
    for person in ("registrations", "decisions", "placements"):
        assert configs[person]["message.timestamp.type"] == "LogAppendTime"
        assert configs[person]["retention.ms"] == str(30 * day) and configs[person]["cleanup.policy"] == "delete"
    assert configs["dead-letters"]["retention.ms"] == str(14 * day)
    for latest in ("locations", "forecasts", "alerts"):
        assert configs[latest]["cleanup.policy"] == "compact", latest
    changelog = configs["capmon-people-changelog"]
    assert changelog["cleanup.policy"] == "compact" and changelog["max.compaction.lag.ms"] == str(day)
    assert changelog["delete.retention.ms"] == str(30 * day)
