"""Announce mode (RFC 3725): a BYE from either side while the ACD's re-INVITE to the caller
is pending, the caller's 2xx crossing the ACD's BYE, a re-INVITE that never gets a final
response, and an agent hanging up before the caller's ACK to the ACD's 200.

In every ordering: the agent answered, so exactly one `CallEnded` with outcome
``answered`` (the router's `CallCompleted` carries the talk time up to the hang-up), the
agent in wrap-up, one BYE per side that did not hang up itself, every 2xx to the
re-INVITE ACKed (RFC 3261 §13.2.2.4, also after our BYE: RFC 5407 §3.2), no BYE to the
caller before its ACK (§15), and once the timers have run out no transaction left and
nothing more sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from queueing import AgentState, CallCompleted
from sip.dialog import Dialog
from sip.endpoint import Endpoint, EndpointConfig
from sip.message import Request
from sip.transaction_events import AckReceived, RequestReceived, ResponseReceived

from .harness import DOMAIN, Network, Peer, base_config, sdp, sent

CALLER_SDP = sdp("10.0.0.2", 30000, session="4711", user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, session="99", user="phone")
T1 = 0.5
TALK = 0.3  # < T1: no re-INVITE retransmission before the hang-up


# -- helpers -----------------------------------------------------------------------------
def network(**queue: Any) -> Network:
    """Wrap-up long enough to still be on when every SIP timer has run out."""
    return Network(base_config(wrapup_seconds=600, **queue))


def transactions(requests: list[Request]) -> int:
    """Distinct client transactions (branches) among ``requests``: retransmissions of one
    request count once."""
    return len({r.top_via.branch for r in requests})


def no_pbx_trying(net: Network) -> None:
    """A PBX that sends no 100 Trying (the ACD's re-INVITE stays in Calling: timer A/B)."""
    net.pbx.ep = Endpoint(EndpointConfig(sent_by={"udp": (net.pbx.addr.host, net.pbx.addr.port)},
                                         server=None, auto_trying=False))


def connecting(net: Network) -> tuple[Peer, Dialog, RequestReceived, float]:
    """A queued, ACKed announce call; the agent answers; the ACD's re-INVITE is at the
    caller, unanswered. Returns the phone, the PBX's dialog, the re-INVITE, answer time."""
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200)
    dialog = net.pbx.ack(invite, ok.response)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 180)
    net.advance(net.runtime.t + 2.0)
    answered_at = net.runtime.t
    phone.respond(inv, 200, AGENT_SDP)
    phone.take(AckReceived)
    reinvite = net.pbx.take(RequestReceived, "INVITE")
    assert reinvite.request.to.tag  # in-dialog: the 3PCC re-INVITE
    assert net.engine.calls and next(iter(net.engine.calls.values())).state.value == "connecting"
    return phone, dialog, reinvite, answered_at


def agent_hangs_up(net: Network, phone: Peer) -> None:
    phone.send_in_dialog(phone.dialogs[0], "BYE")
    assert phone.take(ResponseReceived, "BYE", 200)


def settled(net: Network, *, hangup_by: str, reason: str, talk: float) -> None:
    """Exactly one answered CallEnded, agent in wrap-up, the leg ended once as answered;
    after every timer ran out: nothing of the call left in the engine, no transaction
    left in the ACD's endpoint, nothing sent any more."""
    (ended,) = net.ended()
    assert (ended.outcome, ended.hangup_by.value, ended.reason) == ("answered", hangup_by, reason)
    assert ended.agent_id == "1001"
    (leg,) = net.legs()
    assert (leg.result, leg.status) == ("answered", 200)
    (completed,) = [e for e in net.router_events if isinstance(e, CallCompleted)]
    assert completed.talk_seconds == pytest.approx(talk)
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    engine = net.engine
    assert not engine.calls and not engine.by_invite and not engine.owners
    assert not engine.reinviting and len(engine.dialogs) == 0
    net.advance(net.runtime.t + 200)  # every SIP timer (64*T1 = 32 s) long over
    assert net.sip.endpoint is not None and net.sip.endpoint.live_transactions == 0
    before = len(net.transport.sent)
    net.advance(net.runtime.t + 200)
    assert len(net.transport.sent) == before, "the ACD still sends after the call ended"
    assert len(net.ended()) == 1


def answer_bye(peer: Peer) -> None:
    bye = peer.take(RequestReceived, "BYE")
    peer.respond(bye, 200)


