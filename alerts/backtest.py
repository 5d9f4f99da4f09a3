"""`capmon backtest FILE.jsonl --rules RULES.yaml`: alert rules over a file, offline, in event time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from alerts.rules import Rule
from alerts.timeline import run
from streams.contract.events import DEFAULT_MAX_CLOCK_SKEW_S, Event, check_not_in_future, parse_event
from streams.contract.finite import dumps
from streams.contract.records.alerts import Transition
from streams.errors import ConfigError, InvalidEvent
from streams.state.outlook import DEFAULT_OUTLOOK_DAYS
from streams.state.stamp import AMSTERDAM, micros
from streams.state.terms import DEFAULT_DECISION_TERMS, DecisionTerms

Invalid = Callable[[int, str], None]  # told the line number and the reason of each invalid line


def read_events(path: Path, as_of_us: int | None = None, max_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
                on_invalid: Invalid = lambda line_no, reason: None) -> tuple[list[Event], int]:
    """The file's valid events in event-time order ((occurred_at, event_id)), and how many were invalid. `as_of_us`
    stands in for the message timestamp a worker would check `occurred_at` against (CONTRACT.md section 2)."""
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    events, invalid = [], 0
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                event = parse_event(line)
                check_not_in_future(event, as_of_us, max_skew_s)
                events.append(event)
            except InvalidEvent as exc:
                invalid += 1
                on_invalid(line_no, exc.reason)
    events.sort(key=lambda e: (micros(e.occurred_at), e.event_id))
    return events, invalid


def backtest(path: Path, rules: list[Rule], step_s: int, everything: bool = False, as_of_us: int | None = None,
             max_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
             on_invalid: Invalid = lambda line_no, reason: None,
             terms: DecisionTerms = DEFAULT_DECISION_TERMS,
             outlook_days: int = DEFAULT_OUTLOOK_DAYS) -> Iterator[Transition]:
    events, _invalid = read_events(path, as_of_us, max_skew_s, on_invalid)
    for t in run(rules, events, step_s, terms, outlook_days):
        if everything or t.notifies:
            yield t


def when(us: int | None) -> str:
    return "" if us is None else datetime.fromtimestamp(us / 1e6, AMSTERDAM).isoformat(timespec="minutes")


def format_line(t: Transition) -> str:
    value = "n/a" if t.value is None else f"{t.value:,.3f}".rstrip("0").rstrip(".")
    extra = f" (escalated from {t.escalated_from})" if t.escalated_from else ""
    return (f"{when(t.at_us)}  {t.kind.upper():<9} {t.severity:<8} {t.rule:<30} {t.scope:<18} "
            f"{t.measure}={value} threshold {t.threshold:g}, since {when(t.since_us)}{extra}")


def as_json(t: Transition) -> dict:
    return {"at": when(t.at_us), "kind": t.kind, "alert_id": t.alert_id, "rule": t.rule, "scope": t.scope,
            "severity": t.severity, "measure": t.measure, "value": t.value, "threshold": t.threshold,
            "since": when(t.since_us), "escalated_from": t.escalated_from}


def write_json(path: Path, transitions: list[Transition]) -> None:
    path.write_text(dumps([as_json(t) for t in transitions], indent=1) + "\n")
