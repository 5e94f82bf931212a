"""Position and estimated wait: the formula, and a seeded M/M/N run on the core."""

from __future__ import annotations

import heapq
import random

import pytest

from queueing import CallAnswered, OfferCall, Router, RoutingError

from .helpers import agent, queue, router


def test_position_and_ewt_formula() -> None:
    r = router([queue()], [agent("a1"), agent("a2")], default_handle_time=120.0)
    for i in range(4):
        r.call_arrived(f"c{i}", "main", float(i))
    # c0 and c1 ring; c2 and c3 wait at positions 3 and 4
    assert [r.position(f"c{i}") for i in range(4)] == [1, 2, 3, 4]
    assert r.estimated_wait("c0") == 0.0
    assert r.estimated_wait("c3") == 4 * 120.0 / 2
    r.agent_pause("a2", "no-answer", 5.0)  # withdraws c1's offer
    assert r.estimated_wait("c3") == 4 * 120.0 / 1
    r.agent_logout("a1", 6.0)
    r.agent_logout("a2", 6.0)
    assert r.estimated_wait("c3") is None  # nobody serving: no promise


def test_handle_time_learns_from_answered_calls() -> None:
    r = router([queue(wrapup_seconds=20.0)], [agent("a1")], default_handle_time=100.0,
               handle_time_alpha=0.5)
    r.call_arrived("c1", "main", 0.0)
    r.offer_answered("c1", "a1", 0.0)
    r.call_completed("c1", 40.0)
    r.handle_timer(60.0)  # handle time = 40 talk + 20 wrap-up
    assert r.queue_view("main").mean_handle_time == 100.0 + 0.5 * (60.0 - 100.0)


def test_handle_time_is_the_mean_over_the_window_by_default() -> None:
    r = router([queue()], [agent("a1")], default_handle_time=100.0, handle_time_window=50.0)
    assert r.queue_view("main").mean_handle_time == 100.0  # no sample yet
    for i, (start, talk) in enumerate([(0.0, 10.0), (20.0, 30.0), (60.0, 20.0), (200.0, 5.0)]):
        r.call_arrived(f"c{i}", "main", start)
        r.offer_answered(f"c{i}", "a1", start)
        r.call_completed(f"c{i}", start + talk)
    # samples ended at 10 (10 s), 50 (30 s), 80 (20 s), 205 (5 s); window 50 s
    assert r.queue_view("main").mean_handle_time == 5.0  # only the newest is recent
    r2 = router([queue()], [agent("a1")], default_handle_time=100.0, handle_time_window=50.0)
    for i, (start, talk) in enumerate([(0.0, 10.0), (20.0, 30.0), (60.0, 20.0)]):
        r2.call_arrived(f"c{i}", "main", start)
        r2.offer_answered(f"c{i}", "a1", start)
        r2.call_completed(f"c{i}", start + talk)
    assert r2.queue_view("main").mean_handle_time == (30.0 + 20.0) / 2  # 10 s fell out


def test_handle_time_settings_are_checked() -> None:
    for kw in (
        {"handle_time_alpha": 0.0},
        {"handle_time_alpha": 1.5},
        {"handle_time_window": -1.0},
        {"handle_time_alpha": 0.1, "handle_time_window": 60.0},
    ):
        with pytest.raises(RoutingError) as err:
            Router([queue()], [], **kw)  # type: ignore[arg-type]
        assert err.value.code == "invalid_config"


def test_ewt_matches_mm_n_simulation() -> None:
    """Mean announced EWT of queued callers equals their mean actual wait (M/M/4)."""
    rng = random.Random(12345)
    n_agents, aht, rho = 4, 60.0, 0.85
    rate = rho * n_agents / aht
    r = Router([queue(ring_timeout=30.0)], [agent(f"a{i}") for i in range(n_agents)],
               default_handle_time=aht, handle_time_alpha=0.02)
    for i in range(n_agents):
        r.agent_login(f"a{i}", 0.0)
    events: list[tuple[float, int, str, str]] = []  # (time, seq, kind, call)
    seq = 0
    t = 0.0
    for n in range(20000):
        t += rng.expovariate(rate)
        events.append((t, n, "arrive", f"c{n}"))
    heapq.heapify(events)
    seq = len(events)
    predicted: dict[str, float] = {}
    actual: dict[str, float] = {}
    while events:
        now, _, kind, call_id = heapq.heappop(events)
        if kind == "arrive":
            r.call_arrived(call_id, "main", now)
            if r.call_view(call_id).offered_to == ():
                ewt = r.estimated_wait(call_id)
                assert ewt is not None
                predicted[call_id] = ewt
        else:
            r.call_completed(call_id, now)
        for out in r.drain():
            if isinstance(out, OfferCall):
                r.offer_answered(out.call_id, out.agent_id, now)
            elif isinstance(out, CallAnswered):
                if out.call_id in predicted:
                    actual[out.call_id] = out.wait_seconds
                seq += 1
                heapq.heappush(events, (now + rng.expovariate(1 / aht), seq, "end", out.call_id))
        # answering inside the loop produced more outputs: process them too
        for out in r.drain():
            if isinstance(out, CallAnswered):
                if out.call_id in predicted:
                    actual[out.call_id] = out.wait_seconds
                seq += 1
                heapq.heappush(events, (now + rng.expovariate(1 / aht), seq, "end", out.call_id))
    queued = sorted(predicted)
    assert len(queued) > 5000
    mean_predicted = sum(predicted[c] for c in queued) / len(queued)
    mean_actual = sum(actual[c] for c in queued) / len(queued)
    assert abs(mean_predicted - mean_actual) / mean_actual < 0.1, (mean_predicted, mean_actual)
