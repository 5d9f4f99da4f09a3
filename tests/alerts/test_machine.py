"""Every transition of the alert state machine, the hysteresis edges, escalation and flapping input."""

from __future__ import annotations

from collections import Counter

from alerts.evaluate import Evaluator
from alerts.machine import observe
from alerts.rules import parse_rules
from streams.contract.records.alerts import AlertState
from streams.state.readmodel import Figures
from streams.state.register import Register, Site
from streams.state.totals import Totals

MIN = 60_000_000


def rule(**kw):
    base = {"name": "low", "scope": "national", "measure": "headroom", "below": 100, "clear": 150, "for": "10m",
            "severity": "warning"}
    return parse_rules({"rules": [{**base, **kw}]})[0]


def run(r, values, step=MIN):
    state, kinds = AlertState(), []
    for i, v in enumerate(values):
        state, change = observe(r, state, i * step, v)
        kinds.append(change.kind if change else None)
    return state, kinds


def test_pending_then_fired_after_for_then_resolved_past_clear():
    state, kinds = run(rule(), [200, 90, 80, 70, 60, 60, 60, 60, 60, 60, 60, 60, 120, 149, 150])
    # pending at minute 1, fired at minute 11 (10 minutes later), firing through 120 and 149, resolved at 150
    assert kinds == [None, "pending"] + [None] * 9 + ["fired", None, None, "resolved"]
    assert state.status == "inactive"


def test_pending_goes_back_to_inactive_when_the_condition_stops_before_for():
    _, kinds = run(rule(), [90, 95, 101, 90])
    assert kinds == ["pending", None, "cancelled", "pending"]


def test_hysteresis_edges():
    r = rule(**{"for": "0s"})
    _, kinds = run(r, [100, 99.9, 100, 149.99, 150])
    # 100 is not below 100; 99.9 fires at once (for 0); 100..149.99 is not past clear; 150 resolves
    assert kinds == [None, "fired", None, None, "resolved"]
    above = rule(below=None, above=0.96, clear=0.95, **{"for": "0s"})
    _, kinds = run(above, [0.96, 0.961, 0.955, 0.95])
    assert kinds == [None, "fired", None, "resolved"]


def test_a_missing_measure_never_fires_and_resolves_a_firing_alert():
    r = rule(**{"for": "0s"})
    _, kinds = run(r, [None, 50, None])
    assert kinds == [None, "fired", "resolved"]


def test_flapping_input_does_not_page_repeatedly():
    """Crossing the threshold back and forth inside the clear band keeps one firing alert."""
    _, kinds = run(rule(), [90] * 11 + [99, 101, 99, 120, 99, 140, 99] * 5)
    assert kinds.count("fired") == 1 and kinds.count("resolved") == 0


def snap(headroom: int, at_min: int) -> Figures:
    register = Register(sites={"L1": ((0, "l1"), Site("AZC", "NL-GR", "regular", 1000))})
    return Figures(Totals(occupancy=Counter({"L1": 1000 - headroom})), register, at_min * MIN)


def test_escalation_from_warning_to_critical_and_stable_ids():
    rules = parse_rules({"rules": [
        {"name": "warn", "scope": "national", "measure": "headroom", "below": 100, "clear": 150, "for": "0s",
         "severity": "warning"},
        {"name": "crit", "scope": "national", "measure": "headroom", "below": 20, "clear": 50, "for": "0s",
         "severity": "critical", "notify": ["pagerduty"]},
        {"name": "prov", "scope": "province", "measure": "headroom", "below": 100, "for": "0s",
         "severity": "warning"}]})
    ev = Evaluator(rules)
    first = ev.evaluate(snap(90, 0))
    assert {(t.alert_id, t.kind) for t in first} == {("warn/national", "fired"), ("prov/NL-GR", "fired")}
    second = ev.evaluate(snap(10, 1))
    assert [(t.alert_id, t.kind, t.escalated_from) for t in second] == [("crit/national", "escalated", "warn")]
    third = ev.evaluate(snap(200, 2))
    assert sorted((t.alert_id, t.kind) for t in third) == [
        ("crit/national", "resolved"), ("prov/NL-GR", "resolved"), ("warn/national", "resolved")]
    assert ev.firing() == {}


def test_staleness_uses_the_wall_clock_per_topic_and_sees_traffic_in_the_offsets_read():
    from alerts.live import StalenessWatch

    rules = parse_rules({"rules": [{"name": "stale", "scope": "topic", "measure": "staleness", "above": 60,
                                    "severity": "warning"}]})
    now = [1000.0]
    states: dict = {}
    watch = StalenessWatch(rules, states, clock=lambda: now[0])
    read = {"registrations": 5, "decisions": 5, "placements": 5}
    watch.observe_offsets(read)
    assert watch.check() == []
    now[0] += 30
    watch.observe_offsets({**read, "placements": 6})
    now[0] += 45  # registrations and decisions: 75 s without events; placements: 45 s
    fired = watch.check()
    assert sorted((t.alert_id, t.kind) for t in fired) == [("stale/decisions", "fired"), ("stale/registrations",
                                                                                        "fired")]
    watch.observe_offsets({**read, "registrations": 9, "placements": 6})
    now[0] += 2
    assert [(t.alert_id, t.kind) for t in watch.check()] == [("stale/registrations", "resolved")]
