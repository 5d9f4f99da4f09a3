"""The outlook (CONTRACT.md section 3a) against hand-computed small cases and the independent reference."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from streams.contract.events import Forecast, parse_event
from streams.state.chain import ChainState
from streams.state.inflow import day_share
from streams.state.outlook import (
    OutlookInputs,
    expected_inflow,
    forecast_for,
    horizon_days,
    outlook,
)
from streams.state.readmodel import Figures, bed_share
from streams.state.register import Register
from tests.support.reference import expected_figures

NOW = "2023-07-01T10:00:00+02:00"


def site(loc: str, kind: str, beds: int, **dates: str) -> dict:
    return {"event_type": "location", "event_id": f"l-{loc}", "occurred_at": "2023-01-01T00:00:00+01:00",
            "location_id": loc, "name": f"{loc} place", "province": "NL-GR", "location_type": kind,
            "capacity": beds, "status": "open", **dates}


def place(n: int, person: str, action: str, where: str, at: str = NOW) -> dict:
    return {"event_type": "placement", "event_id": f"p{n}", "occurred_at": at, "person_id": person,
            "action": action, "location_id": where}


def register_of(person: str, day: str) -> dict:
    return {"event_type": "registration", "event_id": f"r-{person}", "occurred_at": f"{day}T09:00:00+02:00",
            "person_id": person, "application_type": "first", "nationality": "SYR"}


def mpp(year: int, low: int, medio: int, high: int, profile: list[int] | None = None) -> dict:
    body = {"event_type": "forecast", "event_id": f"f{year}", "occurred_at": "2023-01-01T00:00:00+01:00",
            "forecast_id": f"MPP-{year}", "year": year, "scenarios": {"min": low, "medio": medio, "max": high}}
    return {**body, **({"monthly_profile": profile} if profile else {})}


def forecast(year: int, low: int, medio: int, high: int, profile: list[int] | None = None) -> Forecast:
    body = mpp(year, low, medio, high, profile)
    return parse_event(json.dumps({k: v for k, v in body.items() if k != "event_type"}), "forecast")


# A transfer network of AZC (50 beds), NOOD (20 beds, closing on 5 July: the first day without them) and NEW (30
# beds from 10 July); Ter Apel (100) is not in it. 10 persons at AZC, 5 at NOOD, 3 at Ter Apel; one more checked
# in and out again (one move out of reception in 28 days).
NETWORK = [
    site("TA", "application_centre", 100), site("AZC", "regular", 50),
    site("NOOD", "crisis_emergency", 20, closes_on="2023-07-05"), site("NEW", "regular", 30, opens_on="2023-07-10"),
    *(place(i, f"a{i}", "check_in", "AZC") for i in range(10)),
    *(place(20 + i, f"n{i}", "check_in", "NOOD") for i in range(5)),
    *(place(30 + i, f"t{i}", "check_in", "TA") for i in range(3)),
    place(40, "x", "check_in", "AZC", "2023-07-01T08:00:00+02:00"),
    place(41, "x", "check_out", "AZC", "2023-07-01T09:00:00+02:00"),
]


def figures_of(events: list[dict], outlook_days: int = 14) -> Figures:
    state = ChainState()
    for body in events:
        state.apply(parse_event(json.dumps({k: v for k, v in body.items() if k != "event_type"}),
                                body["event_type"]))
    return Figures(state.totals, state.register, state.watermark_us, outlook_days=outlook_days)


def test_planned_capacity_follows_the_dates_and_a_closing_takes_beds_not_people():
    figures = figures_of(NETWORK)
    out = figures.outlook
    assert out.today == date(2023, 7, 1) and out.days[0] == date(2023, 7, 2) and len(out.days) == 14
    # 2–4 July: AZC + NOOD; 5–9 July: AZC; from 10 July: AZC + NEW
    assert out.transfer_capacity == (70,) * 3 + (50,) * 5 + (80,) * 6
    assert out.national_capacity == tuple(c + 100 for c in out.transfer_capacity)
    # no registrations in 90 days: bed share 1; no forecast: MPP inflow 0; one move out in 28 days
    assert out.bed_share == 1.0 and out.moves_out_per_day == pytest.approx(1 / 28)
    medio = out.scenarios["medio"]
    assert medio.transfer_occupancy[0] == pytest.approx(15 - 1 / 28)
    # on 5 July NOOD's 20 beds are gone, its 5 residents still count in the network's occupancy
    assert medio.transfer_headroom[3] == pytest.approx(50 - (15 - 4 / 28))
    assert medio.transfer_headroom[2] == pytest.approx(70 - (15 - 3 / 28))
    # an opening: NEW's 30 beds from 10 July (day 9)
    assert medio.transfer_headroom[8] == pytest.approx(80 - (15 - 9 / 28))
    assert medio.national_headroom[8] == pytest.approx(180 - (18 - 9 / 28))
    assert [(c.day, c.location_id, c.change, c.beds, c.name) for c in out.changes] == [
        (date(2023, 7, 5), "NOOD", "closes", 20, "NOOD place"), (date(2023, 7, 10), "NEW", "opens", 30, "NEW place")]
    assert medio.days_until_transfer_full is None  # not within 14 days


def test_the_trend_lines_go_on_with_each_scopes_own_net_inflow():
    figures = figures_of(NETWORK)
    trend = figures.outlook.scenarios["trend"]
    # national: 19 moves in, 1 out; the network: 16 in (AZC 11, NOOD 5), 1 out
    assert figures.net_national == pytest.approx(18 / 28) and figures.net_transfer == pytest.approx(15 / 28)
    for k in (1, 4, 14):
        assert trend.national_occupancy[k - 1] == pytest.approx(18 + 18 * k / 28)
        assert trend.transfer_occupancy[k - 1] == pytest.approx(15 + 15 * k / 28)
    assert trend.transfer_headroom[13] == pytest.approx(80 - (15 + 15 * 14 / 28))


def test_mpp_scenarios_by_bed_share_fill_the_network_on_their_day_or_not_within_the_horizon():
    # 4 first registrations on 30 June, 3 of them with a check-in: bed share 0.75; no profile: 1/365 a day
    events = [*NETWORK, mpp(2023, 1825, 3650, 36500), *(register_of(f"a{i}", "2023-06-30") for i in range(3)),
              register_of("nobed", "2023-06-30")]
    out = figures_of(events).outlook
    assert out.bed_share == 0.75 and out.forecast_ids == {2023: "MPP-2023"}
    step = 10 * 0.75 - 1 / 28  # medio: 3650 / 365 a day
    medio = out.scenarios["medio"]
    assert medio.transfer_net[0] == pytest.approx(step) and medio.national_net[0] == pytest.approx(step)
    assert medio.transfer_headroom[3] == pytest.approx(50 - (15 + 4 * step))  # 5 July: 5.1 beds left
    assert medio.transfer_headroom[4] == pytest.approx(50 - (15 + 5 * step))  # 6 July: full
    assert medio.days_until_transfer_full == 5 and out.full_on("medio") == date(2023, 7, 6)
    assert out.scenarios["max"].days_until_transfer_full == 1  # 75 a day into 55 free beds
    # min: 3.7 a day; NEW's beds from 10 July keep the network short of full for 14 days
    assert out.scenarios["min"].days_until_transfer_full is None
    assert out.scenarios["trend"].days_until_transfer_full is None


def test_full_now_is_zero_days_for_every_scenario():
    events = [*NETWORK, {**site("AZC", "regular", 5), "event_id": "l-AZC-2", "occurred_at": NOW},
              {**site("NOOD", "crisis_emergency", 4), "event_id": "l-NOOD-2", "occurred_at": NOW}]  # 9 beds, 15 in
    out = figures_of(events).outlook
    assert {s: v.days_until_transfer_full for s, v in out.scenarios.items()} == dict.fromkeys(
        ("min", "medio", "max", "trend"), 0)


def test_the_outlook_equals_the_reference_built_from_the_contracts_words():
    events = [*NETWORK, mpp(2023, 1825, 3650, 36500, [1] * 6 + [3] + [1] * 5),
              *(register_of(f"a{i}", "2023-06-30") for i in range(3)), register_of("nobed", "2023-06-30")]
    want = expected_figures(events, outlook_days=30)["outlook"]
    got = figures_of(events, 30).outlook
    for scenario, lines in want["scenarios"].items():
        mine = got.scenarios[scenario]
        assert list(mine.national_headroom) == pytest.approx(lines["national_headroom"])
        assert list(mine.transfer_headroom) == pytest.approx(lines["transfer_headroom"])
        assert mine.days_until_transfer_full == lines["days_until_transfer_full"]
    assert [{"day": c.day.isoformat(), "location_id": c.location_id, "change": c.change, "beds": c.beds}
            for c in got.changes] == sorted(want["changes"], key=lambda c: (c["day"], c["location_id"]))


def test_each_day_takes_its_own_years_forecast_the_nearest_earlier_else_the_earliest_later():
    f23, f25 = forecast(2023, 1, 2, 3), forecast(2025, 4, 5, 6)
    assert forecast_for(2023, {2023: f23, 2025: f25}) is f23
    assert forecast_for(2024, {2023: f23, 2025: f25}) is f23  # nearest earlier
    assert forecast_for(2026, {2023: f23, 2025: f25}) is f25
    assert forecast_for(2022, {2023: f23, 2025: f25}) is f23  # none earlier: the earliest later
    assert forecast_for(2022, {}) is None


def test_a_year_boundary_by_monthly_profile():
    """30 Dec 2023 + 3 days: 31 Dec by the 2023 profile (December counts double), 1–2 Jan 2024 by it too (2024
    has no forecast: the nearest earlier year's); by days without a profile (2024 has 366)."""
    december_double = [1] * 11 + [2]
    f23 = forecast(2023, 13_000, 26_000, 39_000, december_double)
    days = horizon_days(date(2023, 12, 30), 3)
    assert days == (date(2023, 12, 31), date(2024, 1, 1), date(2024, 1, 2))
    expected = expected_inflow(days, {2023: f23})
    assert expected["medio"][0] == pytest.approx(26_000 * 2 / 13 / 31)
    assert expected["medio"][1] == pytest.approx(26_000 * 1 / 13 / 31)  # 2024 takes 2023's forecast
    f25 = forecast(2025, 365, 730, 1095)  # no profile: by days
    assert expected_inflow(days, {2025: f25})["max"] == pytest.approx((1095 / 365, 1095 / 366, 1095 / 366))
    assert day_share(date(2024, 2, 10), forecast(2024, 1, 1, 1, [1] * 12)) == pytest.approx(1 / 12 / 29)


def test_the_bed_share_is_shared_with_the_capacity_need_and_one_without_arrivals():
    figures = figures_of(NETWORK)
    assert bed_share(figures.totals, date(2023, 7, 1)) is None
    assert figures.outlook.bed_share == 1.0
    events = [*NETWORK, mpp(2023, 1825, 3650, 36500), register_of("a1", "2023-06-30"), register_of("z", "2023-06-30")]
    with_arrivals = figures_of(events)
    assert with_arrivals.outlook.bed_share == with_arrivals.capacity_need.bed_share == 0.5


def test_an_evaluation_day_later_than_now_starts_the_outlook_there():
    """Alerts read the outlook of their grid point's day (CONTRACT.md section 3, "Day-based figures")."""
    figures = figures_of(NETWORK).on_day(date(2023, 7, 6))
    out = figures.outlook
    assert out.today == date(2023, 7, 6) and out.transfer_capacity[:4] == (50, 50, 50, 80)
    assert [c.location_id for c in out.changes] == ["NEW"]


def test_an_unchanged_day_and_inputs_are_not_computed_again_and_84_days_take_under_20_ms():
    register = figures_of(NETWORK).register
    inputs = OutlookInputs(date(2023, 7, 1), 84, 18, 15, 55, 0.75, 1 / 28, 18 / 28, 15 / 28)
    start = time.perf_counter()
    first = outlook(inputs, register)
    took = time.perf_counter() - start
    assert outlook(inputs, register) is first  # kept: the same day, inputs and register
    moved = OutlookInputs(date(2023, 7, 1), 84, 19, 16, 54, 0.75, 1 / 28, 18 / 28, 15 / 28)
    assert outlook(moved, register) is not first
    assert outlook(moved, register).transfer_capacity is first.transfer_capacity  # the plan is kept per day
    assert took < 0.02


def test_a_register_change_makes_a_new_plan():
    figures = figures_of(NETWORK)
    register: Register = figures.register
    before = figures.outlook
    register.fold_location(parse_event(json.dumps({k: v for k, v in {
        **site("NEW", "regular", 30, opens_on="2023-07-03"), "event_id": "l-NEW-2",
        "occurred_at": NOW}.items() if k != "event_type"}), "location"))
    after = Figures(figures.totals, register, figures.now_us, outlook_days=14).outlook
    assert before.transfer_capacity[1] == 70 and after.transfer_capacity[1] == 100
