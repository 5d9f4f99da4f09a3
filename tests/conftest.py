"""Shared fixtures: one real Kafka broker per test session, and a fresh topic prefix per test.

The broker is the one `make kafka` runs (deploy/kafka/localkafka.py), on KAFKA_PORT (default 9092). If a broker
already answers there it is reused; otherwise one is started with a fresh data directory and stopped at the end.
Every test gets its own topic prefix, so tests never see each other's data, even on a reused broker.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.config import Settings, load_settings
from streams.runtime.runner import GC_THRESHOLDS

# The pure tests fold simulated months and years with the garbage collector the worker runs with.
gc.set_threshold(*GC_THRESHOLDS)

REPO = Path(__file__).resolve().parent.parent
LOCALKAFKA = REPO / "deploy" / "kafka" / "localkafka.py"
sys.path.insert(0, str(LOCALKAFKA.parent))
import localkafka  # noqa: E402


@pytest.fixture(scope="session")
def kafka_port() -> int:
    return int(os.environ.get("KAFKA_PORT") or 9092)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if localkafka.metadata_ok("127.0.0.1", kafka_port):
        yield f"127.0.0.1:{kafka_port}"
        return
    data = tmp_path_factory.mktemp("kafka-data")
    started = subprocess.run(
        [sys.executable, str(LOCALKAFKA), "start", "--port", str(kafka_port), "--data", str(data)],
        capture_output=True, text=True, timeout=300,
    )
    if started.returncode != 0:
        pytest.exit(f"could not start the test Kafka broker: {started.stderr.strip()}", returncode=3)
    try:
        yield f"127.0.0.1:{kafka_port}"
    finally:
        subprocess.run([sys.executable, str(LOCALKAFKA), "stop", "--data", str(data)], capture_output=True)


@pytest.fixture
def settings(kafka_bootstrap: str) -> Settings:
    """Settings pointing at the test broker with a topic prefix of this test's own."""
    return load_settings({}, kafka_bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")


@pytest.fixture
def capmon_env(settings: Settings) -> dict[str, str]:
    """Environment for running the `capmon` command against the test broker and prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, CAPMON_TOPIC_PREFIX=settings.topic_prefix)
    return env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the broker is marked `kafka`, whether or not its module says so: then
    `pytest -m "not kafka"` is the pure suite, and it cannot start a broker by mistake."""
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
