"""Live alert evaluation on the leader worker: the rules over the figures every worker already reads.

Nothing here reads the input topics or holds per-person state. Time is event time, and it is the **slowest
partition's watermark**: each partition summary carries the greatest event time its partition has accepted,
and evaluation happens at the minimum over the person partitions, so a partition that lags (its owner
restarting, a slow worker) holds evaluation back and can never make a `for` pass early. Evaluation runs
whenever new figures arrive, and at each point of the backtest's grid (5 minutes) that the minimum passes
while an alert waits for its `for`, so an alert fires at the grid point the backtest would name.

What live evaluation cannot see is a state that existed only between two summaries: summaries are published
at most every PUBLISH_INTERVAL_S of wall clock, so a dip shorter than that much event time (during a fast
replay: 0.5 s at 7,200x real time is an hour) is seen by `capmon backtest`, not live. See README, "Live
alerts and the backtest".
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from datetime import time as dt_time

from alerts.evaluate import Evaluator, alert_id
from alerts.machine import observe
from alerts.rules import Rule
from streams.contract.records.alerts import AlertState, Transition
from streams.contract.records.figures import UNKNOWN
from streams.state.readmodel import Figures
from streams.state.stamp import AMSTERDAM, local_day, micros


class LiveEvaluator:
    """Moves the alert states forward to a new watermark, on the grid and at the watermark itself.

    A quiet stretch (no event for a while) ends with figures that changed only at its end: the grid points it
    passed are evaluated on the figures that held during it (`held`, those of the last evaluation), up to the
    earliest event time of what changed (`changed_from`, from the summaries), as the backtest does."""

    def __init__(self, evaluator: Evaluator, step_s: int, evaluated_until_us: int | None) -> None:
        self.evaluator = evaluator
        self.step_us = step_s * 1_000_000
        self.evaluated_until_us = evaluated_until_us
        self.held: Figures | None = None  # the figures as of evaluated_until_us (None: not known, after a restore)
        self.ahead_from: int | None = None  # earliest event time of changes not yet reached by evaluation

    def advance(self, snapshot: Figures, watermark_us: int | None,
                changed_from_us: int | None = UNKNOWN) -> list[Transition]:
        """Evaluate new figures: at the grid points after the last evaluation and before `watermark_us` (only
        while an alert is pending: otherwise they would all give the same answer), then at `watermark_us`.
        Grid points before `changed_from_us` (the earliest event time of what changed since the last call) see
        the figures of the last evaluation. Figures that changed without the watermark moving (a capacity
        change, a partition catching up) are evaluated at the same time again. Time never goes back: when the
        slowest watermark falls behind the last evaluation or is unknown (a partition that was idle has input
        again), new figures are evaluated at the last evaluation's time, which lets no `for` pass early and
        keeps a capacity change from waiting for the lagging partition."""
        if changed_from_us is not None:
            self.ahead_from = changed_from_us if self.ahead_from is None else min(self.ahead_from, changed_from_us)
        if self.evaluated_until_us is not None:  # (also when a partition that had no events gets its first)
            watermark_us = max(watermark_us or 0, self.evaluated_until_us)
        if watermark_us is None:
            return []
        quiet_until = self._quiet_until()
        if quiet_until is not None and watermark_us < quiet_until:  # all that changed lies ahead: keep it there
            out = self._grid(self.held, watermark_us)  # type: ignore[arg-type]
            out += self.evaluator.evaluate(self.held, at_us=watermark_us)  # type: ignore[arg-type]
            self.evaluated_until_us = watermark_us
            return out
        out = []
        if quiet_until is not None:  # the quiet stretch on the figures of before it; what changed from its end
            out += self._grid(self.held, quiet_until)
            first = -(-quiet_until // self.step_us) * self.step_us  # the first grid point to see the change
            if self.evaluated_until_us < first < watermark_us:  # type: ignore[operator]
                out += self.evaluator.evaluate(snapshot, at_us=first)
                self.evaluated_until_us = first
        out += self._grid(snapshot, watermark_us)
        out += self.evaluator.evaluate(snapshot, at_us=watermark_us)
        self.evaluated_until_us, self.held, self.ahead_from = watermark_us, snapshot, None
        return out

    def _quiet_until(self) -> int | None:
        """Where the quiet stretch after the last evaluation ends (None: there is none to honour)."""
        if self.held is None or self.ahead_from is None or self.evaluated_until_us is None:
            return None
        return self.ahead_from if self.ahead_from > self.evaluated_until_us else None

    def _grid(self, figures: Figures, before_us: int) -> list[Transition]:
        """The grid points after the last evaluation and before `before_us`, on `figures`, while one is pending,
        and the first of a new day (capacity follows the register's dates by the evaluation time's day, so a
        closing is seen at midnight, as the backtest sees it)."""
        out: list[Transition] = []
        if self.evaluated_until_us is None:
            return out
        point = (self.evaluated_until_us // self.step_us + 1) * self.step_us
        while point < before_us:
            if not self._pending() and local_day(point) == local_day(self.evaluated_until_us):
                point = self._first_point_of_next_day(point)  # nothing waits: only the next midnight matters
                continue
            out += self.evaluator.evaluate(figures, at_us=point)
            self.evaluated_until_us = point
            point += self.step_us
        return out

    def _first_point_of_next_day(self, us: int) -> int:
        midnight = datetime.combine(local_day(us) + timedelta(days=1), dt_time(), AMSTERDAM)
        return -(-micros(midnight) // self.step_us) * self.step_us

    def _pending(self) -> bool:
        return any(s.status == "pending" for s in self.evaluator.states.values())


class StalenessWatch:
    """Staleness rules in wall-clock time: event time stops when the feed stops, so only the wall clock can
    tell that no events arrive. Scope `topic` covers registrations, decisions and placements separately; a
    topic counts as seen when the partition summaries say more of it was read."""

    TOPICS = ("registrations", "decisions", "placements")

    def __init__(self, rules: list[Rule], states: MutableMapping[str, AlertState],
                 clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self.states = states
        self.clock = clock
        started = clock()
        self.last_seen = dict.fromkeys(self.TOPICS, started)
        self.read: dict[str, int] = {}
        self._last_check = 0.0

    def observe_offsets(self, read: dict[str, int]) -> None:
        """Offsets read so far per topic (summed over partitions); a topic that moved on was seen now."""
        for topic, offset in read.items():
            before = self.read.get(topic)
            if topic in self.last_seen and before is not None and offset > before:
                self.last_seen[topic] = self.clock()
            self.read[topic] = max(offset, before or 0)

    def check(self, every_s: float = 1.0) -> list[Transition]:
        now = self.clock()
        if not self.rules or now - self._last_check < every_s:
            return []
        self._last_check = now
        out = []
        for rule in self.rules:
            for topic, last in self.last_seen.items():
                key = alert_id(rule, topic)
                before = self.states.get(key, AlertState())
                after, change = observe(rule, before, int(now * 1e6), now - last)
                if after.status == "inactive":
                    self.states.pop(key, None)
                else:
                    self.states[key] = after
                if change is not None:
                    out.append(Transition(key, rule.name, topic, rule.severity, rule.measure, change.kind,
                                          change.at_us, change.value, after.since_us or before.since_us,
                                          rule.threshold, rule.notify))
        return out
