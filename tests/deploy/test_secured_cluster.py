"""A secured cluster: a real broker with a SASL_SSL listener (SCRAM-SHA-512 users made with the storage tool,
a CA and certificates made by the test, hostname verification on), an SSL listener that wants client
certificates (mutual TLS), and a listener whose certificate names another host.

Worker, simulator, replay and topics work through it with exact figures; a wrong CA, a wrong password, an
unknown user, a certificate for another host and a missing client certificate each end with one clear line
(exit 3) within 15 s; no secret reaches any output."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from capmon.harness import WorkerProcess
from streams.config import load_settings
from tests.conftest import localkafka  # deploy/kafka/localkafka.py, put on the path by conftest
from tests.streams.test_worker import ground_truth, wait_exact
from tests.support.brokers import OwnBroker
from tests.support.certs import Certs, make_certs
from tests.support.helpers import run_capmon, write_jsonl

pytestmark = pytest.mark.kafka
PASSWORD = "scram-Secret-7b1f"


class Cluster:
    def __init__(self, broker: OwnBroker, certs: Certs) -> None:
        _plain, _controller, self.sasl_ssl, self.mtls, self.elsewhere = broker.ports
        self.plain = broker.bootstrap
        self.certs = certs


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    broker = OwnBroker(tmp_path_factory.mktemp("secured-kafka"), ports=5)
    sasl_ssl, mtls, elsewhere = broker.ports[2:]
    broker.options.update(scram_users={"capmon": PASSWORD}, listeners=(
        localkafka.Listener("SASL_SSL", "SASL_SSL", sasl_ssl,
                            localkafka.scram_login() + localkafka.tls(certs.broker)),
        localkafka.Listener("MTLS", "SSL", mtls, localkafka.tls(certs.broker, certs.ca, client_auth=True)),
        localkafka.Listener("ELSEWHERE", "SASL_SSL", elsewhere,
                            localkafka.scram_login() + localkafka.tls(certs.wrong_host)),
    ))
    with broker:
        yield Cluster(broker, certs)


def base_env(prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env["CAPMON_TOPIC_PREFIX"] = prefix
    return env


def scram_env(cluster: Cluster, tmp_path: Path, prefix: str = "scram.", password: str = PASSWORD,
              user: str = "capmon", cafile: Path | None = None, port: int | None = None) -> dict[str, str]:
    secret = tmp_path / f"password-{abs(hash(password))}"
    secret.write_text(password + "\n")
    return {**base_env(prefix), "CAPMON_KAFKA_BOOTSTRAP": f"127.0.0.1:{port or cluster.sasl_ssl}",
            "CAPMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CAPMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "CAPMON_KAFKA_SASL_USERNAME": user, "CAPMON_KAFKA_SASL_PASSWORD_FILE": str(secret),
            "CAPMON_KAFKA_SSL_CAFILE": str(cafile or cluster.certs.ca)}


def mtls_env(cluster: Cluster, prefix: str = "mtls.", client_cert: bool = True) -> dict[str, str]:
    env = {**base_env(prefix), "CAPMON_KAFKA_BOOTSTRAP": f"127.0.0.1:{cluster.mtls}",
           "CAPMON_KAFKA_SECURITY_PROTOCOL": "SSL", "CAPMON_KAFKA_SSL_CAFILE": str(cluster.certs.ca)}
    if client_cert:
        env.update(CAPMON_KAFKA_SSL_CERTFILE=str(cluster.certs.client_cert),
                   CAPMON_KAFKA_SSL_KEYFILE=str(cluster.certs.client_key))
    return env


def feed_and_check(cluster: Cluster, env: dict[str, str], tmp_path: Path) -> WorkerProcess:
    """topics, simulate and replay through the listener, then a worker: exact against the plain listener's view."""
    outputs = []
    for args in (("topics",), ("simulate", "--days", "2", "--seed", "17", "--initial-occupancy", "0.05",
                               "--invalid", "0.01")):
        done = run_capmon(*args, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    late = {"event_type": "registration", "event_id": "tls-late-1", "person_id": "tls-person-1",
            "occurred_at": "2023-01-03T12:00:00+01:00", "application_type": "first", "nationality": "ERI"}
    replayed = run_capmon("replay", str(write_jsonl(tmp_path / "late.jsonl", [late])), env=env)
    assert replayed.returncode == 0, replayed.stderr
    outputs.append(replayed.stdout + replayed.stderr)
    expected, _valid, _invalid = ground_truth(load_settings({}, kafka_bootstrap=cluster.plain,
                                                            topic_prefix=env["CAPMON_TOPIC_PREFIX"]))
    assert expected["inflow_ytd"] > 0
    worker = WorkerProcess(env, tmp_path).start()
    try:
        wait_exact(worker, expected, timeout=180)
    finally:
        worker.stop()
    assert not any(PASSWORD in text for text in [*outputs, worker.log()])
    return worker


def test_scram_over_tls_with_hostname_verification_gives_exact_figures(cluster, tmp_path):
    feed_and_check(cluster, scram_env(cluster, tmp_path), tmp_path)


def test_mutual_tls_gives_exact_figures(cluster, tmp_path):
    worker = feed_and_check(cluster, mtls_env(cluster), tmp_path)
    assert "BEGIN" not in worker.log()  # no key material either


REFUSALS = {
    "wrong CA": (lambda c, tmp: scram_env(c, tmp, cafile=c.certs.other_ca), "not accepted", "CAPMON_KAFKA_SSL_CAFILE"),
    "certificate for another host": (lambda c, tmp: scram_env(c, tmp, port=c.elsewhere), "not accepted",
                                     "names a host"),
    "wrong password": (lambda c, tmp: scram_env(c, tmp, password="not-the-password"), "capmon's login",
                       "CAPMON_KAFKA_SASL_PASSWORD"),
    "unknown user": (lambda c, tmp: scram_env(c, tmp, user="nobody"), "capmon's login", "CAPMON_KAFKA_SASL_USERNAME"),
    "no client certificate": (lambda c, tmp: mtls_env(c, client_cert=False), "client certificate",
                              "CAPMON_KAFKA_SSL_CERTFILE"),
}


@pytest.mark.parametrize("command", ["simulate", "worker"])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_connection_is_one_clear_line_within_15_s(cluster, tmp_path, case, command):
    make_env, says, setting = REFUSALS[case]
    env = make_env(cluster, tmp_path)
    args = ("simulate", "--days", "1", "--initial-occupancy", "0.01") if command == "simulate" else (command,)
    started = time.monotonic()
    refused = run_capmon(*args, env={**env, "CAPMON_STATE_DIR": str(tmp_path / "state")}, timeout=60)
    took = time.monotonic() - started
    lines = [line for line in refused.stderr.strip().splitlines() if line.strip()]
    assert refused.returncode == 3, refused.stderr[-2000:]
    assert len(lines) == 1 and says in lines[0] and setting in lines[0], lines
    assert took < 15, f"{case}: {took:.1f} s"
    assert PASSWORD not in refused.stderr + refused.stdout and "not-the-password" not in refused.stderr