# -- 1. the agent hangs up before the caller answered the re-INVITE ------------------------
def test_agent_bye_first_caller_answers_the_reinvite_487() -> None:
    """RFC 3261 §15.1.2: the caller answers its pending re-INVITE 487 on our BYE."""
    net = network()
    phone, _, reinvite, answered_at = connecting(net)
    net.advance(answered_at + TALK)
    agent_hangs_up(net, phone)
    answer_bye(net.pbx)  # the ACD hung up the caller at once, re-INVITE still pending
    net.pbx.respond(reinvite, 487)
    (ack,) = sent(net, net.pbx, "ACK")[-1:]
    assert ack.cseq.seq == reinvite.request.cseq.seq  # the 487's ACK (transaction layer)
    assert transactions(sent(net, net.pbx, "BYE")) == 1
    assert not sent(net, phone, "BYE")  # the agent hung up itself
    settled(net, hangup_by="agent", reason="agent-bye", talk=TALK)


def test_agent_bye_first_then_the_callers_late_200_is_acked() -> None:
    """The caller answers the re-INVITE 200 after our BYE (it had generated the 200
    before it saw the BYE): the ACD still ACKs it, and each retransmission of it."""
    net = network()
    phone, _, reinvite, answered_at = connecting(net)
    net.advance(answered_at + TALK)
    agent_hangs_up(net, phone)
    bye = net.pbx.take(RequestReceived, "BYE")
    net.drop = lambda data: data.startswith(b"ACK ")  # the first ACK is lost
    net.pbx.respond(reinvite, 200, CALLER_SDP)
    net.drop = None
    acks = [a for a in sent(net, net.pbx, "ACK") if a.cseq.seq == reinvite.request.cseq.seq]
    assert len(acks) == 1
    net.advance(net.runtime.t + T1)  # the caller resends its 200: ACKed again
    assert net.pbx.take(AckReceived).request.cseq.seq == reinvite.request.cseq.seq
    acks = [a for a in sent(net, net.pbx, "ACK") if a.cseq.seq == reinvite.request.cseq.seq]
    assert len(acks) == 2 and bytes(acks[0]) == bytes(acks[1])
    net.pbx.respond(bye, 200)
    assert transactions(sent(net, net.pbx, "BYE")) == 1  # no second BYE for the 200
    assert not net.pbx.has(RequestReceived, "INVITE")  # no re-INVITE after the hang-up
    settled(net, hangup_by="agent", reason="agent-bye", talk=TALK)


# -- 3. the caller's 200 and the agent's BYE cross --------------------------------------
def test_callers_200_and_the_acd_bye_cross_on_the_wire() -> None:
    """The caller's 200 is on its way when the agent's BYE reaches the ACD, and the ACD's
    BYE is still in flight when the 200 arrives: ACK after BYE; one BYE transaction."""
    net = network()
    phone, _, reinvite, answered_at = connecting(net)
    net.advance(answered_at + TALK)
    net.drop = lambda data: data.startswith(b"BYE ")  # the ACD's BYE still in flight ...
    agent_hangs_up(net, phone)
    net.drop = None
    net.pbx.respond(reinvite, 200, CALLER_SDP)  # ... when the caller's 200 arrives
    assert net.pbx.take(AckReceived).request.cseq.seq == reinvite.request.cseq.seq
    net.advance(net.runtime.t + T1)  # the BYE's retransmission reaches the caller
    answer_bye(net.pbx)
    byes = sent(net, net.pbx, "BYE")
    assert len(byes) == 2 and len({b.top_via.branch for b in byes}) == 1  # one transaction
    assert not sent(net, phone, "INVITE")[1:]  # the agent was never re-INVITEd
    settled(net, hangup_by="agent", reason="agent-bye", talk=TALK)


def test_callers_200_first_then_agent_bye_is_an_ordinary_bridged_call() -> None:
    net = network()
    phone, _, reinvite, answered_at = connecting(net)
    net.pbx.respond(reinvite, 200, CALLER_SDP)
    assert net.pbx.take(AckReceived)
    net.advance(answered_at + TALK)
    agent_hangs_up(net, phone)
    answer_bye(net.pbx)
    assert transactions(sent(net, net.pbx, "BYE")) == 1
    settled(net, hangup_by="agent", reason="agent-bye", talk=TALK)


@pytest.mark.parametrize("trying", [True, False], ids=["100-trying", "no-provisional"])
def test_agent_bye_first_caller_never_answers_the_reinvite(trying: bool) -> None:
    """The caller answers our BYE but never its pending re-INVITE. Without a provisional
    the re-INVITE is resent until timer B; after a 100 it is CANCELled at 64*T1 (an INVITE
    transaction in Proceeding has no timer of its own)."""
    net = network()
    if not trying:
        no_pbx_trying(net)
    phone, _, reinvite, answered_at = connecting(net)
    net.advance(answered_at + TALK)
    agent_hangs_up(net, phone)
    answer_bye(net.pbx)
    net.advance(net.runtime.t + 64 * T1 + 1)
    invites = [i for i in sent(net, net.pbx, "INVITE") if i.to.tag]
    if trying:
        assert len(invites) == 1
        (cancel,) = sent(net, net.pbx, "CANCEL")
        assert cancel.cseq.seq == reinvite.request.cseq.seq  # the endpoint answered 487
    else:
        assert len(invites) == 7  # T1 doubling: 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5 s
        assert not sent(net, net.pbx, "CANCEL")
    assert transactions(sent(net, net.pbx, "BYE")) == 1
    settled(net, hangup_by="agent", reason="agent-bye", talk=TALK)


