"""What every benchmark needs: a broker (the one on KAFKA_PORT, or a fresh one it stops afterwards), a
scratch directory, a topic prefix of its own and the environment for `capmon` commands; how many messages the
topics hold, and the machine it ran on. Workers are run with capmon.harness, as in the tests."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "deploy" / "kafka"))

import localkafka  # noqa: E402

from streams.contract.topics import Topics  # noqa: E402


@dataclass(frozen=True)
class Setup:
    bootstrap: str
    tmp: Path
    topics: Topics
    env: dict[str, str]


@contextmanager
def bench_kafka(name: str) -> Iterator[Setup]:
    port = int(os.environ.get("KAFKA_PORT") or 29092)
    tmp = Path(tempfile.mkdtemp(prefix=f"capmon-{name}-"))
    started = not localkafka.metadata_ok("127.0.0.1", port)
    if started:
        localkafka.start(port, tmp / "kafka", localkafka.DEFAULT_CACHE)
    bootstrap = f"127.0.0.1:{port}"
    prefix = f"{name}{uuid.uuid4().hex[:6]}."
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=bootstrap, CAPMON_TOPIC_PREFIX=prefix)
    try:
        yield Setup(bootstrap, tmp, Topics(prefix), env)
    finally:
        if started:
            localkafka.stop(tmp / "kafka")


def replace_section(path: Path, heading: str, section: str) -> None:
    """Put `section` (which starts with the `## heading` line) in place of that section of the report, keeping
    every other section; appended when it is not there yet."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    marker = f"\n## {heading}"
    if marker in text:
        before, after = text.split(marker, 1)
        rest = after.split("\n## ", 1)
        text = before.rstrip() + "\n\n" + section.strip() + "\n" + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip() + "\n\n" + section.strip() + "\n"
    path.write_text(text)


def with_prefix(setup: Setup, name: str) -> tuple[Topics, dict[str, str]]:
    """Another topic prefix on the same broker (its own topics and consumer group)."""
    prefix = f"{name}{uuid.uuid4().hex[:6]}."
    return Topics(prefix), {**setup.env, "CAPMON_TOPIC_PREFIX": prefix}


def messages_in(bootstrap: str, topics: list[str]) -> int:
    """How many messages the topics hold (end minus beginning offsets, all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends, begins = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        return sum(ends[tp] - begins[tp] for tp in tps)
    finally:
        consumer.close()


def machine() -> str:
    """The line every report gives for where it ran."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"
