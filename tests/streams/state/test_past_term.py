"""Past term (CONTRACT.md section 3, IND backlog): persons awaiting a decision at least the decision term of their
registration's day, against a brute-force count over persons (tests/support/reference.py), on both sides of the
schedule's boundaries, with a custom schedule, duplicates, disorder, a late decision and partitions."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.config import load_settings
from streams.contract.events import parse_event
from streams.contract.records.figures import partition_key
from streams.contract.topics import Topics
from streams.errors import ConfigError
from streams.ingest.processors import Incoming, PeopleProcessor
from streams.state.chain import ChainState
from streams.state.readmodel import Figures, ind_backlog
from streams.state.stamp import micros
from streams.state.terms import DEFAULT_DECISION_TERMS, DecisionTerms, term_days
from streams.state.view import FiguresView
from tests.support.reference import expected_figures

AMS = ZoneInfo("Europe/Amsterdam")
# Registration moments on both sides of the default schedule's boundaries; near midnight, so the Amsterdam
# calendar day (not UTC's) decides the term: 2024-01-01T00:30+01:00 is 2023-12-31 in UTC.
MOMENTS = ["2022-03-26T12:00:00+01:00", "2022-03-26T23:59:00+01:00", "2022-03-27T00:01:00+01:00",
           "2022-03-27T12:00:00+02:00", "2022-09-26T10:00:00+02:00", "2023-06-01T10:00:00+02:00",
           "2023-12-31T23:30:00+01:00", "2024-01-01T00:30:00+01:00", "2024-01-01T12:00:00+01:00",
           "2021-12-01T09:00:00+01:00", "2024-02-10T09:00:00+01:00", "2024-08-10T09:00:00+02:00"]
CUSTOM = "[{from: 2024-01-01, to: 2024-06-30, days: 30}, {from: 2024-01-01, to: 2024-12-31, days: 60}]"
CUSTOM_TERMS = load_settings({"CAPMON_DECISION_TERMS": CUSTOM}).decision_terms


def registration(i: int, person: str, at: str, kind: str = "first") -> dict:
    return {"event_type": "registration", "event_id": f"r{i:03d}", "occurred_at": at, "person_id": person,
            "nationality": "SYR", "unaccompanied_minor": False, "application_type": kind}


def decision(i: int, person: str, at: str) -> dict:
    return {"event_type": "decision", "event_id": f"d{i:03d}", "occurred_at": at, "person_id": person,
            "nationality": "SYR", "outcome": "granted"}


def chain(events: list[dict]) -> ChainState:
    state = ChainState()
    for e in events:
        state.apply(parse_event(json.dumps(e)))
    return state


def reference_terms(terms: DecisionTerms) -> list[dict]:
    return [{"from": t.first, "to": t.last, "days": t.days} for t in terms]


def check_days(events: list[dict], delivered: list[dict], terms: DecisionTerms) -> int:
    """Past term at now days around every registration's term boundary (one day before, on, after), with no event
    on those days, equals the brute-force count; returns how many days were checked."""
    state = chain(delivered)
    days = {datetime.fromisoformat(e["occurred_at"]).astimezone(AMS).date()
            for e in events if e["event_type"] == "registration"}
    checked = 0
    for day in sorted(days):
        for term in {term_days(day, terms), 183, 457}:
            for delta in (-1, 0, 1):
                on = day + timedelta(days=term + delta)
                at = datetime(on.year, on.month, on.day, 8, tzinfo=AMS)
                want = expected_figures(events, reference_terms(terms), at)["backlog"]["past_term"]
                assert ind_backlog(state.totals, micros(at), terms).past_term == want, (day, term, delta)
                checked += 1
    return checked


def test_the_default_schedule_is_457_days_from_2022_03_27_to_2023_12_31_and_183_otherwise():
    assert load_settings({}).decision_terms == DEFAULT_DECISION_TERMS
    assert [term_days(d, DEFAULT_DECISION_TERMS) for d in (date(2022, 3, 26), date(2022, 3, 27), date(2023, 12, 31),
                                                         date(2024, 1, 1))] == [183, 457, 457, 183]


def test_past_term_moves_with_now_on_both_sides_of_the_boundaries():
    events = [registration(i, f"p{i}", at) for i, at in enumerate(MOMENTS)]
    assert check_days(events, events, DEFAULT_DECISION_TERMS) > 30
    state = chain(events)
    on = micros(datetime(2022, 9, 25, 8, tzinfo=AMS))  # 183 days after 2022-03-26; 2022-03-27 has 457
    assert ind_backlog(state.totals, on).past_term == 3 and ind_backlog(state.totals, on).overdue == 3
    on = micros(datetime(2023, 7, 1, 8, tzinfo=AMS))  # past 183 days: 2021 and 2022-03-26; past 457: 2022-03-27
    assert ind_backlog(state.totals, on).past_term == 5


def test_a_custom_schedule_the_first_matching_entry_wins():
    terms = CUSTOM_TERMS
    assert [term_days(d, terms) for d in (date(2024, 2, 10), date(2024, 8, 10), date(2023, 6, 1))] == [30, 60, 183]
    events = [registration(i, f"p{i}", at) for i, at in enumerate(MOMENTS)]
    assert check_days(events, events, terms) > 30
    on = micros(datetime(2024, 3, 11, 8, tzinfo=AMS))  # 30 days after 2024-02-10; 2023-06-01 has 183 now
    state = chain(events)
    figures = Figures(state.totals, state.register, on, terms=terms)
    # six months for 2021-2023 (no 2022 extension in this schedule): the 7 registrations up to 2023-06-01 (not
    # 2023-12-31, 71 days);
    # 30 days for the three from 2024-01-01 to 2024-02-10 (the last one waits exactly 30)
    assert figures.backlog.past_term == 7 + 3
    assert figures.backlog.past_term == expected_figures(events, reference_terms(terms),
                                                         datetime(2024, 3, 11, 8, tzinfo=AMS))["backlog"]["past_term"]


def test_duplicates_disorder_a_repeat_registration_and_a_late_decision():
    events = [registration(i, f"p{i}", at) for i, at in enumerate(MOMENTS)]
    events += [
        decision(1, "p0", "2022-10-01T10:00:00+02:00"),  # decided: no longer awaiting
        decision(2, "p3", "2022-03-20T10:00:00+01:00"),  # a decision before the registration: still awaiting
        registration(50, "p4", "2023-02-01T10:00:00+01:00", "repeat"),  # waits from its latest asylum registration
        registration(51, "p5", "2024-03-01T10:00:00+01:00", "family_reunification"),  # not an asylum registration
        decision(3, "p6", "2024-05-01T10:00:00+02:00"),  # the late decision, delivered last
    ]
    rng = random.Random(20)
    for _ in range(5):
        delivered = events[:-1] + [e for e in events[:-1] if rng.random() < 0.4]
        rng.shuffle(delivered)
        delivered.append(events[-1])
        assert check_days(events, delivered, DEFAULT_DECISION_TERMS) > 30
        assert check_days(events, delivered + delivered[:7], CUSTOM_TERMS) > 30


def incoming(e: dict, offset: int) -> Incoming:
    topic = {"registration": "registrations", "decision": "decisions"}[e["event_type"]]
    body = {k: v for k, v in e.items() if k != "event_type"}
    return Incoming(topic, int(e["person_id"][1:]) % 2, offset, e["person_id"].encode(), json.dumps(body).encode())


def in_time_order(events: list[dict]) -> list[Incoming]:
    """In event-time order: a processor ignores an event older than the person retention behind its partition's
    watermark (a forgotten person's), which the 2021 registration would be after the 2024 ones."""
    ordered = sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]))
    return [incoming(e, i) for i, e in enumerate(ordered)]


