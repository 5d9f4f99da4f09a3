"""Figures on their own: MPP elapsed share, deviation, days until full, and a faulty simulated feed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest

from streams.contract.events import Forecast, parse_event
from streams.errors import InvalidEvent
from streams.state.chain import ChainState
from streams.state.inflow import elapsed_share, inflow_curve
from streams.state.occupancy import daily_kept_from, days_until_full
from streams.state.readmodel import Figures
from streams.state.stamp import AMSTERDAM, micros
from streams.state.totals import Totals
from tests.support.helpers import run_capmon
from tests.support.reference import expected_figures


def forecast(profile=None, year=2023) -> Forecast:
    body = {"event_id": "f", "occurred_at": "2023-01-01T00:00:00+01:00", "forecast_id": "MPP", "year": year,
            "scenarios": {"min": 49000, "medio": 67000, "max": 77000}}
    if profile:
        body["monthly_profile"] = profile
    return parse_event(json.dumps(body), "forecast")


def test_elapsed_share_by_days_and_by_profile():
    assert elapsed_share(datetime(2023, 1, 1, tzinfo=AMSTERDAM), forecast()) == 0
    assert elapsed_share(datetime(2023, 7, 2, 12, tzinfo=AMSTERDAM), forecast()) == pytest.approx(0.5, abs=0.002)
    assert elapsed_share(datetime(2024, 2, 1, tzinfo=AMSTERDAM), forecast()) == 1
    assert elapsed_share(datetime(2022, 12, 31, tzinfo=AMSTERDAM), forecast()) == 0
    profile = [2] + [1] * 11  # January counts double
    assert elapsed_share(datetime(2023, 2, 1, tzinfo=AMSTERDAM), forecast(profile)) == pytest.approx(2 / 13)
    mid_feb = datetime(2023, 2, 15, tzinfo=AMSTERDAM)
    assert elapsed_share(mid_feb, forecast(profile)) == pytest.approx((2 + 0.5) / 13)


def test_days_until_full():
    assert days_until_full(1000, 50.0) == 20
    assert days_until_full(0, 50.0) == 0
    assert days_until_full(-30, 0.0) == 0
    assert days_until_full(1000, 0.0) is None  # never: not shrinking
    assert days_until_full(1000, -5.0) is None


def test_inflow_deviation_against_each_scenario():
    state = ChainState()
    state.apply(forecast())
    for i in range(10):
        state.apply(parse_event(json.dumps({
            "event_id": f"r{i}", "occurred_at": "2023-07-02T12:00:00+02:00", "person_id": f"p{i}",
            "application_type": "relocation" if i == 0 else "first", "nationality": "SYR"}), "registration"))
    flow = Figures(state.totals, state.register, state.watermark_us).inflow
    assert flow.ytd == 9 and flow.ytd_by_type == {"first": 9, "relocation": 1}
    assert flow.expected_ytd["medio"] == pytest.approx(67000 * 0.5, rel=0.01)
    assert flow.deviation["max"] == pytest.approx(9 / flow.expected_ytd["max"] - 1)
    assert flow.forecast_id == "MPP"


def test_rolling_inflow_by_type_and_unaccompanied_minors_count_only_days_in_the_window():
    state = ChainState()
    rows = [("2023-02-28", "first", True), ("2023-03-20", "first", True), ("2023-03-25", "relocation", False),
            ("2023-03-28", "repeat", False), ("2023-03-28", "first", False)]
    for i, (day, app_type, amv) in enumerate(rows):
        body = {"event_id": f"r{i}", "occurred_at": f"{day}T12:00:00+01:00", "person_id": f"p{i}",
                "application_type": app_type, "nationality": "ERI"}
        if amv:
            body["unaccompanied_minor"] = True
        state.apply(parse_event(json.dumps(body), "registration"))
    flow = Figures(state.totals, state.register, state.watermark_us).inflow
    assert flow.rolling == {"7d": 2, "28d": 3}  # relocation is not MPP inflow; 28 February is outside 28 days
    assert flow.rolling_by_type == {"7d": {"first": 1, "relocation": 1, "repeat": 1},
                                    "28d": {"first": 2, "relocation": 1, "repeat": 1}}
    assert flow.rolling_unaccompanied_minors == {"7d": 0, "28d": 1}
    assert flow.ytd_unaccompanied_minors == 2


def _site(event_id: str, location_id: str, province: str, location_type: str) -> dict:
    return {"event_type": "location", "event_id": event_id, "occurred_at": "2023-04-01T00:00:00Z",
            "location_id": location_id, "name": location_id, "province": province, "location_type": location_type,
            "capacity": 100, "status": "open"}


def _placements(rows: list[tuple[str, str, str, str | None, str]]) -> list[dict]:
    return [{"event_type": "placement", "event_id": eid, "occurred_at": f"2023-05-{day}T10:00:00Z", "person_id": who,
             "action": action, **({"location_id": loc} if loc else {"location_id": "AZC", "reason": "housed"})}
            for eid, day, who, loc, action in rows]


NET_FEED = [
    _site("s1", "TA", "NL-GR", "application_centre"), _site("s2", "AZC", "NL-GR", "regular"),
    _site("s3", "NOOD", "NL-UT", "crisis_emergency"),
    *_placements([
        ("e1", "02", "a", "TA", "check_in"), ("e2", "03", "a", "AZC", "transfer"),  # into the network, in NL-GR
        ("e3", "02", "b", "TA", "check_in"), ("e4", "04", "b", "NOOD", "transfer"),  # NL-GR -> NL-UT, network
        ("e5", "05", "b", "AZC", "transfer"),  # inside the network, NL-UT -> NL-GR
        ("e6", "06", "c", "ELSEWHERE", "check_in"),  # an unregistered location: national only
        ("e7", "07", "c", "NOOD", "transfer"),  # national: inside; NL-UT and the network: in
        ("e8", "08", "a", None, "check_out"),  # out of everything it was in
        ("e9", "09", "d", "AZC", "transfer"),  # a first placement that is a transfer: from no location
        ("e10", "03", "b", "AZC", "transfer"),  # late, slotted between e3 and e4: e4 is then AZC -> NOOD
    ])]


@pytest.mark.parametrize("order", ["as_written", "reversed"])
def test_net_inflow_counts_moves_into_and_out_of_each_scope(order):
    """CONTRACT.md section 3: each placement moves a person from where they were (in the order of their own
    placements, a late one slotted in) to where it puts them; into a scope from outside it counts +1, out of it
    -1, inside it neither; unregistered locations are national only. Any arrival order gives the same."""
    state = ChainState()
    for body in NET_FEED if order == "as_written" else reversed(NET_FEED):
        state.apply(parse_event(json.dumps({k: v for k, v in body.items() if k != "event_type"}),
                                body["event_type"]))
    figures = Figures(state.totals, state.register, state.watermark_us)
    # national: in a, b, c, d (4); out a (1)
    assert figures.net_national == pytest.approx(3 / 28)
    # the network: a in (e2) and out (e8); b in (e10); c in (e7); d in (e9)
    assert figures.net_transfer == pytest.approx(3 / 28)
    # NL-GR: a in, out; b in (e3), stays in NL-GR (e10), out to NL-UT (e4), back in (e5); d in
    # NL-UT: b in (e4), out (e5); c in (e7)
    assert figures.net_provinces == {"NL-GR": pytest.approx(2 / 28), "NL-UT": pytest.approx(1 / 28)}
    assert figures.moves_out_national == pytest.approx(1 / 28)
    assert figures.transfer_days_until_full == pytest.approx((200 - 3) / (3 / 28))
    expected = expected_figures(NET_FEED)["net_inflow"]
    assert expected == {"national": pytest.approx(3 / 28), "transfer": pytest.approx(3 / 28),
                        "provinces": {"NL-GR": pytest.approx(2 / 28), "NL-UT": pytest.approx(1 / 28)}}


def test_net_inflow_follows_the_register_as_it_stands_now():
    """A location registered after people moved there: its moves count in its province and the network now."""
    state = ChainState()
    for body in [*_placements([("e1", "02", "a", "NEW", "check_in"), ("e2", "03", "b", "NEW", "check_in")]),
                 {**_site("s9", "NEW", "NL-DR", "regular"), "occurred_at": "2023-05-04T00:00:00Z"}]:
        state.apply(parse_event(json.dumps({k: v for k, v in body.items() if k != "event_type"}),
                                body["event_type"]))
    figures = Figures(state.totals, state.register, state.watermark_us)
    assert (figures.net_national, figures.net_transfer) == (pytest.approx(2 / 28), pytest.approx(2 / 28))
    assert figures.net_provinces == {"NL-DR": pytest.approx(2 / 28)}


def test_a_faulty_simulated_quarter_gives_the_reference_figures(tmp_path):
    path = tmp_path / "q.jsonl"
    made = run_capmon("simulate", "--days", "60", "--seed", "4", "--duplicates", "0.03", "--disorder", "86400",
                      "--invalid", "0.01", "--out", str(path))
    assert made.returncode == 0, made.stderr
    state = ChainState()
    results = {"accepted": 0, "duplicate": 0, "invalid": 0}
    valid = []  # the reference's input: the lines that pass the contract, as plain JSON (parsed once, here)
    for i, line in enumerate(path.read_bytes().splitlines()):
        try:
            event = parse_event(line)
        except InvalidEvent:  # counted, as the worker does
            results["invalid"] += 1
            continue
        valid.append(json.loads(line))
        if i % 97 == 0:  # as the timeline does once a day
            state.totals.forget_daily_before(daily_kept_from(micros(event.occurred_at)))
        results[state.apply(event)] += 1
        if i % 211 == 0:  # the window totals keep up to date by every move equal summing its days again
            kept = Figures(state.totals, state.register, state.watermark_us)
            again = Totals(moves=Counter(state.totals.moves), moves_out=Counter(state.totals.moves_out))
            fresh = Figures(again, state.register, state.watermark_us)
            assert (kept.net_national, kept.moves_out_national, kept.net_transfer, kept.net_provinces) == (
                fresh.net_national, fresh.moves_out_national, fresh.net_transfer, fresh.net_provinces), i
    expected = expected_figures(valid)
    occ = Figures(state.totals, state.register, state.watermark_us).occupancy
    assert occ.national.occupancy == expected["national"]["occupancy"] > 40_000
    assert occ.national.capacity == expected["national"]["capacity"]
    assert {k: v.headroom for k, v in occ.provinces.items()} == {
        k: v["headroom"] for k, v in expected["provinces"].items()}
    assert occ.national.permit_holders == expected["permit_holders"]
    figures = Figures(state.totals, state.register, state.watermark_us)
    flow = figures.inflow
    assert (flow.ytd, flow.rolling) == (expected["inflow_ytd"], expected["rolling"])
    net = expected["net_inflow"]  # moves by each person's own order, with a day of disorder and duplicates
    assert figures.net_national == pytest.approx(net["national"], abs=1e-9) and net["national"] != 0
    assert figures.net_transfer == pytest.approx(net["transfer"], abs=1e-9) and net["transfer"] != 0
    assert {p: n for p, n in figures.net_provinces.items() if n} == pytest.approx(
        {p: n for p, n in net["provinces"].items() if n}, abs=1e-9)
    outlook = expected["outlook"]
    assert [(c.day.isoformat(), c.location_id, c.change, c.beds) for c in figures.outlook.changes] == sorted(
        (c["day"], c["location_id"], c["change"], c["beds"]) for c in outlook["changes"])
    for scenario, lines in outlook["scenarios"].items():
        mine = figures.outlook.scenarios[scenario]
        assert list(mine.transfer_headroom) == pytest.approx(lines["transfer_headroom"], abs=1e-6), scenario
        assert list(mine.national_headroom) == pytest.approx(lines["national_headroom"], abs=1e-6), scenario
        assert mine.days_until_transfer_full == lines["days_until_transfer_full"], scenario
    assert results["duplicate"] > 0 and results["invalid"] > 0


def test_inflow_curve_is_cumulative_and_ends_on_the_scenario_totals():
    state = ChainState()
    state.apply(forecast())
    for i, day in enumerate(["2023-01-01", "2023-01-01", "2023-01-03"]):
        state.apply(parse_event(json.dumps({
            "event_id": f"r{i}", "occurred_at": f"{day}T12:00:00+01:00", "person_id": f"p{i}",
            "application_type": "first", "nationality": "SYR"}), "registration"))
    curve = inflow_curve(state.totals, state.register, state.watermark_us)
    assert curve.year == 2023 and len(curve.days) == 365
    assert curve.actual == [2, 2, 3]  # through now's day only
    assert curve.expected["max"][-1] == pytest.approx(77000)
    assert curve.expected["min"][0] == pytest.approx(49000 / 365, rel=0.01)
    assert inflow_curve(state.totals, state.register, None) is None

