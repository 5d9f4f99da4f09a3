#!/usr/bin/env python3
"""Run a real single-node Apache Kafka (KRaft) on 127.0.0.1 for development and tests.

Standard library only, so it works before any virtualenv exists. The jars come from Maven Central
(`pom.xml` beside this file) into an ignored cache on first use; the broker runs in the background and
`start` returns only once it answers a Kafka Metadata request.

    python3 deploy/kafka/localkafka.py start|stop|status [--port 9092] [--data DIR]

Environment: KAFKA_PORT, KAFKA_DATA, KAFKA_CACHE (jar cache), KAFKA_HEAP (default 512m).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_CACHE = REPO / ".cache" / "kafka"
DEFAULT_DATA = REPO / ".cache" / "kafka-data"
READY_TIMEOUT_S = 90.0


class LocalKafkaError(Exception):
    """A problem the user can fix; printed as one line, no stack trace."""


# --- talking to a broker ---------------------------------------------------------------------------


def metadata_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when something on host:port answers a Kafka Metadata (v4) request with at least one broker.

    Kafka 4 dropped Metadata v0-v3, so v4 (the oldest it accepts, non-flexible encoding) is used.
    """
    client_id = b"capmon-localkafka"
    correlation_id = 7
    header = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    body = struct.pack(">i?", -1, False)  # all topics (null array), no auto-creation
    request = header + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            if not 8 <= size <= 10_000_000:
                return False
            payload = _recv_exact(sock, size)
    except (OSError, struct.error):
        return False
    got_correlation, _throttle, broker_count = struct.unpack(">iii", payload[:12])
    return got_correlation == correlation_id and broker_count >= 1


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise OSError("connection closed")
        chunks += chunk
    return bytes(chunks)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


# --- jars ------------------------------------------------------------------------------------------


def ensure_jars(cache: Path) -> Path:
    """Copy the broker's jars from Maven Central into cache/libs once; later runs use the cache."""
    libs = cache / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("java") is None:
        raise LocalKafkaError(
            "Java is not installed (no `java` on PATH): install OpenJDK 17+, "
            "e.g. `apt-get install openjdk-17-jre-headless`"
        )
    if shutil.which("mvn") is None:
        raise LocalKafkaError(
            "Maven is not installed (no `mvn` on PATH): it fetches the Kafka jars once; "
            "install it, e.g. `apt-get install maven`"
        )
    print(f"localkafka: fetching Apache Kafka jars from Maven Central into {libs} (first run only)", flush=True)
    tmp = cache / "libs.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [
        "mvn", "-q", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}", "-DincludeScope=runtime",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise LocalKafkaError("Maven could not fetch the Kafka jars: " + " | ".join(tail))
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    marker.touch()
    return libs


# --- broker lifecycle ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """An extra listener (tests of secured clusters): `properties` are set under `listener.name.<name>.`."""

    name: str  # upper case, unique: e.g. SASL_SSL, or a name of its own mapped to `protocol`
    protocol: str  # SASL_PLAINTEXT | SASL_SSL | SSL
    port: int
    properties: tuple[tuple[str, str], ...] = ()


