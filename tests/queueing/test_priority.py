"""Caller order: priority, then wait; across queues priority, queue weight, wait."""

from __future__ import annotations

from queueing import Strategy

from .helpers import agent, offers, queue, router


def test_priority_then_fifo_within_a_queue() -> None:
    r = router([queue()], [agent("a1")], login=False)
    r.call_arrived("low1", "main", 0.0)
    r.call_arrived("high", "main", 1.0, priority=5)
    r.call_arrived("low2", "main", 2.0)
    r.call_arrived("high2", "main", 3.0, priority=5)
    assert [r.position(c) for c in ("high", "high2", "low1", "low2")] == [1, 2, 3, 4]
    r.agent_login("a1", 4.0)
    served = []
    for n in range(4):
        ((call_id, _),) = offers(r.drain())
        served.append(call_id)
        r.offer_answered(call_id, "a1", 5.0 + n)
        r.call_completed(call_id, 5.5 + n)
    assert served == ["high", "high2", "low1", "low2"]


def _two_queues(weight_a: int, weight_b: int):  # type: ignore[no-untyped-def]
    return router(
        [queue("a", weight=weight_a), queue("b", weight=weight_b)],
        [agent("x", queues=("a", "b"))],
        login=False,
    )


def test_cross_queue_priority_beats_weight_and_wait() -> None:
    r = _two_queues(10, 0)
    r.call_arrived("a_old", "a", 0.0)
    r.call_arrived("b_vip", "b", 5.0, priority=1)
    r.agent_login("x", 6.0)
    assert offers(r.drain()) == [("b_vip", "x")]


def test_cross_queue_weight_beats_wait() -> None:
    r = _two_queues(0, 10)
    r.call_arrived("a_old", "a", 0.0)
    r.call_arrived("b_new", "b", 5.0)
    r.agent_login("x", 6.0)
    assert offers(r.drain()) == [("b_new", "x")]


def test_cross_queue_equal_weight_longest_wait() -> None:
    r = _two_queues(3, 3)
    r.call_arrived("b_old", "b", 0.0)
    r.call_arrived("a_new", "a", 5.0)
    r.agent_login("x", 6.0)
    assert offers(r.drain()) == [("b_old", "x")]


def test_agent_takes_best_call_it_is_skilled_for_not_the_queue_head() -> None:
    r = router([queue()], [agent("a1", {"mandarin": 3})], login=False)
    r.call_arrived("needs_tax", "main", 0.0, extra_skills={"tax": 5})
    r.call_arrived("plain", "main", 1.0)
    r.agent_login("a1", 2.0)
    assert offers(r.drain()) == [("plain", "a1")]
    assert r.position("needs_tax") == 1  # it keeps its place for a skilled agent


def test_agents_freed_together_each_take_their_own_best_caller() -> None:
    """x and y are freed in one dispatch pass (the ring-all caller they both ring for
    hangs up). x can take only `near`; y can take `near` and the older `far`. Whatever
    the strategy prefers for `near`, y is owed `far`, so `near` goes to x."""
    r = router(
        [
            queue("hot", strategy=Strategy.RING_ALL, required_skills={"mandarin": 1}),
            queue("tax", required_skills={"tax": 1}),
        ],
        [
            agent("x", {"mandarin": 5}, queues=("hot",)),
            agent("y", {"mandarin": 5, "tax": 5}, queues=("hot", "tax")),
        ],
        login=False,
    )
    r.agent_login("y", 0.0)  # y idle longest: first in the strategy order
    r.agent_login("x", 1.0)
    r.call_arrived("ring", "hot", 2.0)
    assert sorted(offers(r.drain())) == [("ring", "x"), ("ring", "y")]
    r.call_arrived("far", "tax", 3.0)
    r.call_arrived("near", "hot", 4.0)
    assert offers(r.drain()) == []  # both agents ringing
    r.caller_left("ring", 5.0)  # frees x and y in one dispatch pass
    assert sorted(offers(r.drain())) == [("far", "y"), ("near", "x")]
