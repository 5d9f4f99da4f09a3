"""Pointing capmon at a Kafka that wants SASL: a second real broker with a SASL_PLAINTEXT (PLAIN) listener.
The simulator produces through it, a worker consumes through it (Faust, its own consumers, the admin client),
and its figures are exact; a wrong password is one clear line, and the password is never logged."""

from __future__ import annotations

import os

import pytest

from capmon.harness import WorkerProcess
from streams.config import load_settings
from tests.conftest import localkafka  # deploy/kafka/localkafka.py, put on the path by conftest
from tests.streams.test_worker import ground_truth, wait_exact
from tests.support.brokers import OwnBroker
from tests.support.helpers import run_capmon

pytestmark = pytest.mark.kafka
PASSWORD = "s3cret-sasl-password"


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    broker = OwnBroker(tmp_path_factory.mktemp("sasl-kafka"), ports=3)
    sasl = broker.ports[2]
    broker.options["listeners"] = (localkafka.Listener("SASL_PLAINTEXT", "SASL_PLAINTEXT", sasl,
                                                       localkafka.plain_login({"capmon": PASSWORD})),)
    with broker:
        yield broker.bootstrap, f"127.0.0.1:{sasl}"


def sasl_env(sasl: str, tmp_path, password: str) -> dict[str, str]:
    secret = tmp_path / f"kafka-password-{len(password)}"
    secret.write_text(password + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env.update(CAPMON_KAFKA_BOOTSTRAP=sasl, CAPMON_TOPIC_PREFIX="sasl.",
               CAPMON_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", CAPMON_KAFKA_SASL_MECHANISM="PLAIN",
               CAPMON_KAFKA_SASL_USERNAME="capmon", CAPMON_KAFKA_SASL_PASSWORD_FILE=str(secret),
               CAPMON_KAFKA_ALLOW_PLAINTEXT_PASSWORD="1")  # a loopback test broker: PLAIN in clear is allowed
    return env


@pytest.mark.slow  # minutes of a real worker: `make test-slow` (CI runs it)
def test_a_worker_on_a_sasl_listener_gives_exact_figures(sasl_broker, tmp_path):
    plain, sasl = sasl_broker
    env = sasl_env(sasl, tmp_path, PASSWORD)
    fed = run_capmon("simulate", "--days", "3", "--seed", "12", "--invalid", "0.01", env=env, timeout=300)
    assert fed.returncode == 0, fed.stderr
    expected, _valid, _invalid = ground_truth(load_settings({}, kafka_bootstrap=plain, topic_prefix="sasl."))
    worker = WorkerProcess(env, tmp_path).start()
    try:
        wait_exact(worker, expected, timeout=180)
        assert worker.get("/api/occupancy")["national"]["occupancy"] > 10_000
    finally:
        worker.stop()
    assert PASSWORD not in worker.log()


@pytest.mark.parametrize("command", ["topics", "worker"])
def test_a_wrong_password_is_one_clear_line(sasl_broker, tmp_path, command):
    _plain, sasl = sasl_broker
    refused = run_capmon(command, env=sasl_env(sasl, tmp_path, "wrong-password"), timeout=120)
    assert refused.returncode == 3
    lines = refused.stderr.strip().splitlines()
    # "refused capmon's login", or on a busy machine "did not complete capmon's login" (kafka-python timed out
    # before it reported the refusal): either way one line naming the settings to check.
    assert len(lines) == 1 and "capmon's login" in lines[0] and "CAPMON_KAFKA_SASL_PASSWORD" in lines[0], lines
    assert "wrong-password" not in refused.stderr


@pytest.mark.parametrize("command", ["topics", "worker", "simulate"])
def test_a_password_in_clear_is_refused_before_any_connection(tmp_path, command):
    env = sasl_env("127.0.0.1:1", tmp_path, PASSWORD)  # nothing listens there: the refusal comes first
    del env["CAPMON_KAFKA_ALLOW_PLAINTEXT_PASSWORD"]
    refused = run_capmon(command, env=env, timeout=60)
    assert refused.returncode == 2  # a configuration error, like any other
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "CAPMON_KAFKA_ALLOW_PLAINTEXT_PASSWORD=1" in lines[0], lines
    assert PASSWORD not in refused.stderr
