"""Compact JSON forms of state's value types: `Person` (the person table's values on its changelog) and `Totals`
(in the partition summaries on the figures topic and the forgotten totals on the changelog).

Both round-trip exactly: `decode_x(encode_x(v)) == v`. Kept in one place so the changelog and the figures
topic can evolve their format together (the leading integer is a format version).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date, timedelta

from streams.state.people import (
    CheckIn,
    CheckOut,
    DecisionEntry,
    LatestDecision,
    LatestPlacement,
    Person,
    RegistrationEntry,
    Transfer,
)
from streams.state.totals import Totals

PERSON_FORMAT = 3
# Arrivals (for the capacity need's bed share) are read 90 days back, the daily counts only the net-inflow window:
# summaries keep arrivals this many days longer.
ARRIVALS_EXTRA_DAYS = 90


def encode_person(p: Person) -> bytes:
    placement = [*p.placement.stamp, p.placement.location_id] if p.placement else None
    decision = [*p.decision.stamp, p.decision.outcome] if p.decision else None
    asylum = list(p.asylum_registration) if p.asylum_registration else None
    base = [*p.base.stamp, p.base.location_id] if p.base else None
    body = [PERSON_FORMAT, placement, decision, p.registrations, p.decisions, p.check_ins, p.check_outs,
            p.transfers, p.last_us, asylum, p.erased, sorted(p.counted), base]
    return json.dumps(body, separators=(",", ":")).encode()


def decode_person(raw: bytes | str | list) -> Person:
    """Any format: 1 (before retention: no last event time, registration stamp or erasure), 2 (placements
    without their times, transfers as ids only) or 3. A person of format 1 or 2 moves from where they are
    (their placement becomes their `base`): their earlier moves were not kept."""
    body = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    version = body[0]
    placement, decision, regs, decs, ins, outs, transfers = body[1:8]
    last_us, asylum, erased, counted = body[8:12] if version >= 2 else (0, None, False, [])
    i = _intern  # days, location ids and enums: one object each across all persons (see people.fold)
    latest = LatestPlacement((placement[0], placement[1]), i(placement[2])) if placement else None
    if version >= 3:
        base_row = body[12]
        base = LatestPlacement((base_row[0], base_row[1]), i(base_row[2])) if base_row else None
        held = {k: Transfer(i(v[0]), i(v[1]), v[2]) for k, v in transfers.items()}
    else:
        base, held = latest, {k: Transfer("", "") for k in transfers}
    return Person(
        placement=latest,
        decision=LatestDecision((decision[0], decision[1]), i(decision[2])) if decision else None,
        registrations={k: RegistrationEntry(i(v[0]), i(v[1]), v[2], v[3] if len(v) > 3 else 0)
                       for k, v in regs.items()},
        decisions={k: DecisionEntry(i(v[0]), i(v[1]), i(v[2]), v[3] if len(v) > 3 else 0) for k, v in decs.items()},
        check_ins={k: CheckIn(i(v[0]), i(v[1]), v[2] if len(v) > 2 else 0) for k, v in ins.items()},
        check_outs={k: CheckOut(i(v[0]), i(v[1]), i(v[2]), v[3] if len(v) > 3 else 0) for k, v in outs.items()},
        transfers=held,
        last_us=last_us,
        asylum_registration=(asylum[0], asylum[1]) if asylum else None,
        erased=erased,
        counted=frozenset(counted),
        base=base,
    )


def _intern(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


def _pairs(counter: Counter) -> list:
    return [[*k, n] if isinstance(k, tuple) else [k, n] for k, n in sorted(counter.items()) if n]


def encode_totals(t: Totals, keep_days_from: str | None = None) -> dict:
    """Totals as JSON-able lists. Daily check-outs and moves older than `keep_days_from` are left out (only the
    recent window is read from them), which keeps a partition's summary small."""
    def recent_days(c: Counter) -> Counter:  # keyed by the day itself
        return c if keep_days_from is None else Counter({k: n for k, n in c.items() if k >= keep_days_from})

    def recent(c: Counter) -> Counter:
        return c if keep_days_from is None else Counter({k: n for k, n in c.items() if k[0] >= keep_days_from})

    def recent_arrivals(c: Counter) -> Counter:  # the bed share reads the last 90 days
        return c if keep_days_from is None else Counter({k: n for k, n in c.items() if k[0] >= arrivals_from})

    arrivals_from = "" if keep_days_from is None else (
        date.fromisoformat(keep_days_from) - timedelta(days=ARRIVALS_EXTRA_DAYS)).isoformat()

    return {
        "occupancy": _pairs(t.occupancy), "permit_holders": _pairs(t.permit_holders), "inflow": _pairs(t.inflow),
        "decisions": _pairs(t.decisions), "outflow": _pairs(t.outflow),
        "check_outs": _pairs(recent(t.check_outs)), "moves": _pairs(recent(t.moves)),
        "moves_out": _pairs(recent_days(t.moves_out)),
        "awaiting": _pairs(t.awaiting), "first_instance": _pairs(t.first_instance),
        "arrivals": _pairs(recent_arrivals(t.arrivals)),
    }


def decode_totals(d: dict) -> Totals:
    def counter(rows: list, width: int) -> Counter:
        if width == 1:
            return Counter({r[0]: r[1] for r in rows})
        return Counter({tuple(r[:width]): r[width] for r in rows})

    return Totals(
        occupancy=counter(d["occupancy"], 1), permit_holders=counter(d["permit_holders"], 1),
        inflow=counter(d["inflow"], 3), decisions=counter(d["decisions"], 2), outflow=counter(d["outflow"], 2),
        check_outs=counter(d["check_outs"], 2), moves=counter(d.get("moves", []), 2),
        moves_out=counter(d.get("moves_out", []), 1),
        awaiting=counter(d.get("awaiting", []), 1), first_instance=counter(d.get("first_instance", []), 2),
        arrivals=Counter({(r[0], bool(r[1])): r[2] for r in d.get("arrivals", [])}),
    )
