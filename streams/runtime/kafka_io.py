"""Synchronous Kafka plumbing for the command-line tools (simulate, replay, topics): kafka-python clients,
topic creation, and broker errors turned into one clear line."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    KafkaError,
    NotCoordinatorError,
    TopicAlreadyExistsError,
)

from streams.config import Settings
from streams.contract.records.figures import FINGERPRINT_KEY, is_summary_key
from streams.contract.topics import Topics, changelog_configs, figures_configs, people_partitions_configs, topic_configs
from streams.errors import ConfigError, KafkaUnavailable

log = logging.getLogger(__name__)
TLS = ("SSL", "SASL_SSL")
TLS_REFUSAL_WAIT_S = 0.5
GROUP_COORDINATOR_WAIT_S = 30.0  # a broker just started has no group coordinator for a moment


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by every kafka-python client, including SASL/TLS when configured."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
        "request_timeout_ms": 15_000,
        # Reachability (and TLS) was checked first, so this only waits for the login: kafka-python retries a
        # refused login until this deadline before it says so, and a wrong password must end within 15 s.
        "bootstrap_timeout_ms": 8_000,
    }
    options.update(_sasl_options(settings))
    if settings.kafka_security_protocol in TLS:
        options["ssl_check_hostname"] = True
        for option, path in (("ssl_cafile", settings.kafka_ssl_cafile), ("ssl_certfile", settings.kafka_ssl_certfile),
                             ("ssl_keyfile", settings.kafka_ssl_keyfile)):
            if path is not None:
                options[option] = str(path)
    return options


def _sasl_options(settings: Settings) -> dict[str, Any]:
    """SASL login options; kafka-python and aiokafka name them the same."""
    if not settings.kafka_security_protocol.startswith("SASL"):
        return {}
    options = {"sasl_mechanism": settings.kafka_sasl_mechanism, "sasl_plain_username": settings.kafka_sasl_username}
    if settings.kafka_sasl_password is not None:
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS with hostname verification; the client certificate too when one is configured (mutual TLS)."""
    from aiokafka.helpers import create_ssl_context

    def path(p: Path | None) -> str | None:
        return str(p) if p is not None else None

    return create_ssl_context(cafile=path(settings.kafka_ssl_cafile), certfile=path(settings.kafka_ssl_certfile),
                              keyfile=path(settings.kafka_ssl_keyfile))


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """The same connection for the worker's own aiokafka consumers (figures reader, live alert evaluator)."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap, "security_protocol": protocol}
    if protocol in TLS:
        options["ssl_context"] = _ssl_context(settings)
    return options | _sasl_options(settings)


def faust_credentials(settings: Settings) -> Any:
    """The Faust app's broker credentials (None for PLAINTEXT): SASL with or without TLS, or TLS alone."""
    import faust

    protocol = settings.kafka_security_protocol
    context = _ssl_context(settings) if protocol in TLS else None
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        return faust.SASLCredentials(username=settings.kafka_sasl_username, password=password,
                                     ssl_context=context, mechanism=settings.kafka_sasl_mechanism)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return None


def check_reachable(settings: Settings, timeout: float = 3.0) -> None:
    """Fail fast, with what to do, when no bootstrap server accepts a connection (kafka-python waits 30 s), or
    when TLS fails: an untrusted certificate, a host name it does not name, a refused client certificate."""
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout) as sock:
                if settings.kafka_security_protocol in TLS:
                    _check_tls(sock, host or "127.0.0.1", server.strip(), settings)
                return
        except (OSError, ValueError) as exc:
            if isinstance(exc, ssl.SSLError):
                raise KafkaUnavailable(_tls_failure(server.strip(), exc)) from None
            continue
    raise KafkaUnavailable(
        f"cannot reach Kafka at {settings.kafka_bootstrap}: start the local broker with `make kafka`, "
        "or set CAPMON_KAFKA_BOOTSTRAP to a running cluster"
    )


