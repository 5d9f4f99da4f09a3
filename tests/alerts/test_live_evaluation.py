"""Live evaluation on the figures, without Kafka: event time is the slowest busy partition's watermark, and
the grid is the backtest's."""

from __future__ import annotations

import json
from collections import Counter

from alerts.evaluate import Evaluator
from alerts.live import LiveEvaluator
from alerts.rules import parse_rules
from streams.contract.records.figures import PartitionSummary, partition_key
from streams.state.totals import Totals
from streams.state.view import FiguresView

MIN = 60 * 1_000_000
T0 = 1_688_198_400_000_000  # 2023-07-01T10:00+02:00, on the 5-minute grid
RULES = parse_rules({"rules": [{"name": "low", "scope": "national", "measure": "headroom", "below": 5, "clear": 8,
                                "for": "30m", "severity": "critical"}]})


def site(capacity: int, month: int = 1) -> bytes:
    return json.dumps({"event_id": f"l{month}", "occurred_at": f"2023-{month:02d}-01T00:00:00+01:00",
                       "location_id": "L1",
                       "name": "AZC", "province": "NL-UT", "location_type": "regular", "capacity": capacity,
                       "status": "open"}).encode()


def publish(view: FiguresView, partition: int, watermark_us: int | None, occupants: int, offset: int,
            caught_up: bool = False) -> None:
    totals = Totals(occupancy=Counter({"L1": occupants}) if occupants else Counter())
    summary = PartitionSummary(watermark_us, {"placements": offset}, totals, caught_up)
    view.apply(partition_key(partition), summary.encode())


def advance(live: LiveEvaluator, view: FiguresView, partitions: int = 2) -> list[tuple[str, int]]:
    return [(t.kind, t.at_us) for t in live.advance(view.figures(), view.slowest_watermark_us(partitions))]


def test_a_partition_that_lags_holds_evaluation_back_so_for_cannot_pass_early():
    view = FiguresView()
    view.apply(b"site:L1", site(10))
    live = LiveEvaluator(Evaluator(RULES), 300, None)
    publish(view, 0, T0, 6, 1)  # headroom 4: breaching
    assert advance(live, view) == []  # partition 1 has no summary yet: nothing is evaluated
    publish(view, 1, T0, 0, 1)
    assert advance(live, view) == [("pending", T0)]
    publish(view, 0, T0 + 120 * MIN, 6, 2)  # partition 0 is two hours on, partition 1 is not
    assert advance(live, view) == [] and live.evaluated_until_us == T0
    view.apply(b"site:L1", site(20, month=2))  # more beds: evaluated at once, at the same event time
    assert advance(live, view) == [("cancelled", T0)]
    view.apply(b"site:L1", site(10, month=3))
    assert advance(live, view) == [("pending", T0)]
    publish(view, 1, T0 + 29 * MIN, 0, 2)
    assert advance(live, view) == []
    publish(view, 1, T0 + 31 * MIN, 0, 3)
    assert advance(live, view) == [("fired", T0 + 30 * MIN)]  # at the grid point the backtest names


def test_a_jump_past_the_grid_fires_at_the_first_grid_point_after_for_and_clear_needs_the_clear_value():
    view = FiguresView()
    view.apply(b"site:L1", site(10))
    live = LiveEvaluator(Evaluator(RULES), 300, None)
    publish(view, 0, T0 + 2 * MIN, 6, 1)
    assert advance(live, view, partitions=1) == [("pending", T0 + 2 * MIN)]
    publish(view, 0, T0 + 600 * MIN, 6, 2)
    assert advance(live, view, partitions=1) == [("fired", T0 + 35 * MIN)]
    publish(view, 0, T0 + 601 * MIN, 3, 3)  # headroom 7: no longer below 5, but not back past clear 8
    assert advance(live, view, partitions=1) == []
    publish(view, 0, T0 + 602 * MIN, 1, 4)
    assert advance(live, view, partitions=1) == [("resolved", T0 + 602 * MIN)]


def test_only_partitions_with_input_left_to_process_hold_evaluation_back():
    view = FiguresView()
    publish(view, 0, T0, 0, 1)
    publish(view, 1, T0 + 60 * MIN, 0, 1)
    publish(view, 2, None, 0, 0, caught_up=True)  # never had an event
    assert view.slowest_watermark_us(3) == T0
    assert view.slowest_watermark_us(4) is None  # partition 3 has not spoken yet
    publish(view, 0, T0, 0, 1, caught_up=True)  # partition 0 has processed everything it has: idle
    assert view.slowest_watermark_us(3) == T0 + 60 * MIN
    publish(view, 1, T0 + 60 * MIN, 0, 1, caught_up=True)
    assert view.slowest_watermark_us(3) == T0 + 60 * MIN  # all idle: the greatest watermark
    publish(view, 2, None, 0, 0)  # has input but accepted nothing yet
    assert view.slowest_watermark_us(3) is None


