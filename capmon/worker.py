"""One worker process, wired: the only place that puts the stream side and the alert side together.

Start-up order (what `build` sets up; Faust starts it):
1. The figures view and the alert log are empty read models; the Faust `Pipeline` declares topics, the person
   table and the agents (streams/runtime/pipeline.py has its own start-up order).
2. The figures reader follows the figures and alerts topics from their beginning into those read models, on
   every worker. The HTTP views and `/metrics` read only them.
3. Once the reader has caught up, the group's leader exports the figures and runs the alert service (a timer
   checks leadership every ALERT_INTERVAL_S); new figures wake the service at once.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import faust

from alerts.delivery import Backoff, Dispatcher
from alerts.leadership import AlertLeadership
from alerts.log import AlertLog
from alerts.receivers import build_receivers
from alerts.rules import Rule
from alerts.service import AlertService
from readout.collectors import AlertsCollector, ContactCollector, FiguresCollector, HealthCollector, RetentionCollector
from readout.login import LoginGate
from readout.outlook import EverySecond
from readout.read_model import Consumer, ReadOut
from readout.reader import TopicReader
from readout.users import WebUsers
from readout.web import add_routes
from streams.config import Settings
from streams.runtime.broker_contact import BrokerProbe
from streams.runtime.kafka_io import aiokafka_options
from streams.runtime.metrics import WorkerMetrics
from streams.runtime.pipeline import Pipeline
from streams.state.view import FiguresView

ALERT_INTERVAL_S = 0.5


class WorkerParts:
    """The parts of one capmon worker process, wired: the pipeline, its read models, alert leadership, and the
    read side (readout/) it serves. `app` is what runs them (streams/runtime/runner.py)."""

    def __init__(self, settings: Settings, rules: list[Rule], layout: dict[str, int],
                 users: WebUsers | None = None, event_key: bytes | None = None,
                 topics_checked: Mapping[str, bool] | None = None) -> None:
        self.settings = settings
        self.rules = rules
        self.view = FiguresView(settings.decision_terms, settings.outlook_days)
        self.alert_log = AlertLog()
        self.metrics = WorkerMetrics()
        self.metrics.topics_checked(topics_checked or {})
        kafka = aiokafka_options(settings)  # one TLS context for the worker's own clients
        self.pipeline = Pipeline(settings, layout, self.view, self.metrics, lambda: self.reader.caught_up,
                                 kafka, event_key)
        topics = self.pipeline.topics
        self.reader = TopicReader(
            kafka,
            {self.pipeline.figures_name: self.view.apply, topics.alerts: self.alert_log.apply},
            self.pipeline.partitions_of, on_batch=self._on_figures)
        self.probe = BrokerProbe(kafka)
        self.dispatcher = Dispatcher(build_receivers(settings), self.metrics.registry,
                                     Backoff(timeout_s=settings.alert_delivery_timeout_s))
        self.service = AlertService(rules, self.view, self.alert_log, self.dispatcher, self._produce_alert, topics,
                                    settings.partitions, resend_s=settings.alertmanager_resend_s) if rules else None
        self.leadership = AlertLeadership(self.service, self.dispatcher) if self.service else None
        registry = self.metrics.registry
        self.outlook = EverySecond(self.view.figures)  # every read-out's outlook, at most once a second
        registry.register(FiguresCollector(self.view, self.reports_figures, settings.taakstelling, self.outlook))
        registry.register(AlertsCollector(self.alert_log, self.reports_figures))
        registry.register(HealthCollector(self.view, self.pipeline.health.consumer_lag, lambda: self.reader.caught_up,
                                          self.reports_figures, persons=self.pipeline.health.persons_held,
                                          skipped=self._skipped_records))
        registry.register(ContactCollector(self.probe.contact, self.probe.clock))
        registry.register(RetentionCollector(self.pipeline.health.oldest_person_age_s))
        app = self.pipeline.app
        app.task(self.reader.run)
        app.task(self.probe.run)
        app.timer(ALERT_INTERVAL_S)(self._lead)
        health = self.pipeline.health
        self.read_out = ReadOut(self.view, self.alert_log, rules, self.reader, lambda: self.probe.contact,
                                self.probe.clock, Consumer(health.consuming, health.assigned_partitions),
                                registry, settings.taakstelling, settings.dashboard_url, self.outlook)
        add_routes(app, self.read_out, LoginGate(users) if users is not None else None)

    @property
    def app(self) -> faust.App:
        return self.pipeline.app

    def reports_figures(self) -> bool:
        """The one worker that exports the figures: the group's leader, once its view has caught up."""
        return self.reader.caught_up and self.pipeline.health.is_leader()

    async def _lead(self) -> None:
        if self.leadership is not None:
            await self.leadership.tick(self.pipeline.health.is_leader(), self.reader.caught_up)

    def _skipped_records(self) -> dict[str, int]:
        """Per own topic (no prefix): records its reader refused, and records that failed the reader itself."""
        prefix, figures, alerts = self.pipeline.topics.prefix, self.pipeline.figures_name, self.pipeline.topics.alerts
        return {figures.removeprefix(prefix): self.view.bad_records + self.reader.skipped[figures],
                alerts.removeprefix(prefix): self.alert_log.bad_records + self.reader.skipped[alerts]}

    def _on_figures(self) -> None:
        if self.service is not None:
            self.service.wake()

    async def _produce_alert(self, key: bytes, value: bytes) -> None:
        await self.pipeline.publisher.send(self.pipeline.topics.alerts, key, value)


def run_worker(settings: Settings, loglevel: str, rules: list[Rule], layout: dict[str, int],
               users: WebUsers | None = None, event_key: bytes | None = None,
               topics_checked: Mapping[str, bool] | None = None) -> int:
    from streams.runtime.runner import run

    worker = WorkerParts(settings, rules, layout, users, event_key, topics_checked)
    print(f"capmon worker: web on http://{settings.web_host}:{settings.web_port}/ "
          f"(/metrics, /health, /api/occupancy, /api/inflow, /api/alerts, /api/outlook); "
          f"Kafka {settings.kafka_bootstrap}, {settings.partitions} partitions", file=sys.stderr, flush=True)
    return run(worker.app, loglevel)
