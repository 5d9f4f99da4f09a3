"""Settings: defaults, one clear line for a bad value, secrets from files and never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config import load_settings
from streams.contract.topics import Topics
from streams.errors import ConfigError


def test_defaults_match_the_contract():
    s = load_settings({})
    assert (s.kafka_bootstrap, s.topic_prefix, s.web_port, s.partitions) == ("127.0.0.1:9092", "", 6066, 4)


def test_the_outlook_horizon_is_84_days_unless_set_and_reaches_the_worker_figures(tmp_path):
    from capmon.worker import WorkerParts

    assert load_settings({}).outlook_days == 84
    worker = WorkerParts(load_settings({"CAPMON_OUTLOOK_DAYS": "28"}, state_dir=tmp_path), [], {})
    assert worker.view.figures().outlook_days == 28


def test_environment_values_are_read():
    s = load_settings({"CAPMON_WEB_PORT": "7000", "CAPMON_TOPIC_PREFIX": "acc.", "CAPMON_KAFKA_BOOTSTRAP": "k:1"})
    assert (s.web_port, s.topic_prefix, s.kafka_bootstrap) == (7000, "acc.", "k:1")
    assert Topics(s.topic_prefix).registrations == "acc.registrations"
    assert Topics(s.topic_prefix).dead_letters == "acc.dead-letters"
    assert Topics(s.topic_prefix).app_id == "acc.capmon"


@pytest.mark.parametrize(
    "var, value, words",
    [("CAPMON_WEB_PORT", "abc", "valid integer"), ("CAPMON_WEB_PORT", "70000", "less than or equal"),
     ("CAPMON_TOPIC_PREFIX", "bad prefix!", "pattern"), ("CAPMON_PARTITIONS", "0", "greater than"),
     ("CAPMON_OUTLOOK_DAYS", "0", "greater than or equal to 1"), ("CAPMON_OUTLOOK_DAYS", "12 weeks", "valid integer"),
     ("CAPMON_OUTLOOK_DAYS", "400", "less than or equal to 366")],
)
def test_a_bad_value_is_one_clear_line(var, value, words):
    with pytest.raises(ConfigError) as info:
        load_settings({var: value})
    message = str(info.value)
    assert message.startswith(f"bad configuration: {var}=") and words in message and "\n" not in message


def test_secrets_come_from_files_and_are_never_shown(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    s = load_settings({"CAPMON_KAFKA_SASL_PASSWORD_FILE": str(secret)})
    assert s.kafka_sasl_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    with pytest.raises(ConfigError, match="not both"):
        load_settings({"CAPMON_KAFKA_SASL_PASSWORD_FILE": str(secret), "CAPMON_KAFKA_SASL_PASSWORD": "x"})
    with pytest.raises(ConfigError, match="cannot read it"):
        load_settings({"CAPMON_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")})


def test_sasl_and_tls_settings_reach_every_kafka_client_of_the_worker(tmp_path):
    import ssl

    from streams.runtime.kafka_io import aiokafka_options, faust_credentials

    paths = ssl.get_default_verify_paths()
    cafile = tmp_path / "ca.pem"  # a real CA bundle: the system's, copied
    cafile.write_bytes(Path(paths.cafile or paths.openssl_cafile).read_bytes())
    s = load_settings({"CAPMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CAPMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                       "CAPMON_KAFKA_SASL_USERNAME": "capmon", "CAPMON_KAFKA_SASL_PASSWORD": "pw",
                       "CAPMON_KAFKA_SSL_CAFILE": str(cafile), "CAPMON_KAFKA_BOOTSTRAP": "k1:9093,k2:9093"})
    options = aiokafka_options(s)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_password"] == "pw" and options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    creds = faust_credentials(s)
    assert (creds.protocol.value, creds.mechanism.value, creds.username) == ("SASL_SSL", "SCRAM-SHA-512", "capmon")
    plain = load_settings({})
    assert faust_credentials(plain) is None and "ssl_context" not in aiokafka_options(plain)
    assert faust_credentials(load_settings({"CAPMON_KAFKA_SECURITY_PROTOCOL": "SSL"})).protocol.value == "SSL"


def test_sasl_plain_without_tls_is_refused_unless_explicitly_allowed():
    clear = {"CAPMON_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "CAPMON_KAFKA_SASL_USERNAME": "capmon",
             "CAPMON_KAFKA_SASL_PASSWORD": "hunter2"}
    for env in (clear, {**clear, "CAPMON_KAFKA_SASL_MECHANISM": "PLAIN"}):
        with pytest.raises(ConfigError) as info:
            load_settings(env)
        message = str(info.value)
        assert message.startswith("bad configuration: SASL PLAIN") and "\n" not in message
        assert "CAPMON_KAFKA_ALLOW_PLAINTEXT_PASSWORD=1" in message and "hunter2" not in message
    assert load_settings({**clear, "CAPMON_KAFKA_ALLOW_PLAINTEXT_PASSWORD": "1"}).kafka_allow_plaintext_password
    # A password that never crosses the wire in clear needs no opt-in: SCRAM, or PLAIN inside TLS.
    load_settings({**clear, "CAPMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"})
    load_settings({**clear, "CAPMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_topic_settings_follow_the_retention_settings():
    from streams.contract.topics import changelog_configs, topic_configs

    assert topic_configs("registrations", 7)["retention.ms"] == str(7 * 86_400_000)
    assert topic_configs("alerts", 7) == {"message.timestamp.type": "LogAppendTime", "cleanup.policy": "compact",
                                          "max.message.bytes": "1048576"}
    assert changelog_configs(7)["delete.retention.ms"] == str(7 * 86_400_000)


def test_the_taakstelling_is_given_per_half_year():
    from streams.config import load_settings

    assert load_settings({}).taakstelling == {"2023-H2": 27_300}  # the letter's figure, for its half year
    given = load_settings({"CAPMON_TAAKSTELLING": '{"2023-H2": 27300, "2024-H1": 19000}'})
    assert given.taakstelling == {"2023-H2": 27_300, "2024-H1": 19_000}
    for bad, why in (("27300", "give JSON like"), ('{"2023-3": 5}', "not a half year"),
                     ('{"2023-H1": -1}', "whole number")):
        with pytest.raises(ConfigError, match=why):
            load_settings({"CAPMON_TAAKSTELLING": bad})


def test_mutual_tls_settings_reach_every_client_and_come_in_pairs(tmp_path):
    from streams.runtime.kafka_io import aiokafka_options, client_options
    from tests.support.certs import make_certs

    certs = make_certs(tmp_path / "certs")
    env = {"CAPMON_KAFKA_SECURITY_PROTOCOL": "SSL", "CAPMON_KAFKA_SSL_CAFILE": str(certs.ca),
           "CAPMON_KAFKA_SSL_CERTFILE": str(certs.client_cert), "CAPMON_KAFKA_SSL_KEYFILE": str(certs.client_key)}
    s = load_settings(env)
    sync = client_options(s)
    assert (sync["ssl_certfile"], sync["ssl_keyfile"], sync["ssl_cafile"]) == (
        str(certs.client_cert), str(certs.client_key), str(certs.ca))
    assert sync["ssl_check_hostname"] is True
    context = aiokafka_options(s)["ssl_context"]
    assert context.check_hostname  # the broker's certificate must name the host capmon connects to
    with pytest.raises(ConfigError, match="both CAPMON_KAFKA_SSL_CERTFILE and CAPMON_KAFKA_SSL_KEYFILE"):
        load_settings({k: v for k, v in env.items() if k != "CAPMON_KAFKA_SSL_KEYFILE"})
    with pytest.raises(ConfigError, match=r"CAPMON_KAFKA_SSL_CERTFILE=.*does not point to a file"):
        load_settings({**env, "CAPMON_KAFKA_SSL_CERTFILE": str(tmp_path / "missing.pem")})
