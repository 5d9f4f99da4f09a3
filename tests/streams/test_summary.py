"""The partition summary's codec: it round-trips, reads the format before it, and refuses what it is not."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.contract.records.figures import PartitionSummary, RegisterProgress
from streams.errors import BadRecord
from streams.state.totals import Totals


def test_a_summary_round_trips_and_its_version_is_the_offsets_processed():
    totals = Totals(occupancy=Counter({"L1": 3}), inflow=Counter({("2023-07-01", "first", False): 2}))
    summary = PartitionSummary(1_688_198_400_000_000, {"registrations": 5, "placements": 7}, totals, True)
    assert PartitionSummary.decode(summary.encode()) == summary
    assert summary.version == 12


def test_the_format_before_offsets_still_reads_with_its_version():
    old = b'{"version": 9, "watermark_us": null, "totals": {"occupancy": [], "permit_holders": [], "inflow": [],' \
          b' "decisions": [], "outflow": [], "check_ins": [], "check_outs": []}}'
    assert PartitionSummary.decode(old).version == 9


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"watermark_us": "x", "offsets": {}, "totals": {}}',
                                 b'{"watermark_us": 1, "offsets": {"a": "b"}, "totals": {}}'])
def test_anything_else_is_a_bad_record(raw):
    with pytest.raises(BadRecord):
        PartitionSummary.decode(raw)


def test_register_progress_round_trips_and_refuses_what_it_is_not():
    assert RegisterProgress.decode(RegisterProgress(42).encode()) == RegisterProgress(42)
    with pytest.raises(BadRecord):
        RegisterProgress.decode(b'{"next": "x"}')
