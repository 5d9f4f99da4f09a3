"""Topics that exist before capmon (created by hand, by an older version, by a producer's auto-create) are
compared with the settings capmon would give them: each one that differs is one WARNING line naming the
settings and the fix, and `capmon_topic_config_mismatch{topic} 1` on the worker; the others say 0."""

from __future__ import annotations

import re

from capmon.harness import WorkerProcess
from streams.config import load_settings
from streams.contract.topics import Topics
from streams.runtime.topic_settings import Difference, differences, wanted_settings, warning_line
from tests.support.helpers import run_capmon

DAY_MS = 86_400_000


def test_only_the_settings_capmon_gives_are_compared():
    wanted = {"message.timestamp.type": "LogAppendTime", "retention.ms": str(30 * DAY_MS)}
    same = {**wanted, "segment.bytes": "1073741824", "min.insync.replicas": "2"}  # the rest is the operator's
    assert differences(wanted, same) == []
    other = {**same, "message.timestamp.type": "CreateTime", "retention.ms": "-1"}
    assert differences(wanted, other) == [Difference("message.timestamp.type", "LogAppendTime", "CreateTime"),
                                          Difference("retention.ms", str(30 * DAY_MS), "-1")]
    assert differences({"cleanup.policy": "compact"}, {}) == [Difference("cleanup.policy", "compact", None)]
    limit = {"max.message.bytes": "1048576"}  # a topic made before capmon set it has the broker's 1048588
    assert differences(limit, {"max.message.bytes": "1048588"}) == []
    assert differences(limit, {"max.message.bytes": "65536"}) == [Difference("max.message.bytes", "1048576", "65536")]


def test_the_warning_is_one_line_with_the_fix():
    line = warning_line("acc.registrations", [Difference("message.timestamp.type", "LogAppendTime", "CreateTime")])
    assert "\n" not in line and "message.timestamp.type=CreateTime" in line
    assert "--entity-name acc.registrations --add-config 'message.timestamp.type=LogAppendTime'" in line


def test_a_worker_checks_its_own_topics_too():
    settings = load_settings({}, topic_prefix="p.", input_retention_days=7)
    wanted = wanted_settings(settings, Topics("p."))
    assert set(wanted) == {*Topics("p.").all(), "p.capmon-figures", "p.capmon-people-changelog",
                           "p.capmon-people-partitions"}
    assert wanted["p.placements"]["retention.ms"] == str(7 * DAY_MS)
    assert wanted["p.capmon-figures"]["cleanup.policy"] == "compact"
    assert set(wanted_settings(settings, Topics("p."), worker=False)) == set(Topics("p.").all())


def _create(settings, name: str, configs: dict[str, str]) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    from streams.runtime.kafka_io import client_options

    admin = KafkaAdminClient(**client_options(settings))
    try:
        admin.create_topics([NewTopic(name, num_partitions=settings.partitions, replication_factor=-1,
                                      topic_configs=configs)])
    finally:
        admin.close()


def _gauge(worker: WorkerProcess) -> dict[str, float]:
    found = re.findall(r'^capmon_topic_config_mismatch\{topic="([^"]+)"\} (\S+)$', worker.text("/metrics"), re.M)
    return {topic: float(value) for topic, value in found}


def test_existing_topics_with_other_settings_are_one_warning_each_and_a_gauge(settings, capmon_env, tmp_path):
    topics = Topics(settings.topic_prefix)
    # As a producer's auto-create or a hand-made topic would be: the producer's clock, kept for ever.
    _create(settings, topics.registrations, {"message.timestamp.type": "CreateTime", "retention.ms": "-1"})
    _create(settings, topics.locations, {"cleanup.policy": "delete"})  # the register must be compacted

    done = run_capmon("topics", env=capmon_env, timeout=120)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, done.stderr
    (registrations,) = [w for w in warnings if f"topic {topics.registrations} " in w]
    assert "message.timestamp.type=CreateTime (capmon creates it with LogAppendTime)" in registrations
    assert f"retention.ms=-1 (capmon creates it with {30 * DAY_MS})" in registrations
    (locations,) = [w for w in warnings if f"topic {topics.locations} " in w]
    assert "cleanup.policy=delete (capmon creates it with compact)" in locations

    worker = WorkerProcess(capmon_env, tmp_path).start()
    try:
        gauge = _gauge(worker)
    finally:
        worker.stop()
    assert gauge["registrations"] == 1 and gauge["locations"] == 1
    # The topics capmon created itself (moments before, by `capmon topics` and the worker) agree.
    assert {t for t, v in gauge.items() if v == 0} >= {"decisions", "placements", "forecasts", "alerts",
                                                       "dead-letters"}
    assert sum(gauge.values()) == 2
    assert sum("WARNING" in line and "exists with other settings" in line for line in worker.log().splitlines()) == 2
