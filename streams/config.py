"""Configuration: one frozen settings object read from `CAPMON_*` variables (secrets also from `*_FILE`).

Built once at start-up (`Settings.load()`), then passed down; nothing mutates it afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streams.errors import ConfigError
from streams.state.terms import DEFAULT_DECISION_TERMS, DecisionTerms, parse_decision_terms

Port = Annotated[int, Field(ge=1, le=65535)]
HALF_YEAR = re.compile(r"\d{4}-H[12]")
# The letter's taakstelling for the second half of 2023; other half years come from CAPMON_TAAKSTELLING.
DEFAULT_TAAKSTELLING = {"2023-H2": 27_300}


class Settings(BaseSettings):
    """Every knob of capmon. Field `x` is set by `CAPMON_X`; a secret field also by `CAPMON_X_FILE`."""

    model_config = SettingsConfigDict(env_prefix="CAPMON_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", min_length=1, description="Kafka bootstrap servers, host:port[,..]")
    kafka_security_protocol: str = Field("PLAINTEXT", pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$")
    kafka_sasl_mechanism: str = Field("PLAIN", pattern="^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_allow_plaintext_password: bool = False  # SASL PLAIN without TLS sends the password in clear: opt in
    kafka_ssl_cafile: FilePath | None = None  # the CA that signed the brokers' certificates (default: the system's)
    kafka_ssl_certfile: FilePath | None = None  # mutual TLS: this client's certificate (PEM), with its key file
    kafka_ssl_keyfile: FilePath | None = None
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)
    partitions: int = Field(4, ge=1, le=1024, description="partitions of the topics capmon creates")
    web_host: str = "127.0.0.1"
    web_port: Port = 6066
    web_users_file: Path | None = None  # user:bcrypt-hash lines: basic auth on every route but /health, /metrics
    state_dir: Path = Path(".cache/state")
    session_timeout_s: float = Field(10.0, ge=6, le=300, description="consumer group session timeout (seconds)")
    # one hour: a producer's fast clock moves `now`, and with dates in the register would close tomorrow's
    # contracts today (CONTRACT.md section 2, "Time sanity")
    max_clock_skew_s: float = Field(3_600.0, ge=0, le=31_536_000,
                                    description="how far after its message's timestamp an event may have occurred")
    max_event_bytes: int = Field(65_536, ge=1_024, le=524_288,
                                 description="a larger input message value is a dead letter (\"too large\")")
    input_retention_days: int = Field(30, ge=1, le=3650, description="retention of the person topics capmon creates")
    person_retention_days: int = Field(400, ge=1, le=3650,
                                       description="per-person state is forgotten this long after a person's "
                                                   "last event, once out of reception and not awaiting a decision")
    pseudonym_key: SecretStr | None = None  # person ids become HMAC-SHA256(key, id) at ingest (ingest/pseudonyms.py)
    standby_replicas: int = Field(1, ge=0, le=8, description="standby copies of the person table on other workers")
    alert_rules: Path | None = None  # default: deploy/alerts/rules.yaml when it exists
    slack_webhook_url: SecretStr | None = None
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    alertmanager_url: str | None = None
    alert_allow_http: bool = False  # plain http to receivers outside 127.0.0.0/8 (e.g. a compose-internal network)
    alert_delivery_timeout_s: float = Field(60.0, gt=0, le=600, description="how long a receiver may take to "
                                            "answer before the notification is retried")
    alertmanager_resend_s: float = Field(60.0, gt=0, description="re-send firing alerts to Alertmanager this often")
    status_url: str | None = None  # where alert texts point duty officers (default: this worker's status page)
    dashboard_url: str | None = None  # a Grafana dashboard link for alert texts
    grafana_url: str | None = None  # for `capmon dashboards publish`
    grafana_token: SecretStr | None = None
    # half year -> permit holders municipalities must house in it, e.g. {"2023-H2": 27300, "2024-H1": 19000}
    taakstelling: Annotated[dict[str, int], NoDecode] = Field(default_factory=lambda: dict(DEFAULT_TAAKSTELLING))
    # the IND decision term by registration day: a YAML or JSON list of {from, to, days}, both days inclusive,
    # the first matching entry wins; a day no entry covers has six months (183 days)
    decision_terms: Annotated[DecisionTerms, NoDecode] = DEFAULT_DECISION_TERMS
    outlook_days: int = Field(84, ge=1, le=366, description="days ahead the outlook projects headroom for "
                              "(CONTRACT.md section 3a): a whole number from 1 to 366")

    @model_validator(mode="after")
    def _client_certificate(self) -> Settings:
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("mutual TLS needs both CAPMON_KAFKA_SSL_CERTFILE and CAPMON_KAFKA_SSL_KEYFILE")
        return self

    @model_validator(mode="after")
    def _receiver_urls(self) -> Settings:
        for name in ("slack_webhook_url", "pagerduty_url", "alertmanager_url"):
            url = getattr(self, name)
            problem = url and receiver_url_problem(url if isinstance(url, str) else url.get_secret_value(),
                                                   self.alert_allow_http)
            if problem:
                raise ValueError(f"CAPMON_{name.upper()}: {problem}")
        return self

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> Settings:
        """SASL PLAIN over a plaintext listener puts the password on the wire as is: refuse unless asked for."""
        if (self.kafka_security_protocol == "SASL_PLAINTEXT" and self.kafka_sasl_mechanism == "PLAIN"
                and not self.kafka_allow_plaintext_password):
            raise ValueError("SASL PLAIN over SASL_PLAINTEXT sends the Kafka password unencrypted: use SASL_SSL "
                             "(or SCRAM), or set CAPMON_KAFKA_ALLOW_PLAINTEXT_PASSWORD=1 on a trusted network")
        return self

    @field_validator("taakstelling", mode="before")
    @classmethod
    def _half_years(cls, value: object) -> object:
        """JSON text from the environment: {"2023-H2": 27300, ...}; half years as YYYY-H1 / YYYY-H2."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError('give JSON like {"2023-H2": 27300, "2024-H1": 19000}') from None
        if not isinstance(value, dict):
            raise ValueError('give JSON like {"2023-H2": 27300, "2024-H1": 19000}')
        for half, target in value.items():
            if not HALF_YEAR.fullmatch(str(half)):
                raise ValueError(f"{half!r} is not a half year (YYYY-H1 or YYYY-H2)")
            if not isinstance(target, int) or isinstance(target, bool) or target < 0:
                raise ValueError(f"the target for {half} must be a whole number >= 0")
        return value

    @field_validator("decision_terms", mode="before")
    @classmethod
    def _decision_terms(cls, value: object) -> DecisionTerms:
        return parse_decision_terms(value)


