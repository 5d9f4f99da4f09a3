"""Prometheus metrics: the worker's own counters, and a collector that reads the figures at scrape time.

The collector never copies state into gauges per event; it computes the figures from the view when
Prometheus scrapes. Each registry is passed in, so tests use a fresh `CollectorRegistry()`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .view import FiguresView


class WorkerMetrics:
    """Counters of what this worker processed (labels: topic without prefix, result)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.events = PromCounter("capmon_events", "Input events by topic and result (accepted, duplicate, invalid)",
                                  ["topic", "result"], registry=self.registry)
        self.dead_letters = PromCounter("capmon_dead_letters", "Invalid events sent to dead-letters", ["topic"],
                                        registry=self.registry)
        self.batch_seconds = Histogram("capmon_batch_processing_seconds", "Time to process one batch of events",
                                       buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                                       registry=self.registry)

    def observe_batch(self, counts: Counter[tuple[str, str]], size: int, seconds: float) -> None:
        for (topic, result), n in counts.items():
            self.events.labels(topic, result).inc(n)
            if result == "invalid":
                self.dead_letters.labels(topic).inc(n)
        self.batch_seconds.observe(seconds)


class FiguresCollector(Collector):
    """The contract's figures (CONTRACT.md section 4), computed from the view at scrape time."""

    def __init__(self, view: FiguresView, is_reporter: object = lambda: True) -> None:
        self.view = view
        self.is_reporter = is_reporter

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        if not callable(self.is_reporter) or not self.is_reporter():
            return
        occ = self.view.occupancy()
        for name, attr in (("occupancy", "occupancy"), ("capacity", "capacity"), ("headroom", "headroom")):
            yield GaugeMetricFamily(f"capmon_national_{name}", f"National {name} (persons / beds)",
                                    value=getattr(occ.national, attr))
            prov = GaugeMetricFamily(f"capmon_province_{name}", f"{name} per province", labels=["province"])
            for province, area in occ.provinces.items():
                prov.add_metric([province], getattr(area, attr))
            yield prov
            loc = GaugeMetricFamily(f"capmon_location_{name}", f"{name} per location",
                                    labels=["location_id", "province", "location_type"])
            for location_id, figures in occ.locations.items():
                loc.add_metric([location_id, figures.province, figures.location_type], getattr(figures, attr))
            yield loc
        yield GaugeMetricFamily("capmon_permit_holders_in_reception", "Persons with a permit still in reception",
                                value=occ.national.permit_holders)
        flow = self.view.inflow()
        yield GaugeMetricFamily("capmon_inflow_ytd", "MPP inflow year to date (registrations)", value=flow.ytd)
        rolling = GaugeMetricFamily("capmon_inflow_rolling", "MPP inflow over the last days", labels=["window"])
        for window, n in flow.rolling.items():
            rolling.add_metric([window], n)
        yield rolling
        expected = GaugeMetricFamily("capmon_mpp_expected_ytd", "MPP expected inflow year to date", labels=["scenario"])
        deviation = GaugeMetricFamily("capmon_mpp_deviation_ratio", "MPP inflow / expected - 1", labels=["scenario"])
        for scenario, value in flow.expected_ytd.items():
            expected.add_metric([scenario], value)
            if flow.deviation.get(scenario) is not None:
                deviation.add_metric([scenario], flow.deviation[scenario])
        yield expected
        yield deviation
        totals = self.view.totals
        regs = CounterMetricFamily("capmon_registrations", "Registrations by application type",
                                   labels=["application_type"])
        by_type: Counter[str] = Counter()
        for (_day, app_type, _amv), n in totals.inflow.items():
            by_type[app_type] += n
        for app_type, n in sorted(by_type.items()):
            regs.add_metric([app_type], n)
        yield regs
        decisions = CounterMetricFamily("capmon_decisions", "IND decisions by outcome", labels=["outcome"])
        by_outcome: Counter[str] = Counter()
        for (outcome, _nat), n in totals.decisions.items():
            by_outcome[outcome] += n
        for outcome, n in sorted(by_outcome.items()):
            decisions.add_metric([outcome], n)
        yield decisions
        active = GaugeMetricFamily("capmon_alert_active", "1 while the alert fires, 0 otherwise",
                                   labels=["rule", "scope", "severity"])
        for rec in self.view.alerts.values():
            t = rec["transition"]
            active.add_metric([t["rule"], t["scope"], t["severity"]], 1.0 if rec["state"]["status"] == "firing" else 0)
        yield active
