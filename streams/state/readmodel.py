"""The read model: every figure capmon shows, derived once from totals, the register and the watermark.

The HTTP API, `/metrics`, the status page and the alert measures only map a `Figures`; none of them derives
a figure of its own, so they cannot disagree. Pure: a `Figures` is a function of its inputs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, cached_property, lru_cache
from itertools import repeat

from streams.state.cells import Release, release
from streams.state.inflow import (
    ROLLING_WINDOWS,
    Inflow,
    InflowCurve,
    Rolling,
    YearToDate,
    compose_inflow,
    inflow_curve,
    last_days,
    mpp_inflow_per_day,
    rolling_windows,
    year_to_date,
)
from streams.state.occupancy import (
    NET_INFLOW_WINDOW_DAYS,
    Area,
    Occupancy,
    ScopedNet,
    check_outs_by_location,
    days_until_full,
    net_window,
    scoped_net,
)
from streams.state.outlook import DEFAULT_OUTLOOK_DAYS, Outlook, OutlookInputs, outlook
from streams.state.register import Register
from streams.state.stamp import from_micros, local_day
from streams.state.terms import DEFAULT_DECISION_TERMS, DecisionTerms, segments
from streams.state.totals import MoveWindow, Totals, half_year

DAILY_DAYS = max(ROLLING_WINDOWS.values())  # MPP inflow per day is shown (and windowed) over these days


class Figures:
    """Every figure at `now_us` (the watermark), each derived on first use and then kept: a reader pays only
    for what it reads (alert evaluation on a grid point reads far less than the status page). Valid while its
    totals and register do not change; whoever changes them makes a new `Figures`.

    Capacity follows the register's dates on `capacity_day`: now's day (Europe/Amsterdam) unless given; alert
    evaluation reads the figures of its evaluation time's day through `on_day`. `terms` is the decision term by
    registration day (CAPMON_DECISION_TERMS)."""

    def __init__(self, totals: Totals, register: Register, now_us: int | None,
                 capacity_day: date | None = None, terms: DecisionTerms = DEFAULT_DECISION_TERMS,
                 outlook_days: int = DEFAULT_OUTLOOK_DAYS) -> None:
        self.totals = totals
        self.register = register
        self.now_us = now_us
        self.capacity_day = capacity_day if capacity_day is not None or now_us is None else local_day(now_us)
        self.terms = terms
        self.outlook_days = outlook_days  # CAPMON_OUTLOOK_DAYS
        self._other_days: dict[date, Figures] = {}

    def on_day(self, day: date) -> Figures:
        """The same figures with capacity read for `day` (this one when it is already that day)."""
        if day == self.capacity_day:
            return self
        if day not in self._other_days:
            self._other_days = {day: Figures(self.totals, self.register, self.now_us, day, self.terms,
                                                self.outlook_days)}  # keep one
        return self._other_days[day]

    @cached_property
    def occupancy(self) -> Occupancy:
        return Occupancy(self.totals, self.register, self.capacity_day)

    @cached_property
    def year_to_date(self) -> YearToDate:
        return year_to_date(self.totals, self.register, self.now_us)

    @cached_property
    def rolling(self) -> Rolling:
        return rolling_windows(self.totals, self.now_us, self.daily_mpp_inflow)

    @cached_property
    def inflow(self) -> Inflow:
        return compose_inflow(self.now_us, self.year_to_date, self.rolling)

    @cached_property
    def _net_window(self) -> MoveWindow | None:
        return net_window(self.totals, self.now_us)

    @cached_property
    def net_national(self) -> float:
        """Moves into reception minus moves out of it per day over the net inflow window."""
        window = self._net_window
        return window.national / NET_INFLOW_WINDOW_DAYS if window is not None else 0.0

    @cached_property
    def moves_out_national(self) -> float:
        """Moves out of reception (check-outs of someone at a location) per day over the window."""
        window = self._net_window
        return window.out / NET_INFLOW_WINDOW_DAYS if window is not None else 0.0

    @cached_property
    def _scoped_net(self) -> ScopedNet:
        return scoped_net(self._net_window, self.register)

    @property
    def net_provinces(self) -> dict[str, float]:
        """Moves into minus moves out of each province per day over the window."""
        return self._scoped_net.provinces

    @property
    def net_transfer(self) -> float:
        """Moves into minus moves out of the transfer network's locations per day over the window."""
        return self._scoped_net.transfer

    @cached_property
    def check_outs_by_location(self) -> Counter[str]:
        """Check-out events per location over the last NET_INFLOW_WINDOW_DAYS days (the capacity need)."""
        return check_outs_by_location(self.totals, self.now_us)

    @cached_property
    def days_until_full_national(self) -> float | None:
        """None: headroom is not shrinking ("never")."""
        return days_until_full(self.occupancy.national.headroom, self.net_national)

    @cached_property
    def days_until_full_provinces(self) -> dict[str, float | None]:
        return {p: days_until_full(a.headroom, self.net_provinces.get(p, 0.0))
                for p, a in self.occupancy.provinces.items()}

    @cached_property
    def transfer_days_until_full(self) -> float | None:
        """Transfer headroom / the transfer network's net inflow, at today's capacity (the outlook adds the
        register's dates); 0 when the network is full, None when it is not filling."""
        return days_until_full(self.occupancy.transfer.headroom, self.net_transfer)

    @cached_property
    def registrations_by_type(self) -> dict[str, int]:
        """Every registration counted, by application type (all time)."""
        counts: Counter[str] = Counter()
        for (_day, app_type, _amv), n in self.totals.inflow.items():
            counts[app_type] += n
        return dict(sorted(counts.items()))

    @cached_property
    def decisions_by_outcome(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for (outcome, _nationality), n in self.totals.decisions.items():
            counts[outcome] += n
        return dict(sorted(counts.items()))

    @cached_property
    def cells(self) -> Release:
        """The publishable cells by nationality and outcome (small cells withheld: streams/state/cells.py)."""
        return release(self.totals.decisions, self.totals.first_instance)

    @cached_property
    def decisions_by_nationality(self) -> dict[tuple[str, str], int]:
        """(outcome, nationality group) -> all decisions, published cells only (small ones folded into `other`)."""
        return self.cells.decisions

    @cached_property
    def first_instance_by_nationality(self) -> dict[tuple[str, str], int]:
        """(outcome, nationality group) -> first-instance asylum decisions (the letter's grant rate counts only
        these: not nareis or resettlement), published cells only."""
        return self.cells.first_instance

    @cached_property
    def first_instance_by_outcome(self) -> dict[str, int]:
        """National first-instance decisions per outcome (a national figure: no nationality, nothing withheld)."""
        counts: Counter[str] = Counter()
        for (outcome, _nationality), n in self.totals.first_instance.items():
            counts[outcome] += n
        return dict(sorted(counts.items()))

    @cached_property
    def grant_rates(self) -> GrantRates:
        """Of first-instance asylum decisions: granted / (granted + rejected), and with Dublin claims counted
        as decisions too: granted / (granted + rejected + dublin); overall (national, exact) and per nationality
        group whose cells are all published (a rate of withheld cells would give them away)."""
        cells = self.cells
        by_group = {}
        for group in sorted(cells.groups):
            rate = _rates(Counter({o: n for (o, g), n in cells.first_instance.items() if g == group}))
            if cells.complete(group) and rate.decisions:
                by_group[group] = rate
        return GrantRates(_rates(Counter(self.first_instance_by_outcome)), by_group)

    @cached_property
    def grant_rate(self) -> dict[str, float]:
        """granted / (granted + rejected) of first-instance decisions per nationality group."""
        return {group: r.without_dublin for group, r in self.grant_rates.by_nationality.items()
                if r.without_dublin is not None}

    @cached_property
    def outflow(self) -> dict[str, dict[str, int]]:
        """Half year -> check-out reason -> persons."""
        out: dict[str, dict[str, int]] = {}
        for (half, reason), n in sorted(self.totals.outflow.items()):
            out.setdefault(half, {})[reason] = n
        return out

    @property
    def current_half_year(self) -> str | None:
        return half_year(from_micros(self.now_us).date().isoformat()) if self.now_us is not None else None

    @cached_property
    def capacity_need(self) -> CapacityNeed | None:
        """Beds needed on 1 January after now's year, per MPP scenario (see `capacity_need`)."""
        outs_per_day = sum(self.check_outs_by_location.values()) / CHECKOUT_DAYS
        return capacity_need(self.totals, self.register, self.now_us, self.occupancy.national,
                             self.year_to_date.ytd, outs_per_day)

    @cached_property
    def backlog(self) -> Backlog:
        """Persons awaiting an IND decision by waiting band, how many wait past six months, and how many past
        the decision term that applies to them."""
        return ind_backlog(self.totals, self.now_us, self.terms)

    @cached_property
    def daily_mpp_inflow(self) -> dict[str, int]:
        """MPP inflow per day for the last DAILY_DAYS days ending on now's day (ISO day -> registrations)."""
        return mpp_inflow_per_day(self.totals, last_days(self.now_us, DAILY_DAYS)) if self.now_us is not None else {}

    @cached_property
    def curve(self) -> InflowCurve | None:
        """The status page's chart: cumulative inflow through the year against the MPP band."""
        return inflow_curve(self.totals, self.register, self.now_us)

    @cached_property
    def outlook(self) -> Outlook | None:
        """The coming `outlook_days` days per scenario (streams/state/outlook.py) from `capacity_day` (the
        evaluation time's day for alerts); None before any event."""
        if self.now_us is None or self.capacity_day is None:
            return None
        occ = self.occupancy
        share = bed_share(self.totals, from_micros(self.now_us).date())
        inputs = OutlookInputs(self.capacity_day, self.outlook_days, occ.national.occupancy, occ.transfer.occupancy,
                               occ.transfer.headroom, 1.0 if share is None else share, self.moves_out_national,
                               self.net_national, self.net_transfer)
        return outlook(inputs, self.register)


@dataclass(frozen=True)
class Rate:
    decisions: int  # first-instance decisions of every outcome
    without_dublin: float | None  # granted / (granted + rejected)
    with_dublin: float | None  # granted / (granted + rejected + dublin)


@dataclass(frozen=True)
class GrantRates:
    overall: Rate
    by_nationality: dict[str, Rate]


def _rates(outcomes: Counter[str]) -> Rate:
    granted, rejected, dublin = outcomes["granted"], outcomes["rejected"], outcomes["dublin"]
    return Rate(sum(outcomes.values()),
                granted / (granted + rejected) if granted + rejected else None,
                granted / (granted + rejected + dublin) if granted + rejected + dublin else None)


BED_SHARE_DAYS = 90  # new applicants whose first registration fell this many days before now give the bed share
CHECKOUT_DAYS = NET_INFLOW_WINDOW_DAYS  # check-outs per day are averaged over the net inflow's window
PLANNING_NORM = 0.96  # COA plans at 96 % occupancy: shown beside the need, not in it


@dataclass(frozen=True)
class CapacityNeed:
    target: date  # T: 1 January after now's year
    days_until_target: int
    bed_share: float | None  # of the persons first registered in the last 90 days, the share with a check-in
    checkouts_per_day: float
    forecast_id: str
    need: dict[str, float]  # scenario -> beds needed on T
    short: dict[str, float]  # scenario -> need - capacity now (the register knows no future openings)
    need_at_norm: dict[str, float]  # scenario -> need / PLANNING_NORM: the beds to have for 96 % occupancy


def bed_share(totals: Totals, today: date) -> float | None:
    """Of the persons whose first registration fell in the BED_SHARE_DAYS days before `today`, the share with a
    check-in (None when there are none): how much of the inflow needs a bed (the capacity need, the outlook)."""
    with_bed_keys, without_keys = _bed_share_keys(today)  # a lookup per day: alert evaluation reads it often
    get = totals.arrivals.get
    with_bed = sum(map(get, with_bed_keys, repeat(0, BED_SHARE_DAYS)))
    without = sum(map(get, without_keys, repeat(0, BED_SHARE_DAYS)))
    return with_bed / (with_bed + without) if with_bed + without else None


@lru_cache(maxsize=8)
def _bed_share_keys(today: date) -> tuple[tuple[tuple[str, bool], ...], tuple[tuple[str, bool], ...]]:
    """The arrivals' keys (day, checked in) of the BED_SHARE_DAYS days ending on `today`, with and without."""
    days = [(today - timedelta(days=back)).isoformat() for back in range(BED_SHARE_DAYS)]
    return tuple((day, True) for day in days), tuple((day, False) for day in days)


def capacity_need(totals: Totals, register: Register, now_us: int | None, national: Area,
                  inflow_ytd: int, outs: float) -> CapacityNeed | None:
    """need(scenario) = occupancy now + max(0, scenario's annual inflow − MPP inflow year to date) × bed share
    − check-outs per day (`outs`: all reasons, last 28 days) × days until T. None without a forecast for now's
    year."""
    if now_us is None:
        return None
    today = from_micros(now_us).date()
    entry = register.forecasts.get(today.year)
    if entry is None:
        return None
    forecast = entry[1]
    target = date(today.year + 1, 1, 1)
    days = (target - today).days
    share = bed_share(totals, today)
    need, short, at_norm = {}, {}, {}
    for scenario in ("min", "medio", "max"):
        remaining = max(0, getattr(forecast.scenarios, scenario) - inflow_ytd)
        need[scenario] = national.occupancy + remaining * (share if share is not None else 1.0) - outs * days
        short[scenario] = need[scenario] - national.capacity
        at_norm[scenario] = need[scenario] / PLANNING_NORM
    return CapacityNeed(target, days, share, outs, forecast.forecast_id, need, short, at_norm)


# Waiting bands of the IND backlog (CONTRACT.md section 3): name -> first waiting day of the band.
BACKLOG_BANDS = (("lt_1m", 0), ("1m_3m", 31), ("3m_6m", 92), ("6m_15m", 183), ("ge_15m", 457))
OVERDUE_DAYS = 183  # six months, the normal decision term (CONTRACT.md section 3; the term that applies: terms.py)


@dataclass(frozen=True)
class Backlog:
    total: int
    bands: dict[str, int]  # every band, in order
    overdue: int  # waiting six months or more
    past_term: int  # waiting at least the decision term of their registration's day (streams/state/terms.py)


def ind_backlog(totals: Totals, now_us: int | None, terms: DecisionTerms = DEFAULT_DECISION_TERMS) -> Backlog:
    """Waiting days = now's calendar day - the registration's calendar day (Europe/Amsterdam); the bands, overdue
    and past term move with now even when no event arrives for a partition (they are counted from the persons
    awaiting per registration day, not kept per person, so they are exact whenever those totals are)."""
    bands = dict.fromkeys((name for name, _ in BACKLOG_BANDS), 0)
    overdue = past = 0
    if now_us is not None:
        today = from_micros(now_us).date().toordinal()
        awaiting = totals.awaiting
        days, ordinals = _days_in_order(tuple(awaiting))
        count = awaiting.__getitem__
        # the days by date, oldest first, cut where the waiting reaches each band's first day (longest band
        # first); a registration dated after now's day waits in the first band, the last slice
        cuts = [0, *(bisect_right(ordinals, today - first) for _, first in reversed(BACKLOG_BANDS[1:])), len(days)]
        for (name, _), lower, upper in zip(reversed(BACKLOG_BANDS), cuts, cuts[1:], strict=False):
            bands[name] = sum(map(count, days[lower:upper]))
        overdue = sum(map(count, days[:bisect_right(ordinals, today - OVERDUE_DAYS)]))
        # past term: per stretch of registration days with one term, the days at least that term before today
        for first, last, term in segments(terms):
            upper = min(last, today - term)
            if upper >= first:
                past += sum(map(count, days[bisect_left(ordinals, first):bisect_right(ordinals, upper)]))
    return Backlog(sum(bands.values()), bands, overdue, past)


@lru_cache(maxsize=64)
def _days_in_order(days: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """The registration days by date, with their day numbers: sorted once per set of days (a new day comes once a
    day), so a read of the backlog sums its bands in a few slices, not day by day (the backtest and the live
    evaluator read it at every 5-minute grid point)."""
    ordered = sorted(days, key=_ordinal)
    return ordered, [_ordinal(day) for day in ordered]


@cache
def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()

