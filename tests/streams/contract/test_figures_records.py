"""The figures topic's records and keys: each codec round-trips, writes the bytes it always wrote (a format change
must be a decision, so it fails here loudly), reads the format before it, and refuses what it is not."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.contract.events import Forecast, Location
from streams.contract.records.figures import (
    EVENT_ID_KEY_PREFIX,
    FINGERPRINT_KEY,
    PartitionSummary,
    RegisterKey,
    RegisterOffsetsKey,
    RegisterProgress,
    SummaryKey,
    decode_register_entry,
    is_summary_key,
    parse_key,
    part_key,
    partition_key,
    register_key,
    register_offsets_key,
    split,
)
from streams.contract.records.parts import is_head, join
from streams.errors import BadRecord
from streams.state.totals import Totals

TOTALS = Totals(occupancy=Counter({"L1": 3}), inflow=Counter({("2023-07-01", "first", False): 2}),
                moves=Counter({("2023-07-01", "L1"): 1}), moves_out=Counter({"2023-07-01": 2}),
                arrivals=Counter({("2023-07-01", True): 1}))
SUMMARY = PartitionSummary(1_688_198_400_000_000, {"registrations": 5, "placements": 7}, TOTALS, True, None)
GOLDEN_SUMMARY = (
    b'{"format":2,"watermark_us":1688198400000000,"offsets":{"registrations":5,"placements":7},"caught_up":true,'
    b'"since_us":null,"totals":{"occupancy":[["L1",3]],"permit_holders":[],"inflow":[["2023-07-01","first",false,'
    b'2]],"decisions":[],"outflow":[],"check_outs":[],"moves":[["2023-07-01","L1",1]],"moves_out":[["2023-07-01",'
    b'2]],"awaiting":[],"first_instance":[],"arrivals":[["2023-07-01",true,1]]}}')
LOCATION = (b'{"event_id": "l1", "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": "L1", "name": "AZC Een",'
            b' "province": "NL-UT", "location_type": "regular", "capacity": 10, "status": "open"}')


def test_a_summary_round_trips_and_its_version_is_the_offsets_processed():
    summary = PartitionSummary(1_688_198_400_000_000, {"registrations": 5, "placements": 7}, TOTALS, True)
    assert PartitionSummary.decode(summary.encode()) == summary
    assert summary.version == 12


def test_a_summary_is_the_bytes_it_always_was():
    assert SUMMARY.encode() == GOLDEN_SUMMARY
    assert PartitionSummary.decode(GOLDEN_SUMMARY) == SUMMARY
    # daily moves before the kept window are left out; arrivals are kept 90 days longer
    assert b'"moves":[],"moves_out":[],' in SUMMARY.encode(keep_days_from="2023-07-02")
    kept = PartitionSummary.decode(SUMMARY.encode(keep_days_from="2023-07-01")).totals  # the days from then stay
    assert (kept.moves, kept.moves_out) == (TOTALS.moves, TOTALS.moves_out)
    assert b'"arrivals":[["2023-07-01",true,1]]' in SUMMARY.encode(keep_days_from="2023-07-02")


def test_the_format_before_offsets_still_reads_with_its_version():
    old = b'{"version": 9, "watermark_us": null, "totals": {"occupancy": [], "permit_holders": [], "inflow": [],' \
          b' "decisions": [], "outflow": [], "check_ins": [], "check_outs": []}}'
    assert PartitionSummary.decode(old).version == 9


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"\xff", b'{"watermark_us": "x", "offsets": {}, "totals": {}}',
                                 b'{"watermark_us": 1, "offsets": {"a": "b"}, "totals": {}}'])
def test_anything_else_is_a_bad_record(raw):
    with pytest.raises(BadRecord):
        PartitionSummary.decode(raw)


def test_register_progress_round_trips_is_the_bytes_it_always_was_and_refuses_what_it_is_not():
    assert RegisterProgress(42).encode() == b'{"next": 42}'
    assert RegisterProgress.decode(RegisterProgress(42).encode()) == RegisterProgress(42)
    with pytest.raises(BadRecord):
        RegisterProgress.decode(b'{"next": "x"}')


def test_a_large_summary_goes_out_in_parts_keyed_by_number_with_its_head_last():
    records = split(partition_key(3), GOLDEN_SUMMARY, 64)
    keys = [key for key, _value in records]
    assert keys == [b"partition:3:part:0", b"partition:3:part:1", b"partition:3:part:2", b"partition:3:part:3",
                    b"partition:3"]
    head = records[-1][1]
    assert head == (b'{"format": "parts", "parts": 4, "size": 394, '
                    b'"sha256": "8ea2ed9703bec03a9905949519d8ac38830b672e58cc771aae475f8c49bc6f85"}')
    assert is_head(head) and join(head, {i: value for i, (_key, value) in enumerate(records[:-1])}) == GOLDEN_SUMMARY
    assert split(partition_key(3), GOLDEN_SUMMARY) == [(b"partition:3", GOLDEN_SUMMARY)]  # small: whole


def test_keys_are_the_bytes_they_always_were_and_parse_back():
    location = decode_register_entry(LOCATION, "location")
    forecast = Forecast.model_construct(year=2024)  # the key reads only the year
    assert isinstance(location, Location) and location.location_id == "L1"
    cases = {
        partition_key(3): SummaryKey(3),
        part_key(partition_key(3), 7): SummaryKey(3, 7),
        register_key(location): RegisterKey("location", "L1"),
        register_key(forecast): RegisterKey("forecast", "2024"),
        register_offsets_key("p.locations", 0): RegisterOffsetsKey("p.locations", 0),
    }
    assert list(cases) == [b"partition:3", b"partition:3:part:7", b"site:L1", b"forecast:2024",
                           b"offsets:p.locations:0"]
    assert {key: parse_key(key) for key in cases} == cases
    assert (FINGERPRINT_KEY, EVENT_ID_KEY_PREFIX) == (b"pseudonym-key", b"event-id-key:")
    assert parse_key(FINGERPRINT_KEY) is None and parse_key(EVENT_ID_KEY_PREFIX + b"ab") is None  # not the view's
    assert is_summary_key(b"partition:3:part:1") and not is_summary_key(b"site:L1")


@pytest.mark.parametrize("key", [b"partition:x", b"partition:1:part:z", b"\xff", b"offsets:t:y", b"offsets:"])
def test_a_key_that_is_not_one_is_a_bad_record(key):
    with pytest.raises(BadRecord):
        parse_key(key)


def test_a_register_entry_that_is_no_valid_event_is_a_bad_record():
    with pytest.raises(BadRecord, match="not a register entry"):
        decode_register_entry(b"{", "location")
