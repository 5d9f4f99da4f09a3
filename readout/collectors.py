"""Prometheus collectors of the read side: the figures, health and contact, read at scrape time.

The figures collector never copies state into gauges per event; it computes the figures from the view when
Prometheus scrapes. Health that only exists at scrape time (consumer lag, age of the newest event) is read
the same way. Label values are bounded: topics, partitions, provinces, locations, the contract's enums and
at most 40 nationalities (`other` for the rest; small cells withheld: streams/state/cells.py). No person id
is ever a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from readout.outlook import EverySecond
from streams.config import DEFAULT_TAAKSTELLING
from streams.state.inflow import Inflow
from streams.state.outlook import HORIZONS, SCENARIOS, Outlook

if TYPE_CHECKING:
    from alerts.log import AlertLog
    from streams.state.readmodel import Figures
    from streams.state.view import FiguresView

Metric = GaugeMetricFamily | CounterMetricFamily


class Contact(Protocol):
    """The broker's reachability as the worker's probe keeps it (streams/runtime/broker_contact.py)."""

    @property
    def reachable(self) -> bool: ...
    @property
    def outages(self) -> int: ...
    def down_seconds(self, now: float) -> float: ...
    def down_for(self, now: float) -> float: ...


class HealthCollector(Collector):
    """Worker health read at scrape time: consumer lag, the newest event's age, view and reporter state."""

    def __init__(self, view: FiguresView, lag: Callable[[], dict[tuple[str, int], int]],
                 view_caught_up: Callable[[], bool], is_reporter: Callable[[], bool],
                 clock: Callable[[], float] = time.time, persons: Callable[[], int] = lambda: 0,
                 skipped: Callable[[], Mapping[str, int]] = dict) -> None:
        self.view, self.lag, self.view_caught_up, self.is_reporter, self.clock, self.persons = (
            view, lag, view_caught_up, is_reporter, clock, persons)
        self.skipped = skipped

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily("capmon_consumer_lag", "Input messages in Kafka not yet read by this worker",
                                labels=["topic", "partition"])
        for (topic, partition), n in sorted(self.lag().items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        now_us = self.view.now_us
        if now_us is not None:
            yield GaugeMetricFamily("capmon_newest_event_timestamp_seconds",
                                    "Event time of the newest event in the figures (the watermark)", value=now_us / 1e6)
            yield GaugeMetricFamily("capmon_newest_event_age_seconds",
                                    "Wall clock minus the event time of the newest event in the figures",
                                    value=self.clock() - now_us / 1e6)
        yield GaugeMetricFamily("capmon_figures_view_caught_up",
                                "1 once this worker has read the whole figures topic", value=int(self.view_caught_up()))
        skipped = CounterMetricFamily("capmon_internal_records_skipped", "Records on capmon's own topics (figures, "
                                      "alerts) that could not be read and were skipped", labels=["topic"])
        for topic, n in sorted(self.skipped().items()):
            skipped.add_metric([topic], n)
        yield skipped
        yield GaugeMetricFamily("capmon_persons_in_state", "Persons whose state this worker holds (a count: what "
                                "its memory grows with)", value=self.persons())
        yield GaugeMetricFamily("capmon_figures_reporter",
                                "1 on the one worker that exports the figures (capmon_national_* etc.)",
                                value=int(self.is_reporter()))


class RetentionCollector(Collector):
    """How long the longest-held person the retention applies to has been held, in event time: above the retention
    (plus the day between expiry sweeps) expiry is held back, e.g. by a topic that went quiet (streams/state/
    retention.py). A duration, never an id; absent while no such person is held."""

    def __init__(self, oldest_age_s: Callable[[], float | None]) -> None:
        self.oldest_age_s = oldest_age_s

    def collect(self) -> Iterator[Metric]:
        age = self.oldest_age_s()
        if age is not None:
            yield GaugeMetricFamily(
                "capmon_person_oldest_event_age_seconds", "Event time from the last event of the longest-held person "
                "out of reception and not awaiting a decision to the newest event of their partition (greatest over "
                "this worker's partitions)", value=age)


class ContactCollector(Collector):
    """Whether the worker reaches Kafka, and the outages so far (streams/runtime/broker_contact.py), at scrape time."""

    def __init__(self, contact: Contact, clock: Callable[[], float] = time.monotonic) -> None:
        self.contact, self.clock = contact, clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        yield GaugeMetricFamily("capmon_kafka_reachable", "1 while the worker's metadata requests reach Kafka",
                                value=int(self.contact.reachable))
        yield CounterMetricFamily("capmon_kafka_outages", "Times Kafka stopped answering this worker",
                                  value=self.contact.outages)
        yield CounterMetricFamily("capmon_kafka_unreachable_seconds", "Seconds this worker could not reach Kafka",
                                  value=self.contact.down_seconds(now))


class FiguresCollector(Collector):
    """The contract's figures (CONTRACT.md section 4) and the dashboards' extras, from the view at scrape time.

    Exported only while `is_reporter()` holds, so with several workers each figure comes from one of them.
    """

    def __init__(self, view: FiguresView, is_reporter: Callable[[], bool] = lambda: True,
                 taakstelling: Mapping[str, int] = DEFAULT_TAAKSTELLING, outlook: EverySecond | None = None) -> None:
        self.view = view
        self.is_reporter = is_reporter
        self.taakstelling = taakstelling
        self.outlook = outlook or EverySecond(view.figures)  # at most once a second (shared with the API)

    def collect(self) -> Iterator[Metric]:
        if not self.is_reporter():
            return
        figures = self.view.figures()
        yield from self._occupancy(figures)
        yield from self._inflow(figures.inflow)
        yield from self._chain(figures)
        yield from self._outlook(self.outlook.reading().outlook)

    def _outlook(self, outlook: Outlook | None) -> Iterator[Metric]:
        """Projected headroom at the horizons within CAPMON_OUTLOOK_DAYS, and when the transfer network is
        full per scenario (absent: not within the horizon)."""
        if outlook is None:
            return
        headroom = GaugeMetricFamily("capmon_outlook_headroom", "Projected headroom (planned capacity by the "
                                     "register's dates - projected occupancy) this many days ahead, per scenario",
                                     labels=["scope", "scenario", "horizon_days"])
        full = GaugeMetricFamily("capmon_outlook_days_until_transfer_full", "Days until the transfer network's "
                                 "projected headroom is <= 0, per scenario (absent: not within the horizon)",
                                 labels=["scenario"])
        for scenario in SCENARIOS:
            for days in HORIZONS:
                for scope in ("national", "transfer"):
                    value = outlook.headroom_at(scope, scenario, days)
                    if value is not None:
                        headroom.add_metric([scope, scenario, str(days)], value)
            until = outlook.scenarios[scenario].days_until_transfer_full
            if until is not None:
                full.add_metric([scenario], until)
        yield headroom
        yield full

    def _occupancy(self, figures: Figures) -> Iterator[Metric]:
        occ = figures.occupancy
        for name in ("occupancy", "capacity", "headroom"):
            yield GaugeMetricFamily(f"capmon_national_{name}", f"National {name} (persons / beds)",
                                    value=getattr(occ.national, name))
            prov = GaugeMetricFamily(f"capmon_province_{name}", f"{name} per province", labels=["province"])
            for province, area in occ.provinces.items():
                prov.add_metric([province], getattr(area, name))
            yield prov
            loc = GaugeMetricFamily(f"capmon_location_{name}", f"{name} per location",
                                    labels=["location_id", "province", "location_type"])
            for location_id, site in occ.locations.items():
                loc.add_metric([location_id, site.province, site.location_type], getattr(site, name))
            yield loc
        yield GaugeMetricFamily("capmon_permit_holders_in_reception", "Persons with a permit still in reception",
                                value=occ.national.permit_holders)
        for name in ("occupancy", "capacity", "headroom"):
            yield GaugeMetricFamily(f"capmon_national_transfer_{name}",
                                    f"Transfer {name}: registered regular, emergency, crisis-emergency and small-scale "
                                    "locations (where people can move on to)", value=getattr(occ.transfer, name))
            types = GaugeMetricFamily(f"capmon_location_type_{name}", f"{name} per location type",
                                      labels=["location_type"])
            for location_type, area in occ.location_types.items():
                types.add_metric([location_type], getattr(area, name))
            yield types
        need = figures.capacity_need
        if need is not None:
            needed = GaugeMetricFamily("capmon_capacity_need", "Beds needed on 1 January after the watermark's year "
                                       "per MPP scenario (no 96 % buffer)", labels=["scenario"])
            short = GaugeMetricFamily("capmon_capacity_short", "Capacity need minus usable beds now, per scenario",
                                      labels=["scenario"])
            for scenario in need.need:
                needed.add_metric([scenario], need.need[scenario])
                short.add_metric([scenario], need.short[scenario])
            yield needed
            yield short
        norms = GaugeMetricFamily("capmon_location_norm", "Agreed maximum occupancy of locations that have one",
                                  labels=["location_id", "province", "location_type"])
        over = GaugeMetricFamily("capmon_location_over_norm", "Occupancy minus norm (locations with a norm)",
                                 labels=["location_id", "province", "location_type"])
        for location_id, site in occ.locations.items():
            if site.norm is not None:
                norms.add_metric([location_id, site.province, site.location_type], site.norm)
                over.add_metric([location_id, site.province, site.location_type], site.over_norm)
        yield norms
        yield over
        yield GaugeMetricFamily("capmon_national_net_inflow_per_day",
                                "Moves into reception minus moves out per day over the last 28 days",
                                value=figures.net_national)
        yield GaugeMetricFamily("capmon_transfer_net_inflow_per_day",
                                "Moves into the transfer network's locations minus moves out of them per day over "
                                "the last 28 days", value=figures.net_transfer)
        if figures.transfer_days_until_full is not None:
            yield GaugeMetricFamily("capmon_transfer_days_until_full",
                                    "Days until transfer headroom is gone at the transfer network's 28-day net inflow "
                                    "(absent: not shrinking)", value=figures.transfer_days_until_full)
        net = GaugeMetricFamily("capmon_province_net_inflow_per_day",
                                "Moves into minus moves out of the province per day (28 days)", labels=["province"])
        days = GaugeMetricFamily("capmon_province_days_until_full",
                                 "Days until the province's headroom is gone (absent: not shrinking)",
                                 labels=["province"])
        for province in occ.provinces:
            net.add_metric([province], figures.net_provinces.get(province, 0.0))
            until = figures.days_until_full_provinces.get(province)
            if until is not None:
                days.add_metric([province], until)
        yield net
        yield days
        if figures.days_until_full_national is not None:
            yield GaugeMetricFamily("capmon_national_days_until_full",
                                    "Days until national headroom is gone at the 28-day net inflow "
                                    "(absent: not shrinking)", value=figures.days_until_full_national)

    def _inflow(self, flow: Inflow) -> Iterator[Metric]:
        yield GaugeMetricFamily("capmon_inflow_ytd", "MPP inflow year to date (registrations)", value=flow.ytd)
        rolling = GaugeMetricFamily("capmon_inflow_rolling", "MPP inflow over the last days", labels=["window"])
        for window, n in flow.rolling.items():
            rolling.add_metric([window], n)
        yield rolling
        by_type = GaugeMetricFamily("capmon_inflow_ytd_by_type", "Registrations year to date by application type",
                                    labels=["application_type"])
        for app_type, n in flow.ytd_by_type.items():
            by_type.add_metric([app_type], n)
        yield by_type
        rolling_type = GaugeMetricFamily("capmon_inflow_rolling_by_type", "Registrations over the last days by type",
                                         labels=["window", "application_type"])
        for window, types in flow.rolling_by_type.items():
            for app_type, n in types.items():
                rolling_type.add_metric([window, app_type], n)
        yield rolling_type
        yield GaugeMetricFamily("capmon_inflow_unaccompanied_minors_ytd",
                                "Registrations of unaccompanied minors (amv) year to date",
                                value=flow.ytd_unaccompanied_minors)
        amv = GaugeMetricFamily("capmon_inflow_unaccompanied_minors_rolling",
                                "Registrations of unaccompanied minors over the last days", labels=["window"])
        for window, n in flow.rolling_unaccompanied_minors.items():
            amv.add_metric([window], n)
        yield amv
        expected = GaugeMetricFamily("capmon_mpp_expected_ytd", "MPP expected inflow year to date", labels=["scenario"])
        deviation = GaugeMetricFamily("capmon_mpp_deviation_ratio", "MPP inflow / expected - 1", labels=["scenario"])
        for scenario, value in flow.expected_ytd.items():
            expected.add_metric([scenario], value)
            if flow.deviation.get(scenario) is not None:
                deviation.add_metric([scenario], flow.deviation[scenario])
        yield expected
        yield deviation
        if flow.now is not None:
            yield GaugeMetricFamily("capmon_watermark_timestamp_seconds",
                                    "Event time the figures are at (the newest event accepted)",
                                    value=flow.now.timestamp())

    def _chain(self, figures: Figures) -> Iterator[Metric]:
        regs = CounterMetricFamily("capmon_registrations", "Registrations by application type",
                                   labels=["application_type"])
        for app_type, n in figures.registrations_by_type.items():
            regs.add_metric([app_type], n)
        yield regs
        decisions = CounterMetricFamily("capmon_decisions", "IND decisions by outcome", labels=["outcome"])
        for outcome, n in figures.decisions_by_outcome.items():
            decisions.add_metric([outcome], n)
        yield decisions
        # By nationality: gauges, not counters: a nationality that reaches the small-cell threshold leaves
        # `other`, which then goes down (a counter that went down would read as a reset to rate()).
        per_nat = GaugeMetricFamily("capmon_decisions_by_nationality",
                                    "IND decisions by outcome and nationality (published cells only: each 0 or at "
                                    "least 10; small ones folded into other)", labels=["outcome", "nationality"])
        for (outcome, nationality), n in figures.decisions_by_nationality.items():
            per_nat.add_metric([outcome, nationality], n)
        yield per_nat
        first = GaugeMetricFamily("capmon_first_instance_decisions",
                                  "First-instance asylum decisions by outcome and nationality (the grant rate's "
                                  "basis; published cells only, as capmon_decisions_by_nationality)",
                                  labels=["outcome", "nationality"])
        for (outcome, nationality), n in figures.first_instance_by_nationality.items():
            first.add_metric([outcome, nationality], n)
        yield first
        national = GaugeMetricFamily("capmon_first_instance_decisions_national",
                                     "First-instance asylum decisions by outcome, nationally (the national grant "
                                     "rate's basis; a gauge: a late registration can change what is first-instance)",
                                     labels=["outcome"])
        for outcome, n in figures.first_instance_by_outcome.items():
            national.add_metric([outcome], n)
        yield national
        if figures.current_half_year is not None:
            outflow = GaugeMetricFamily("capmon_outflow_half_year",
                                        "Check-outs from reception this half year (taakstelling period) by reason",
                                        labels=["reason"])
            for reason, n in figures.outflow.get(figures.current_half_year, {}).items():
                outflow.add_metric([reason], n)
            yield outflow
        target = self.taakstelling.get(figures.current_half_year or "")
        if target is not None:
            yield GaugeMetricFamily("capmon_taakstelling", "Permit holders municipalities must house in the "
                                    "watermark's half year (absent when none is configured for it)", value=target)
        backlog = figures.backlog
        bands = GaugeMetricFamily("capmon_ind_backlog", "Persons awaiting an IND decision by waiting time",
                                  labels=["waiting"])
        for band, n in backlog.bands.items():
            bands.add_metric([band], n)
        yield bands
        yield GaugeMetricFamily("capmon_ind_backlog_overdue",
                                "Persons awaiting an IND decision for 183 days or more (past the six-month term)",
                                value=backlog.overdue)
        yield GaugeMetricFamily("capmon_ind_backlog_past_term",
                                "Persons awaiting an IND decision at least the decision term of their registration "
                                "day (CAPMON_DECISION_TERMS): they may go to court for a decision",
                                value=backlog.past_term)


class AlertsCollector(Collector):
    """`capmon_alert_active{rule,scope,severity}`, exported with the figures by the one reporting worker."""

    def __init__(self, alert_log: AlertLog, is_reporter: Callable[[], bool] = lambda: True) -> None:
        self.alert_log = alert_log
        self.is_reporter = is_reporter

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("capmon_alert_active", "1 while the alert fires, 0 otherwise",
                                labels=["rule", "scope", "severity"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not self.is_reporter():
            return
        active = GaugeMetricFamily("capmon_alert_active", "1 while the alert fires, 0 otherwise",
                                   labels=["rule", "scope", "severity"])
        for rec in self.alert_log.records.values():
            t = rec.transition
            active.add_metric([t.rule, t.scope, t.severity], 1.0 if rec.state.status == "firing" else 0.0)
        yield active
