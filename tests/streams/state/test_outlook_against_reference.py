"""The outlook, net inflow per scope and days until full on a feed with the hard parts of CONTRACT.md 3 and 3a
together, against the independent reference: a closure inside the horizon, a location that opens later, no
forecast for next year (the horizon crosses into it), duplicates and late events, in any arrival order."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from streams.contract.events import parse_event
from streams.state.chain import ChainState
from streams.state.readmodel import Figures
from streams.state.stamp import AMSTERDAM
from tests.support.reference import expected_figures

START = datetime(2023, 10, 1, 8, tzinfo=AMSTERDAM)  # now ends up in late November: 84 days reach into 2024


def _site(loc: str, province: str, kind: str, beds: int, **dates: str) -> dict:
    return {"event_type": "location", "event_id": f"l-{loc}", "occurred_at": "2023-01-02T00:00:00+01:00",
            "location_id": loc, "name": loc, "province": province, "location_type": kind, "capacity": beds,
            "status": "open", **dates}


SITES = [_site("TA", "NL-GR", "application_centre", 400), _site("AZC", "NL-GR", "regular", 150),
         _site("UT", "NL-UT", "regular", 120), _site("NOOD", "NL-UT", "crisis_emergency", 60, closes_on="2024-01-02"),
         _site("NEW", "NL-DR", "regular", 80, opens_on="2024-01-22"), _site("AMV", "NL-DR", "amv", 20)]
FORECAST = {"event_type": "forecast", "event_id": "f2023", "occurred_at": "2023-01-02T00:00:00+01:00",
            "forecast_id": "MPP-2023", "year": 2023, "scenarios": {"min": 3000, "medio": 4500, "max": 6000},
            "monthly_profile": [7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9]}


def feed(seed: int) -> list[dict]:
    """Persons registered over eight weeks, checked in at Ter Apel (most of them), moved on, some housed."""
    rng = random.Random(seed)
    events: list[dict] = [*SITES, FORECAST]
    n = 0
    for person in range(260):
        pid = f"person-{person}"
        at = START + timedelta(hours=rng.randrange(0, 56 * 24))
        events.append({"event_type": "registration", "event_id": f"r{person}", "occurred_at": at.isoformat(),
                       "person_id": pid, "application_type": "first", "nationality": "SYR"})
        if rng.random() < 0.15:
            continue  # no bed: lowers the bed share
        path = ["TA", rng.choice(["AZC", "UT", "NOOD", "AZC"])]
        if rng.random() < 0.3:
            path.append(rng.choice(["UT", "NOOD", "AZC"]))
        for i, where in enumerate(path):
            at += timedelta(hours=rng.randrange(6, 200))
            n += 1
            events.append({"event_type": "placement", "event_id": f"p{n}", "occurred_at": at.isoformat(),
                           "person_id": pid, "action": "check_in" if i == 0 else "transfer", "location_id": where})
        if rng.random() < 0.25:
            at += timedelta(hours=rng.randrange(6, 300))
            n += 1
            events.append({"event_type": "placement", "event_id": f"p{n}", "occurred_at": at.isoformat(),
                           "person_id": pid, "action": "check_out", "location_id": path[-1], "reason": "housed"})
    return events


def arrived(events: list[dict], seed: int) -> list[dict]:
    """A tenth again (duplicates), and a day of disorder: each event up to a day late."""
    rng = random.Random(seed)
    noisy = events + rng.sample(events, len(events) // 10)
    keyed = [(datetime.fromisoformat(e["occurred_at"]).timestamp() + rng.uniform(0, 86_400), i, e)
             for i, e in enumerate(noisy)]
    return [e for _, _, e in sorted(keyed)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_outlook_and_net_inflow_equal_the_reference_under_duplicates_and_late_events(seed):
    events = feed(seed)
    state = ChainState()
    for body in arrived(events, seed):
        result = state.apply(parse_event(json.dumps({k: v for k, v in body.items() if k != "event_type"}),
                                         body["event_type"]))
        assert result in ("accepted", "duplicate")
    want = expected_figures(events)
    figures = Figures(state.totals, state.register, state.watermark_us)
    net = want["net_inflow"]
    assert figures.net_national == pytest.approx(net["national"], abs=1e-9)
    assert figures.net_transfer == pytest.approx(net["transfer"], abs=1e-9)
    assert {p: v for p, v in figures.net_provinces.items() if v} == pytest.approx(
        {p: v for p, v in net["provinces"].items() if v}, abs=1e-9)
    got = figures.outlook
    assert got is not None and got.days[-1].year == 2024  # the horizon crosses into a year without a forecast
    for scenario, lines in want["outlook"]["scenarios"].items():
        mine = got.scenarios[scenario]
        assert list(mine.national_headroom) == pytest.approx(lines["national_headroom"], abs=1e-6), scenario
        assert list(mine.transfer_headroom) == pytest.approx(lines["transfer_headroom"], abs=1e-6), scenario
        assert mine.days_until_transfer_full == lines["days_until_transfer_full"], scenario
    assert [(c.day.isoformat(), c.location_id, c.change, c.beds) for c in got.changes] == [
        (c["day"], c["location_id"], c["change"], c["beds"]) for c in sorted(
            want["outlook"]["changes"], key=lambda c: (c["day"], c["location_id"]))]
    assert {c["location_id"] for c in want["outlook"]["changes"]} == {"NOOD", "NEW"}