def test_new_figures_behind_the_last_evaluation_are_evaluated_at_once_at_that_time():
    view = FiguresView()
    view.apply(b"site:L1", site(10))
    live = LiveEvaluator(Evaluator(RULES), 300, None)
    publish(view, 0, T0, 0, 1, caught_up=True)
    publish(view, 1, T0 + 60 * MIN, 0, 1, caught_up=True)
    assert advance(live, view) == [] and live.evaluated_until_us == T0 + 60 * MIN  # all idle: the greatest
    publish(view, 0, T0, 6, 2)  # partition 0 has input again: the slowest watermark falls back to T0
    assert view.slowest_watermark_us(2) == T0
    assert advance(live, view) == [("pending", T0 + 60 * MIN)]  # not held until partition 0 catches up
    assert live.evaluated_until_us == T0 + 60 * MIN  # and time did not go back
    publish(view, 0, T0 + 80 * MIN, 6, 3)
    assert advance(live, view) == []  # 20 minutes of event time: the 30-minute `for` has not passed
    publish(view, 0, T0 + 91 * MIN, 6, 4)
    assert advance(live, view) == [("fired", T0 + 90 * MIN)]


def test_a_partition_that_gets_its_first_events_does_not_stop_evaluation_of_new_figures():
    view = FiguresView()
    view.apply(b"site:L1", site(10))
    live = LiveEvaluator(Evaluator(RULES), 300, None)
    publish(view, 0, T0, 0, 1, caught_up=True)
    publish(view, 1, None, 0, 0, caught_up=True)  # no events at all yet
    assert advance(live, view) == [] and live.evaluated_until_us == T0
    publish(view, 1, None, 0, 0)  # input arrived, nothing accepted yet: its watermark is unknown
    assert view.slowest_watermark_us(2) is None
    publish(view, 0, T0, 6, 2, caught_up=True)  # headroom 4
    assert advance(live, view) == [("pending", T0)]


def test_transfer_headroom_over_norm_and_the_overdue_backlog_are_measures():
    from alerts.measures import values

    view = FiguresView()
    ter_apel = json.dumps({"event_id": "ta", "occurred_at": "2023-01-01T00:00:00+01:00", "location_id": "TA",
                           "name": "Ter Apel", "province": "NL-GR", "location_type": "application_centre",
                           "capacity": 10, "status": "open", "norm": 5}).encode()
    view.apply(b"site:TA", ter_apel)
    view.apply(b"site:L1", site(10))  # regular
    totals = Totals(occupancy=Counter({"TA": 7, "L1": 12}), awaiting=Counter({"2022-12-01": 2, "2023-06-01": 1}))
    view.apply(partition_key(0), PartitionSummary(T0, {"placements": 1}, totals, True).encode())
    rules = parse_rules({"rules": [
        {"name": "t", "scope": "national", "measure": "transfer_headroom", "below": 0, "severity": "critical"},
        {"name": "n", "scope": "location", "measure": "over_norm", "above": 0, "severity": "critical"},
        {"name": "o", "scope": "national", "measure": "ind_backlog_overdue", "above": 0, "severity": "warning"},
        {"name": "p", "scope": "national", "measure": "ind_backlog_past_term", "above": 0, "severity": "warning"}]})
    figures = view.figures()
    assert values(rules[0], figures) == {"national": -2.0}  # L1 over-full; Ter Apel's beds are not transfer beds
    assert values(rules[1], figures) == {"L1": None, "TA": 2.0}
    assert values(rules[2], figures) == {"national": 2.0}  # registered 1 Dec 2022: 212 days on 1 Jul 2023
    assert values(rules[3], figures) == {"national": 0.0}  # ... of the fifteen months their day has
    six_months = FiguresView(())  # a schedule without the extension: six months for every day
    six_months.apply(partition_key(0), PartitionSummary(T0, {"placements": 1}, totals, True).encode())
    assert values(rules[3], six_months.figures()) == {"national": 2.0}
    assert sorted(t.alert_id for t in Evaluator(rules).evaluate(figures, at_us=T0)) == ["n/TA", "o/national",
                                                                                       "t/national"]


