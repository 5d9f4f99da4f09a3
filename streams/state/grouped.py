"""Persons and permit holders per group of locations (province, location type), kept up to date as people move.

The alert evaluation reads the sums per province and per type at every grid point; summing every location each
time cost more than the rest of the read model. A `GroupSums` is derived from the per-location counters of a
`Totals` and a register's mapping, moved by `Totals._place`, and rebuilt whenever the register changed (its
`version`): the sums always equal summing the counters afresh (`sum_by`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def sum_by(per_location: Mapping[str, int], group_of: Mapping[str, str], default: str) -> dict[str, int]:
    """Counts per location added up per group (locations without one: `default`)."""
    sums: dict[str, int] = {}
    group = group_of.get
    for location_id, n in per_location.items():
        key = group(location_id, default)
        sums[key] = sums.get(key, 0) + n
    return sums


@dataclass(slots=True)
class GroupSums:
    """The sums of `sum_by` for occupancy and permit holders, with the number of locations behind each group (a
    group is listed exactly while a location of it is in the counter, as with `sum_by`)."""

    group_of: Mapping[str, str]  # the register's own mapping: rebuilt when it is another one
    version: int  # the register's version the mapping had
    default: str
    occupancy: dict[str, int] = field(default_factory=dict)
    permit_holders: dict[str, int] = field(default_factory=dict)
    _occupied_in: dict[str, int] = field(default_factory=dict)  # group -> locations in the occupancy counter
    _permits_in: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, group_of: Mapping[str, str], version: int, default: str, occupancy: Mapping[str, int],
           permit_holders: Mapping[str, int]) -> GroupSums:
        sums = cls(group_of, version, default, sum_by(occupancy, group_of, default),
                   sum_by(permit_holders, group_of, default))
        sums._occupied_in = _members(occupancy, group_of, default)
        sums._permits_in = _members(permit_holders, group_of, default)
        return sums

    def moved(self, location_id: str, occupancy: tuple[bool, bool, int], permits: tuple[bool, bool, int]) -> None:
        """One location's counters changed: (listed before, listed after, change) for each of the two."""
        group = self.group_of.get(location_id, self.default)
        _shift(self.occupancy, self._occupied_in, group, *occupancy)
        _shift(self.permit_holders, self._permits_in, group, *permits)


def _members(per_location: Mapping[str, int], group_of: Mapping[str, str], default: str) -> dict[str, int]:
    members: dict[str, int] = {}
    for location_id in per_location:
        key = group_of.get(location_id, default)
        members[key] = members.get(key, 0) + 1
    return members


def _shift(sums: dict[str, int], members: dict[str, int], group: str, was: bool, now: bool, delta: int) -> None:
    if was != now:
        left = members.get(group, 0) + (1 if now else -1)
        if not left:
            del members[group]
            sums.pop(group, None)
            return
        members[group] = left
    if delta:
        sums[group] = sums.get(group, 0) + delta
