"""The local broker launcher: idempotent, and one clear message for a missing Java/Maven or a taken port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.conftest import LOCALKAFKA


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LOCALKAFKA), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_start_leaves_a_running_broker_alone(kafka_bootstrap, kafka_port, tmp_path):
    result = _run("start", "--port", str(kafka_port), "--data", str(tmp_path / "unused"))
    assert result.returncode == 0
    assert "already answers" in result.stdout
    assert not (tmp_path / "unused").exists()
    assert _run("status", "--port", str(kafka_port)).returncode == 0


def test_a_port_taken_by_something_else_is_refused(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = _run("start", "--port", str(port), "--data", str(tmp_path / "d"))
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "not a Kafka broker" in result.stderr and "KAFKA_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_or_maven_says_what_to_install(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    args = ("start", "--port", str(port), "--data", str(tmp_path / "d"), "--cache", str(tmp_path / "cache"))
    no_java = _run(*args, env=env)
    assert no_java.returncode == 2 and "Java is not installed" in no_java.stderr and "apt-get" in no_java.stderr
    (bare / "java").symlink_to("/bin/true")
    no_maven = _run(*args, env=env)
    assert no_maven.returncode == 2 and "Maven is not installed" in no_maven.stderr
    assert "Traceback" not in no_java.stderr + no_maven.stderr


def test_stop_without_a_broker_is_harmless(tmp_path):
    result = _run("stop", "--data", str(tmp_path))
    assert result.returncode == 0 and "no broker running" in result.stdout
