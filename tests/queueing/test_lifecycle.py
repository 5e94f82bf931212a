"""Offer lifecycle, wrap-up, no-answer handling, abandon, fail: literal times."""

from __future__ import annotations

import pytest

from queueing import (
    AgentState,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOffered,
    OfferCall,
    OfferEnded,
    OfferEndReason,
    OfferFailure,
    RoutingError,
    WithdrawOffer,
)

from .helpers import agent, of, offers, queue, router


def test_arrival_offers_idle_agent_in_same_step() -> None:
    r = router([queue(ring_timeout=12.0)], [agent("a1")])
    assert r.call_arrived("c1", "main", 5.0) == 1
    out = r.drain()
    assert of(out, OfferCall) == [
        OfferCall(call_id="c1", agent_id="a1", queue="main", ring_timeout=12.0)
    ]
    assert of(out, CallOffered)[0].attempt == 1
    assert r.agent_view("a1").state is AgentState.RESERVED
    assert r.next_deadline() == 17.0


def test_answer_complete_wrapup_then_idle() -> None:
    r = router([queue(wrapup_seconds=30.0)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.offer_answered("c1", "a1", 4.0)
    answered = of(r.drain(), CallAnswered)
    assert answered == [
        CallAnswered(call_id="c1", queue="main", agent_id="a1", wait_seconds=4.0,
                     ring_seconds=4.0, at=4.0)
    ]
    r.call_completed("c1", 64.0)
    assert of(r.drain(), CallCompleted)[0].talk_seconds == 60.0
    view = r.agent_view("a1")
    assert view.state is AgentState.WRAP_UP
    assert (view.calls_answered, view.talk_time, view.last_call_end) == (1, 60.0, 64.0)
    r.call_arrived("c2", "main", 70.0)
    assert offers(r.drain()) == []  # nobody idle during wrap-up
    assert r.next_deadline() == 94.0
    r.handle_timer(94.0)
    assert offers(r.drain()) == [("c2", "a1")]


def test_agent_wrapup_override_and_early_end() -> None:
    r = router([queue(wrapup_seconds=30.0)], [agent("a1", wrapup_seconds=100.0)])
    r.call_arrived("c1", "main", 0.0)
    r.offer_answered("c1", "a1", 1.0)
    r.call_completed("c1", 11.0)
    assert r.next_deadline() == 111.0
    r.call_arrived("c2", "main", 20.0)
    r.drain()
    r.agent_end_wrapup("a1", 25.0)
    assert offers(r.drain()) == [("c2", "a1")]
    with pytest.raises(RoutingError) as err:
        r.agent_end_wrapup("a1", 26.0)
    assert err.value.code == "invalid_transition"


def test_ring_timeout_withdraws_and_offers_next_agent_keeping_place() -> None:
    r = router([queue(ring_timeout=10.0)], [agent("a1"), agent("a2")], now=0.0)
    r.agent_logout("a2", 0.5)
    r.call_arrived("c1", "main", 1.0)
    r.call_arrived("c2", "main", 2.0)
    r.agent_login("a2", 3.0)
    r.drain()  # c2 went to a2
    r.handle_timer(11.0)
    out = r.drain()
    assert WithdrawOffer(call_id="c1", agent_id="a1", reason=OfferEndReason.NO_ANSWER) in out
    # only a1 is free again: c1 comes back at the head and is re-offered
    assert offers(out) == [("c1", "a1")]
    assert r.position("c1") == 1
    assert r.call_view("c1").attempts == 2


def test_failed_offer_goes_to_an_untried_agent_first() -> None:
    r = router([queue()], [agent("a1"), agent("a2")])
    r.call_arrived("c1", "main", 1.0)
    (first,) = offers(r.drain())
    r.offer_failed("c1", first[1], OfferFailure.REJECTED, 2.0)
    out = r.drain()
    other = "a2" if first[1] == "a1" else "a1"
    assert offers(out) == [("c1", other)]
    assert of(out, WithdrawOffer) == []  # the SIP side reported it: nothing to cancel
    assert of(out, OfferEnded)[0].reason is OfferEndReason.REJECTED


def test_no_answer_delay_keeps_agent_out() -> None:
    r = router([queue(no_answer_delay=20.0)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.drain()
    r.offer_failed("c1", "a1", OfferFailure.NO_ANSWER, 8.0)
    assert offers(r.drain()) == []
    assert r.agent_view("a1").state is AgentState.DELAYED
    assert r.next_deadline() == 28.0
    r.handle_timer(27.9)
    assert offers(r.drain()) == []
    r.handle_timer(28.0)
    assert offers(r.drain()) == [("c1", "a1")]


def test_reject_delay() -> None:
    r = router([queue(reject_delay=5.0, no_answer_delay=50.0)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.offer_failed("c1", "a1", OfferFailure.REJECTED, 1.0)
    assert r.next_deadline() == 6.0


@pytest.mark.parametrize(("limit", "paused_after"), [(1, 1), (3, 3), (0, None)])
def test_pause_after_n_consecutive_no_answers(limit: int, paused_after: int | None) -> None:
    r = router([queue(max_no_answers=limit, ring_timeout=10.0)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    now = 0.0
    for attempt in range(1, 5):
        now += 10.0
        r.handle_timer(now)  # ring timeout -> re-offer while still available
        view = r.agent_view("a1")
        if paused_after is not None and attempt >= paused_after:
            assert view.status is AgentStatus.PAUSED
            assert view.pause_reason == "no-answer"
            break
        assert view.status is AgentStatus.AVAILABLE
        assert view.consecutive_no_answers == attempt
    else:
        assert paused_after is None


def test_answer_resets_no_answer_count() -> None:
    r = router([queue(max_no_answers=2)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.handle_timer(10.0)
    assert r.agent_view("a1").consecutive_no_answers == 1
    r.offer_answered("c1", "a1", 12.0)
    assert r.agent_view("a1").consecutive_no_answers == 0


def test_unreachable_offer_parks_agent_until_registered() -> None:
    r = router([queue()], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.drain()
    r.offer_failed("c1", "a1", OfferFailure.UNREACHABLE, 0.5)
    assert r.agent_view("a1").state is AgentState.UNREACHABLE
    assert offers(r.drain()) == []
    r.agent_reachable("a1", True, 30.0)
    assert offers(r.drain()) == [("c1", "a1")]


def test_registration_lost_while_ringing_withdraws() -> None:
    r = router([queue()], [agent("a1"), agent("a2")])
    r.call_arrived("c1", "main", 0.0)
    (first,) = offers(r.drain())
    r.agent_reachable(first[1], False, 1.0)
    out = r.drain()
    assert of(out, WithdrawOffer)[0].reason is OfferEndReason.AGENT_UNREACHABLE
    assert len(offers(out)) == 1 and offers(out)[0][1] != first[1]


def test_caller_left_while_ringing_withdraws_and_late_answer_is_refused() -> None:
    r = router([queue()], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.drain()
    r.caller_left("c1", 3.0)
    out = r.drain()
    assert of(out, WithdrawOffer) == [
        WithdrawOffer(call_id="c1", agent_id="a1", reason=OfferEndReason.CALLER_LEFT)
    ]
    assert of(out, CallAbandoned) == [
        CallAbandoned(call_id="c1", queue="main", wait_seconds=3.0, position=1, at=3.0)
    ]
    assert r.agent_view("a1").state is AgentState.IDLE
    with pytest.raises(RoutingError) as err:
        r.offer_answered("c1", "a1", 3.1)
    assert err.value.code == "no_such_offer"
    assert r.next_deadline() is None


def test_abandon_while_waiting_reports_position() -> None:
    r = router([queue()], [agent("a1")], login=False)
    for i in range(3):
        r.call_arrived(f"c{i}", "main", float(i))
    r.caller_left("c1", 10.0)
    (ab,) = of(r.drain(), CallAbandoned)
    assert (ab.position, ab.wait_seconds) == (2, 9.0)
    assert r.position("c2") == 2


def test_answer_after_ring_timeout_is_refused() -> None:
    r = router([queue(ring_timeout=10.0, no_answer_delay=5.0)], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.drain()
    with pytest.raises(RoutingError) as err:
        r.offer_answered("c1", "a1", 10.5)  # the timer fires first, at 10.0
    assert err.value.code == "no_such_offer"


def test_call_failed_is_final() -> None:
    r = router([queue()], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.call_failed("c1", "media-timeout", 2.0)
    out = r.drain()
    assert of(out, CallFailed)[0].reason == "media-timeout"
    assert of(out, WithdrawOffer)[0].reason is OfferEndReason.CALL_FAILED
    with pytest.raises(RoutingError) as err:
        r.caller_left("c1", 3.0)
    assert err.value.code == "unknown_call"


def test_answered_call_cannot_be_abandoned_or_failed() -> None:
    r = router([queue()], [agent("a1")])
    r.call_arrived("c1", "main", 0.0)
    r.offer_answered("c1", "a1", 1.0)
    for command in (lambda: r.caller_left("c1", 2.0), lambda: r.call_failed("c1", "x", 2.0)):
        with pytest.raises(RoutingError) as err:
            command()
        assert err.value.code == "invalid_transition"
