"""The simulated 2023 behaves as the letter describes, and the default rules fire when it matters.

The whole-year rule table (README, "Default alert rules") is `python -m capmon.calibration`; these tests check
the same properties cheaply: a short feed through the real rules and read model, and whole years through the
simulation's own bookkeeping (which `test_simulator.py` shows the events tell exactly).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from alerts.rules import load_rules
from alerts.timeline import Timeline, run
from capmon.calibration import DEFAULT_RULES, FULL, START, firing_days, lead_days, simulated_events
from streams.contract.events import parse_event
from streams.state.readmodel import Figures
from streams.state.stamp import micros
from streams.tools.simulator import mix
from streams.tools.simulator.chain import NORMS
from streams.tools.simulator.register import CHANGES
from tests.support.years import Year, simulate_year, simulated_year


def test_the_opening_state_is_not_inflow_and_pages_nobody():
    """Six weeks of a medio year with the default rules: the residents loaded before the start (dated when they
    arrived, with the departures of the last 28 days) neither look like inflow nor page anyone."""
    rules = load_rules(DEFAULT_RULES)
    # a 15-minute grid (the calibration's is 5): what fires in six weeks still shows, a third of the evaluations
    timeline = Timeline(rules, step_s=900)
    transitions = []
    first_day = None
    for event in simulated_events(mix.MPP_2023["medio"], 42, seed=1):
        transitions += timeline.feed(event)
        if first_day is None and micros(event.occurred_at) >= micros(START + timedelta(days=1)):
            s = timeline.state
            first_day = Figures(s.totals, s.register, s.watermark_us)
    transitions += timeline.finish()
    years = firing_days(transitions, START, START + timedelta(days=42))
    assert {rule: y.before_start for rule, y in years.items() if y.before_start} == {}
    fired = {t.rule for t in transitions if t.kind in ("fired", "escalated")}
    critical = {r.name for r in rules if r.severity == "critical"}
    assert not fired & critical, fired
    assert first_day is not None
    assert first_day.occupancy.national.occupancy > 40_000  # the opening state is there...
    assert abs(first_day.net_national) < 300, first_day.net_national  # ...and is not a day's inflow
    assert first_day.days_until_full_national is None or first_day.days_until_full_national > 14
    assert first_day.backlog.total > 20_000 and first_day.backlog.overdue > 0  # pending cases kept their wait


@pytest.fixture(scope="module")
def medio() -> Year:
    return simulated_year(mix.MPP_2023["medio"])  # made once per session: test_simulator.py reads it too


def test_the_medio_year_fills_ter_apel_in_late_summer_and_the_ind_falls_behind(medio):
    by_month = {}
    for d in medio.days:
        by_month.setdefault(d["day"].month, []).append(d)
    ter_apel = {m: max(d["ter_apel"] for d in ds) for m, ds in by_month.items()}
    assert max(ter_apel[m] for m in range(1, 7)) <= NORMS["ter-apel"], ter_apel
    assert max(ter_apel[8], ter_apel[9]) > NORMS["ter-apel"], ter_apel
    assert medio.days[-1]["ind"] > medio.days[0]["ind"] + 3_000  # the backlog grows: the IND cannot keep up
    assert all(d["occupancy"] <= d["capacity"] for d in medio.days)  # medio fits, with the places added
    assert medio.days[-1]["occupancy"] > medio.days[0]["occupancy"] + 20_000  # towards the 77,100 needed


def test_the_register_adds_up_to_19000_emergency_places_by_1_july():
    added = 0
    for offset, site, status in CHANGES:
        if offset <= 181 and status == "open" and site.location_type in ("emergency", "crisis_emergency"):
            added += site.capacity
    assert 17_000 <= added <= 19_500
    assert any(status == "closed" and site.location_type == "crisis_emergency" for _, site, status in CHANGES)


def test_registration_at_ter_apel_and_nareis_follow_the_grants(medio):
    centres = Counter(e.get("registration_centre") for e in medio.registrations
                      if e["application_type"] in ("first", "repeat"))
    top = centres.most_common(2)
    assert top[0][0] == "ter-apel" and top[0][1] > 0.85 * sum(centres.values()) and top[1][0] == "schiphol"
    first = Counter(e["nationality"] for e in medio.registrations if e["application_type"] == "first")
    nareis = Counter(e["nationality"] for e in medio.registrations
                     if e["application_type"] == "family_reunification")
    high = ("SYR", "ERI")  # granted often, families follow often; Algeria and Moldova almost never granted
    assert sum(nareis[n] for n in high) / nareis.total() > sum(first[n] for n in high) / first.total()
    assert sum(nareis[n] for n in ("DZA", "MDA")) < 0.01 * nareis.total()


def test_under_max_reception_runs_out_and_under_min_it_does_not():
    # the max year up to the first day short of beds (if any: the assertion then holds, else it fails as before)
    high = simulate_year(mix.MPP_2023["max"], stop=lambda d: d["capacity"] - d["occupancy"] < 0)
    low = simulate_year(mix.MPP_2023["min"])
    assert min(d["capacity"] - d["occupancy"] for d in high.days) < 0
    assert max(d["ter_apel"] for d in low.days) <= NORMS["ter-apel"]
    assert min(d["capacity"] - d["occupancy"] for d in low.days) > 2_000


def _steady_fill() -> list:
    """A transfer network that fills at 20 a day, with a crisis location's contract ending on day 45: 900 of 2,300
    transfer beds taken at the start, then from day 0 (a month later) each day 25 arrive at Ter Apel and 20 move
    on into the network. Full on day 54 (the closure takes 300 beds on day 45); at today's beds it would look 15
    days later."""
    def site(loc: str, kind: str, beds: int, **dates: str) -> dict:
        return {"event_type": "location", "event_id": f"l-{loc}", "occurred_at": "2023-01-01T00:00:00+01:00",
                "location_id": loc, "name": loc, "province": "NL-GR", "location_type": kind, "capacity": beds,
                "status": "open", **dates}

    day0 = START + timedelta(days=31)
    raw: list[dict] = [site("TA", "application_centre", 3_000), *(site(f"AZC{i}", "regular", 500) for i in range(4)),
                       site("NOOD", "crisis_emergency", 300, closes_on=(day0 + timedelta(days=45)).date().isoformat())]
    n = 0

    def place(at, person: str, action: str, where: str) -> None:
        nonlocal n
        n += 1
        raw.append({"event_type": "placement", "event_id": f"p{n}", "occurred_at": at.isoformat(), "person_id": person,
                    "action": action, "location_id": where})

    for i in range(900):  # the opening state
        place(START + timedelta(minutes=i), f"o{i}", "check_in", "NOOD" if i < 300 else f"AZC{i % 4}")
    for day in range(60):
        for k in range(25):
            place(day0 + timedelta(days=day, hours=8, minutes=k), f"d{day}-{k}", "check_in", "TA")
        for k in range(20):
            place(day0 + timedelta(days=day, hours=14, minutes=k), f"d{day}-{k}", "transfer", f"AZC{k % 4}")
    return [parse_event(json.dumps({key: v for key, v in e.items() if key != "event_type"}), e["event_type"])
            for e in raw]


def test_the_transfer_network_warning_comes_at_least_a_week_before_it_is_full():
    """The lead-time calibration on a short feed: the default rules' outlook warning sees the planned closure
    coming and fires two weeks ahead of the first grid point with transfer headroom <= 0."""
    rules = load_rules(DEFAULT_RULES)
    events = _steady_fill()
    years = firing_days(run([*rules, FULL], events), START, START + timedelta(days=100))
    full = years[FULL.name]
    assert full.first == (START + timedelta(days=31 + 54)).date().isoformat()  # day 54, the closure included
    warning = years["transfer_full_within_14d"]
    lead = lead_days(warning, full)
    assert lead is not None and 7 <= lead <= 14.5, lead
    assert years["transfer_full_within_7d"].first_us is not None and lead_days(years["transfer_full_within_7d"],
                                                                                full) >= 3
    assert all(not y.before_start for y in years.values())