def _check_tls(sock: socket.socket, host: str, server: str, settings: Settings) -> None:
    """A TLS handshake as the clients will make it; a broker that wants a client certificate refuses a missing
    or untrusted one right after the handshake (TLS 1.3), so wait a moment for that refusal too."""
    with _ssl_context(settings).wrap_socket(sock, server_hostname=host) as tls:
        tls.settimeout(TLS_REFUSAL_WAIT_S)
        with suppress(TimeoutError):
            if tls.recv(1) == b"":
                raise KafkaUnavailable(f"Kafka at {server} closed the connection after the TLS handshake: check "
                                       "CAPMON_KAFKA_SECURITY_PROTOCOL and, for mutual TLS, "
                                       "CAPMON_KAFKA_SSL_CERTFILE / _KEYFILE")


def _tls_failure(server: str, exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the TLS certificate of Kafka at {server} is not accepted ({exc.verify_message}): check "
                "CAPMON_KAFKA_SSL_CAFILE (the CA that signed the brokers' certificates) and that "
                "CAPMON_KAFKA_BOOTSTRAP names a host the certificate is for")
    what = exc.reason or str(exc)
    if "CERTIFICATE" in what.upper():  # the broker refused this client's certificate (or its absence)
        return (f"Kafka at {server} refused capmon's TLS client certificate ({what}): check "
                "CAPMON_KAFKA_SSL_CERTFILE / _KEYFILE (signed by a CA the brokers trust)")
    return (f"TLS with Kafka at {server} failed ({what}): check CAPMON_KAFKA_SECURITY_PROTOCOL and "
            "CAPMON_KAFKA_SSL_*")


