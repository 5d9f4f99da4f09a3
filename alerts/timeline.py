"""Event-time alert evaluation over an ordered stream of events: the engine of `capmon backtest`, and of
the live evaluator (which feeds it events in event-time order after an allowed lateness).

Rules are evaluated on a grid of event time (every `step_s`), each time on the figures of all events up to and
including that moment, so the same events always give the same alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from alerts.evaluate import Evaluator
from alerts.measures import inputs
from alerts.rules import Rule
from streams.contract.events import Decision, Event, Forecast, Location, Placement, Registration
from streams.contract.records.alerts import Transition
from streams.state.chain import ChainState
from streams.state.occupancy import daily_kept_from
from streams.state.outlook import DEFAULT_OUTLOOK_DAYS
from streams.state.readmodel import Figures
from streams.state.stamp import local_day, micros
from streams.state.terms import DEFAULT_DECISION_TERMS, DecisionTerms

DEFAULT_STEP_S = 300
DAY_US = 86_400 * 1_000_000
EVENT_KIND = {Registration: "registration", Decision: "decision", Placement: "placement", Location: "location",
              Forecast: "forecast"}


class Timeline:
    def __init__(self, rules: list[Rule], step_s: int = DEFAULT_STEP_S, evaluator: Evaluator | None = None,
                 exhaustive: bool = False, terms: DecisionTerms = DEFAULT_DECISION_TERMS,
                 outlook_days: int = DEFAULT_OUTLOOK_DAYS) -> None:
        self.state = ChainState()
        self.terms = terms  # the decision term by registration day (CAPMON_DECISION_TERMS)
        self.outlook_days = outlook_days  # CAPMON_OUTLOOK_DAYS
        self.evaluator = evaluator or Evaluator(rules)
        self.step_us = step_s * 1_000_000
        self.next_us: int | None = None
        self.evaluated_us: int | None = None  # the latest grid point evaluated
        self._utc_day = -1
        self._local_day: object = None
        self._evaluated_day: object = None  # the day of the last grid point evaluated (capacity follows it)
        self._changed: set[str] = set()  # what changed since the last grid point (see measures.inputs)
        self._touched: set[str] = set()  # the locations whose figures may have changed since then
        self._inputs = {rule.name: inputs(rule) for rule in self.evaluator.rules}
        self.exhaustive = exhaustive  # every rule and scope at every grid point with a change: the slow reference

    def snapshot(self) -> Figures:
        s = self.state
        return Figures(s.totals, s.register, s.watermark_us, terms=self.terms, outlook_days=self.outlook_days)

    def feed(self, event: Event) -> list[Transition]:
        """Apply one event (events must come in event-time order); returns the transitions of the grid
        points it passed."""
        t = micros(event.occurred_at)
        out: list[Transition] = []
        if self.next_us is None:
            self.next_us = -(-t // self.step_us) * self.step_us
        while t > self.next_us:  # grid points before this event see every event up to and including them
            out += self._evaluate(self.next_us)
            self.evaluated_us = self.next_us
            self.next_us += self.step_us
        if t // DAY_US != self._utc_day:  # a new day: daily counts older than the net inflow window are not read
            self._utc_day = t // DAY_US
            self.state.totals.forget_daily_before(daily_kept_from(t))
        self.state.apply(event, self._touched)
        self._changed.add(EVENT_KIND[type(event)])
        self._changed.add("time")
        day = local_day(self.state.watermark_us)  # type: ignore[arg-type]
        if day != self._local_day:
            self._local_day = day
            self._changed.add("day")
        return out

    def _evaluate(self, at_us: int) -> list[Transition]:
        """Evaluate the rules whose values may have changed since the last grid point (their inputs changed)
        and those with an alert waiting for its `for` to pass; the others would give the same answer."""
        changed, self._changed = self._changed, set()
        touched, self._touched = self._touched, set()
        day = local_day(at_us)
        if day != self._evaluated_day:  # a grid point past midnight reads the new day's capacity
            self._evaluated_day = day
            changed.add("day")
        if self.exhaustive:
            waiting = any(s.status == "pending" for s in self.evaluator.states.values())
            return self.evaluator.evaluate(self.snapshot(), at_us=at_us) if changed or waiting else []
        pending = {key.split("/", 1)[0] for key, s in self.evaluator.states.items() if s.status == "pending"}
        only = {name for name, needs in self._inputs.items() if name in pending or needs & changed}
        if not only:
            return []
        return self.evaluator.evaluate(self.snapshot(), at_us=at_us, only=only, touched=touched)

    def finish(self) -> list[Transition]:
        """Evaluate once more at the last event time (the end of a file)."""
        if self.state.watermark_us is None:
            return []
        return self.evaluator.evaluate(self.snapshot(), at_us=self.state.watermark_us)


def run(rules: list[Rule], events: Iterable[Event], step_s: int = DEFAULT_STEP_S,
        terms: DecisionTerms = DEFAULT_DECISION_TERMS,
        outlook_days: int = DEFAULT_OUTLOOK_DAYS) -> Iterator[Transition]:
    """Every transition for events already in event-time order."""
    timeline = Timeline(rules, step_s, terms=terms, outlook_days=outlook_days)
    for event in events:
        yield from timeline.feed(event)
    yield from timeline.finish()