def test_a_quiet_stretch_is_evaluated_on_the_figures_that_held_during_it_as_the_backtest_does():
    """Issue 18: headroom below the threshold for an hour with no event in between, then check-outs. Live
    evaluation used to evaluate the hour's grid points on the figures of after it (no page at all); the
    summaries now say from when their changes date, so live names the backtest's fire and resolve."""
    from alerts.timeline import run
    from streams.contract.events import parse_event
    from streams.contract.topics import Topics
    from streams.ingest.processors import Incoming, PeopleProcessor

    def at(minutes: int) -> str:
        return f"2023-07-01T{10 + minutes // 60:02d}:{minutes % 60:02d}:00+02:00"

    def placement(i: int, action: str, minutes: int) -> dict:
        return {"event_type": "placement", "event_id": f"{action}{i}", "occurred_at": at(minutes),
                "person_id": f"p{i}", "action": action, "location_id": "L1"}

    feed = [placement(i, "check_in", 0) for i in range(6)] + [placement(i, "check_out", 60) for i in range(6)]
    location = json.loads(site(10))
    expected = [(t.kind, t.at_us) for t in run(RULES, [parse_event(site(10), "location"),
                                                       *(parse_event(json.dumps(e).encode()) for e in feed)])
                if t.kind in ("fired", "resolved")]
    assert expected == [("fired", T0 + 30 * MIN), ("resolved", T0 + 60 * MIN)]

    view, processor = FiguresView(), PeopleProcessor(Topics(""))
    view.apply(b"site:L1", json.dumps(location).encode())
    live = LiveEvaluator(Evaluator(RULES), 300, None)
    got = []
    for offset, batch in ((0, feed[:6]), (6, feed[6:])):  # two summaries: before and after the quiet hour
        processor.process([Incoming("placements", 0, offset + i, None, json.dumps(e).encode())
                           for i, e in enumerate(batch)])
        view.apply(partition_key(0), processor.partitions[0].summary(caught_up=True))
        got += [(t.kind, t.at_us) for t in live.advance(view.figures(), view.slowest_watermark_us(1),
                                                        view.take_changed_from())]
    assert [g for g in got if g[0] in ("fired", "resolved")] == expected


def test_a_change_is_first_seen_at_the_first_grid_point_after_it_and_a_register_change_in_a_quiet_night_at_once():
    def summary(watermark: int, occupants: int, offset: int, since: int) -> bytes:
        totals = Totals(occupancy=Counter({"L1": occupants}) if occupants else Counter())
        return PartitionSummary(watermark, {"placements": offset}, totals, True, since).encode()

    view = FiguresView()
    view.apply(b"site:L1", site(10))
    live = LiveEvaluator(Evaluator(RULES), 300, None)

    def advance_to() -> list[tuple[str, int]]:
        return [(t.kind, t.at_us) for t in live.advance(view.figures(), view.slowest_watermark_us(1),
                                                        view.take_changed_from())]
    view.apply(partition_key(0), summary(T0, 0, 1, T0))
    assert advance_to() == []
    view.apply(partition_key(0), summary(T0 + 13 * MIN, 6, 2, T0 + 7 * MIN))  # breach at 10:07, seen at 10:13
    assert advance_to() == [("pending", T0 + 10 * MIN)]  # the backtest's grid point, not 10:13
    view.apply(partition_key(0), summary(T0 + 50 * MIN, 6, 3, T0 + 50 * MIN))
    assert advance_to() == [("fired", T0 + 40 * MIN)]
    closing = json.loads(site(10))
    closing.update(event_id="close", occurred_at="2023-07-01T11:30:00+02:00", capacity=2)  # 90 min after T0
    view.apply(b"site:L1", json.dumps(closing).encode())  # no person event since 10:50: a quiet night
    assert view.slowest_watermark_us(1) == T0 + 90 * MIN and advance_to() == []
    assert live.evaluated_until_us == T0 + 90 * MIN  # evaluated at the closing's own time, not held back


def test_a_closing_is_seen_live_at_midnight_as_the_backtest_sees_it():
    """The register's `closes_on` takes effect on the evaluation time's day: live evaluates the first grid point
    of a new day even when nothing is pending, so the alert starts at midnight, not with the next event."""
    rules = parse_rules({"rules": [{"name": "gone", "scope": "national", "measure": "headroom", "below": 0,
                                    "clear": 0, "for": "0m", "severity": "critical"}]})
    view = FiguresView()
    view.apply(b"site:L1", json.dumps({"event_id": "l1", "occurred_at": "2023-06-01T00:00:00+02:00",
                                       "location_id": "L1", "name": "Crisis", "province": "NL-UT",
                                       "location_type": "crisis_emergency", "capacity": 10, "status": "open",
                                       "closes_on": "2023-07-02"}).encode())
    live = LiveEvaluator(Evaluator(rules), 300, None)
    publish(view, 0, T0, 6, 1)  # 1 July 10:00, six people, ten beds until the end of the day
    assert advance(live, view, partitions=1) == []
    publish(view, 0, T0 + 900 * MIN, 5, 2)  # the next event: 2 July 01:00
    midnight = T0 + 840 * MIN  # 2 July 00:00 (+02:00)
    assert advance(live, view, partitions=1) == [("fired", midnight)]
