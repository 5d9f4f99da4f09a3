"""Whatever a producer writes, what a worker publishes stays bounded (issue 18, CONTRACT.md section 2 "Size"):
an oversized value is a dead letter carrying its first 1 KiB and its size; a summary that outgrew one record
travels in parts; records on capmon's own topics that cannot be read are skipped, never fatal."""

from __future__ import annotations

import json

from alerts.log import AlertLog
from streams.contract.records.figures import PartitionSummary, partition_key, split
from streams.contract.records.parts import PART_BYTES
from streams.contract.topics import Topics
from streams.ingest.processors import DEAD_LETTER_HEAD, Incoming, PeopleProcessor, RegisterProcessor
from streams.state.view import FiguresView

T = Topics("")
AT = "2023-07-01T10:00:00+02:00"
DEEP = b"[" * 200_000 + b"]" * 200_000


def placement(event_id: str, person: str, location: str) -> bytes:
    return json.dumps({"event_id": event_id, "occurred_at": AT, "person_id": person, "action": "check_in",
                       "location_id": location}).encode()


def test_an_oversized_value_is_a_dead_letter_with_its_head_and_size_only():
    big = b"x" * 1_010_000
    for processor, topic in ((PeopleProcessor(T), "placements"), (RegisterProcessor(T), "locations")):
        result = processor.process([Incoming(topic, 0, 0, b"k" * 5_000, big)])
        [dead] = result.dead
        assert dead.reason.startswith("too large: 1010000 bytes")
        assert dead.value == big[:DEAD_LETTER_HEAD] and len(dead.key or b"") == DEAD_LETTER_HEAD
        headers = dict(dead.headers())
        assert headers["capmon.size"] == b"1010000" and headers["capmon.key_size"] == b"5000"


def test_the_size_limit_is_a_setting_and_a_valid_event_just_under_it_is_folded():
    value = placement("c1", "p1", "L1")
    at_limit = PeopleProcessor(T, max_event_bytes=len(value)).process([Incoming("placements", 0, 0, b"p1", value)])
    assert not at_limit.dead and at_limit.counts[("placements", "accepted")] == 1
    over = PeopleProcessor(T, max_event_bytes=len(value) - 1).process([Incoming("placements", 0, 0, b"p1", value)])
    assert [d.reason.split(":")[0] for d in over.dead] == ["too large"]
    assert over.dead[0].value == value and "capmon.size" not in dict(over.dead[0].headers())  # small: whole


def big_summary(locations: int) -> tuple[PeopleProcessor, bytes]:
    processor = PeopleProcessor(T)
    processor.process([Incoming("placements", 0, i, f"p{i}".encode(), placement(f"c{i}", f"p{i}", f"L{i:06d}"))
                       for i in range(locations)])
    return processor, processor.partitions[0].summary()


def test_a_summary_larger_than_a_part_travels_in_parts_and_reads_back_whole():
    _processor, raw = big_summary(8_000)
    assert len(raw) > PART_BYTES
    records = split(partition_key(0), raw, part_bytes=16_384)
    assert len(records) > 2 and all(len(v) <= 16_384 for _k, v in records)
    view = FiguresView()
    for key, value in records:
        view.apply(key, value)
    assert view.summaries[0] == PartitionSummary.decode(raw)
    assert view.figures().occupancy.national.occupancy == 8_000 and view.bad_records == 0


def test_a_head_without_its_parts_or_with_another_version_of_them_is_not_taken():
    _p, raw = big_summary(3_000)
    first = split(partition_key(0), raw, part_bytes=8_192)
    _p2, raw2 = big_summary(3_100)
    second = split(partition_key(0), raw2, part_bytes=8_192)
    view = FiguresView()
    view.apply(*first[-1])  # the head alone (its parts compacted away or not read yet)
    assert 0 not in view.summaries
    for key, value in second[:-1]:  # parts of a later summary whose head was never written (a crash)
        view.apply(key, value)
    assert 0 not in view.summaries and view.bad_records == 0
    view.apply(*second[-1])
    assert view.figures().occupancy.national.occupancy == 3_100
    small = PeopleProcessor(T)
    small.process([Incoming("placements", 0, 0, b"p", placement("c", "p", "L1"))])
    small.partitions[0].offsets["placements"] = 10_000  # a newer summary, small enough for one record
    [(key, value)] = split(partition_key(0), small.partitions[0].summary())
    view.apply(key, value)
    assert view.figures().occupancy.national.occupancy == 1


def test_records_nested_too_deeply_are_skipped_and_counted_by_every_reader():
    view, alerts = FiguresView(), AlertLog()
    for key in (partition_key(0), b"site:L1", b"forecast:2023", b"offsets:locations:0", partition_key(0) + b":part:0"):
        view.apply(key, DEEP)
    view.apply(partition_key(1), b'{"format": "parts", "parts": 1, "size": 5, "sha256": ' + DEEP + b"}")
    assert view.bad_records == 5 and view.summaries == {}  # the part itself is just bytes until its head comes
    for key in (b"rule/national", b"__checkpoint__"):
        alerts.apply(key, DEEP)
    assert alerts.bad_records == 2 and alerts.records == {}


