"""The Prometheus configuration and the rules that watch the watcher, checked by the real promtool."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.support.helpers import REPO

PROM = REPO / "deploy" / "prometheus"
RULES = sorted((PROM / "rules").glob("*.yml"))
TESTS = sorted((PROM / "tests").glob("*.test.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: `make test` installs the Debian package prometheus")
    return subprocess.run([binary, *args], cwd=PROM, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_rules_and_the_config():
    assert RULES
    checked = promtool("check", "rules", *map(str, RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_rule_unit_tests_pass_and_cover_every_alert():
    result = promtool("test", "rules", *map(str, TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {r["alert"] for path in RULES for g in yaml.safe_load(path.read_text())["groups"]
              for r in g["rules"] if "alert" in r}
    cases = [case for path in TESTS for t in yaml.safe_load(path.read_text())["tests"]
             for case in t.get("alert_rule_test", [])]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert alerts == fired, f"alerts without a test where they fire: {sorted(alerts - fired)}"
    assert alerts == quiet, f"alerts without a test where they stay quiet: {sorted(alerts - quiet)}"
