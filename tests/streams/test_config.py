"""Settings: defaults, one clear line for a bad value, secrets from files and never echoed."""

from __future__ import annotations

import pytest

from streams.config import load_settings
from streams.errors import ConfigError
from streams.topics import Topics


def test_defaults_match_the_contract():
    s = load_settings({})
    assert (s.kafka_bootstrap, s.topic_prefix, s.web_port, s.partitions) == ("127.0.0.1:9092", "", 6066, 4)


def test_environment_values_are_read():
    s = load_settings({"CAPMON_WEB_PORT": "7000", "CAPMON_TOPIC_PREFIX": "acc.", "CAPMON_KAFKA_BOOTSTRAP": "k:1"})
    assert (s.web_port, s.topic_prefix, s.kafka_bootstrap) == (7000, "acc.", "k:1")
    assert Topics(s.topic_prefix).registrations == "acc.registrations"
    assert Topics(s.topic_prefix).dead_letters == "acc.dead-letters"
    assert Topics(s.topic_prefix).app_id == "acc.capmon"


@pytest.mark.parametrize(
    "var, value, words",
    [("CAPMON_WEB_PORT", "abc", "valid integer"), ("CAPMON_WEB_PORT", "70000", "less than or equal"),
     ("CAPMON_TOPIC_PREFIX", "bad prefix!", "pattern"), ("CAPMON_PARTITIONS", "0", "greater than")],
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
