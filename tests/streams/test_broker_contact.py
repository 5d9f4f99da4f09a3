"""The broker's reachability from probe results (streams/runtime/broker_contact.py): what /health and the outage
metrics read."""

from __future__ import annotations

from streams.runtime.broker_contact import Contact


def test_one_failed_probe_is_not_an_outage_but_silence_for_the_limit_is():
    contact = Contact(last_ok=0.0, unreachable_after_s=6.0)
    assert contact.record(False, 2.0) is None and contact.reachable
    assert contact.record(False, 4.0) is None and contact.reachable
    assert contact.record(False, 6.0) == "lost" and not contact.reachable
    assert contact.down_for(10.0) == 10.0  # counted from the last answer, not from when it was noticed
    assert contact.record(False, 12.0) is None and contact.outages == 1


def test_an_answer_ends_the_outage_and_keeps_its_seconds():
    contact = Contact(last_ok=0.0, unreachable_after_s=6.0)
    contact.record(False, 7.0)
    assert contact.record(True, 40.0) == "back" and contact.reachable
    assert contact.last_outage_s == 40.0 and contact.down_for(41.0) == 0.0
    contact.record(False, 100.0)  # 60 s after the last answer: a second outage
    assert contact.outages == 2 and contact.down_seconds(110.0) == 40.0 + 70.0
    assert contact.record(True, 111.0) == "back" and contact.down_seconds(200.0) == 40.0 + 71.0


def test_answers_in_between_keep_it_reachable():
    contact = Contact(last_ok=0.0, unreachable_after_s=6.0)
    for second in range(0, 60, 5):
        assert contact.record(second % 10 == 0, float(second)) is None
    assert contact.reachable and contact.outages == 0 and contact.down_seconds(60.0) == 0.0
