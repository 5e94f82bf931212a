"""Agent selection per strategy, and the tie-break (fewest skills, then id)."""

from __future__ import annotations

from queueing import AgentState, OfferEndReason, Strategy, Tier, WithdrawOffer

from .helpers import agent, of, offers, queue, router


def first_offer(r, call_id: str, now: float) -> str:  # type: ignore[no-untyped-def]
    r.call_arrived(call_id, "main", now)
    (offer,) = offers(r.drain())
    return offer[1]


def serve(r, call_id: str, agent_id: str, start: float, talk: float) -> None:  # type: ignore[no-untyped-def]
    r.offer_answered(call_id, agent_id, start)
    r.call_completed(call_id, start + talk)
    r.drain()


def test_longest_idle_is_default_and_counts_from_end_of_wrapup() -> None:
    r = router([queue()], [agent("a1"), agent("a2"), agent("a3")], login=False)
    r.agent_login("a2", 0.0)
    r.agent_login("a3", 1.0)
    r.agent_login("a1", 2.0)
    assert first_offer(r, "c1", 3.0) == "a2"
    serve(r, "c1", "a2", 4.0, 10.0)  # a2 idle again at 14
    assert first_offer(r, "c2", 20.0) == "a3"
    assert first_offer(r, "c3", 21.0) == "a1"
    assert first_offer(r, "c4", 22.0) == "a2"


def test_ties_break_on_fewest_skills_then_id() -> None:
    agents = [
        agent("a1", {"mandarin": 5, "tax": 3}),
        agent("b2", {"mandarin": 5}),
        agent("a3", {"mandarin": 5}),
    ]
    r = router([queue()], agents, now=0.0)  # all idle since 0
    assert first_offer(r, "c1", 1.0) == "a3"
    assert first_offer(r, "c2", 1.0) == "b2"
    assert first_offer(r, "c3", 1.0) == "a1"


def test_fewest_calls() -> None:
    r = router([queue(strategy=Strategy.FEWEST_CALLS)], [agent("a1"), agent("a2")])
    assert first_offer(r, "c1", 1.0) == "a1"
    serve(r, "c1", "a1", 1.0, 5.0)
    assert first_offer(r, "c2", 10.0) == "a2"
    serve(r, "c2", "a2", 10.0, 5.0)
    assert first_offer(r, "c3", 20.0) == "a1"  # 1 call each: tie -> id


def test_least_talk_time() -> None:
    r = router([queue(strategy=Strategy.LEAST_TALK_TIME)], [agent("a1"), agent("a2")])
    assert first_offer(r, "c1", 0.0) == "a1"
    serve(r, "c1", "a1", 0.0, 100.0)
    assert first_offer(r, "c2", 101.0) == "a2"
    serve(r, "c2", "a2", 101.0, 30.0)
    assert first_offer(r, "c3", 200.0) == "a2"  # 30 s < 100 s


def test_linear_follows_tier_order_from_the_top() -> None:
    agents = [
        agent("a1", tiers={"main": Tier(level=2, position=1)}),
        agent("a2", tiers={"main": Tier(level=1, position=2)}),
        agent("a3", tiers={"main": Tier(level=1, position=1)}),
    ]
    r = router([queue(strategy=Strategy.LINEAR)], agents)
    assert first_offer(r, "c1", 1.0) == "a3"
    serve(r, "c1", "a3", 1.0, 1.0)
    assert first_offer(r, "c2", 5.0) == "a3"  # linear always restarts at the top
    assert first_offer(r, "c3", 5.0) == "a2"
    assert first_offer(r, "c4", 5.0) == "a1"


def test_round_robin_remembers_position() -> None:
    agents = [agent(f"a{i}", tiers={"main": Tier(position=i)}) for i in (1, 2, 3)]
    r = router([queue(strategy=Strategy.ROUND_ROBIN)], agents)
    got = []
    for n in range(5):
        agent_id = first_offer(r, f"c{n}", float(n))
        got.append(agent_id)
        serve(r, f"c{n}", agent_id, float(n), 0.0)
    assert got == ["a1", "a2", "a3", "a1", "a2"]


def test_random_is_seeded() -> None:
    def picks(seed: int) -> list[str]:
        r = router(
            [queue(strategy=Strategy.RANDOM)], [agent(f"a{i}") for i in range(8)], seed=seed
        )
        out = []
        for n in range(6):
            agent_id = first_offer(r, f"c{n}", float(n))
            out.append(agent_id)
            serve(r, f"c{n}", agent_id, float(n), 0.0)
        return out

    assert picks(7) == picks(7)
    assert len({tuple(picks(s)) for s in range(5)}) > 1


def test_ring_all_first_answer_wins_others_withdrawn() -> None:
    agents = [agent("a1"), agent("a2"), agent("a3", {"x": 1}, queues=("other",))]
    r = router([queue(strategy=Strategy.RING_ALL), queue("other")], agents)
    r.call_arrived("c1", "main", 0.0)
    assert sorted(offers(r.drain())) == [("c1", "a1"), ("c1", "a2")]
    r.offer_answered("c1", "a2", 3.0)
    out = r.drain()
    assert of(out, WithdrawOffer) == [
        WithdrawOffer(call_id="c1", agent_id="a1", reason=OfferEndReason.ANSWERED_ELSEWHERE)
    ]
    assert r.agent_view("a1").state is AgentState.IDLE


def test_ring_all_requeues_only_after_every_offer_ended() -> None:
    r = router([queue(strategy=Strategy.RING_ALL, reject_delay=30.0)],
               [agent("a1"), agent("a2")])
    r.call_arrived("c1", "main", 0.0)
    r.drain()
    from queueing import CallState, OfferFailure

    r.offer_failed("c1", "a1", OfferFailure.REJECTED, 1.0)
    assert r.call_view("c1").state is CallState.OFFERED
    r.offer_failed("c1", "a2", OfferFailure.REJECTED, 2.0)
    assert r.call_view("c1").state is CallState.WAITING
    r.handle_timer(31.0)
    assert sorted(offers(r.drain())) == [("c1", "a1")]
