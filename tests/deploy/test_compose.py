"""docker-compose.yml without a Docker engine (none runs here): it parses, every file it mounts or builds from
exists in the repository, every CAPMON_* setting it passes is one capmon knows, every command it runs parses,
and the services find each other under the names the configs use."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from capmon.cli import build_parser
from streams.config import SECRET_FIELDS, Settings
from tests.support.helpers import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()
SERVICES = COMPOSE["services"]
CAPMON = [name for name, s in SERVICES.items() if s.get("image") == "capmon:latest"]


def test_the_file_follows_the_compose_specification():
    import json

    import jsonschema

    schema = json.loads((REPO / "tests" / "deploy" / "compose-spec.schema.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(COMPOSE)]
    assert errors == []
    typo = {**COMPOSE, "services": {**SERVICES, "worker-1": {**SERVICES["worker-1"], "comand": ["worker"]}}}
    assert not validator.is_valid(typo)  # the schema does catch mistakes


def test_the_stack_has_every_part():
    assert {"kafka", "worker-1", "worker-2", "prometheus", "alertmanager", "grafana", "simulator"} <= set(SERVICES)
    assert SERVICES["simulator"]["profiles"] == ["demo"]
    assert "broker,controller" in SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert {SERVICES[w]["volumes"][0] for w in ("worker-1", "worker-2")} == {
        "worker-1-state:/var/lib/capmon", "worker-2-state:/var/lib/capmon"}  # each worker its own RocksDB state


def test_every_mounted_file_and_build_input_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repository"
    for secret in COMPOSE["secrets"].values():
        example = REPO / "deploy" / "secrets.example" / secret["file"].removeprefix("./secrets/")
        assert example.exists(), f"{secret['file']} has no placeholder in deploy/secrets.example"
    dockerfile = (REPO / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile copies {source}, which is not in the repository"
    assert "ENTRYPOINT [\"capmon\"]" in dockerfile


def test_the_package_the_image_installs_has_the_schemas_and_all_three_packages(tmp_path):
    """The Dockerfile installs capmon itself with `pip install --no-deps .` (not editable): its wheel must carry
    everything."""
    import sys
    import zipfile

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("capmon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"capmon/cli.py", "capmon/worker.py", "readout/status_page.py", "alerts/delivery.py",
            "streams/contract/schemas/placement.json"} <= names
    assert not any(n.startswith(("tests/", "bench/", "deploy/")) for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    assert "grafana-client" in zipfile.ZipFile(wheel).read(metadata).decode()  # the [dashboards] extra (a tool)


def test_every_capmon_setting_passed_exists_and_every_command_parses():
    known = {f"CAPMON_{name.upper()}" for name in Settings.model_fields}
    known |= {f"CAPMON_{name.upper()}_FILE" for name in SECRET_FIELDS}
    parser = build_parser()
    for name in CAPMON:
        service = SERVICES[name]
        for var in service.get("environment", {}):
            assert var in known, f"{name} sets {var}, which capmon does not read"
        Settings.model_validate({k.removeprefix("CAPMON_").lower(): v for k, v in service["environment"].items()})
        commands = [service["command"]] if "command" in service else []
        if "entrypoint" in service:
            script = service["entrypoint"][-1]
            commands += [shlex.split(part.strip())[1:] for part in re.split(r"&&", script.replace("exec ", ""))]
        assert commands, name
        for argv in commands:
            parser.parse_args(argv)  # exits (fails the test) on an unknown command or option
            if argv and argv[0] == "replay":
                assert (REPO / argv[1]).exists()


def test_services_find_each_other_under_the_names_the_configs_use():
    prometheus = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == [f"{w}:{SERVICES[w]['environment']['CAPMON_WEB_PORT']}" for w in ("worker-1", "worker-2")]
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    for name in CAPMON:
        env = SERVICES[name]["environment"]
        assert env["CAPMON_KAFKA_BOOTSTRAP"] == "kafka:9092" == SERVICES["kafka"]["environment"][
            "KAFKA_ADVERTISED_LISTENERS"].removeprefix("PLAINTEXT://")
        assert env["CAPMON_ALERTMANAGER_URL"] == "http://alertmanager:9093"
    datasource = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    # Secret files the configs read are the secrets those services get.
    am = (REPO / "deploy/alertmanager/alertmanager.yml").read_text()
    assert set(re.findall(r"/run/secrets/(\w+)", am)) == set(SERVICES["alertmanager"]["secrets"])
    password_file = SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    assert password_file.removeprefix("/run/secrets/") in SERVICES["grafana"]["secrets"]


def test_amtool_accepts_the_alertmanager_config_and_it_pages_only_for_critical_alerts():
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is not installed: `make test` installs the Debian package prometheus-alertmanager")
    config = str(REPO / "deploy/alertmanager/alertmanager.yml")
    checked = subprocess.run([amtool, "check-config", config], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    def receiver(*labels: str) -> str:
        routed = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", *labels],
                                capture_output=True, text=True, timeout=60)
        return routed.stdout.strip()

    # capmon's own capacity alerts (labels alertname, severity, scope) and Prometheus' health alerts.
    assert receiver("alertname=national_headroom_critical", "severity=critical", "scope=national") == (
        "pagerduty-and-slack")
    assert receiver("alertname=CapmonAllWorkersDown", "severity=critical") == "pagerduty-and-slack"
    assert receiver("alertname=province_headroom_low", "severity=warning", "scope=NL-ZE") == "slack"
    assert receiver("alertname=CapmonDeadLetters", "severity=info") == "slack"


def test_only_the_status_pages_and_grafana_are_published_on_loopback_and_capmon_runs_locked_down():
    published = {name: service["ports"] for name, service in SERVICES.items() if service.get("ports")}
    assert set(published) == {"worker-1", "worker-2", "grafana"}
    for name, ports in published.items():
        for port in ports:
            assert port.startswith("${CAPMON_PUBLISH_HOST:-127.0.0.1}:"), (name, port)
    assert not any("lifecycle" in arg for arg in SERVICES["prometheus"]["command"])
    for name, service in SERVICES.items():
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    # Read-only everywhere but Kafka, whose image writes its configuration into its own tree at start.
    assert {name for name, service in SERVICES.items() if service.get("read_only") is not True} == {"kafka"}
    assert SERVICES["kafka"]["read_only"] is False  # said, not forgotten
    # Non-root: capmon's image (USER capmon) and Kafka's (USER appuser) say so themselves; the rest here.
    assert {name for name, service in SERVICES.items() if "user" not in service} == {*CAPMON, "kafka"}
    assert all(str(s["user"]).split(":")[0] not in ("0", "root") for s in SERVICES.values() if "user" in s)
    assert re.search(r"^USER capmon$", DOCKERFILE, re.M)


DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+@sha256:(?P<hex>[0-9a-f]{64})$")


def test_every_image_is_pinned_by_tag_and_digest():
    """A tag names the version for people, the digest fixes the bytes (a tag can be moved). Placeholders such as
    sha256:000... are refused: only digests that were published for that tag belong here (README "Production")."""
    images = {name: service["image"] for name, service in SERVICES.items() if name not in CAPMON}
    images |= {f"Dockerfile {n}": line.split()[1] for n, line in enumerate(DOCKERFILE.splitlines())
               if line.startswith("FROM ")}
    assert any(name.startswith("Dockerfile") for name in images)
    for name, image in images.items():
        pinned = DIGEST.match(image)
        assert pinned, f"{name}: {image} is not pinned as name:tag@sha256:<digest>"
        assert len(set(pinned["hex"])) > 4, f"{name}: {image} has a placeholder digest"
        assert ":latest@" not in image, name
    assert all("build" in SERVICES[name] and SERVICES[name]["image"] == "capmon:latest" for name in CAPMON)


def test_grafana_sends_nothing_home_and_its_entrypoint_is_the_password_check():
    grafana = SERVICES["grafana"]
    env = grafana["environment"]
    for setting in ("GF_ANALYTICS_REPORTING_ENABLED", "GF_ANALYTICS_CHECK_FOR_UPDATES",
                    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "GF_ANALYTICS_FEEDBACK_LINKS_ENABLED",
                    "GF_NEWS_NEWS_FEED_ENABLED", "GF_SNAPSHOTS_EXTERNAL_ENABLED", "GF_PUBLIC_DASHBOARDS_ENABLED",
                    "GF_PLUGINS_PLUGIN_ADMIN_ENABLED", "GF_AUTH_ANONYMOUS_ENABLED", "GF_USERS_ALLOW_SIGN_UP"):
        assert env[setting] == "false", setting
    assert env["GF_SECURITY_DISABLE_GRAVATAR"] == env["GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED"] == "true"
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in grafana["volumes"] if volume.startswith("./"))
    script = grafana["entrypoint"][-1]
    assert grafana["entrypoint"][0] == "/bin/sh" and mounts["./deploy/grafana/start.sh"] == script
    assert mounts["./deploy/secrets.example/grafana_admin_password"] == env["CAPMON_EXAMPLE_PASSWORD_FILE"]


@pytest.mark.parametrize("password, started", [
    ((REPO / "deploy/secrets.example/grafana_admin_password").read_text(), False),  # the example, as copied
    ("", False), ("short-pw", False), ("a-long-random-password-from-openssl", True)])
def test_grafana_refuses_the_example_password(tmp_path, password, started):
    """deploy/grafana/start.sh, run by a real shell as Grafana's entrypoint, with the image's /run.sh stood in
    for by a script that says it ran."""
    secret = tmp_path / "grafana_admin_password"
    secret.write_text(password)
    run_sh = tmp_path / "run.sh"
    run_sh.write_text('#!/bin/sh\necho "grafana started with $#"\n')
    run_sh.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "GF_SECURITY_ADMIN_PASSWORD__FILE": str(secret), "GRAFANA_START": str(run_sh),
           "CAPMON_EXAMPLE_PASSWORD_FILE": str(REPO / "deploy/secrets.example/grafana_admin_password")}
    done = subprocess.run(["/bin/sh", str(REPO / "deploy/grafana/start.sh"), "arg"], env=env, capture_output=True,
                          text=True, timeout=30)
    if started:
        assert (done.returncode, done.stdout, done.stderr) == (0, "grafana started with 1\n", "")
    else:
        assert done.returncode == 78 and done.stdout == ""
        assert done.stderr.startswith("grafana: refusing to start: ") and len(done.stderr.splitlines()) == 1
        assert password.strip() == "" or password.strip() not in done.stderr
    missing = subprocess.run(["/bin/sh", str(REPO / "deploy/grafana/start.sh")], capture_output=True, text=True,
                             env={**env, "CAPMON_EXAMPLE_PASSWORD_FILE": str(tmp_path / "absent")}, timeout=30)
    assert missing.returncode == 78  # cannot compare: refuse rather than guess


def test_pseudonymisation_is_on_in_compose_with_a_key_from_a_secret_and_the_example_key_is_refused(tmp_path):
    from streams.config import load_settings
    from streams.errors import ConfigError
    from streams.ingest.pseudonyms import pseudonyms_of

    workers = [name for name in CAPMON if SERVICES[name].get("command") == ["worker"]]
    assert workers == ["worker-1", "worker-2"]
    for name in workers:
        key_file = SERVICES[name]["environment"]["CAPMON_PSEUDONYM_KEY_FILE"]
        assert key_file == "/run/secrets/pseudonym_key" and "pseudonym_key" in SERVICES[name]["secrets"]
    example = REPO / "deploy" / "secrets.example" / "pseudonym_key"
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        pseudonyms_of(load_settings({"CAPMON_PSEUDONYM_KEY_FILE": str(example)}))
    real = tmp_path / "pseudonym_key"
    real.write_text("9f" * 32 + "\n")  # as `openssl rand -hex 32` writes it
    assert pseudonyms_of(load_settings({"CAPMON_PSEUDONYM_KEY_FILE": str(real)})) is not None
