"""Every Faust private field capmon uses (streams/runtime/faust_adapter.py) still exists with the shape capmon
relies on in the installed faust-streaming. An upgrade that renames or reshapes one fails here, by name."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import faust
import mode
import pytest
from faust.types import TP

from streams.runtime import faust_adapter
from streams.runtime.person_table import FAUST_OFFSET_KEY

VERSION = f"faust-streaming {faust.__version__}"


def has(obj: object, name: str) -> object:
    """`obj.name`, or a failure that says which private field is gone and where capmon uses it."""
    owner = obj.__name__ if isinstance(obj, type) else type(obj).__qualname__
    assert hasattr(obj, name), (f"{VERSION}: {owner}.{name} is gone; capmon uses it in "
                                "streams/runtime/faust_adapter.py: find its replacement there")
    return getattr(obj, name)


@pytest.fixture
def app(tmp_path: Path) -> faust.App:
    """An app that never starts: building its consumer, web driver and tables touches no broker."""
    return faust.App("adapter-test", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=str(tmp_path),
                     web_enabled=True)


@pytest.mark.parametrize("field", ["_committed_offset", "_read_offset"])
def test_the_consumer_keeps_its_committed_and_read_offsets_in_a_mapping_by_topic_partition(app, field):
    offsets = has(app.consumer, field)
    assert isinstance(offsets, MutableMapping), f"{VERSION}: Consumer.{field} is a {type(offsets).__name__} now"
    read = {"_committed_offset": faust_adapter.committed_offset, "_read_offset": faust_adapter.read_offset}[field]
    tp = TP("topic", 3)
    assert read(app.consumer, tp) is None  # unknown until Faust learns it
    offsets[tp] = 41
    assert read(app.consumer, tp) == 41


def test_a_table_partition_store_is_the_mapping_faust_records_its_changelog_offset_in(app):
    table = app.Table("people", partitions=2, key_type=bytes, value_type=bytes, options={"driver": "rocksdict"})
    has(table.data, "_db_for_partition")
    store = faust_adapter.partition_store(table, 1)
    store[b"person"] = b"state"
    assert dict(faust_adapter.partition_store(table, 1).items())[b"person"] == b"state"
    table.data.set_persisted_offset(TP("changelog", 1), 7)
    keys = set(dict(store.items()))
    assert FAUST_OFFSET_KEY in keys, (f"{VERSION}: the store keeps its changelog offset under another key than "
                                      f"{FAUST_OFFSET_KEY!r} (streams/runtime/person_table.py): {sorted(keys)}")
    assert table.data.persisted_offset(TP("changelog", 1)) == 7


def test_faust_own_pages_are_a_list_of_blueprints_that_capmon_empties(app):
    enabled = has(app.web.blueprints, "_enabled")
    assert isinstance(enabled, list) and all(isinstance(e, tuple) and len(e) == 2 for e in enabled), \
        f"{VERSION}: BlueprintManager._enabled is no longer a list of (prefix, blueprint): {enabled!r}"
    assert enabled, "Faust mounts a page of its own by default (the flags capmon sets leave '/')"
    faust_adapter.mount_no_faust_pages(app)
    app.web.blueprints.apply(app.web)
    assert list(app.web.web_app.router.routes()) == []


@pytest.mark.parametrize("handler", ["_on_sigterm", "_on_sigint"])
def test_faust_handles_sigterm_and_sigint_in_the_methods_capmon_hooks(monkeypatch, handler):
    method = has(faust.Worker, handler)
    assert list(inspect.signature(method).parameters) == ["self"], f"{VERSION}: Worker.{handler} takes arguments"
    installs = inspect.getsource(mode.Worker._install_signal_handlers_unix)
    assert f"self.{handler})" in installs, f"{VERSION}: mode's Worker no longer installs {handler} as a handler"
    calls: list[object] = []
    monkeypatch.setattr(faust.Worker, handler, lambda self: calls.append("faust"))

    class Recording(faust_adapter.SignalledWorker):
        def __init__(self) -> None:  # nothing of Faust's set-up: only the handler is under test
            pass

        def stop_signalled(self, exit_code: int) -> None:
            calls.append(exit_code)

    getattr(Recording(), handler)()
    assert calls == [0 if handler == "_on_sigterm" else 130, "faust"]


def test_the_consumer_method_capmon_replaces_is_the_one_it_was_written_from():
    source = inspect.getsource(faust_adapter.original_getmany)
    assert hashlib.sha256(source.encode()).hexdigest() == faust_adapter.GETMANY_SHA256, (
        f"{VERSION}: faust.transport.consumer.Consumer.getmany changed; compare it with "
        "faust_adapter._getmany_keeping_changelog (written from 0.15.3) and update both")


@dataclass
class Fetching:
    """What `_getmany_keeping_changelog` uses of Faust's consumer: one fetch of `records` (the client's position
    after it: past the last of each partition's); the flow stops after `flow_for` records are handed on; handing
    on a record of `seeks_on` seeks the changelog partition elsewhere (as the recovery does); `sought` records
    the seeks made by the replacement."""

    records: dict[TP, list[int]]
    active: set[TP]
    flow_for: int = 1_000
    seeks_on: TP | None = None
    sought: list[tuple[TP, int]] = field(default_factory=list)
    handed: int = 0
    should_stop = False
    _buffered_partitions: frozenset = frozenset()

    def __post_init__(self) -> None:
        self.app = SimpleNamespace(consumer_generation_id=1, should_stop=False, monitor=SimpleNamespace(
            track_tp_end_offset=lambda tp, offset: None))
        self.scheduler = SimpleNamespace(iterate=lambda records: ((tp, r) for tp, rs in records.items() for r in rs))
        self.log = SimpleNamespace(info=lambda *a: None, warning=lambda *a: None)
        self._read_offset: dict[TP, int | None] = {}

    @property
    def flow_active(self) -> bool:
        return self.handed < self.flow_for

    async def _wait_next_records(self, timeout: float):
        return {tp: [SimpleNamespace(offset=o) for o in offsets] for tp, offsets in self.records.items()}, self.active

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic.endswith("-changelog")

    def highwater(self, tp: TP) -> int:
        return 0

    def _to_message(self, tp: TP, record: SimpleNamespace) -> int:
        self.handed += 1
        self._read_offset[tp] = record.offset  # as Faust's drain loop does once the message is handed on
        if tp == self.seeks_on:
            self._read_offset[CHANGELOG] = 500
        return record.offset

    def assignment(self) -> set[TP]:
        return set(self.records)

    async def position(self, tp: TP) -> int:
        return self.records[tp][-1] + 1

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))


CHANGELOG, STREAM = TP("app-people-changelog", 2), TP("locations", 0)


def handed_and_sought(consumer: Fetching) -> tuple[list[tuple[TP, int]], list[tuple[TP, int]]]:
    async def run() -> list:
        return [item async for item in faust_adapter._getmany_keeping_changelog(consumer, 1.0)]
    return asyncio.run(run()), consumer.sought


def test_changelog_records_fetched_for_a_partition_paused_meanwhile_are_fetched_again():
    consumer = Fetching({CHANGELOG: [10, 11, 12], STREAM: [5]}, active={STREAM})
    assert handed_and_sought(consumer) == ([(STREAM, 5)], [(CHANGELOG, 10)])


def test_changelog_records_left_when_the_flow_stops_are_fetched_again_from_the_first_not_handed_on():
    consumer = Fetching({CHANGELOG: [10, 11, 12]}, active={CHANGELOG}, flow_for=1)
    assert handed_and_sought(consumer) == ([(CHANGELOG, 10)], [(CHANGELOG, 11)])


def test_a_partition_sought_elsewhere_meanwhile_is_left_where_it_was_sought():
    consumer = Fetching({CHANGELOG: [10, 11, 12], STREAM: [5]}, active={STREAM}, seeks_on=STREAM)
    assert handed_and_sought(consumer) == ([(STREAM, 5)], [])


def test_stream_partitions_are_left_to_faust_and_everything_handed_on_seeks_nothing():
    assert handed_and_sought(Fetching({STREAM: [5, 6]}, active=set())) == ([], [])
    consumer = Fetching({CHANGELOG: [10, 11], STREAM: [5]}, active={CHANGELOG, STREAM})
    assert handed_and_sought(consumer) == ([(CHANGELOG, 10), (CHANGELOG, 11), (STREAM, 5)], [])