# -- 2. the caller hangs up while its re-INVITE is pending ------------------------------
@pytest.mark.parametrize("answer", [487, 481, 200, None], ids=["487", "481", "200", "none"])
def test_caller_bye_while_the_reinvite_is_pending(answer: int | None) -> None:
    net = network()
    phone, dialog, reinvite, answered_at = connecting(net)
    net.advance(answered_at + TALK)
    net.pbx.send_in_dialog(dialog, "BYE")
    assert net.pbx.take(ResponseReceived, "BYE", 200)
    answer_bye(phone)  # the ACD hangs up the agent
    if answer is not None:
        net.pbx.respond(reinvite, answer, CALLER_SDP if answer == 200 else b"")
        acks = [a for a in sent(net, net.pbx, "ACK") if a.cseq.seq == reinvite.request.cseq.seq]
        assert len(acks) == 1, "the re-INVITE's final response was not ACKed"
    else:
        net.advance(net.runtime.t + 64 * T1 + 1)
        assert len(sent(net, net.pbx, "CANCEL")) == 1  # after its 100 Trying
    assert not sent(net, net.pbx, "BYE")  # the caller hung up itself
    assert transactions(sent(net, phone, "BYE")) == 1
    assert not net.pbx.has(RequestReceived, "BYE")
    settled(net, hangup_by="caller", reason="caller-bye", talk=TALK)


# -- a re-INVITE that fails while the call is up ------------------------------------------
@pytest.mark.parametrize("failure", [491, 408, "timeout", "stuck"])
def test_failed_reinvite_ends_both_legs_as_answered(failure: Any) -> None:
    """491 (glare), 408, no response at all (timer B), or a 100 and then nothing (CANCELed
    at 64*T1, then the caller's 487): BYE to both sides once, the call counts as answered."""
    net = network()
    if failure == "timeout":
        no_pbx_trying(net)
    phone, _, reinvite, answered_at = connecting(net)
    if isinstance(failure, int):
        net.pbx.respond(reinvite, failure)
        status = failure
    else:
        net.advance(answered_at + 64 * T1 + 0.1)
        status = 408 if failure == "timeout" else 487
    talk = 0.0 if isinstance(failure, int) else 64 * T1  # timer B / the CANCEL at 64*T1
    answer_bye(net.pbx)
    answer_bye(phone)
    assert transactions(sent(net, net.pbx, "BYE")) == 1
    assert transactions(sent(net, phone, "BYE")) == 1
    settled(net, hangup_by="system", reason=f"reinvite-failed-{status}", talk=talk)


def test_reinvite_481_ends_the_call_without_a_bye_to_the_caller() -> None:
    """481: the caller's dialog is gone (§12.2.1.2), so no BYE to it; the agent gets one."""
    net = network()
    phone, _, reinvite, _ = connecting(net)
    net.pbx.respond(reinvite, 481)
    answer_bye(phone)
    assert not sent(net, net.pbx, "BYE")
    settled(net, hangup_by="system", reason="reinvite-failed-481", talk=0.0)


# -- the agent hangs up before the caller's ACK to our 200 ---------------------------------
@pytest.mark.parametrize("media", ["announce", "ringback"])
@pytest.mark.parametrize("ack", [True, False], ids=["ack-late", "ack-never"])
def test_agent_bye_before_the_callers_ack_waits_for_it(media: str, ack: bool) -> None:
    """RFC 3261 §15: the callee MUST NOT send BYE before the ACK for its 2xx (or the server
    transaction's timeout, §13.3.1.4). The agent answers and hangs up while our 200 to the
    caller is not yet ACKed: the caller's BYE waits for that ACK; no re-INVITE."""
    net = network(media=media)
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 180)
    answered_at = net.runtime.t
    phone.respond(inv, 200, AGENT_SDP)
    phone.take(AckReceived)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200)  # announce: ours; ringback: relayed
    net.advance(answered_at + TALK)
    agent_hangs_up(net, phone)
    assert not sent(net, net.pbx, "BYE")  # not before the ACK
    if ack:
        net.pbx.ack(invite, ok.response)
    else:
        net.advance(net.runtime.t + 64 * T1)  # our 200 resent until timer L gives up
    answer_bye(net.pbx)
    assert transactions(sent(net, net.pbx, "BYE")) == 1
    assert not [i for i in sent(net, net.pbx, "INVITE") if i.to.tag]  # never re-INVITEd
    settled(net, hangup_by="agent", reason="agent-bye", talk=TALK)