def receiver_url_problem(url: str, allow_http: bool) -> str | None:
    """Why an alert receiver's URL is refused, or None. Alerts carry secrets (a PagerDuty routing key, a Slack
    webhook path) and facts about the reception chain, so they travel over https, except to loopback (a
    sidecar, a test receiver) or where CAPMON_ALERT_ALLOW_HTTP=1 says the network is trusted. The message never
    repeats the URL: a Slack webhook URL is itself the secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not host:
        return "give an https:// URL"
    if parts.scheme == "http" and not allow_http and not _loopback(host):
        return ("http is allowed only to 127.0.0.0/8 (or localhost): use https, or set CAPMON_ALERT_ALLOW_HTTP=1 "
                "for a trusted network")
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SECRET_FIELDS = tuple(name for name, f in Settings.model_fields.items() if f.annotation == SecretStr | None)


def _secrets_from_files(environ: dict[str, str]) -> dict[str, str]:
    """Read `CAPMON_<SECRET>_FILE` files, so secrets can come from Docker/Kubernetes secret mounts."""
    values: dict[str, str] = {}
    for name in SECRET_FIELDS:
        var = f"CAPMON_{name.upper()}"
        path = environ.get(f"{var}_FILE")
        if not path:
            continue
        if environ.get(var):
            raise ConfigError(f"bad configuration: set {var} or {var}_FILE, not both")
        try:
            values[name] = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"bad configuration: {var}_FILE={path}: cannot read it ({exc.strerror})") from None
    return values


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build the settings from the environment; a bad value raises one clear `ConfigError` (no secret in it)."""
    env = dict(os.environ if environ is None else environ)
    try:
        file_values = _secrets_from_files(env)
        if environ is None:
            return Settings(**file_values, **overrides)
        # An explicit environ (tests) must not read the process environment.
        from_env = {
            name: env[f"CAPMON_{name.upper()}"] for name in Settings.model_fields if f"CAPMON_{name.upper()}" in env
        }
        return Settings.model_validate({**from_env, **file_values, **overrides})
    except ValidationError as exc:
        err = exc.errors()[0]
        why = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a rule across fields: its message names them (the input holds every value)
            raise ConfigError(f"bad configuration: {why}") from None
        name = str(err["loc"][0])
        shown = "" if name in SECRET_FIELDS else f"={err.get('input')!r}"
        raise ConfigError(f"bad configuration: CAPMON_{name.upper()}{shown}: {why}") from None