class _AuthFailures(logging.Handler):
    """Remembers that kafka-python logged a refused login: it only logs it, then times out bootstrapping."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "SaslAuthenticationFailedError" in text or "Authentication failed" in text:
            self.seen += 1


AUTH_FAILURES = _AuthFailures()
logging.getLogger("kafka").addHandler(AUTH_FAILURES)


@contextmanager
def kafka_errors(action: str, settings: Settings | None = None) -> Iterator[None]:
    """Turn kafka-python's exceptions into a `KafkaUnavailable` saying what capmon was doing (and, when the
    broker refused the credentials, which settings to check; never their values)."""
    refused_before = AUTH_FAILURES.seen
    try:
        yield
    except KafkaError as exc:
        login = (f"({settings.kafka_security_protocol} {settings.kafka_sasl_mechanism}, user "
                 f"{settings.kafka_sasl_username!r}): check CAPMON_KAFKA_SASL_USERNAME and "
                 "CAPMON_KAFKA_SASL_PASSWORD(_FILE)") if settings is not None else ""
        if settings is not None and AUTH_FAILURES.seen > refused_before:
            raise KafkaUnavailable(
                f"Kafka at {settings.kafka_bootstrap} refused capmon's login while {action} {login}") from None
        if (settings is not None and settings.kafka_security_protocol.startswith("SASL")
                and "Unable to bootstrap" in str(exc)):
            # The broker answered (checked before), but no connection got through the login in time: on a busy
            # machine kafka-python can time out before it reports the refusal itself.
            raise KafkaUnavailable(
                f"Kafka at {settings.kafka_bootstrap} answers but did not complete capmon's login while {action} "
                f"{login}") from None
        raise KafkaUnavailable(f"Kafka failed while {action}: {exc}") from None


def make_producer(settings: Settings) -> KafkaProducer:
    """A producer tuned for feeding many small events: batched, acknowledged by all in-sync replicas."""
    check_reachable(settings)
    with kafka_errors("connecting a producer", settings):
        return KafkaProducer(
            **client_options(settings), acks="all", linger_ms=20, batch_size=256 * 1024,
            max_block_ms=30_000, retries=10,
        )


def ensure_topics(settings: Settings, topics: Topics | None = None) -> list[str]:
    """Create the contract topics that do not exist yet; returns the names created.

    `locations` and `forecasts` are compacted (the latest value per key is what counts).
    """
    topics = topics or Topics(settings.topic_prefix)
    check_reachable(settings)
    with kafka_errors("creating topics", settings):
        admin = KafkaAdminClient(**client_options(settings))
        try:
            existing = set(admin.list_topics())
            wanted = [
                NewTopic(
                    name, num_partitions=settings.partitions, replication_factor=-1,
                    topic_configs=topic_configs(name.removeprefix(topics.prefix), settings.input_retention_days),
                )
                for name in topics.all()
                if name not in existing
            ]
            if wanted:
                with suppress(TopicAlreadyExistsError):  # another process created them meanwhile: fine
                    admin.create_topics(wanted)
            return [t.name for t in wanted]
        finally:
            admin.close()


def prepare_worker_topics(settings: Settings) -> dict[str, int]:
    """Create what the worker needs and refuse, in one line, a partition layout that cannot work; returns the
    partition count of every topic the worker reads (aiokafka's metadata alone would not know them yet).

    The three person topics must have one partition count (they are co-partitioned by person id), and the
    person table's changelog must have the same (otherwise Faust crash-loops its agent forever), and so must the
    topic whose assignment names the worker's person partitions (`Topics.people_partitions`).
    """
    topics = Topics(settings.topic_prefix)
    created = ensure_topics(settings, topics)
    with kafka_errors("checking topics", settings):
        admin = KafkaAdminClient(**client_options(settings))
        try:
            figures = topics.figures
            names = [topics.registrations, topics.decisions, topics.placements]
            changelog = topics.people_changelog
            existing = set(admin.list_topics())
            own = []
            if figures not in existing:
                own.append(NewTopic(figures, num_partitions=1, replication_factor=-1, topic_configs=figures_configs()))
            marker = topics.people_partitions
            if changelog not in existing or marker not in existing:
                partitions = (settings.partitions if topics.registrations in created  # (not described yet)
                              else len(admin.describe_topics([topics.registrations])[0]["partitions"]))
                if changelog not in existing:  # before Faust would create it, without the erasure settings
                    own.append(NewTopic(changelog, num_partitions=partitions, replication_factor=-1,
                                        topic_configs=changelog_configs(settings.input_retention_days)))
                if marker not in existing:
                    own.append(NewTopic(marker, num_partitions=partitions, replication_factor=-1,
                                        topic_configs=people_partitions_configs()))
            if own:
                with suppress(TopicAlreadyExistsError):
                    admin.create_topics(own)
            existing = set(admin.list_topics())
            described = admin.describe_topics([n for n in [*topics.all(), figures, changelog, marker]
                                               if n in existing])
            counts = {d.get("name", d.get("topic")): len(d["partitions"]) for d in described}
        finally:
            admin.close()
    person_counts = {counts[n] for n in names}
    if len(person_counts) != 1:
        detail = ", ".join(f"{n}={counts[n]}" for n in names)
        raise ConfigError(f"the person topics must have the same number of partitions ({detail})")
    wanted = person_counts.pop()
    if counts.get(marker, wanted) != wanted:
        raise ConfigError(
            f"topic {marker} has {counts[marker]} partitions but the person topics have {wanted}: delete it (it "
            "holds nothing) and start the worker again, which creates it with the person topics' count")
    if changelog in counts and counts[changelog] != wanted:
        raise ConfigError(
            f"changelog topic {changelog} has {counts[changelog]} partitions but the person topics have {wanted}: "
            f"use a new CAPMON_TOPIC_PREFIX, or delete that topic and the consumer group {topics.app_id} "
            "so the state is rebuilt from the input topics")
    return counts


FigureRecord = tuple[int, bytes, bytes | None]  # offset, key, value


def read_figures_topic(settings: Settings, timeout_s: float, wanted: Callable[[bytes, bytes | None], bool],
                       first_only: bool = False) -> tuple[list[FigureRecord], bool]:
    """The figures topic's records whose key is `wanted` (with `first_only`, the first one), read from the
    beginning before a worker starts, and whether the read was complete within `timeout_s`."""
    from kafka import KafkaConsumer, TopicPartition

    records: list[FigureRecord] = []
    with kafka_errors("reading the figures topic", settings):
        consumer = KafkaConsumer(**client_options(settings), enable_auto_commit=False, group_id=None)
        try:
            tp = TopicPartition(Topics(settings.topic_prefix).figures, 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            end = consumer.end_offsets([tp])[tp]
            deadline = time.monotonic() + timeout_s
            while consumer.position(tp) < end and time.monotonic() < deadline:
                for message in consumer.poll(timeout_ms=500).get(tp, []):
                    if message.key is not None and wanted(message.key, message.value):
                        records.append((message.offset, message.key, message.value))
                        if first_only:
                            return records, True
            return records, consumer.position(tp) >= end
        finally:
            consumer.close()


def check_pseudonym_key(settings: Settings, fingerprint: str, timeout_s: float = 30.0) -> None:
    """Refuse to start with another pseudonym key than the state was built with (streams/ingest/pseudonyms.py): read
    the (small, compacted) figures topic for the recorded fingerprint and for any partition summary (state
    exists); record the fingerprint when there is none yet."""

    from streams.ingest.pseudonyms import check_key

    topic = Topics(settings.topic_prefix).figures
    recorded, state_exists = None, False
    records, _whole = read_figures_topic(settings, timeout_s, lambda key, _value: key == FINGERPRINT_KEY
                                         or is_summary_key(key))
    for _offset, key, value in records:
        if key == FINGERPRINT_KEY and value:
            recorded = value.decode(errors="replace")
        elif is_summary_key(key):
            state_exists = True
    check_key(recorded, state_exists, fingerprint)
    if recorded is None:
        with kafka_errors("recording the pseudonym key's fingerprint", settings):
            producer = KafkaProducer(**client_options(settings), acks="all")
            try:
                producer.send(topic, key=FINGERPRINT_KEY, value=fingerprint.encode()).get(timeout=timeout_s)
            finally:
                producer.close()


def topic_id(settings: Settings, name: str) -> str | None:
    """Kafka's id of a topic (a topic deleted and created again gets a new one), or None when the broker or the
    client gives none."""
    with kafka_errors("describing the changelog topic", settings):
        admin = KafkaAdminClient(**client_options(settings))
        try:
            described = admin.describe_topics([name])
        finally:
            admin.close()
    found = described[0].get("topic_id") if described else None
    return str(found) if found and str(found).strip("0-") else None  # all zeros: no id


def members_reading_person_topics(settings: Settings) -> list[str]:
    """The members of the worker's consumer group that subscribe to a person topic themselves: workers of a
    version that read the person topics through Faust. This version takes its person partitions from the
    people-partitions topic instead, and Faust's assignor groups topics by who subscribes to them, so the two
    would each be given every person partition (and both write the changelog). Returns their client ids."""
    topics = Topics(settings.topic_prefix)
    person_topics = {topics.registrations, topics.decisions, topics.placements}
    with kafka_errors("describing the consumer group", settings):
        admin = KafkaAdminClient(**client_options(settings))
        try:
            described = _describe_group(admin, topics.app_id)
        finally:
            admin.close()
    found = []
    for group in described.values():
        for member in group.get("members") or []:
            metadata = member.get("member_metadata")
            subscribed = getattr(metadata, "topics", None)
            if subscribed is None and isinstance(metadata, dict):
                subscribed = metadata.get("topics")
            if subscribed and person_topics & set(subscribed):
                found.append(str(member.get("client_id") or member.get("member_id")))
    return found


def _describe_group(admin: KafkaAdminClient, group: str, timeout_s: float = GROUP_COORDINATOR_WAIT_S) -> dict:
    """The group described, waiting while the broker has no coordinator for it yet (a broker just started
    creates its offsets topic on the first request; a coordinator moving after a broker restart answers the
    same) up to `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return admin.describe_groups([group])
        except (CoordinatorNotAvailableError, NotCoordinatorError, CoordinatorLoadInProgressError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def check_no_old_workers(settings: Settings) -> None:
    """Refuse to join a group in which workers of the version before the person reader still run (see
    `members_reading_person_topics`): a rolling restart across that change would process every person partition
    twice."""
    old = members_reading_person_topics(settings)
    if old:
        raise ConfigError(
            f"{len(old)} worker(s) of an earlier capmon version still run in consumer group "
            f"{Topics(settings.topic_prefix).app_id} ({', '.join(sorted(old))}): this version reads the person "
            "topics differently; stop all of them first, then start the workers of this version (not a rolling "
            "restart across this upgrade)")
