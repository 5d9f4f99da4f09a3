"""Properties of the simulated feed: realistic, on the scenario, deterministic, valid unless faults are injected."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime
from itertools import accumulate

import pytest

from streams.contract.events import MPP_APPLICATION_TYPES, parse_event
from streams.errors import InvalidEvent
from streams.tools.simulator import mix
from streams.tools.simulator.chain import AMSTERDAM, TRANSFER_TYPES, ChainSimulation, Draw, Person, SimConfig
from streams.tools.simulator.faults import encode, inject_invalid, reorder
from streams.tools.simulator.register import INITIAL_SITES, NOTICE_DAYS
from tests.support.helpers import run_capmon
from tests.support.years import simulated_year

START = datetime(2023, 1, 1, tzinfo=AMSTERDAM)


def simulate(days: int, seed: int = 1, annual: float = 70_500) -> tuple[ChainSimulation, list[dict]]:
    sim = ChainSimulation(SimConfig(start=START, days=days, seed=seed, annual_inflow=annual))
    return sim, [event for _, event in sim.events()]


@pytest.fixture(scope="module")
def quarter() -> tuple[ChainSimulation, list[dict]]:
    return simulate(91, seed=5)


def test_a_simulated_year_has_the_scenarios_mpp_inflow_within_3_percent():
    annual = mix.MPP_2023["medio"]  # 67,000: the year test_calibration.py reads too, made once per session
    year = simulated_year(annual).registrations  # the registrations dated from 1 January on
    mpp = sum(1 for e in year if e["application_type"] in MPP_APPLICATION_TYPES)
    assert abs(mpp / annual - 1) < 0.03, mpp
    relocations = sum(1 for e in year if e["application_type"] == "relocation")
    assert 0 < relocations < 0.03 * annual
    resettled = sum(1 for e in year if e["application_type"] == "resettlement")
    assert 300 < resettled < 800  # a quota of hundreds a year, whatever the scenario


def test_every_event_is_valid_and_in_event_time_order(quarter):
    _, events = quarter
    times = []
    for event in events:
        parsed = parse_event(json.dumps(event))
        times.append(parsed.occurred_at)
    assert times == sorted(times)
    assert len({e["event_id"] for e in events}) == len(events)


def test_the_register_is_national_and_grows(quarter):
    _, events = quarter
    latest = {}
    for e in (e for e in events if e["event_type"] == "location"):
        latest[e["location_id"]] = e
    assert len(latest) >= 40
    assert {e["province"] for e in latest.values()} == {
        "NL-GR", "NL-FR", "NL-DR", "NL-OV", "NL-FL", "NL-GE", "NL-UT", "NL-NH", "NL-ZH", "NL-ZE", "NL-NB", "NL-LI"}
    assert {e["location_type"] for e in latest.values()} >= {
        "application_centre", "regular", "emergency", "crisis_emergency", "amv", "small_scale"}
    assert latest["ter-apel"]["location_type"] == "application_centre"
    first_day = sum(e["capacity"] for e in events[:60] if e["event_type"] == "location" and "opens_on" not in e)
    now = sum(e["capacity"] for e in latest.values() if e["status"] == "open")
    assert 40_000 <= first_day <= 60_000 and now > first_day


def test_openings_and_crisis_closures_are_announced_weeks_ahead_from_the_opening_state_on():
    """Contracts are known ahead (DOMAIN.md, "Capacity has dates"): the register dates them NOTICE_DAYS before,
    and the opening state already carries the changes of the first weeks. On its day the simulation moves people
    as before: into an opening location from its `opens_on`, out of a closing one on the day before `closes_on`."""
    sim, events = simulate(250, seed=3)
    locations = [e for e in events if e["event_type"] == "location"]
    start = START.date().isoformat()
    dated = [e for e in locations if "opens_on" in e or "closes_on" in e]
    opening_state = [e for e in dated if e["occurred_at"][:10] < start]
    assert {e["location_id"] for e in opening_state} >= {"noodopvang-hardenberg", "crisis-assen"}
    closures = [e for e in dated if "closes_on" in e]
    assert {e["location_id"] for e in closures} == {"crisis-venray", "crisis-goes", "crisis-zwolle",
                                                    "crisis-doetinchem"}
    for e in dated:
        day = e.get("closes_on") or e["opens_on"]
        ahead = (datetime.fromisoformat(day).date() - datetime.fromisoformat(e["occurred_at"]).date()).days
        assert ahead >= (NOTICE_DAYS if e["occurred_at"][:10] >= start else 1), e
    assert all(e["status"] == "open" for e in locations if e["location_id"] == "crisis-venray")  # no closed event
    venray = next(e for e in closures if e["location_id"] == "crisis-venray")
    moved_in = [e for e in events if e["event_type"] == "placement" and e["action"] != "check_out"
                and e["location_id"] == "crisis-venray" and e["occurred_at"][:10] >= venray["closes_on"]]
    assert venray["closes_on"] == "2023-07-21" and not moved_in and sim.occupancy["crisis-venray"] == 0


def test_the_people_are_a_realistic_mix(quarter):
    _, events = quarter
    regs = [e for e in events if e["event_type"] == "registration"]
    nationalities = Counter(e["nationality"] for e in regs)
    assert {"SYR", "YEM", "AFG", "TUR", "ERI", "DZA", "MDA"} <= set(nationalities)
    assert nationalities.most_common(1)[0][0] == "SYR"
    types = Counter(e["application_type"] for e in regs)
    assert types["first"] > types["family_reunification"] > types["repeat"] > 0 and types["resettlement"] > 0
    amv = sum(e["unaccompanied_minor"] for e in regs) / types["first"]
    assert 0.03 < amv < 0.2
    assert Counter(e["registration_centre"] for e in regs if "registration_centre" in e).most_common(1)[0][0] == (
        "ter-apel")
    outcomes = Counter(e["outcome"] for e in events if e["event_type"] == "decision")
    assert outcomes["granted"] > outcomes["rejected"] > 0 and outcomes["dublin"] > 0
    rate = {}
    for nat in ("SYR", "DZA"):
        mine = [e for e in events if e["event_type"] == "decision" and e["nationality"] == nat
                and e.get("track") in ("2", "4")]
        rate[nat] = sum(e["outcome"] == "granted" for e in mine) / len(mine)
    assert rate["SYR"] > 0.8 > 0.2 > rate["DZA"]
    reasons = Counter(e.get("reason") for e in events if e["event_type"] == "placement" and e["action"] == "check_out")
    assert reasons["housed"] > 0 and reasons["departed"] > 0


def test_the_events_tell_the_simulations_own_story(quarter):
    """Occupancy derived from the placements alone equals what the simulation believes: the feed is coherent."""
    sim, events = quarter
    where: dict[str, str | None] = {}
    for e in events:
        if e["event_type"] == "placement":
            where[e["person_id"]] = None if e["action"] == "check_out" else e["location_id"]
    derived = Counter(loc for loc in where.values() if loc)
    assert {k: v for k, v in sim.occupancy.items() if v} == dict(derived)
    assert 40_000 < sum(derived.values()) < 70_000


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path):
    outs = []
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        path = tmp_path / f"{name}.jsonl"
        result = run_capmon("simulate", "--days", "10", "--seed", seed, "--duplicates", "0.05", "--disorder", "3600",
                            "--invalid", "0.02", "--initial-occupancy", "0.1", "--out", str(path))
        assert result.returncode == 0, result.stderr
        outs.append(path.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]
    assert outs[0].count(b"\n") > 5_000


def _faulty(days: int, duplicates: float = 0, disorder: float = 0, invalid: float = 0, raw: bool = False):
    sim = ChainSimulation(SimConfig(start=START, days=days, seed=2, initial_occupancy=0.1))  # faults, not realism
    rng = random.Random(9)
    return list(reorder(inject_invalid(encode(sim.events()), invalid, rng, raw), duplicates, disorder, rng))


def test_duplicates_are_exact_copies_at_about_the_rate():
    records = _faulty(20, duplicates=0.1)
    clean = _faulty(20)
    copies = len(records) - len(clean)
    assert 0.08 < copies / len(clean) < 0.12
    assert set(records) == set(clean)  # same records, some twice


def test_disorder_stays_within_its_window():
    window = 6 * 3600
    records = _faulty(20, disorder=window)
    late = [max(0.0, max_t - r.t) for max_t, r in _running_max(records)]
    assert max(late) <= window
    assert sum(1 for x in late if x > 0) > len(records) / 10  # really shuffled


def _running_max(records):
    seen = float("-inf")
    for r in records:
        yield seen, r
        seen = max(seen, r.t)


@pytest.mark.parametrize("raw_bytes", [False, True])
def test_injected_invalid_events_break_the_contract_in_varied_ways(raw_bytes):
    records = _faulty(10, invalid=0.05, raw=raw_bytes)
    reasons = []
    for r in records:
        try:
            parse_event(r.value, r.event_type)
        except InvalidEvent as exc:
            reasons.append(exc.reason.split(":")[0])
    clean = len(_faulty(10))
    assert abs(len(reasons) / clean - 0.05) < 0.01
    assert len(set(reasons)) >= 5
    assert ("event" in reasons) == raw_bytes  # not JSON / not an object only where bytes can travel
    if not raw_bytes:
        assert all(json.loads(r.value).get("event_type") in {None, r.event_type} for r in records)


def test_event_times_are_written_exactly_as_datetime_writes_them():
    """The simulator writes event times from the hour's text (for speed): the same text as datetime's, around
    both DST changes, at hour edges and within a microsecond of the next second."""
    sim = ChainSimulation(SimConfig(start=START, days=1))
    rng = random.Random(7)
    changes = [datetime(2023, 3, 26, 2, tzinfo=AMSTERDAM).timestamp(), datetime(2023, 10, 29, 1, tzinfo=AMSTERDAM)
               .timestamp() + 3600, START.timestamp()]
    times = [rng.uniform(START.timestamp() - 400 * 86_400, START.timestamp() + 400 * 86_400) for _ in range(20_000)]
    for edge in changes:
        times += [edge + offset for offset in (-3600.0, -1.0, -1e-7, -4e-7, -5e-7, -6e-7, 0.0, 1e-7, 0.5, 59.9999999)]
        times += [edge + rng.uniform(-7200, 7200) for _ in range(2_000)]
    times += [float(int(t)) - d for t in times[:2_000] for d in (1e-6, 5e-7, 2.4e-7)]
    for t in times:
        assert sim._local_time(t) == datetime.fromtimestamp(t, AMSTERDAM).isoformat(timespec="seconds"), t


def test_the_simulators_weighted_draws_are_pythons_choices():
    """`Draw` and the free-bed draw pick what `random.choices` picks from the same random numbers (so a seed's
    bytes stay those of the simulation that called `choices`)."""
    sim = ChainSimulation(SimConfig(start=START, days=1))
    rng, mine, theirs = random.Random(5), random.Random(3), random.Random(3)
    for _ in range(300):
        names = [f"n{i}" for i in range(rng.randint(1, 12))]
        weights = [rng.choice([0, 0.5, 1, 3, rng.random()]) for _ in names]
        weights[-1] += 0.1
        draw = Draw.of(names, list(accumulate(weights)))
        for _ in range(30):
            assert draw.draw(mine) == theirs.choices(names, weights)[0]
    sites = [site for site in INITIAL_SITES if site.location_type in TRANSFER_TYPES]
    for site in sites:
        sim.sites[site.location_id], sim.open[site.location_id] = site, True
    person = Person("p", "SYR", False)
    for _ in range(2_000):
        sim.occupancy = {site.location_id: site.capacity - rng.choice([-3, 0, 0, 1, 5, 40]) for site in sites}
        exclude = rng.choice([None, *sim.occupancy])
        names = [lid for lid, n in sim.occupancy.items() if sim.sites[lid].capacity - n > 0 and lid != exclude]
        weights = [sim.sites[lid].capacity - sim.occupancy[lid] for lid in names]
        sim.rng, theirs = random.Random(rng.random()), random.Random(0)
        theirs.setstate(sim.rng.getstate())
        expected = theirs.choices(names, weights)[0] if names else None
        assert sim._pick_location(person, exclude) == expected
