"""A discrete-event simulation of the asylum chain: registration → IND decision → COA placement → outflow.

Each person's story is a chain of scheduled actions on one heap ordered by event time, so the events come out
in time order and the state they imply (who is where) is exactly what the simulation believes. Everything is
drawn from one seeded `random.Random`, so the same arguments give the same events, byte for byte.
"""

from __future__ import annotations

import calendar
import hashlib
import heapq
import math
import random
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from streams.tools.simulator import mix
from streams.tools.simulator.ind import IndQueue
from streams.tools.simulator.nareis import SponsorPool
from streams.tools.simulator.register import (
    ANNOUNCEMENTS,
    APPLICATION_CENTRES,
    CHANGES,
    DATED_CHANGE_DAYS,
    INITIAL_SITES,
    NOTICE_DAYS,
    Announcement,
    Site,
)
from streams.tools.simulator.week import OfficeWeek, day_factors

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = 86_400.0
HOUR = 3_600.0

# Agreed maximum occupancy (DOMAIN.md): Ter Apel's 2,000, below its bed count.
NORMS = {"ter-apel": 2_000}
TRANSFER_TYPES = ("regular", "emergency", "crisis_emergency", "small_scale")
OPENING_DAYS = mix.OPENING_WAITING_DAYS[1] + 30  # the register is loaded this long before the start
OPENING_KINDS = ("granted", "refused", "pending")
WINDOW_DAYS = 28  # the rolling windows at the start: the opening state's check-outs of these days are loaded


@dataclass(frozen=True, slots=True)
class Draw:
    """A weighted draw of one name: `rng.choices(names, cum_weights=cum)[0]` (the same random number, the same
    name: Python's `choices` bisects `random() * total` in the running sums up to the last name), without the
    call's checks and lists, for the draws the simulation makes for nearly every event."""

    names: list[str]
    cum: list[float]
    total: float
    last: int

    @classmethod
    def of(cls, names: list[str], cum: list[float]) -> Draw:
        assert len(names) == len(cum) and cum[-1] > 0
        return cls(names, cum, cum[-1] + 0.0, len(names) - 1)

    def draw(self, rng: random.Random) -> str:
        return self.names[bisect_right(self.cum, rng.random() * self.total, 0, self.last)]


@dataclass(frozen=True)
class Beds:
    """The open locations of some kinds in register order, with their beds (see `_pick_location`)."""

    sites: list[tuple[str, int]]  # (location id, beds)
    index: dict[str, int]  # location id -> its position in `sites`


@dataclass
class Person:
    person_id: str
    nationality: str
    amv: bool
    location: str | None = None
    granted: bool = False


@dataclass
class SimConfig:
    start: datetime
    days: int = 365
    annual_inflow: float = mix.DEFAULT_ANNUAL_INFLOW
    seed: int = 1
    initial_occupancy: float = mix.INITIAL_OCCUPANCY  # of the non-application-centre capacity at the start
    housing_achieved: float = mix.HOUSING_ACHIEVED  # share of the taakstelling municipalities achieve


