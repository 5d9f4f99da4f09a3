"""The outlook's read-outs: `/api/outlook` against its schema, the metrics, the status page's chart and words,
the rule measure, and the once-a-second recomputation (an injected clock, no sleeps)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from prometheus_client import CollectorRegistry

from alerts.evaluate import Evaluator
from alerts.measures import inputs
from alerts.rules import Rule, parse_rules
from readout.collectors import FiguresCollector
from readout.outlook import EverySecond, Reading, outlook_json
from readout.status_page import Thresholds
from readout.web import status_html
from streams.contract.records.figures import partition_key
from streams.contract.schemas import SCHEMA_DIR
from streams.contract.topics import Topics
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.state.view import FiguresView
from tests.streams.test_metrics import samples
from tests.support.page_reader import read_page

SCHEMA = json.loads((SCHEMA_DIR / "api-outlook.json").read_text())
NOW = "2023-07-01T10:00:00+02:00"


def site(loc: str, kind: str, beds: int, **dates: str) -> bytes:
    return json.dumps({"event_id": f"l-{loc}", "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": loc,
                       "name": f"{loc} place", "province": "NL-GR", "location_type": kind, "capacity": beds,
                       "status": "open", **dates}).encode()


def view_of(outlook_days: int = 84, medio: int = 3650) -> FiguresView:
    """AZC 50 beds, NOOD 20 beds until 5 July, NEW 30 beds from 10 July; 15 persons in the network; MPP medio
    `medio` a year, bed share 1 (every registered person has a bed)."""
    proc = PeopleProcessor(Topics(""))
    batch = []
    for i in range(15):
        person = f"person-{i:03d}-secret"
        batch.append(Incoming("registrations", 0, i, person.encode(), json.dumps(
            {"event_id": f"r{i}", "occurred_at": "2023-06-30T10:00:00+02:00", "person_id": person,
             "application_type": "first", "nationality": "SYR"}).encode()))
        batch.append(Incoming("placements", 0, 100 + i, person.encode(), json.dumps(
            {"event_id": f"p{i}", "occurred_at": NOW, "person_id": person, "action": "check_in",
             "location_id": "AZC" if i < 10 else "NOOD"}).encode()))
    proc.process(batch)
    view = FiguresView(outlook_days=outlook_days)
    view.apply(b"site:AZC", site("AZC", "regular", 50))
    view.apply(b"site:NOOD", site("NOOD", "crisis_emergency", 20, closes_on="2023-07-05"))
    view.apply(b"site:NEW", site("NEW", "regular", 30, opens_on="2023-07-10"))
    view.apply(b"forecast:2023", json.dumps(
        {"event_id": "f", "occurred_at": "2023-01-01T00:00:00+01:00", "forecast_id": "MPP-2023", "year": 2023,
         "scenarios": {"min": 36, "medio": medio, "max": 36500}}).encode())
    view.apply(partition_key(0), proc.partitions[0].summary())
    return view


def reading(view: FiguresView) -> Reading:
    return EverySecond(view.figures).reading()


def test_the_api_answer_validates_against_its_schema_and_says_what_3a_says():
    view = view_of()
    answer = json.loads(json.dumps(outlook_json(reading(view))))
    jsonschema.Draft202012Validator(SCHEMA).validate(answer)
    assert answer["today"] == "2023-07-01" and answer["days"][0] == "2023-07-02" and len(answer["days"]) == 84
    medio = answer["scenarios"]["medio"]
    # medio: 10 a day × bed share 1, nobody moved out: 70 - 15 - 10 on 2 July; 50 - 15 - 40 on 5 July: full
    assert medio["headroom"]["transfer"][0] == 45 and medio["headroom"]["transfer"][3] == -5
    assert (medio["days_until_transfer_full"], medio["transfer_full_on"]) == (4, "2023-07-05")
    assert answer["planned_capacity"]["transfer"][:9] == [70, 70, 70, 50, 50, 50, 50, 50, 80]
    assert [(c["day"], c["location_id"], c["change"], c["beds"]) for c in answer["changes"]] == [
        ("2023-07-05", "NOOD", "closes", 20), ("2023-07-10", "NEW", "opens", 30)]
    assert set(answer["scenarios"]) == {"min", "medio", "max", "trend"}
    assert "secret" not in json.dumps(answer)


def test_the_answer_before_any_event_validates_too():
    answer = outlook_json(reading(FiguresView()))
    jsonschema.Draft202012Validator(SCHEMA).validate(answer)
    assert answer["today"] is None and answer["scenarios"] == {}


def test_the_schema_is_written_with_the_event_schemas():
    assert (Path(SCHEMA_DIR) / "api-outlook.json").exists() and SCHEMA["$id"] == "capmon/api-outlook.json"


def test_the_outlook_is_computed_at_most_once_a_second_of_the_clock():
    view = view_of()
    clock = [1000.0]
    every = EverySecond(view.figures, clock=lambda: clock[0])
    first = every.reading()
    view.apply(b"site:AZC", site("AZC", "regular", 60).replace(b'"l-AZC"', b'"l-AZC-2"').replace(
        b"2023-01-01T00:00:00+01:00", b"2023-07-01T11:00:00+02:00"))
    clock[0] += 0.999
    assert every.reading() is first and every.computed == 1  # the view changed, but within the second
    clock[0] += 0.001
    later = every.reading()
    assert every.computed == 2 and later.outlook.transfer_capacity[0] == first.outlook.transfer_capacity[0] + 10


def test_metrics_give_headroom_at_the_horizons_within_the_outlook_and_days_until_full_when_within():
    registry = CollectorRegistry()
    registry.register(FiguresCollector(view_of(outlook_days=30)))
    got = samples(registry)
    horizons = {dict(labels)["horizon_days"] for name, labels in got if name == "capmon_outlook_headroom"}
    assert horizons == {"7", "14", "28"}  # 56 and 84 are beyond a 30-day outlook
    key = ("capmon_outlook_headroom", (("horizon_days", "7"), ("scenario", "medio"), ("scope", "transfer")))
    assert got[key] == 50 - (15 + 70)  # 8 July: AZC only, 15 + 7 × 10
    national = ("capmon_outlook_headroom", (("horizon_days", "7"), ("scenario", "medio"), ("scope", "national")))
    assert got[national] == got[key]  # no beds outside the network here
    assert got[("capmon_outlook_days_until_transfer_full", (("scenario", "medio"),))] == 4
    assert got[("capmon_outlook_days_until_transfer_full", (("scenario", "max"),))] == 1
    # min: 0.1 a day; the network does not fill within 30 days, so no series
    assert ("capmon_outlook_days_until_transfer_full", (("scenario", "min"),)) not in got
    assert ("capmon_outlook_days_until_transfer_full", (("scenario", "trend"),)) not in got


def test_the_status_page_draws_the_12_weeks_by_scenario_with_the_changes_and_says_when_full():
    view = view_of()
    page = status_html(view.figures(), {"active": [], "pending": []}, Thresholds(), outlook=reading(view))
    figures = read_page(page).figures
    assert 'data-figure="outlook-chart"' in page
    assert all(f'data-scenario="{s}"' in page for s in ("min", "medio", "max", "trend"))
    assert figures["outlook-full:medio"][1] == "full on Wed 5 Jul 2023"
    assert figures["outlook-full:max"][1] == "full on Sun 2 Jul 2023"
    assert figures["outlook-full:min"][1] == "not within 12 weeks"
    assert 'data-change="2023-07-05"' in page and 'data-change="2023-07-10"' in page
    assert "−20" in page and "+30" in page  # the beds each change takes away or adds, on its day
    assert figures["outlook-change:NOOD:2023-07-05"][1] == "2023-07-05: NOOD place closes (−20 beds)"
    assert "<script" not in page and "secret" not in page
    assert page.index('data-figure="transfer-headroom"') < page.index('data-figure="outlook-chart"')


def test_full_now_in_words():
    view = view_of()
    for loc, kind in (("AZC", "regular"), ("NOOD", "crisis_emergency")):  # no beds left: 15 persons over
        view.apply(f"site:{loc}".encode(), site(loc, kind, 0).replace(f'"l-{loc}"'.encode(), b'"l-0"').replace(
            b"2023-01-01T00:00:00+01:00", b"2023-07-01T11:00:00+02:00"))
    page = status_html(view.figures(), {"active": [], "pending": []}, Thresholds(), outlook=reading(view))
    assert read_page(page).figures["outlook-full:trend"][1] == "full now"


def outlook_rule(scenario: str, below: float) -> Rule:
    return parse_rules({"rules": [{"name": f"outlook_{scenario}", "scope": "national", "severity": "warning",
                                   "measure": f"outlook_days_until_transfer_full:{scenario}", "below": below}]})[0]


def test_the_measure_in_a_rule_fires_when_the_network_fills_within_its_days_and_none_never_breaches():
    view = view_of()
    figures = view.figures()
    fired = Evaluator([outlook_rule("medio", 7)]).evaluate(figures)
    assert [(t.rule, t.kind, t.value) for t in fired] == [("outlook_medio", "fired", 4.0)]
    assert Evaluator([outlook_rule("medio", 4)]).evaluate(figures) == []  # 4 days is not below 4
    assert Evaluator([outlook_rule("min", 10_000)]).evaluate(figures) == []  # none within the horizon: no value
    assert inputs(outlook_rule("trend", 7)) >= {"placement", "location", "forecast", "day"}


def test_the_measure_is_validated_like_the_others():
    import pytest

    from streams.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown measure"):
        parse_rules({"rules": [{"name": "x", "scope": "national", "severity": "warning",
                                "measure": "outlook_days_until_transfer_full:often", "below": 7}]})
    with pytest.raises(ConfigError, match="only for scope national"):
        parse_rules({"rules": [{"name": "x", "scope": "province", "severity": "warning",
                                "measure": "outlook_days_until_transfer_full:trend", "below": 7}]})


def test_evaluation_without_an_outlook_rule_never_computes_the_outlook():
    view = view_of()
    figures = view.figures()
    rule = parse_rules({"rules": [{"name": "t", "scope": "national", "severity": "warning",
                                   "measure": "transfer_headroom", "below": 1}]})[0]
    Evaluator([rule]).evaluate(figures)
    assert "outlook" not in figures.__dict__ and "outlook" not in figures.on_day(figures.capacity_day).__dict__
