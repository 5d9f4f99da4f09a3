"""What the read side shows, in one object: the routes (readout/web.py) and `/metrics` get this, not the worker.

It reads only the read models every worker keeps (the figures view, the alert log), the figures reader's
progress, the broker probe and two questions the composition root answers about the Faust consumer. Nothing
per person and nothing of the stream library reaches it, so a route can only ever show what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from alerts.log import AlertLog
from alerts.rules import Rule
from readout.alerts import alerts_json
from readout.collectors import Contact
from readout.outlook import EverySecond, outlook_json
from readout.reader import TopicReader
from readout.status_page import Thresholds
from readout.web import inflow_json, occupancy_json, status_html
from streams.state.view import FiguresView


@dataclass(frozen=True)
class Consumer:
    """The two things the read side asks of this worker's input consumer (for /health)."""

    consuming: Callable[[], bool]
    assigned_partitions: Callable[[], int]


class ReadOut:
    """The read-outs of CONTRACT.md section 5 (readout/web.py's `ReadModel`)."""

    def __init__(self, view: FiguresView, alert_log: AlertLog, rules: Sequence[Rule], reader: TopicReader,
                 contact: Callable[[], Contact], clock: Callable[[], float], consumer: Consumer,
                 registry: CollectorRegistry, taakstelling: Mapping[str, int],
                 dashboard_url: str | None = None, outlook: EverySecond | None = None) -> None:
        self.view, self.alert_log, self.rules, self.reader = view, alert_log, list(rules), reader
        self.contact, self.clock, self.consumer, self.registry = contact, clock, consumer, registry
        self.taakstelling, self.dashboard_url = taakstelling, dashboard_url
        self.thresholds = Thresholds.from_rules(self.rules)
        self.transfer_thresholds = Thresholds.from_rules(self.rules, "transfer_headroom")
        self.every_second = outlook or EverySecond(view.figures)  # shared with /metrics by the worker

    def occupancy(self) -> dict[str, Any]:
        return occupancy_json(self.view.figures())

    def inflow(self) -> dict[str, Any]:
        return inflow_json(self.view.figures(), self.taakstelling)

    def alerts(self) -> dict[str, Any]:
        return alerts_json(self.alert_log, self.view, self.rules)

    def outlook(self) -> dict[str, Any]:
        return outlook_json(self.every_second.reading())

    def status_page(self) -> str:
        contact = self.contact()
        warning = None if contact.reachable else (
            f"Kafka unreachable for {contact.down_for(self.clock()):.0f} s: these figures are frozen and no "
            "alert can fire until it is back")
        return status_html(self.view.figures(), self.alerts(), self.thresholds, self.reader.caught_up,
                           self.taakstelling, self.dashboard_url, self.transfer_thresholds, warning,
                           self.every_second.reading())

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while it consumes: Faust's consumer runs, Kafka answers, and the figures view is whole."""
        consuming = self.consumer.consuming()
        contact = self.contact()
        status = {"consuming": consuming, "kafka_reachable": contact.reachable,
                  "kafka_unreachable_for_s": round(contact.down_for(self.clock()), 1),
                  "figures_view_caught_up": self.reader.caught_up, "figures_reader_running": self.reader.reading,
                  "assigned_partitions": self.consumer.assigned_partitions()}
        return consuming and contact.reachable and self.reader.caught_up and self.reader.reading, status

    def whole(self) -> bool:
        return self.reader.caught_up

    def metrics_text(self) -> bytes:
        return generate_latest(self.registry)