class ChainSimulation:
    """Yields `(epoch_seconds, event)` in event-time order; `event` is a contract-valid JSON object.

    The feed opens with the state of the chain at the start, each event dated when it happened (before the
    start): the register, one check-in per resident, the registrations of pending cases, the decisions of
    permit holders, and the check-outs of the last 28 days. So the start of a feed is not inflow, and the
    rolling windows are real from the first day (README, "Loading the opening state").
    """

    def __init__(self, config: SimConfig) -> None:
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.t0 = config.start.timestamp()
        self.end = self.t0 + config.days * DAY
        self._heap: list[tuple[float, int, Callable[..., None], tuple]] = []
        self._seq = 0
        self._event_no = 0
        self._person_no = 0
        self._out: list[tuple[float, dict]] = []
        self._hours: dict[int, tuple[str, str]] = {}  # UTC hour -> its local text before and after mm:ss
        self.sites: dict[str, Site] = {}
        self.open: dict[str, bool] = {}
        self._beds: dict[tuple[str, ...], Beds] = {}  # see _pick_location
        self.occupancy: dict[str, int] = {}
        self.residents: dict[str, set[str]] = {}
        self.people: dict[str, Person] = {}
        self.housing_queue: deque[str] = deque()
        self.sites_at_start = {site.location_id: site for site in INITIAL_SITES}
        self._arrivals: list[tuple[float, str]] = []  # the opening state's check-ins: (time, location)
        self.ind = IndQueue(mix.IND_PRIORITY_SHARE, mix.IND_MIN_DAYS)
        self.sponsors = SponsorPool(mix.NAREIS_LAG_DAYS, mix.NAREIS_PROPENSITY, mix.NAREIS_PROPENSITY_OTHER)
        self._nat_names = list(mix.NATIONALITIES)
        self._nationality = Draw.of(self._nat_names, _cumulative([share for share, _ in mix.NATIONALITIES.values()]))
        self._granted = Draw.of(self._nat_names,
                                _cumulative([share * rate for share, rate in mix.NATIONALITIES.values()]))
        self._refused = Draw.of(self._nat_names,
                                _cumulative([share * (1 - rate) for share, rate in mix.NATIONALITIES.values()]))
        asylum = {k: v for k, v in mix.APPLICATION_TYPES.items() if k != "family_reunification"}
        self._app_types = list(asylum)
        self._app_type = Draw.of(self._app_types, _cumulative(list(asylum.values())))
        self._asylum_share = sum(asylum.values())
        self._profile = [p / sum(mix.MONTHLY_PROFILE) for p in mix.MONTHLY_PROFILE]
        self._day_factors = day_factors(mix.WEEKEND_SHARE)  # (weekday, weekend) pace of the offices
        self._week = OfficeWeek(config.start.astimezone(AMSTERDAM).date(), config.days + 1, mix.OFFICE_HOURS,
                                mix.WEEKEND_SHARE)
        # the weights of the other draws, added up once (the same draw as `choices` with the weights)
        self._centres = Draw.of(list(mix.REGISTRATION_CENTRES), list(accumulate(mix.REGISTRATION_CENTRES.values())))
        self._relief = Draw.of(list(mix.RELIEF_CENTRES), list(accumulate(mix.RELIEF_CENTRES.values())))
        self._opening_kinds = Draw.of(list(OPENING_KINDS), list(accumulate(mix.OPENING_KINDS)))

    # --- driving ------------------------------------------------------------------------------------

    def events(self) -> Iterator[tuple[float, dict]]:
        self._open_state()
        self._announce()
        for day in range(self.cfg.days):
            self._at(self._day_start(day), self._new_day, day)
        while self._heap:
            t, _, action, args = heapq.heappop(self._heap)
            if t >= self.end:
                break
            action(t, *args)
            yield from self._out
            self._out.clear()

    def _at(self, t: float, action: Callable[..., None], *args: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, action, args))

    def _day_start(self, day: int) -> float:
        local = self.cfg.start.astimezone(AMSTERDAM)
        return (local + timedelta(days=day)).timestamp()  # wall-clock days, DST-aware

    def _emit(self, t: float, event_type: str, **fields: object) -> None:
        self._event_no += 1
        event = {
            "event_id": f"sim{self.cfg.seed}-{self._event_no:08d}",
            "event_type": event_type,
            "occurred_at": self._local_time(t),
            "source": "capmon-simulator",
            **fields,
        }
        self._out.append((t, event))

    def _local_time(self, t: float) -> str:
        """`datetime.fromtimestamp(t, AMSTERDAM).isoformat(timespec="seconds")`, made from the hour's text (a
        quarter of the simulation's time went to that call). Amsterdam's offset is whole hours and changes on
        the hour, so within an hour of UTC the local minutes and seconds are UTC's."""
        second = math.floor(t)
        if t - second >= 0.999_999:  # within a microsecond of the next second: datetime's rounding decides
            return datetime.fromtimestamp(t, AMSTERDAM).isoformat(timespec="seconds")
        hour, rest = divmod(second, 3600)
        text = self._hours.get(hour)
        if text is None:
            whole = datetime.fromtimestamp(hour * 3600, AMSTERDAM).isoformat(timespec="seconds")
            text = self._hours[hour] = (whole[:14], whole[19:])  # "2023-05-04T13:", "+02:00"
        minute, sec = divmod(rest, 60)
        return f"{text[0]}{minute:02d}:{sec:02d}{text[1]}"

    # --- the opening state --------------------------------------------------------------------------

    def _open_state(self) -> None:
        """Schedule the opening state, each event at the time it happened (all before the start)."""
        t0, rng = self.t0, self.rng
        for site in INITIAL_SITES:
            self._at(t0 - OPENING_DAYS * DAY, self._set_site, site, "open")
        self._at(t0, self._forecast)
        for day in range(1, OPENING_DAYS + 1):  # permit holders housed before the feed: their families follow
            for _ in range(self._poisson(mix.GRANTS_PER_DAY_BEFORE)):
                self.sponsors.add(t0 - day * DAY + rng.uniform(8, 17) * HOUR, self._draw_nationality(self._granted),
                                  None)
        pending: list[tuple[float, str, bool]] = []
        granted: list[tuple[float, str]] = []
        for site in INITIAL_SITES:
            self._populate(site, pending, granted)
        for registered, person_id, priority in sorted(pending):
            self.ind.add(registered, person_id, priority)
        for when, person_id in sorted(granted):
            self.housing_queue.append(person_id)
            self.sponsors.add(when, self.people[person_id].nationality, person_id)
        self.sponsors.sort()
        self._recent_check_outs()

    def _forecast(self, t: float) -> None:
        year = datetime.fromtimestamp(t, AMSTERDAM).year
        self._emit(t, "forecast", forecast_id=f"MPP-{year}-spring", year=year, scenarios=dict(mix.MPP_2023),
                   monthly_profile=list(mix.MONTHLY_PROFILE))

    def _populate(self, site: Site, pending: list, granted: list) -> None:
        """The residents of one location at the start: pending cases (registered before it), permit holders
        waiting for a home, and rejected applicants waiting to leave."""
        t0, rng = self.t0, self.rng
        share = min(1.0, self.cfg.initial_occupancy * rng.uniform(0.93, 1.03))
        centre = site.location_type == "application_centre"
        if centre:
            share *= 0.75 if site.location_id == "ter-apel" else 0.3
        elif site.location_type == "amv":
            share *= 0.85
        amv = site.location_type == "amv"
        for _ in range(int(site.capacity * share)):
            kind = "pending" if centre else self._opening_kinds.draw(rng)
            if kind != "pending":  # in reception for months, decided before the start
                person = self._new_person(amv, self._draw_nationality(self._granted if kind == "granted"
                                                                      else self._refused))
                arrived = t0 - rng.uniform(60, 420) * DAY
                self._at(arrived, self._check_in, person.person_id, site.location_id)
                if kind == "granted":  # waiting for a home
                    when = rng.uniform(arrived + 30 * DAY, t0 - HOUR)
                    self._at(when, self._decide, person.person_id, "granted")
                    person.granted = True
                    granted.append((when, person.person_id))
                else:  # rejected or a Dublin claim, waiting to leave
                    outcome = "dublin" if rng.random() < 0.4 else "rejected"
                    self._at(rng.uniform(arrived + 20 * DAY, t0 - HOUR), self._decide, person.person_id, outcome)
            elif centre:  # registered in the last days, waiting to move on
                person = self._new_person(amv)
                registered = t0 - rng.uniform(0.2, 12) * DAY
                self._open_case(person, registered, site.location_id, pending)
                self._at(self._office(max(t0, registered + 2 * DAY) + rng.uniform(0, 6) * DAY), self._transfer,
                         person.person_id)
            else:
                person = self._new_person(amv)
                low, high = mix.OPENING_WAITING_DAYS
                waited = min(high, low + rng.expovariate(1 / (mix.OPENING_WAIT_MEAN_DAYS - low)))
                self._open_case(person, t0 - waited * DAY, site.location_id, pending,
                                checked_in_after=rng.uniform(2, 14) * DAY)

    def _open_case(self, person: Person, registered: float, location_id: str, pending: list,
                   checked_in_after: float = 0.0) -> None:
        """A first application registered before the start and still awaiting its decision."""
        self._at(registered, self._emit_registration, person.person_id, "first", self._centre(), person.nationality,
                 person.amv)
        checked_in = registered + checked_in_after + self.rng.uniform(0.1, 6) * HOUR
        self._at(checked_in, self._check_in, person.person_id, location_id)
        self._arrivals.append((checked_in, location_id))
        pending.append((registered, person.person_id, person.nationality in mix.PRIORITY))

    def _recent_check_outs(self) -> None:
        """People who left reception in the last 28 days before the start, with their check-ins: without them
        the rolling net inflow at the start would count every recent arrival and no departure. Each one left
        the bed that a resident who arrived in those days took, shortly before, so no location is ever over
        its capacity while the opening state loads."""
        t0, rng = self.t0, self.rng
        window = t0 - WINDOW_DAYS * DAY
        recent = sorted((t, loc) for t, loc in self._arrivals
                        if t >= window + 2 * DAY and self.sites_at_start[loc].location_type in TRANSFER_TYPES)
        wanted = self._poisson(mix.OPENING_CHECKOUTS_PER_DAY * WINDOW_DAYS)
        for arrived, location in rng.sample(recent, min(wanted, len(recent))):
            person = self._new_person()
            left = arrived - rng.uniform(0.1, 2) * DAY
            self._at(left - rng.uniform(60, 400) * DAY, self._check_in, person.person_id, location)
            reason = rng.choices(("housed", "departed", "removed"), (0.6, 0.3, 0.1))[0]
            self._at(left, self._check_out, person.person_id, reason)

    # --- the register -------------------------------------------------------------------------------

    def _announce(self) -> None:
        """Schedule the dated register entries NOTICE_DAYS before their change (in the opening state, after the
        register, when that lies before the start). They change nothing in the simulation itself."""
        earliest = self.t0 - OPENING_DAYS * DAY
        for announcement in ANNOUNCEMENTS:
            if announcement.change_day < self.cfg.days:
                when = max(earliest, self._day_start(announcement.change_day - NOTICE_DAYS) + 9 * HOUR)
                self._at(when, self._emit_announcement, announcement)

    def _emit_announcement(self, t: float, announcement: Announcement) -> None:
        site, dates = announcement.site, {}
        if announcement.opens_day is not None:
            dates["opens_on"] = self._date_of(announcement.opens_day)
        if announcement.closes_day is not None:
            dates["closes_on"] = self._date_of(announcement.closes_day)
        norm = NORMS.get(site.location_id)
        self._emit(
            t, "location", location_id=site.location_id, name=site.name, province=site.province,
            location_type=site.location_type, capacity=site.capacity, status="open",
            **({"norm": norm} if norm is not None else {}), **dates,
        )

    def _date_of(self, day: int) -> str:
        return datetime.fromtimestamp(self._day_start(day), AMSTERDAM).date().isoformat()

    def _set_site(self, t: float, site: Site, status: str, emit: bool = True) -> None:
        if status == "closed":
            for person_id in sorted(self.residents.get(site.location_id, ())):
                self._transfer(t, person_id, must_leave=True)
        self.sites[site.location_id] = site
        self.open[site.location_id] = status == "open"
        self._beds.clear()
        self.occupancy.setdefault(site.location_id, 0)
        self.residents.setdefault(site.location_id, set())
        if not emit:  # announced ahead with its date: the register already has it
            return
        norm = NORMS.get(site.location_id)
        self._emit(
            t, "location", location_id=site.location_id, name=site.name, province=site.province,
            location_type=site.location_type, capacity=site.capacity if status == "open" else 0, status=status,
            **({"norm": norm} if norm is not None else {}),
        )

    # --- daily rhythm -------------------------------------------------------------------------------

    def _new_day(self, t: float, day: int) -> None:
        local = datetime.fromtimestamp(t, AMSTERDAM)
        month_days = calendar.monthrange(local.year, local.month)[1]
        # the resettlement quota is part of the scenario's MPP inflow; the other types share the rest
        annual = max(0.0, self.cfg.annual_inflow - mix.RESETTLEMENT_PER_YEAR)
        rate = annual * self._profile[local.month - 1] / month_days
        for _ in range(self._poisson(rate * self._asylum_share)):
            self._at(t + self.rng.uniform(7, 22) * HOUR, self._register, self._draw_app_type())
        for _ in range(self._poisson(rate * mix.APPLICATION_TYPES["family_reunification"])):
            self._at(t + self.rng.uniform(8, 18) * HOUR, self._register_nareis)
        for _ in range(self._poisson(rate * mix.RELOCATION_SHARE)):
            self._at(t + self.rng.uniform(9, 17) * HOUR, self._register, "relocation")
        if day % mix.RESETTLEMENT_FLIGHT_DAYS == 0:  # a resettlement flight lands
            group = self._poisson(mix.RESETTLEMENT_PER_YEAR * mix.RESETTLEMENT_FLIGHT_DAYS / 365)
            arrival = t + self.rng.uniform(10, 16) * HOUR
            for _ in range(group):
                self._at(arrival + self.rng.uniform(0, 1) * HOUR, self._register, "resettlement")
        pace = self._day_factors[local.weekday() >= 5]  # the offices work on weekdays: a week's work in five days
        self._at(t + 8 * HOUR, self._ind_day, self._poisson(mix.IND_DECISIONS_PER_DAY * pace))
        target = mix.TAAKSTELLING[1 if local.month <= 6 else 2] * self.cfg.housing_achieved
        self._at(t + 10 * HOUR, self._house, self._poisson(target / 182.5 * pace))
        for offset, site, status in CHANGES:
            if offset == day:
                self._at(t + 9 * HOUR, self._set_site, site, status, (day, site.location_id) not in DATED_CHANGE_DAYS)

    def _poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam < 30:
            limit, k, p = math.exp(-lam), 0, 1.0
            while True:
                p *= self.rng.random()
                if p <= limit:
                    return k
                k += 1
        return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))

    def _office(self, t: float) -> float:
        """When the work that falls due at `t` gets done: in office hours on a weekday, mostly (week.py)."""
        return self._week.time(t, self.rng)

    def _ind_day(self, t: float, capacity: int) -> None:
        """The IND decides a day's capacity of first-instance cases, spread over the working day."""
        for person_id in self.ind.take(t, capacity):
            self._at(t + self.rng.uniform(0, 9) * HOUR, self._decide, person_id, "first")

    # --- a person's story ---------------------------------------------------------------------------

    def _new_person(self, amv: bool = False, nationality: str | None = None) -> Person:
        self._person_no += 1
        digest = hashlib.blake2b(f"{self.cfg.seed}:{self._person_no}".encode(), digest_size=8).hexdigest()
        person = Person(f"p-{digest}", nationality or self._draw_nationality(), amv)
        self.people[person.person_id] = person
        return person

    def _draw_nationality(self, weights: Draw | None = None) -> str:
        """By share of registrations, or by other weights (e.g. of grants)."""
        return (weights or self._nationality).draw(self.rng)

    def _draw_app_type(self) -> str:
        return self._app_type.draw(self.rng)

    def _centre(self) -> str:
        """Ter Apel (or Schiphol for arrivals by air); Budel or Zevenaar relieve Ter Apel over its norm."""
        rng = self.rng
        if self.occupancy.get("ter-apel", 0) >= NORMS["ter-apel"] and rng.random() < mix.DIVERTED_WHEN_OVER_NORM:
            return self._relief.draw(rng)
        return self._centres.draw(rng)

    def _emit_registration(self, t: float, person_id: str, app_type: str, centre: str | None, nationality: str,
                           amv: bool) -> None:
        fields: dict[str, object] = {"person_id": person_id, "application_type": app_type,
                                     "nationality": nationality, "unaccompanied_minor": amv}
        if centre:
            fields["registration_centre"] = centre
        self._emit(t, "registration", **fields)

    def _register(self, t: float, app_type: str) -> None:
        nationality = self._draw_nationality()
        amv = app_type == "first" and self.rng.random() < mix.AMV_SHARE.get(nationality, mix.AMV_SHARE_OTHER)
        person = self._new_person(amv, nationality)
        centre = self._centre() if app_type in ("first", "repeat") else None
        self._emit_registration(t, person.person_id, app_type, centre, nationality, amv)
        if self.rng.random() < mix.NEEDS_RECEPTION[app_type]:
            if centre:
                arrive = t + self.rng.uniform(0.5, 6) * HOUR
                self._at(arrive, self._check_in, person.person_id, centre)
                stay = self.rng.uniform(*mix.APPLICATION_CENTRE_DAYS) * DAY
                self._at(self._office(arrive + stay), self._transfer, person.person_id)
            else:
                self._at(t + self.rng.uniform(1, 48) * HOUR, self._place_directly, person.person_id)
        if app_type == "resettlement":  # selected abroad: the permit follows within days
            self._at(self._office(t + self.rng.uniform(1, 14) * DAY), self._decide, person.person_id, "resettlement")
        elif app_type == "repeat":
            self._at(self._office(t + self.rng.uniform(*mix.REPEAT_DAYS) * DAY), self._decide, person.person_id,
                     "repeat")
        elif app_type == "first" and self.rng.random() < mix.DUBLIN_SHARE:
            self._at(self._office(t + self.rng.uniform(*mix.DUBLIN_DAYS) * DAY), self._decide, person.person_id,
                     "dublin")
        else:
            self.ind.add(t, person.person_id, nationality in mix.PRIORITY)

    def _register_nareis(self, t: float) -> None:
        """A family member of a permit holder granted months ago; in reception only while the sponsor is."""
        sponsor = self.sponsors.draw(self.rng, t)
        nationality, sponsor_id = sponsor if sponsor else (self._draw_nationality(self._granted), None)
        person = self._new_person(nationality=nationality)
        self._emit_registration(t, person.person_id, "family_reunification", None, nationality, False)
        host = self.people[sponsor_id].location if sponsor_id else None
        if host is not None:
            self._at(t + self.rng.uniform(1, 48) * HOUR, self._place_directly, person.person_id)
        self._at(self._office(t + self.rng.uniform(1, 21) * DAY), self._decide, person.person_id,
                 "family_reunification")

    def _check_in(self, t: float, person_id: str, location_id: str) -> None:
        self._move(person_id, location_id)
        self._emit(t, "placement", person_id=person_id, action="check_in", location_id=location_id)
        self._if_amv_bed(t, person_id, location_id)

    def _if_amv_bed(self, t: float, person_id: str, location_id: str) -> None:
        """A minor in an amv bed turns 18 (or goes to a Nidos family) within months: the bed frees up."""
        site = self.sites.get(location_id)
        if site is not None and site.location_type == "amv":
            self._at(self._office(max(t, self.t0) + self.rng.uniform(*mix.AMV_STAY_DAYS) * DAY), self._come_of_age,
                     person_id)

    def _come_of_age(self, t: float, person_id: str) -> None:
        person = self.people[person_id]
        if not person.amv or person.location is None:
            return
        person.amv = False
        self._transfer(t, person_id)

    def _place_directly(self, t: float, person_id: str) -> None:
        target = self._pick_location(self.people[person_id], exclude=None)
        self._check_in(t, person_id, target or "ter-apel")

    def _transfer(self, t: float, person_id: str, must_leave: bool = False) -> None:
        person = self.people[person_id]
        if person.location is None:
            return
        target = self._pick_location(person, exclude=person.location)
        if target is None:
            if not must_leave:  # no free bed anywhere: the person stays (this is how Ter Apel overflows)
                self._at(self._office(t + DAY), self._transfer, person_id)
                return
            target = "ter-apel" if person.location != "ter-apel" else "budel"
            self._at(self._office(t + DAY), self._transfer, person_id)  # and on as soon as a bed is free
        self._move(person_id, target)
        self._emit(t, "placement", person_id=person_id, action="transfer", location_id=target)
        self._if_amv_bed(t, person_id, target)
        if self.rng.random() < 0.12:  # some people move again later (family, medical, closures)
            self._at(self._office(t + self.rng.uniform(20, 150) * DAY), self._transfer, person_id)

    def _pick_location(self, person: Person, exclude: str | None) -> str | None:
        """A free bed of the wanted kind, locations weighted by their free beds.

        The draw of `rng.choices(names, free beds)` over the locations with a free bed (other than `exclude`),
        made without building those lists: locations without a free bed weigh 0 and add nothing to the running
        sums, so the first sum above the drawn point is the same location (same random number, same bytes)."""
        wanted = ("amv",) if person.amv else TRANSFER_TYPES
        beds = self._beds.get(wanted)
        if beds is None:  # the open sites of these kinds with their capacity, in register order, until it changes
            chosen = [(location_id, site.capacity) for location_id, site in self.sites.items()
                      if self.open[location_id] and site.location_type in wanted]
            beds = self._beds[wanted] = Beds(chosen, {lid: i for i, (lid, _) in enumerate(chosen)})
        occupancy = self.occupancy
        free = [capacity - occupancy[location_id] for location_id, capacity in beds.sites]
        skip = beds.index.get(exclude) if exclude is not None else None
        if skip is not None:
            free[skip] = 0
        sums = list(accumulate([n if n > 0 else 0 for n in free]))
        total = sums[-1] if sums else 0
        if total <= 0:
            return None
        at = bisect_right(sums, self.rng.random() * (total + 0.0))
        if at == len(sums):  # the point rounded up to the total: `choices` takes the last location with beds
            at = max(i for i, n in enumerate(free) if n > 0)
        return beds.sites[at][0]

    def _move(self, person_id: str, location_id: str | None) -> None:
        person = self.people[person_id]
        if person.location is not None:
            self.occupancy[person.location] -= 1
            self.residents[person.location].discard(person_id)
        person.location = location_id
        if location_id is not None:
            self.occupancy[location_id] = self.occupancy.get(location_id, 0) + 1
            self.residents.setdefault(location_id, set()).add(person_id)

    def _decide(self, t: float, person_id: str, app_type: str) -> None:
        person = self.people[person_id]
        grant_rate = mix.NATIONALITIES[person.nationality][1]
        track = None
        if app_type in ("granted", "rejected", "dublin") and t < self.t0:  # the opening state's past decisions
            outcome = app_type
            track = "1" if outcome == "dublin" else "2" if person.nationality in mix.SAFE_COUNTRIES else "4"
        elif app_type in ("family_reunification", "resettlement"):
            outcome = "granted"
            track = {"family_reunification": "nareis", "resettlement": "hervestiging"}[app_type]
        elif app_type == "dublin":
            outcome, track = "dublin", "1"
        elif self.rng.random() < 0.02:
            outcome = "withdrawn"
        else:
            if app_type == "repeat":
                grant_rate *= 0.2
            outcome = "granted" if self.rng.random() < grant_rate else "rejected"
            track = "2" if person.nationality in mix.SAFE_COUNTRIES else "4"
        fields = {"person_id": person_id, "outcome": outcome, "nationality": person.nationality}
        if track:
            fields["track"] = track
        self._emit(t, "decision", **fields)
        if outcome == "granted" and app_type in ("first", "repeat", "relocation"):
            self.sponsors.add(t, person.nationality, person_id)
        if person.location is None:
            return
        if outcome == "granted":
            if not person.granted:
                person.granted = True
                self.housing_queue.append(person_id)
        elif outcome == "rejected":
            self._maybe_leave(t, person_id, (30, 180), *mix.LEAVING['rejected'])
        elif outcome == "dublin":
            self._maybe_leave(t, person_id, (45, 180), *mix.LEAVING['dublin'])
        elif outcome == "withdrawn":
            self._maybe_leave(t, person_id, (3, 30), departed=1.0, removed=0.0)

    def _maybe_leave(self, t: float, person_id: str, days: tuple[int, int], departed: float, removed: float) -> None:
        draw = self.rng.random()
        reason = "departed" if draw < departed else "removed" if draw < departed + removed else None
        if reason:  # a removal is organised in office hours; people leave on their own any day
            when = max(t, self.t0) + self.rng.uniform(*days) * DAY
            self._at(self._office(when) if reason == "removed" else when, self._check_out, person_id, reason)

    def _check_out(self, t: float, person_id: str, reason: str) -> None:
        person = self.people[person_id]
        if person.location is None:
            return
        left = person.location
        self._move(person_id, None)
        self._emit(t, "placement", person_id=person_id, action="check_out", location_id=left, reason=reason)

    def _house(self, t: float, count: int) -> None:
        """Municipalities house permit holders in order of their permit, at the achieved taakstelling pace."""
        housed = 0
        while housed < count and self.housing_queue:
            person_id = self.housing_queue.popleft()
            if self.people[person_id].location is None:
                continue
            housed += 1
            self._at(t + self.rng.uniform(0, 8) * HOUR, self._check_out, person_id, "housed")


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


__all__ = ["AMSTERDAM", "APPLICATION_CENTRES", "ChainSimulation", "SimConfig"]
