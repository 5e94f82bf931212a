"""Max wait, when-no-agents, overflow targets, and configuration/command errors."""

from __future__ import annotations

import pytest

from queueing import (
    CallOverflowed,
    CallQueued,
    OfferEndReason,
    OverflowCall,
    OverflowReason,
    RelaxStep,
    Router,
    RoutingError,
    WhenNoAgents,
    WithdrawOffer,
)

from .helpers import agent, of, offers, queue, router

URI = "sip:voicemail@pbx.example"


def test_max_wait_overflows_to_sip_uri() -> None:
    r = router([queue(max_wait=60.0, overflow_target=URI)], [agent("a1")], login=False)
    r.call_arrived("c1", "main", 10.0)
    assert r.next_deadline() == 70.0
    r.handle_timer(70.0)
    out = r.drain()
    assert of(out, OverflowCall) == [
        OverflowCall(call_id="c1", queue="main", target=URI, reason=OverflowReason.MAX_WAIT)
    ]
    assert of(out, CallOverflowed)[0].wait_seconds == 60.0
    with pytest.raises(RoutingError):
        r.position("c1")


def test_max_wait_while_ringing_withdraws_offer() -> None:
    r = router([queue(max_wait=5.0, overflow_target=URI, ring_timeout=10.0)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.handle_timer(5.0)
    assert of(r.drain(), WithdrawOffer)[0].reason is OfferEndReason.OVERFLOWED


def test_overflow_into_queue_keeps_original_arrival_for_ordering() -> None:
    r = router(
        [queue("a", max_wait=30.0, overflow_target="b"), queue("b")],
        [agent("x", queues=("b",))],
        login=False,
    )
    r.call_arrived("from_a", "a", 0.0)
    r.call_arrived("b1", "b", 10.0)
    r.handle_timer(30.0)
    out = r.drain()
    assert of(out, CallQueued)[-1] == CallQueued(
        call_id="from_a", queue="b", priority=0, position=1, overflowed_from="a", at=30.0
    )
    assert r.position("b1") == 2
    r.agent_login("x", 31.0)
    assert offers(r.drain()) == [("from_a", "x")]


def test_when_no_agents_overflow_at_arrival() -> None:
    spec = queue(when_no_agents=WhenNoAgents.OVERFLOW, overflow_target=URI,
                 required_skills={"uyghur": 5})
    r = router([spec], [agent("a1", {"uyghur": 3})])
    assert r.call_arrived("c1", "main", 0.0) == 0
    assert of(r.drain(), OverflowCall)[0].reason is OverflowReason.NO_AGENTS


def test_when_no_agents_counts_paused_agents_as_logged_in() -> None:
    spec = queue(when_no_agents=WhenNoAgents.OVERFLOW, overflow_target=URI)
    r = router([spec], [agent("a1")], pause_reasons={"lunch"})
    r.agent_pause("a1", "lunch", 0.0)
    assert r.call_arrived("c1", "main", 1.0) == 1
    r.drain()
    r.agent_logout("a1", 2.0)  # last skilled agent gone: waiting callers leave
    assert of(r.drain(), OverflowCall)[0].call_id == "c1"


def test_when_no_agents_wait_keeps_callers() -> None:
    r = router([queue()], [agent("a1")])
    r.agent_logout("a1", 0.0)
    assert r.call_arrived("c1", "main", 1.0) == 1


@pytest.mark.parametrize(
    "build",
    [
        lambda: Router([queue(), queue()], []),
        lambda: Router([queue(overflow_target="nowhere")], []),
        lambda: Router([queue("a", max_wait=1, overflow_target="b"),
                        queue("b", max_wait=1, overflow_target="a")], []),
        lambda: Router([queue(relaxation=(RelaxStep(after_seconds=1, add_queues=("x",)),))], []),
        lambda: Router([queue()], [agent("a1", queues=("nope",))]),
        lambda: Router([queue()], [agent("a1"), agent("a1")]),
        lambda: Router([queue("a", numbers=("12345",)), queue("b", numbers=("12345",))], []),
        lambda: queue(max_wait=10.0),
        lambda: queue(required_skills={"tax": 11}),
        lambda: queue(ring_timeout=0.0),
    ],
)
def test_invalid_config(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RoutingError) as err:
        build()
    assert err.value.code == "invalid_config"


def test_command_errors_have_stable_codes() -> None:
    r = router([queue(numbers=("12345",))], [agent("a1")], pause_reasons={"lunch"})
    cases = [
        (lambda: r.call_arrived("c1", "nope", 0.0), "unknown_queue"),
        (lambda: r.agent_login("ghost", 0.0), "unknown_agent"),
        (lambda: r.agent_login("a1", 0.0), "invalid_transition"),
        (lambda: r.agent_pause("a1", "nap", 0.0), "unknown_pause_reason"),
        (lambda: r.call_arrived("c1", "main", 0.0, extra_skills={"x": 0}), "invalid_argument"),
        (lambda: r.offer_answered("c9", "a1", 0.0), "no_such_offer"),
        (lambda: r.call_completed("c9", 0.0), "unknown_call"),
        (lambda: r.queue_for_number("110"), "unknown_queue"),
    ]
    for command, code in cases:
        with pytest.raises(RoutingError) as err:
            command()
        assert err.value.code == code
    assert r.queue_for_number("12345") == "main"
    r.call_arrived("c1", "main", 0.0)
    with pytest.raises(RoutingError) as err:
        r.call_arrived("c1", "main", 0.0)
    assert err.value.code == "duplicate_call"
    r.agent_logout("a1", 1.0)
    for command in (lambda: r.agent_logout("a1", 1.0), lambda: r.agent_available("a1", 1.0),
                    lambda: r.agent_pause("a1", "lunch", 1.0)):
        with pytest.raises(RoutingError) as err:
            command()
        assert err.value.code == "invalid_transition"


def test_pause_withdraws_ringing_offer_and_no_answer_reason_is_builtin() -> None:
    r = router([queue()], [agent("a1"), agent("a2")])
    r.call_arrived("c1", "main", 0.0)
    r.drain()
    r.agent_pause("a1", "no-answer", 1.0)
    out = r.drain()
    assert of(out, WithdrawOffer)[0].reason is OfferEndReason.AGENT_PAUSED
    assert offers(out) == [("c1", "a2")]