def test_partitions_summed_and_a_restarted_reader_give_the_same_past_term():
    events = [registration(i, f"p{i}", at) for i, at in enumerate(MOMENTS)]
    events.append(decision(9, "p9", "2024-01-02T10:00:00+01:00"))
    proc = PeopleProcessor(Topics(""))
    proc.process(in_time_order(events))
    at = datetime(2024, 8, 1, 8, tzinfo=AMS)
    want = expected_figures(events, reference_terms(CUSTOM_TERMS), at)["backlog"]["past_term"]
    for _restart in range(2):  # a reader that starts again from the summaries finds the same
        view = FiguresView(CUSTOM_TERMS)
        for partition, state in proc.partitions.items():
            view.apply(partition_key(partition), state.summary())
            view.apply(partition_key(partition), state.summary())  # a repeated summary changes nothing
        assert Figures(view.totals, view.register, micros(at), terms=view.terms).backlog.past_term == want
        assert view.figures().backlog.past_term == expected_figures(events, reference_terms(CUSTOM_TERMS))[
            "backlog"]["past_term"]


def test_the_api_metrics_and_status_page_show_past_term_beside_overdue():
    from prometheus_client import CollectorRegistry

    from readout.collectors import FiguresCollector
    from readout.status_page import Thresholds
    from readout.web import inflow_json, status_html
    from tests.support.page_reader import read_page

    events = [registration(i, f"p{i}", at) for i, at in enumerate(MOMENTS)]
    proc = PeopleProcessor(Topics(""))
    proc.process(in_time_order(events))
    view = FiguresView()  # now: 2024-08-10, the latest registration
    for partition, state in proc.partitions.items():
        view.apply(partition_key(partition), state.summary())
    want = expected_figures(events)["backlog"]
    # 2023-06-01 and 2023-12-31 wait more than six months (436 and 223 days), but less than their 457
    assert want["past_term"] == 8 and want["overdue"] == 10
    backlog = inflow_json(view.figures())["ind_backlog"]
    assert (backlog["overdue"], backlog["past_term"]) == (10, 8)
    registry = CollectorRegistry()
    registry.register(FiguresCollector(view))
    assert registry.get_sample_value("capmon_ind_backlog_past_term") == 8
    figures = read_page(status_html(view.figures(), {"active": [], "pending": []}, Thresholds())).figures
    assert (figures["backlog-overdue"][0], figures["backlog-past-term"][0]) == ("10", "8")


@pytest.mark.parametrize("bad,why", [
    ("{x", "YAML or JSON list"), ("5", "YAML or JSON list"), ("[{from: 2022-01-01, to: 2023-01-01}]", "exactly"),
    ("[{from: 2023-01-01, to: 2022-01-01, days: 3}]", "before"), ('[{"from": "soon", "to": "2023-01-01", "days": 3}]',
                                                                   "YYYY-MM-DD"),
    ("[{from: 2022-01-01, to: 2023-01-01, days: 0}]", "whole number")])
def test_a_bad_schedule_is_one_clear_line(bad: str, why: str):
    with pytest.raises(ConfigError, match=why) as err:
        load_settings({"CAPMON_DECISION_TERMS": bad})
    assert "\n" not in str(err.value) and "CAPMON_DECISION_TERMS" in str(err.value)


def test_json_and_an_empty_list_are_schedules_too():
    assert load_settings({"CAPMON_DECISION_TERMS": '[{"from": "2024-01-01", "to": "2024-06-30", "days": 30}]'}
                         ).decision_terms == CUSTOM_TERMS[:1]
    assert load_settings({"CAPMON_DECISION_TERMS": "[]"}).decision_terms == ()  # six months for every day
