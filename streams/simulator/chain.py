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
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from . import mix
from .register import APPLICATION_CENTRES, CHANGES, INITIAL_SITES, Site

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = 86_400.0
HOUR = 3_600.0

# Agreed maximum occupancy (DOMAIN.md): Ter Apel's 2,000, below its bed count.
NORMS = {"ter-apel": 2_000}


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
    initial_occupancy: float = 0.95  # of the non-application-centre capacity at the start
    housing_per_half_year: float = mix.TAAKSTELLING_PER_HALF_YEAR * mix.HOUSING_ACHIEVED


class ChainSimulation:
    """Yields `(epoch_seconds, event)` in event-time order; `event` is a contract-valid JSON object."""

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
        self.sites: dict[str, Site] = {}
        self.open: dict[str, bool] = {}
        self.occupancy: dict[str, int] = {}
        self.residents: dict[str, set[str]] = {}
        self.people: dict[str, Person] = {}
        self.housing_queue: deque[str] = deque()
        self._nat_names = list(mix.NATIONALITIES)
        self._nat_cum = _cumulative([share for share, _ in mix.NATIONALITIES.values()])
        self._app_types = list(mix.APPLICATION_TYPES)
        self._app_cum = _cumulative(list(mix.APPLICATION_TYPES.values()))
        self._profile = [p / sum(mix.MONTHLY_PROFILE) for p in mix.MONTHLY_PROFILE]

    # --- driving ------------------------------------------------------------------------------------

    def events(self) -> Iterator[tuple[float, dict]]:
        self._at(self.t0, self._begin)
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
            "occurred_at": datetime.fromtimestamp(t, AMSTERDAM).isoformat(timespec="seconds"),
            "source": "capmon-simulator",
            **fields,
        }
        self._out.append((t, event))

    # --- the register and the forecast --------------------------------------------------------------

    def _begin(self, t: float) -> None:
        year = datetime.fromtimestamp(t, AMSTERDAM).year
        self._emit(
            t, "forecast", forecast_id=f"MPP-{year}-spring", year=year, scenarios=dict(mix.MPP_2023),
            monthly_profile=list(mix.MONTHLY_PROFILE),
        )
        for site in INITIAL_SITES:
            self._set_site(t, site, "open")
        for site in INITIAL_SITES:
            self._populate(t, site)

    def _set_site(self, t: float, site: Site, status: str) -> None:
        if status == "closed":
            for person_id in sorted(self.residents.get(site.location_id, ())):
                self._transfer(t, person_id, must_leave=True)
        self.sites[site.location_id] = site
        self.open[site.location_id] = status == "open"
        self.occupancy.setdefault(site.location_id, 0)
        self.residents.setdefault(site.location_id, set())
        norm = NORMS.get(site.location_id)
        self._emit(
            t, "location", location_id=site.location_id, name=site.name, province=site.province,
            location_type=site.location_type, capacity=site.capacity if status == "open" else 0, status=status,
            **({"norm": norm} if norm is not None else {}),
        )

    def _populate(self, t: float, site: Site) -> None:
        """People already in reception at the start: registered before it, many awaiting a decision or a home."""
        share = self.cfg.initial_occupancy * self.rng.uniform(0.92, 1.06)
        if site.location_type == "application_centre":
            share *= 0.8
        for _ in range(int(site.capacity * share)):
            person = self._new_person(amv=site.location_type == "amv")
            when = t + self.rng.uniform(1, HOUR)
            self._at(when, self._check_in, person.person_id, site.location_id)
            if site.location_type == "application_centre":
                self._at(when + self.rng.uniform(1, 14) * DAY, self._transfer, person.person_id)
                self._at(when + self.rng.uniform(30, 300) * DAY, self._decide, person.person_id, "first")
            elif self.rng.random() < 0.32:  # permit holders waiting for a home
                self._at(when + 1, self._decide, person.person_id, "granted")
            else:
                self._at(when + self.rng.uniform(1, 330) * DAY, self._decide, person.person_id, "first")

    # --- daily rhythm -------------------------------------------------------------------------------

    def _new_day(self, t: float, day: int) -> None:
        local = datetime.fromtimestamp(t, AMSTERDAM)
        month_days = calendar.monthrange(local.year, local.month)[1]
        rate = self.cfg.annual_inflow * self._profile[local.month - 1] / month_days
        for _ in range(self._poisson(rate)):
            self._at(t + self.rng.uniform(7, 22) * HOUR, self._register, self._draw_app_type())
        for _ in range(self._poisson(rate * mix.RELOCATION_SHARE)):
            self._at(t + self.rng.uniform(9, 17) * HOUR, self._register, "relocation")
        self._at(t + 10 * HOUR, self._house, self._poisson(self.cfg.housing_per_half_year / 182.5))
        for offset, site, status in CHANGES:
            if offset == day:
                self._at(t + 9 * HOUR, self._set_site, site, status)

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

    # --- a person's story ---------------------------------------------------------------------------

    def _new_person(self, amv: bool = False, nationality: str | None = None) -> Person:
        self._person_no += 1
        digest = hashlib.blake2b(f"{self.cfg.seed}:{self._person_no}".encode(), digest_size=8).hexdigest()
        person = Person(f"p-{digest}", nationality or self._draw_nationality(), amv)
        self.people[person.person_id] = person
        return person

    def _draw_nationality(self) -> str:
        return self.rng.choices(self._nat_names, cum_weights=self._nat_cum)[0]

    def _draw_app_type(self) -> str:
        return self.rng.choices(self._app_types, cum_weights=self._app_cum)[0]

    def _register(self, t: float, app_type: str) -> None:
        nationality = self._draw_nationality()
        amv = app_type == "first" and self.rng.random() < mix.AMV_SHARE.get(nationality, mix.AMV_SHARE_OTHER)
        person = self._new_person(amv, nationality)
        centre = None
        if app_type in ("first", "repeat", "family_reunification"):
            centre = self.rng.choices(list(mix.REGISTRATION_CENTRES), list(mix.REGISTRATION_CENTRES.values()))[0]
        fields = {"person_id": person.person_id, "application_type": app_type, "nationality": nationality,
                  "unaccompanied_minor": amv}
        if centre:
            fields["registration_centre"] = centre
        self._emit(t, "registration", **fields)
        if self.rng.random() < mix.NEEDS_RECEPTION[app_type]:
            if centre:
                arrive = t + self.rng.uniform(0.5, 6) * HOUR
                self._at(arrive, self._check_in, person.person_id, centre)
                self._at(arrive + self.rng.uniform(2, 21) * DAY, self._transfer, person.person_id)
            else:
                self._at(t + self.rng.uniform(1, 48) * HOUR, self._place_directly, person.person_id)
        self._at(t + self._decision_delay(app_type, nationality) * DAY, self._decide, person.person_id, app_type)

    def _check_in(self, t: float, person_id: str, location_id: str) -> None:
        self._move(person_id, location_id)
        self._emit(t, "placement", person_id=person_id, action="check_in", location_id=location_id)

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
                self._at(t + DAY, self._transfer, person_id)
                return
            target = "ter-apel" if person.location != "ter-apel" else "budel"
        self._move(person_id, target)
        self._emit(t, "placement", person_id=person_id, action="transfer", location_id=target)
        if self.rng.random() < 0.12:  # some people move again later (family, medical, closures)
            self._at(t + self.rng.uniform(20, 150) * DAY, self._transfer, person_id)

    def _pick_location(self, person: Person, exclude: str | None) -> str | None:
        wanted = ("amv",) if person.amv else ("regular", "emergency", "crisis_emergency", "small_scale")
        names, weights = [], []
        for location_id, site in self.sites.items():
            if location_id == exclude or not self.open[location_id] or site.location_type not in wanted:
                continue
            free = site.capacity - self.occupancy[location_id]
            if free > 0:
                names.append(location_id)
                weights.append(free)
        return self.rng.choices(names, weights)[0] if names else None

    def _move(self, person_id: str, location_id: str | None) -> None:
        person = self.people[person_id]
        if person.location is not None:
            self.occupancy[person.location] -= 1
            self.residents[person.location].discard(person_id)
        person.location = location_id
        if location_id is not None:
            self.occupancy[location_id] = self.occupancy.get(location_id, 0) + 1
            self.residents.setdefault(location_id, set()).add(person_id)

    def _decision_delay(self, app_type: str, nationality: str) -> float:
        if app_type == "family_reunification":
            return self.rng.uniform(1, 21)
        if app_type == "resettlement":
            return self.rng.uniform(1, 14)
        if app_type == "repeat":
            return self.rng.uniform(20, 90)
        if nationality in mix.SAFE_COUNTRIES:
            return self.rng.uniform(14, 60)
        if nationality in mix.PRIORITY:
            return self.rng.uniform(30, 150)
        return self.rng.uniform(60, 330)

    def _decide(self, t: float, person_id: str, app_type: str) -> None:
        person = self.people[person_id]
        grant_rate = mix.NATIONALITIES[person.nationality][1]
        track = None
        if app_type == "granted" or app_type in ("family_reunification", "resettlement"):
            outcome = "granted"
            track = {"family_reunification": "nareis", "resettlement": "hervestiging"}.get(app_type)
        elif app_type == "first" and self.rng.random() < mix.DUBLIN_SHARE:
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
        if person.location is None:
            return
        if outcome == "granted":
            person.granted = True
            self.housing_queue.append(person_id)
        elif outcome == "rejected":
            self._maybe_leave(t, person_id, (30, 180), departed=0.55, removed=0.15)
        elif outcome == "dublin":
            self._maybe_leave(t, person_id, (45, 180), departed=0.2, removed=0.6)
        elif outcome == "withdrawn":
            self._maybe_leave(t, person_id, (3, 30), departed=1.0, removed=0.0)

    def _maybe_leave(self, t: float, person_id: str, days: tuple[int, int], departed: float, removed: float) -> None:
        draw = self.rng.random()
        reason = "departed" if draw < departed else "removed" if draw < departed + removed else None
        if reason:
            self._at(t + self.rng.uniform(*days) * DAY, self._check_out, person_id, reason)

    def _check_out(self, t: float, person_id: str, reason: str) -> None:
        person = self.people[person_id]
        if person.location is None:
            return
        left = person.location
        self._move(person_id, None)
        self._emit(t, "placement", person_id=person_id, action="check_out", location_id=left, reason=reason)

    def _house(self, t: float, count: int) -> None:
        """Municipalities house permit holders in order of their permit, at the taakstelling pace."""
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