def test_jsonl_commands_name_the_line_of_a_record_nested_too_deeply_or_too_large(tmp_path):
    from streams.tools.replay import route
    from tests.support.helpers import REPO, run_capmon

    assert route(DEEP, 7, 0.0).reason == "not JSON (nested too deeply)"
    assert route(b'{"event_type": "placement", "x": "' + b"y" * 1_100_000 + b'"}', 8, 0.0).reason.startswith(
        "too large for Kafka")
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join([placement("c1", "p1", "L1").replace(b"{", b'{"event_type": "placement", ', 1),
                                 DEEP, b'{"event_type": "placement", "x": ' + DEEP + b"}", b"\xff"]) + b"\n")
    done = run_capmon("backtest", str(feed), "--rules", str(REPO / "deploy" / "alerts" / "rules.yaml"),
                      "--as-of", "2024-01-01T00:00:00Z")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"{feed}:2: invalid, left out: not JSON: nested too deeply" in done.stderr
    assert f"{feed}:3: invalid" in done.stderr and f"{feed}:4: invalid" in done.stderr
    assert "3 invalid lines left out" in done.stderr


def test_a_large_forgotten_record_goes_to_the_changelog_in_parts_and_old_parts_are_tombstoned():
    """The person table's counts of forgotten persons grow with the location ids of the last 28 days (25,000
    distinct ids then erased gave 1.1 MB, over the changelog's limit): in parts, keyed by their digest, so the
    parts a stored head names survive a crash before the next head is stored."""
    import os

    from streams.contract.records.changelog import FORGOTTEN_KEY, forgotten_entries, forgotten_from

    small, _ = forgotten_entries(b"{}", set())
    assert small == [(FORGOTTEN_KEY, b"{}")]
    big = json.dumps({"moves": [["2023-07-01", f"L{i:06d}", 1] for i in range(40_000)]}).encode()
    first, named = forgotten_entries(big, set())
    assert all(len(v or b"") <= PART_BYTES for _k, v in first) and first[-1][0] == FORGOTTEN_KEY and len(named) >= 1
    store = dict(first)
    assert forgotten_from(store.pop(FORGOTTEN_KEY), store) == big
    other = big.replace(b"L000001", b"L999999") + os.urandom(300_000).hex().encode()
    second, named2 = forgotten_entries(other, named)
    tombstones = [k for k, v in second if v is None]
    assert sorted(tombstones) == sorted(named - named2) and tombstones
    assert second[-1 - len(tombstones)][0] == FORGOTTEN_KEY  # the old parts go only after the new head
    crashed = {**dict(first), **dict(second[:-1 - len(tombstones)])}  # the new parts stored, not the new head
    assert forgotten_from(crashed.pop(FORGOTTEN_KEY), crashed) == big  # the old head still finds its own parts
    done = {k: v for k, v in {**dict(first), **dict(second)}.items() if v is not None}
    assert forgotten_from(done.pop(FORGOTTEN_KEY), done) == other and set(done) == named2


def test_one_person_holds_at_most_so_many_events_so_their_changelog_record_stays_bounded():
    from streams.state.people import MAX_EVENTS_PER_PERSON

    processor = PeopleProcessor(T)
    events = [Incoming("placements", 0, i, b"p", placement(f"c{i}", "p", "L1")) for i in range(MAX_EVENTS_PER_PERSON)]
    processor.process(events)
    result = processor.process([Incoming("placements", 0, MAX_EVENTS_PER_PERSON, b"p", placement("new", "p", "L2")),
                                Incoming("placements", 0, MAX_EVENTS_PER_PERSON + 1, b"p", placement("c7", "p", "L1"))])
    assert [d.reason for d in result.dead] == [f"too many events for one person (at most {MAX_EVENTS_PER_PERSON})"]
    assert result.counts[("placements", "duplicate")] == 1
    assert processor.partitions[0].people["p"].location == "L1"


def test_a_record_on_the_figures_topic_that_is_not_a_hex_key_is_no_event_id_key():
    from streams.contract.records.figures import EVENT_ID_KEY_PREFIX as KEY_PREFIX
    from streams.runtime.hash_key import chosen

    good = "ab" * 32
    records = [(1, KEY_PREFIX + b"x", b"zz"), (2, KEY_PREFIX + b"y", DEEP[:64]), (3, KEY_PREFIX + b"z", good.encode())]
    assert chosen(records) == bytes.fromhex(good)
    assert chosen([(1, KEY_PREFIX + b"x", b"not hex")]) is None
