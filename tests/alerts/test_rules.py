"""Rule loading: the default rules load; a bad file is refused naming the rule, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.rules import RulesError, load_rules, parse_duration, parse_rules

DEFAULTS = Path(__file__).resolve().parents[2] / "deploy" / "alerts" / "rules.yaml"
GOOD = {"name": "r", "scope": "national", "measure": "headroom", "below": 10, "clear": 20, "for": "30m",
        "severity": "critical", "notify": ["pagerduty", "slack"]}


def test_the_shipped_rules_load_and_cover_the_domain():
    rules = {r.name: r for r in load_rules(DEFAULTS)}
    assert rules["national_headroom_critical"].severity == "critical"
    assert rules["national_headroom_low"].for_s == 1800
    assert list(rules)[:3] == ["transfer_headroom_low", "transfer_headroom_exhausted", "ter_apel_over_norm"]
    over_norm = rules["ter_apel_over_norm"]
    assert (over_norm.scope, over_norm.measure, over_norm.above, over_norm.severity) == (
        "location:ter-apel", "over_norm", 0, "critical")
    assert rules["transfer_headroom_exhausted"].severity == "critical"
    assert {r.measure for r in rules.values()} >= {
        "headroom", "transfer_headroom", "over_norm", "ind_backlog_overdue", "occupancy_ratio", "days_until_full",
        "mpp_deviation:max", "staleness"}
    assert {r.scope for r in rules.values()} >= {"national", "province", "location", "location_type:amv"}


def test_durations():
    assert [parse_duration(x) for x in ("0s", "90s", "30m", "2h", "1d", 15)] == [0, 90, 1800, 7200, 86400, 15]
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"measure": "beds"}, "rule 1 (r): measure: unknown measure"),
        ({"scope": "country"}, "rule 1 (r): scope: must be national"),
        ({"below": None}, "give exactly one of below or above"),
        ({"above": 5}, "give exactly one of below or above"),
        ({"clear": 5}, "clear must be >= below"),
        ({"for": "half an hour"}, "rule 1 (r): for: a duration is"),
        ({"severity": "panic"}, "rule 1 (r): severity:"),
        ({"notify": ["email"]}, "unknown receiver 'email'"),
        ({"measure": "mpp_deviation:max", "scope": "province"}, "exists only for scope national"),
        ({"measure": "transfer_headroom", "scope": "province"}, "exists only for scope national"),
        ({"measure": "over_norm", "scope": "national"}, "exists only for scopes location and location:<id>"),
        ({"below": float("inf")}, "finite number"),
        ({"colour": "red"}, "rule 1 (r): colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_rule_is_refused_with_rule_field_and_reason(change, message):
    rule = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(RulesError) as info:
        parse_rules({"rules": [rule]}, "rules.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("alert rules rules.yaml: ")


def test_file_level_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n  - name: x\n    scope: national\n  oops")
    with pytest.raises(RulesError, match="not valid YAML at line"):
        load_rules(bad)
    with pytest.raises(RulesError, match="cannot read it"):
        load_rules(tmp_path / "missing.yaml")
    with pytest.raises(RulesError, match="used twice"):
        parse_rules({"rules": [GOOD, GOOD]})
    with pytest.raises(RulesError, match="a list under 'rules'"):
        parse_rules({"alerts": []})
