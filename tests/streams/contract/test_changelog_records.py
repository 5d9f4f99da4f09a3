"""The person table's changelog records beside the persons: the partition meta and the forgotten totals round-trip,
write the bytes they always wrote, read the meta of before, and refuse what they are not."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.contract.records.changelog import (
    FORGOTTEN_KEY,
    META_KEY,
    ForgottenTotals,
    PartitionMeta,
    forgotten_entries,
    forgotten_from,
)
from streams.contract.records.parts import PART_BYTES
from streams.errors import BadRecord
from streams.state.totals import Totals

META = PartitionMeta(1_688_198_400_000_000, {"registrations": 5}, {"registrations": 1_688_198_400_000_000},
                     {"registrations": 1_688_198_401_000_000}, {"ab12": 1_688_198_402_000_000}, True, bytes(range(4)))
GOLDEN_META = (b'{"watermark_us": 1688198400000000, "offsets": {"registrations": 5}, "latest": {"registrations": '
               b'1688198400000000}, "heard": {"registrations": 1688198401000000}, "awaiting_erasure": {"ab12": '
               b'1688198402000000}, "legacy_unkeyed": true, "event_id_key": "00010203"}')
TOTALS = Totals(occupancy=Counter({"L1": 3}), inflow=Counter({("2023-07-01", "first", False): 2}),
                moves=Counter({("2023-07-01", "L1"): 1}), moves_out=Counter({"2023-07-01": 2}),
                arrivals=Counter({("2023-07-01", True): 1}))
GOLDEN_FORGOTTEN = (b'{"occupancy": [["L1", 3]], "permit_holders": [], "inflow": [["2023-07-01", "first", false, 2]],'
                    b' "decisions": [], "outflow": [], "check_outs": [], "moves": [["2023-07-01", "L1", 1]], '
                    b'"moves_out": [["2023-07-01", 2]], "awaiting": [], "first_instance": [], '
                    b'"arrivals": [["2023-07-01", true, 1]]}')
# before moves (issue 20): daily check-ins instead; they read as no moves (the window fills again in 28 days)
GOLDEN_FORGOTTEN_2 = (b'{"occupancy": [["L1", 3]], "permit_holders": [], "inflow": [["2023-07-01", "first", false, '
                      b'2]], "decisions": [], "outflow": [], "check_ins": [["2023-07-01", "L1", 1]], "check_outs": [], '
                      b'"awaiting": [], "first_instance": [], "arrivals": [["2023-07-01", true, 1]]}')


def test_the_meta_round_trips_and_is_the_bytes_it_always_was():
    assert (META_KEY, FORGOTTEN_KEY) == (b"__capmon_partition_meta__", b"__capmon_partition_forgotten__")
    assert META.encode() == GOLDEN_META
    assert PartitionMeta.decode(GOLDEN_META) == META
    empty = PartitionMeta(None)
    assert empty.encode() == b'{"watermark_us": null, "offsets": {}, "latest": {}, "heard": {}}'
    assert PartitionMeta.decode(empty.encode()) == empty


def test_the_meta_of_before_reads_without_what_came_later():
    old = PartitionMeta.decode(b'{"watermark_us": 7, "offsets": {"registrations": 2}}')
    assert old == PartitionMeta(7, {"registrations": 2})
    assert PartitionMeta.decode(b'{"watermark_us": 7, "offsets": {}, "awaiting_erasure": {"a": 1, "b": "x"}}'
                                ).awaiting_erasure == {"a": 1}  # what is not a time is not kept


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"\xff", b'{"offsets": {}}', b'{"watermark_us": 1}',
                                 b'{"watermark_us": 1, "offsets": {}, "event_id_key": "zz"}'])
def test_anything_else_is_a_bad_meta_record(raw):
    with pytest.raises(BadRecord):
        PartitionMeta.decode(raw)


def test_the_forgotten_totals_round_trip_and_are_the_bytes_they_always_were():
    assert ForgottenTotals(TOTALS).encode() == GOLDEN_FORGOTTEN
    assert ForgottenTotals.decode(GOLDEN_FORGOTTEN) == ForgottenTotals(TOTALS)
    assert b'"moves": [], "moves_out": [],' in ForgottenTotals(TOTALS).encode(keep_days_from="2023-07-02")
    older = ForgottenTotals.decode(GOLDEN_FORGOTTEN_2).totals
    assert older.occupancy == TOTALS.occupancy and older.arrivals == TOTALS.arrivals and not older.moves


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"\xff", b'{"occupancy": 3}'])
def test_anything_else_is_a_bad_forgotten_record(raw):
    with pytest.raises(BadRecord):
        ForgottenTotals.decode(raw)


def test_large_forgotten_totals_go_out_in_parts_keyed_by_their_digest():
    small, named = forgotten_entries(GOLDEN_FORGOTTEN, set())
    assert (small, named) == ([(FORGOTTEN_KEY, GOLDEN_FORGOTTEN)], set())
    big = bytes(range(256)) * (PART_BYTES // 128)  # incompressible enough for two parts
    entries, named = forgotten_entries(big, {FORGOTTEN_KEY + b":old:0"})
    head_key, head = entries[-2]
    assert head_key == FORGOTTEN_KEY and entries[-1] == (FORGOTTEN_KEY + b":old:0", None)  # the old part goes last
    assert all(key.startswith(FORGOTTEN_KEY + b":") for key in named)
    assert forgotten_from(head, dict(entries[:-2])) == big
