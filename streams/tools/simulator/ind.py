"""The IND's first-instance caseload: two queues in registration order and a daily capacity.

The letter's point is that the IND decides fewer cases than arrive: the backlog grows and waiting times
lengthen. Priority nationalities (fast handling, DOMAIN.md) take their share of each day's capacity first; the
rest is decided oldest first. A case is not decided before its least processing time.
"""

from __future__ import annotations

from collections import deque

DAY = 86_400.0


class IndQueue:
    def __init__(self, priority_share: float, min_days: dict[str, float]) -> None:
        self.priority_share = priority_share
        self.min_s = {k: v * DAY for k, v in min_days.items()}
        self.queues: dict[str, deque[tuple[float, str]]] = {"priority": deque(), "other": deque()}

    def add(self, registered: float, person_id: str, priority: bool) -> None:
        """Cases must be added in registration order per queue (the simulation's clock guarantees it)."""
        self.queues["priority" if priority else "other"].append((registered, person_id))

    def take(self, now: float, capacity: int) -> list[str]:
        """Up to `capacity` cases ready at `now`: the priority share first, then the oldest others, then any
        capacity left over goes back to the priority queue."""
        first = self._pop("priority", now, round(capacity * self.priority_share))
        rest = self._pop("other", now, capacity - len(first))
        return first + rest + self._pop("priority", now, capacity - len(first) - len(rest))

    def _pop(self, name: str, now: float, n: int) -> list[str]:
        queue, ready_before = self.queues[name], now - self.min_s[name]
        out = []
        while len(out) < n and queue and queue[0][0] <= ready_before:
            out.append(queue.popleft()[1])
        return out

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())