def plain_login(users: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Listener properties for SASL/PLAIN with these users (passwords in the broker's configuration)."""
    jaas = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return (("sasl.enabled.mechanisms", "PLAIN"),
            ("plain.sasl.jaas.config", f"org.apache.kafka.common.security.plain.PlainLoginModule required {jaas};"))


def scram_login(mechanism: str = "SCRAM-SHA-512") -> tuple[tuple[str, str], ...]:
    """Listener properties for SASL/SCRAM (users are created with the storage tool: `scram_users`)."""
    return (("sasl.enabled.mechanisms", mechanism),
            (f"{mechanism.lower()}.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule "
                                                     "required;"))


def tls(keystore: Path, truststore: Path | None = None, client_auth: bool = False) -> tuple[tuple[str, str], ...]:
    """Listener properties for TLS with PEM files: a keystore (PKCS#8 key, then the chain) and a truststore."""
    props = [("ssl.keystore.type", "PEM"), ("ssl.keystore.location", str(keystore))]
    if truststore is not None:
        props += [("ssl.truststore.type", "PEM"), ("ssl.truststore.location", str(truststore))]
    if client_auth:
        props.append(("ssl.client.auth", "required"))
    return tuple(props)


def server_properties(port: int, controller_port: int, data: Path, listeners: tuple[Listener, ...] = ()) -> str:
    """The broker's configuration; `listeners` come next to PLAINTEXT (which the broker itself uses)."""
    names = [f"PLAINTEXT://127.0.0.1:{port}", *(f"{x.name}://127.0.0.1:{x.port}" for x in listeners)]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT", *(f"{x.name}:{x.protocol}" for x in listeners)]
    extra = "".join(f"listener.name.{x.name.lower()}.{key}={value}\n" for x in listeners for key, value in x.properties)
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners={",".join([*names, f"CONTROLLER://127.0.0.1:{controller_port}"])}
advertised.listeners={",".join(names)}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map={",".join(protocols)}
{extra}log.dirs={data / "logs"}
num.partitions=4
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
log.segment.bytes=67108864
"""


LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = INFO
"""


def start(port: int, data: Path, cache: Path, listeners: tuple[Listener, ...] = (),
          scram_users: dict[str, str] | None = None) -> None:
    """Start a broker (formatting `data` on first use, with `scram_users` as SCRAM-SHA-512 users) and return
    once it answers."""
    host = "127.0.0.1"
    if metadata_ok(host, port):
        print(f"localkafka: a Kafka broker already answers on {host}:{port}; leaving it alone")
        return
    if port_in_use(host, port):
        raise LocalKafkaError(
            f"port {port} on {host} is taken by a program that is not a Kafka broker; "
            "stop it or choose another port with KAFKA_PORT=..."
        )
    controller_port = port + 1
    if port_in_use(host, controller_port):
        raise LocalKafkaError(
            f"the controller port {controller_port} (KAFKA_PORT+1) is taken; choose another KAFKA_PORT"
        )
    libs = ensure_jars(cache)
    pid = _read_pid(data)
    if pid and _alive(pid):
        raise LocalKafkaError(
            f"a broker (pid {pid}) already uses {data} but does not answer on port {port}; "
            f"stop it with `make kafka-stop KAFKA_DATA={data}`"
        )
    data.mkdir(parents=True, exist_ok=True)
    props = data / "server.properties"
    props.write_text(server_properties(port, controller_port, data, listeners))
    log4j = data / "log4j2.properties"
    log4j.write_text(LOG4J2.format(log=data / "kafka.log"))
    java = ["java", f"-Xmx{os.environ.get('KAFKA_HEAP', '512m')}", "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={log4j}", "-cp", str(libs / "*")]
    if not (data / "logs" / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        fmt = subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props),
             *(arg for name, password in (scram_users or {}).items()
               for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"))],
            capture_output=True, text=True,
        )
        if fmt.returncode != 0:
            raise LocalKafkaError("formatting Kafka storage failed: " + (fmt.stderr or fmt.stdout).strip()[-300:])
    with open(data / "kafka.out", "ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [*java, "kafka.Kafka", str(props)], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    (data / "kafka.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalKafkaError(
                f"the Kafka broker exited with code {proc.returncode} while starting; see {data / 'kafka.out'}"
            )
        if metadata_ok(host, port):
            print(f"localkafka: Kafka ready on {host}:{port} (pid {proc.pid}, data {data})")
            return
        time.sleep(0.25)
    proc.kill()
    raise LocalKafkaError(f"the Kafka broker did not answer within {READY_TIMEOUT_S:.0f} s; see {data / 'kafka.out'}")


def stop(data: Path, timeout: float = 30.0) -> None:
    pid = _read_pid(data)
    if not pid or not _alive(pid):
        print(f"localkafka: no broker running from {data}")
        (data / "kafka.pid").unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    (data / "kafka.pid").unlink(missing_ok=True)
    print(f"localkafka: broker (pid {pid}) stopped")


def _read_pid(data: Path) -> int | None:
    try:
        return int((data / "kafka.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "fetch"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("KAFKA_PORT") or 9092))
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("KAFKA_DATA") or DEFAULT_DATA))
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("KAFKA_CACHE") or DEFAULT_CACHE))
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            start(args.port, args.data.resolve(), args.cache.resolve())
        elif args.command == "stop":
            stop(args.data.resolve())
        elif args.command == "fetch":
            print(f"localkafka: jars in {ensure_jars(args.cache.resolve())}")
        else:
            up = metadata_ok("127.0.0.1", args.port)
            print(f"localkafka: broker on 127.0.0.1:{args.port} is {'up' if up else 'down'}")
            return 0 if up else 1
    except LocalKafkaError as exc:
        print(f"localkafka: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
