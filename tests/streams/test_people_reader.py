"""The person reader's batches: an equal share of each partition that has messages, so no person topic is read
days ahead of the others (the expiry horizon is the slowest topic's time)."""

from __future__ import annotations

from collections import deque

from streams.runtime.people_reader import take_shares


def test_each_partition_gives_an_equal_share_in_its_own_order():
    a, b, c = deque(f"a{i}" for i in range(10)), deque(f"b{i}" for i in range(10)), deque(f"c{i}" for i in range(10))
    taken = take_shares([a, b, c], 6)
    assert sorted(taken) == ["a0", "a1", "b0", "b1", "c0", "c1"]
    assert (a[0], b[0], c[0]) == ("a2", "b2", "c2")


def test_a_short_partition_gives_all_it_has_and_the_others_share_the_rest():
    short, long1, long2 = deque(["s0"]), deque(range(100)), deque(range(100, 200))
    taken = take_shares([short, long1, long2], 9)
    assert len(taken) == 9 and "s0" in taken and not short
    assert abs((100 - len(long1)) - (100 - len(long2))) <= 1


def test_never_more_than_asked_and_all_when_fewer_are_buffered():
    queues = [deque(range(7)), deque(range(5)), deque()]
    assert len(take_shares(queues, 4)) == 4
    assert len(take_shares(queues, 100)) == 8 and not any(queues)
    assert take_shares([deque(), deque()], 10) == []
