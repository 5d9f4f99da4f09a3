"""Counters summed over many persons: what one worker's partitions add to the national picture.

`Totals` is derived state: `apply(before, after)` moves one person's contribution, and a worker can always
rebuild it from the person table (`Totals.of(people)`), so it needs no changelog of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.state.grouped import GroupSums
from streams.state.people import Person, first_instance, first_instance_decisions, moves, replace
from streams.state.stamp import local_day


@dataclass
class Totals:
    occupancy: Counter[str] = field(default_factory=Counter)  # location -> persons there
    permit_holders: Counter[str] = field(default_factory=Counter)  # location -> permit holders there
    inflow: Counter[tuple[str, str, bool]] = field(default_factory=Counter)  # (day, application_type, amv)
    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (outcome, nationality)
    outflow: Counter[tuple[str, str]] = field(default_factory=Counter)  # (half year "2023-H2", check-out reason)
    check_outs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (day, location left)
    # Moves (people.moves): (day, location) -> moves into it minus moves out of it. A scope's net inflow is the
    # sum over its locations (a move inside it adds and takes one), whatever the register says when it is read.
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    moves_out: Counter[str] = field(default_factory=Counter)  # day -> moves from a location to none (check-outs)
    # day of the registration a person awaits a decision on -> persons (the IND backlog, CONTRACT.md section 3)
    awaiting: Counter[str] = field(default_factory=Counter)
    # (outcome, nationality) of first-instance asylum decisions (the letter's grant rate; people.py)
    first_instance: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (day of a person's first registration, whether they ever checked in) -> persons: the capacity need's share
    # of new applicants who need a bed
    arrivals: Counter[tuple[str, bool]] = field(default_factory=Counter)
    # Indexes derived from the counters above, kept so the read model sums a year or a window in a few steps
    # instead of going through every day (never encoded, not compared).
    inflow_years: Counter[tuple[str, str, bool]] = field(default_factory=Counter, compare=False, repr=False)
    net_days: Counter[str] = field(default_factory=Counter, compare=False, repr=False)  # day -> national net
    # the net moves over the last window read (`moves_in`), kept up to date by every move
    _window: MoveWindow | None = field(default=None, compare=False, repr=False)
    # occupancy and permit holders per province and per location type (streams/state/grouped.py), made on the
    # first read and moved here, so the alert evaluation need not sum every location at each grid point
    groupings: dict[str, GroupSums] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.inflow_years:
            for (day, app_type, minor), n in self.inflow.items():
                self.inflow_years[(day[:4], app_type, minor)] += n
        if not self.net_days:
            for (day, _location), n in self.moves.items():
                self.net_days[day] += n

    @classmethod
    def of(cls, people: Iterable[Person]) -> Totals:
        totals = cls()
        empty = Person()
        for person in people:
            totals.apply(empty, person)
        return totals

    @classmethod
    def history_of(cls, person: Person) -> Totals:
        """What a person's event history added to the counts (inflow, decisions, outflow, daily check-ins and
        -outs); not where they are now. Kept as an aggregate when their history is erased or expires."""
        totals = cls()
        totals.apply(Person(), replace(person, placement=None, decision=None, asylum_registration=None))
        return totals

    def add(self, other: Totals) -> None:
        """Add `other` in place."""
        for name in SUMMED:
            getattr(self, name).update(getattr(other, name))
        self._window = None
        self.groupings.clear()  # made again on the next read

    def apply(self, before: Person, after: Person) -> None:
        """Replace `before`'s contribution by `after`'s (after = fold(before, ...), so id-keyed maps only grow).

        Runs for every event: a map `fold` left alone is the same object in `after`, and is skipped."""
        if before.location != after.location or before.permit_holder_in_reception != after.permit_holder_in_reception:
            self._place(before, -1)
            self._place(after, +1)
        if (before.check_ins is not after.check_ins or before.transfers is not after.transfers
                or before.check_outs is not after.check_outs or before.base is not after.base):
            self._moved(before, after)
        regs_same = before.registrations is after.registrations
        if not regs_same or bool(before.check_ins) != bool(after.check_ins):
            _move(self.arrivals, arrival(before), arrival(after))
        if before.asylum_registration is not after.asylum_registration or before.decision is not after.decision:
            _move(self.awaiting, awaiting_day(before), awaiting_day(after))
        if not regs_same:
            # a registration arriving late can change which earlier decisions are first-instance ones
            self.first_instance.update(first_instance_decisions(after))
            self.first_instance.subtract(first_instance_decisions(before))
            for key in [k for k, n in self.first_instance.items() if not n]:
                del self.first_instance[key]
            for key in after.registrations.keys() - before.registrations.keys():
                reg = after.registrations[key]
                self.inflow[(reg.day, reg.application_type, reg.unaccompanied_minor)] += 1
                self.inflow_years[(reg.day[:4], reg.application_type, reg.unaccompanied_minor)] += 1
        if before.decisions is not after.decisions:
            for key in after.decisions.keys() - before.decisions.keys():
                decision = after.decisions[key]
                self.decisions[(decision.outcome, decision.nationality)] += 1
                if regs_same and first_instance(after, key):  # the others' first-instance status stays
                    self.first_instance[(decision.outcome, decision.nationality)] += 1
        if before.check_outs is not after.check_outs:
            for key in after.check_outs.keys() - before.check_outs.keys():
                out = after.check_outs[key]
                self.outflow[(half_year(out.day), out.reason)] += 1
                self.check_outs[(out.day, out.location_id)] += 1

    def _moved(self, before: Person, after: Person) -> None:
        """Replace `before`'s moves by `after`'s: a late placement changes where the next one took them from."""
        was, now = moves(before), moves(after)
        if was == now[:len(was)]:  # the usual case: moves added at the end
            was, now = [], now[len(was):]
        window = self._window
        for sign, changes in ((-1, was), (1, now)):
            for day, source, target in changes:
                if source is not None:
                    self._move_at(day, source, -sign)
                if target is not None:
                    self._move_at(day, target, sign)
                elif source is not None:
                    self.moves_out[day] += sign
                    if not self.moves_out[day]:
                        del self.moves_out[day]
                    if window is not None and window.first <= day <= window.last:
                        window.out += sign

    def _move_at(self, day: str, location_id: str, n: int) -> None:
        key = (day, location_id)
        self.moves[key] += n
        if not self.moves[key]:
            del self.moves[key]
        self.net_days[day] += n
        window = self._window
        if window is not None and window.first <= day <= window.last:
            window.by_location[location_id] += n
            window.national += n

    def moves_in(self, first: str, last: str) -> MoveWindow:
        """The net moves over the days `first`..`last` (ISO, inclusive). The read model asks for the window ending
        on now's day at every evaluation: kept, and moved along by every move, instead of summed again (do not
        change the answer: it is the kept one)."""
        window = self._window
        if window is not None and window.first == first and window.last == last:
            return window
        sums: Counter[str] = Counter()
        for (day, location_id), n in self.moves.items():
            if first <= day <= last:
                sums[location_id] += n
        out = sum(n for day, n in self.moves_out.items() if first <= day <= last)
        self._window = MoveWindow(first, last, sums, sum(sums.values()), out)
        return self._window

    def _place(self, person: Person, sign: int) -> None:
        where = person.location
        if where is None:
            return
        occupancy = self.occupancy
        occupied_before = where in occupancy
        occupancy[where] += sign
        if occupancy[where] == 0:
            del occupancy[where]
        permits, permits_before, permit_sign = self.permit_holders, False, 0
        if person.permit_holder_in_reception:
            permits_before, permit_sign = where in permits, sign
            permits[where] += sign
            if permits[where] == 0:
                del permits[where]
        if self.groupings:
            occupancy_change = (occupied_before, where in occupancy, sign)
            permits_change = (permits_before, where in permits, permit_sign) if permit_sign else (False, False, 0)
            for sums in self.groupings.values():
                sums.moved(where, occupancy_change, permits_change)

    def forget_daily_before(self, day: str) -> None:
        """Drop daily check-ins and -outs before `day`: only the recent window is read from them (the net inflow
        behind days until full), so a long-running state need not keep them (counts per half year stay)."""
        if self._window is not None and self._window.first < day:
            self._window = None
        for daily in (self.check_outs, self.moves):
            for key in [k for k in daily if k[0] < day]:
                del daily[key]
        for per_day in (self.net_days, self.moves_out):
            for key in [k for k in per_day if k < day]:
                del per_day[key]

    def merge(self, other: Totals) -> Totals:
        """The sum of two workers' (or partitions') totals."""
        return Totals.sum((self, other))

    @classmethod
    def sum(cls, parts: Iterable[Totals]) -> Totals:
        """The sum of many partitions' totals, in one pass (the indexes are added up, not derived again): the
        read model does this on every change of the figures."""
        total = cls()
        for part in parts:
            for name in SUMMED:
                getattr(total, name).update(getattr(part, name))
        return total


@dataclass(slots=True)
class MoveWindow:
    """The net moves of some days: into each location (in - out), into reception nationally, and out of it."""

    first: str
    last: str
    by_location: Counter[str]
    national: int  # the sum over every location: moves from no location in, minus moves to none
    out: int  # moves from a location to none (check-outs)


SUMMED = ("occupancy", "permit_holders", "inflow", "decisions", "outflow", "check_outs", "moves", "moves_out",
          "awaiting", "first_instance", "arrivals", "inflow_years", "net_days")


def _move(counter: Counter, was: object, now: object) -> None:
    """One person counted under `now` instead of `was` (None: not counted); no zero entries are left."""
    if was == now:
        return
    if was is not None:
        counter[was] -= 1
        if not counter[was]:
            del counter[was]
    if now is not None:
        counter[now] += 1


def arrival(person: Person) -> tuple[str, bool] | None:
    """The day of the person's first registration and whether they ever checked in (None: no registration)."""
    if not person.registrations:
        return None
    return min(r.day for r in person.registrations.values()), bool(person.check_ins)


def awaiting_day(person: Person) -> str | None:
    """The calendar day of the registration a person awaits a decision on, or None when they do not wait."""
    if not person.awaiting_decision:
        return None
    return local_day(person.asylum_registration[0]).isoformat()  # type: ignore[index]


def half_year(day: str) -> str:
    """The taakstelling period of an ISO day: "2023-H1" (January-June) or "2023-H2"."""
    return f"{day[:4]}-H{1 if day[5:7] <= '06' else 2}"
