"""The Faust app of a worker, built in one factory with every setting capmon relies on (and why)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import faust

from streams.config import Settings
from streams.contract.topics import PUBLISH_MAX_BYTES, Topics
from streams.runtime.faust_adapter import keep_fetched_changelog, mount_no_faust_pages
from streams.runtime.kafka_io import faust_credentials
from streams.runtime.state_dir import topic_state_dir


class StoppingApp(faust.App):
    """Faust's app that awaits `before_stop` when it starts to stop, before its own stop sequence.

    Why: Faust's `on_stop` first closes the tables, then leaves the consumer group (another worker takes the
    partitions over) and stops the producer, and only after all that cancels the app's tasks. A task that reads
    and writes state (capmon's person reader) must be stopped before any of it, or it goes on writing the
    changelog of partitions that another worker has already recovered."""

    before_stop: Callable[[], Awaitable[None]] | None = None

    async def on_stop(self) -> None:
        if self.before_stop is not None:
            await self.before_stop()
        await super().on_stop()


def faust_app(settings: Settings, topics: Topics) -> StoppingApp:
    """An app with no agents yet and none of Faust's own web pages; nothing touches Kafka until it starts."""
    s = settings
    keep_fetched_changelog()  # standby copies of the person table must not miss changelog records
    app = StoppingApp(
        topics.app_id,
        broker=[f"kafka://{server}" for server in s.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(s),
        store="rocksdb://",
        datadir=str(topic_state_dir(s.state_dir, s.topic_prefix)),  # claimed by `capmon worker` first
        web_host=s.web_host,
        web_bind=s.web_host,  # listen there only: Faust's default binds every address (0.0.0.0)
        web_port=s.web_port,
        web_enabled=True,
        # Only the contract's routes (CONTRACT.md section 5): Faust's own pages would show table contents
        # (/table/people/<id>/ is a person's record), routing, graphs and statistics.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        topic_partitions=s.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
        producer_max_request_size=PUBLISH_MAX_BYTES,  # what the topics capmon creates accept
        broker_commit_every=10_000,
        # A worker that dies (kill -9) holds its partitions until the session times out: keep that short so
        # a restart or the surviving workers take over within seconds.
        broker_session_timeout=s.session_timeout_s,
        broker_heartbeat_interval=max(1.0, s.session_timeout_s / 4),
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        # Each worker keeps a copy of the person table of partitions it does not own, read from the changelog
        # as it is written: a worker taking a dead one's partitions over then reads only the last seconds of
        # the changelog, not the whole history (fail-over time independent of history).
        table_standby_replicas=s.standby_replicas,
        worker_redirect_stdouts=False,
        logging_config=None,
    )
    # The flags above leave Faust one page of its own ("/" answering {"status": "OK"}, shadowed by the status
    # page): mount none of its blueprints, so the routes are exactly the ones capmon adds (a test lists them).
    mount_no_faust_pages(app)
    return app
