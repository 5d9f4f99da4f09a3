"""The one place where the Faust app is wired: topics, the person table, agents, the figures view, web.

Start-up order (Faust runs it; the comments say why it matters):
1. `create_app` declares topics and the changelog-backed person table; nothing touches Kafka yet.
2. The worker joins the consumer group; Faust recovers the person table for the assigned partitions.
3. Agents start. Each partition's in-memory state is built from the recovered table the first time one of
   its events arrives (`_partition`), so it never sees a half-recovered table.
4. The figures reader (a plain consumer of the one-partition figures topic) runs on every worker from the
   beginning of that topic; the HTTP views read only from it, never from agent state.
5. A timer publishes the summaries of partitions that changed, at most every PUBLISH_INTERVAL_S.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from alerts.delivery import Dispatcher
from alerts.receivers import Alertmanager, Links, LogReceiver, PagerDuty, Receiver, Slack
from alerts.rules import Rule
from alerts.service import AlertService

from .config import Settings
from .kafka_io import aiokafka_options, faust_credentials, figures_topic_name
from .metrics import WorkerMetrics
from .person_table import PersonTable
from .processing import BatchResult, Incoming, PeopleProcessor, RegisterProcessor
from .topics import Topics
from .view import FiguresView, partition_key, register_key
from .web import register_views

log = logging.getLogger("capmon.worker")

BATCH_MAX = 2_000
BATCH_WITHIN_S = 0.1
PUBLISH_INTERVAL_S = 0.5
ALERT_INTERVAL_S = 0.5


class Worker:
    """Holds the processors, the view and the Faust objects; agents and timers call its methods."""

    def __init__(self, settings: Settings, rules: list[Rule] | None = None,
                 layout: dict[str, int] | None = None) -> None:
        self.settings = settings
        self.rules = rules or []
        self.layout = layout or {}  # partitions per topic, read by `capmon worker` before Faust starts
        self.topics = Topics(settings.topic_prefix)
        self.people = PeopleProcessor(self.topics)
        self.register = RegisterProcessor(self.topics)
        self.view = FiguresView()
        self.metrics = WorkerMetrics()
        self.dirty: set[int] = set()
        self.view_caught_up = False
        self.dispatcher = Dispatcher(build_receivers(settings), self.metrics.registry)
        self.alert_service = (
            AlertService(rules, self.view, self.dispatcher, self._produce_alert, aiokafka_options(settings),
                         self.topics, self.partitions_of, resend_s=settings.alertmanager_resend_s)
            if rules else None)
        self._dispatcher_started = False
        self._alert_task: asyncio.Task | None = None
        self.app = self._create_app()

    # --- wiring -------------------------------------------------------------------------------------

    def _create_app(self) -> faust.App:
        s, t = self.settings, self.topics
        app = faust.App(
            t.app_id,
            broker=[f"kafka://{server}" for server in s.kafka_bootstrap.split(",")],
            broker_credentials=faust_credentials(s),
            store="rocksdb://",
            datadir=str(s.state_dir),
            web_host=s.web_host,
            web_port=s.web_port,
            web_enabled=True,
            topic_partitions=s.partitions,
            topic_replication_factor=1,
            consumer_auto_offset_reset="earliest",
            producer_linger_ms=5,
            broker_commit_every=10_000,
            # A worker that dies (kill -9) holds its partitions until the session times out: keep that short so
            # a restart or the surviving workers take over within seconds.
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=max(1.0, s.session_timeout_s / 4),
            broker_commit_interval=1.0,
            stream_wait_empty=False,
            table_standby_replicas=0,
            worker_redirect_stdouts=False,
            logging_config=None,
        )
        raw = {"key_serializer": "raw", "value_serializer": "raw"}
        self.people_topic = app.topic(t.registrations, t.decisions, t.placements, **raw)
        self.register_topic = app.topic(t.locations, t.forecasts, **raw)
        self.dead_name = t.dead_letters
        self.figures_name = figures_topic_name(t)  # created by `capmon worker` before Faust starts
        self.person_table = PersonTable(app, s.partitions)

        app.agent(self.people_topic, name="people")(self._people_agent)
        app.agent(self.register_topic, name="register")(self._register_agent)
        app.timer(PUBLISH_INTERVAL_S)(self._publish_summaries)
        app.timer(ALERT_INTERVAL_S)(self._alert_tick)
        app.task(self._read_figures)
        app.on_partitions_revoked.connect(self._on_revoked)
        register_views(app, self)
        return app

    # --- agents -------------------------------------------------------------------------------------

    async def _people_agent(self, stream: faust.StreamT) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            batch = [_incoming(e) for e in events]
            for partition in {m.partition for m in batch}:
                self._partition(partition)
            started = time.perf_counter()
            result = self.people.process(batch)
            await self._write_people(result)
            await self._send_dead_letters(result)
            self._count(result, events, started)
            self.dirty.update(m.partition for m in batch)

    async def _register_agent(self, stream: faust.StreamT) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            batch = [_incoming(e) for e in events]
            started = time.perf_counter()
            result = self.register.process(batch)
            for event, raw in result.register:
                await self._produce(self.figures_name, register_key(event), raw)
            await self._send_dead_letters(result)
            self._count(result, events, started)

    def _partition(self, partition: int) -> None:
        """Build a partition's state from the recovered table the first time this worker needs it."""
        if partition in self.people.partitions:
            return
        people, meta = self.person_table.load(partition)
        state = self.people.load(partition, people, meta)
        log.info("partition %d: %d persons recovered", partition, len(state.people))

    async def _produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None,
                       headers: list[tuple[str, bytes]] | None = None) -> None:
        """Hand a message to the producer without waiting for it: Faust flushes the producer before it commits
        the input offsets, so nothing is committed before what it caused is in Kafka (at-least-once)."""
        await self.app.producer.send(topic, key, value, partition, None, headers)

    async def _write_people(self, result: BatchResult) -> None:
        for partition, persons in result.changed.items():
            await self.person_table.write(partition, persons, self.people.partitions[partition].meta())

    async def _send_dead_letters(self, result: BatchResult) -> None:
        for dead in result.dead:
            await self._produce(self.dead_name, dead.source.key, dead.source.value or b"", headers=dead.headers())
        if result.dead:
            first = result.dead[0]
            log.warning("%d invalid events sent to %s; first from %s[%d]@%d: %s", len(result.dead), self.dead_name,
                        first.source.topic, first.source.partition, first.source.offset, first.reason)

    def _count(self, result: BatchResult, events: list[faust.EventT], started: float) -> None:
        oldest = min((e.message.timestamp for e in events), default=None)
        self.metrics.observe_batch(result.counts, time.perf_counter() - started, oldest)

    # --- health (read at scrape time) ---------------------------------------------------------------

    def consumer_lag(self) -> dict[tuple[str, int], int]:
        """Messages in the input partitions this worker owns that it has not read yet, per topic (no prefix)."""
        consumer = self.app.consumer
        inputs = set(self.people_topic.topics) | set(self.register_topic.topics)
        try:
            assigned = consumer.assignment()
        except Exception:  # not started, or between generations: no lag to report
            return {}
        lag: dict[tuple[str, int], int] = {}
        for tp in assigned:
            if tp.topic not in inputs:
                continue
            high = consumer.highwater(tp)
            if high is None:
                continue
            read = consumer._read_offset.get(tp)  # faust keeps no public read position
            position = read + 1 if read is not None else (consumer._committed_offset.get(tp) or 0)
            lag[(tp.topic.removeprefix(self.topics.prefix), tp.partition)] = max(0, high - position)
        return lag

    def reports_figures(self) -> bool:
        """The one worker that exports the figures: the group's leader, once its view has caught up."""
        try:
            return self.view_caught_up and self.app.is_leader()
        except Exception:  # consumer not started yet
            return False

    # --- publishing and reading the figures ---------------------------------------------------------

    async def _publish_summaries(self) -> None:
        dirty, self.dirty = self.dirty, set()
        for partition in sorted(dirty):
            state = self.people.partitions.get(partition)
            if state is not None:
                await self._produce(self.figures_name, partition_key(partition), state.summary())

    async def _on_revoked(self, sender: object, revoked: Iterable[TopicPartition], **kwargs: object) -> None:
        people_topics = set(self.people_topic.topics)
        partitions = {tp.partition for tp in revoked if tp.topic in people_topics}
        for partition in partitions:
            state = self.people.partitions.get(partition)
            if state is not None and partition in self.dirty:  # last word before the new owner takes over
                await self._produce(self.figures_name, partition_key(partition), state.summary())
            self.people.drop(partition)
        self.dirty -= partitions

    async def _read_figures(self) -> None:
        """Read the whole figures and alerts topics into the view, then follow them (every worker, no group)."""
        names = [self.figures_name, self.topics.alerts]
        consumer = AIOKafkaConsumer(**aiokafka_options(self.settings), enable_auto_commit=False,
                                    group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        try:
            tps = [TopicPartition(n, p) for n in names for p in range(self.partitions_of(n))]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5_000)
                for tp, messages in batches.items():
                    apply = self.view.apply if tp.topic == self.figures_name else self.view.apply_alert
                    for message in messages:
                        apply(message.key, message.value)
                if not self.view_caught_up and all([await consumer.position(tp) >= end[tp] for tp in tps]):
                    self.view_caught_up = True
                    log.info("figures view caught up (%d messages, %d alerts)", self.view.messages,
                             len(self.view.alerts))
        finally:
            await consumer.stop()

    def partitions_of(self, topic: str) -> int:
        default = 1 if topic == self.figures_name else self.settings.partitions
        return self.layout.get(topic, default)

    # --- alerting (only the leader evaluates; see alerts/service.py) ----------------------------------

    async def _produce_alert(self, key: bytes, value: bytes) -> None:
        await self._produce(self.topics.alerts, key, value)

    async def _alert_tick(self) -> None:
        """Run the alert service while this worker leads; stop it when leadership moves elsewhere."""
        if self.alert_service is None or not self.view_caught_up:
            return
        leading = self.app.is_leader()
        running = self._alert_task is not None and not self._alert_task.done()
        if self._alert_task is not None and self._alert_task.done() and not self._alert_task.cancelled():
            error = self._alert_task.exception()
            if error is not None:
                log.error("alert evaluation stopped: %r; restarting it", error)
        if leading and not running:
            if not self._dispatcher_started:
                await self.dispatcher.start()
                self._dispatcher_started = True
            self._alert_task = asyncio.create_task(self.alert_service.run(), name="alert-evaluation")
        elif not leading and running:
            assert self._alert_task is not None
            self._alert_task.cancel()


def _incoming(event: faust.EventT) -> Incoming:
    m = event.message
    return Incoming(m.topic, m.partition, m.offset, m.key, m.value)


def build_receivers(settings: Settings) -> list[Receiver]:
    """The receivers configured by environment; the log receiver is always there."""
    links = Links(settings.status_url or f"http://{settings.web_host}:{settings.web_port}/", settings.dashboard_url)
    receivers: list[Receiver] = [LogReceiver()]
    if settings.slack_webhook_url is not None:
        receivers.append(Slack(settings.slack_webhook_url.get_secret_value(), links))
    if settings.pagerduty_routing_key is not None:
        receivers.append(PagerDuty(settings.pagerduty_routing_key.get_secret_value(), settings.pagerduty_url, links))
    if settings.alertmanager_url:
        receivers.append(Alertmanager(settings.alertmanager_url, links))
    return receivers


def create_worker(settings: Settings, rules: list[Rule] | None = None,
                  layout: dict[str, int] | None = None) -> Worker:
    return Worker(settings, rules, layout)
