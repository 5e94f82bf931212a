"""RFC 4028 refreshes the ACD sends (the PBX asked ``refresher=uas`` and does not allow
UPDATE, so every N/2 seconds a re-INVITE with the ACD's current SDP): they go through
`Bridge.reinvite` like the 3PCC re-INVITE. Every 2xx to one is ACKed, each retransmission
again, also after the ACD's BYE (RFC 3261 §13.2.2.4; RFC 5407 §3.2); one that got a 100
but no final response within 64*T1 is CANCELled (§9.1) and counts as timed out; a refresh
that fails (408, 481, timeout) ends both legs (RFC 4028 §10)."""

from __future__ import annotations

import pytest

from queueing import AgentState
from sip.endpoint import Endpoint, EndpointConfig
from sip.headers import NameAddress
from sip.requests import build_invite, new_call_id
from sip.transaction_events import AckReceived, RequestReceived, ResponseReceived

from .harness import ACD, DOMAIN, Network, Peer, sdp, sent

CALLER_SDP = sdp("10.0.0.2", 30000, user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, user="phone")
T1 = 0.5
SE = 120


def bridged(net: Network) -> tuple[Peer, RequestReceived]:
    """An announce call with a PBX that makes the ACD refresh (no UPDATE in its Allow),
    bridged to agent 1001; returns the phone and the ACD's first refresh re-INVITE."""
    phone = net.agent("1001", "10.0.1.1")
    pbx = net.pbx
    uri = f"sip:12345@{DOMAIN}"
    invite = build_invite(
        uri, NameAddress(f"sip:13800138000@{pbx.addr.host}"), NameAddress(uri),
        call_id=new_call_id(pbx.addr.host), via_host=pbx.addr.host, via_port=pbx.addr.port,
        contact=f"<{pbx.contact}>", sdp=CALLER_SDP,
        extra=(("Supported", "timer"), ("Session-Expires", f"{SE};refresher=uas")))
    invite.headers.set("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
    pbx.ep.send_request(invite, ACD, net.runtime.t)
    ok = pbx.take(ResponseReceived, "INVITE", 200).response
    assert ok.headers.get("Session-Expires") == f"{SE};refresher=uas"
    pbx.ack(invite, ok)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 200, AGENT_SDP)
    reinvite = pbx.take(RequestReceived, "INVITE")  # the 3PCC re-INVITE
    pbx.respond(reinvite, 200, CALLER_SDP)
    assert pbx.take(AckReceived)
    net.advance(net.runtime.t + SE / 2 + 0.1)
    refresh = pbx.take(RequestReceived, "INVITE")
    assert refresh.request.headers.get("Session-Expires") == f"{SE};refresher=uas"
    assert refresh.request.body == reinvite.request.body  # our SDP, unchanged
    assert not pbx.has(RequestReceived, "UPDATE")
    return phone, refresh


def no_pbx_trying(net: Network) -> None:
    net.pbx.ep = Endpoint(EndpointConfig(sent_by={"udp": (net.pbx.addr.host, net.pbx.addr.port)},
                                         server=None, auto_trying=False))


def quiet_after(net: Network) -> None:
    """Every SIP timer over: nothing of the call left, nothing sent any more."""
    engine = net.engine
    assert not engine.calls and not engine.owners and not engine.reinviting
    net.advance(net.runtime.t + 200)
    assert net.sip.endpoint is not None and net.sip.endpoint.live_transactions == 0
    before = len(net.transport.sent)
    net.advance(net.runtime.t + 200)
    assert len(net.transport.sent) == before
    assert len(net.ended()) == 1


def test_refresh_answered_200_keeps_the_call_and_is_acked() -> None:
    net = Network()
    _, refresh = bridged(net)
    net.pbx.respond(refresh, 200, CALLER_SDP)
    ack = net.pbx.take(AckReceived).request
    assert ack.cseq.seq == refresh.request.cseq.seq
    net.advance(net.runtime.t + SE / 2)  # and the next refresh comes
    assert net.pbx.take(RequestReceived, "INVITE").request.cseq.seq > ack.cseq.seq
    assert not net.ended()


def test_refresh_200_crossing_the_acd_bye_is_acked_every_time() -> None:
    """The agent hangs up while the refresh is pending: the caller gets its BYE at once;
    the caller's 200 to the refresh arrives after it, its ACK is lost, the 200 is repeated:
    each one ACKed with the same ACK, no second BYE."""
    net = Network()
    phone, refresh = bridged(net)
    phone.send_in_dialog(phone.dialogs[0], "BYE")
    assert phone.take(ResponseReceived, "BYE", 200)
    bye = net.pbx.take(RequestReceived, "BYE")
    net.drop = lambda data: data.startswith(b"ACK ")
    answered_at = net.runtime.t
    net.pbx.respond(refresh, 200, CALLER_SDP)
    net.advance(answered_at + T1 + 0.1)  # the caller repeats its 200: lost ACK again
    net.drop = None
    net.advance(answered_at + 3 * T1 + 0.1)  # and again: this ACK gets through
    assert net.pbx.take(AckReceived).request.cseq.seq == refresh.request.cseq.seq
    acks = [a for a in sent(net, net.pbx, "ACK") if a.cseq.seq == refresh.request.cseq.seq]
    assert len(acks) == 3 and len({bytes(a) for a in acks}) == 1
    net.pbx.respond(bye, 200)
    assert len({b.top_via.branch for b in sent(net, net.pbx, "BYE")}) == 1
    (ended,) = net.ended()
    assert (ended.outcome, ended.reason) == ("answered", "agent-bye")
    quiet_after(net)


def test_refresh_stuck_after_a_100_is_cancelled_and_ends_the_call() -> None:
    """A 100 Trying, then nothing: CANCEL at 64*T1 (the PBX answers it 487). The session
    was not refreshed: both legs are hung up as if the refresh had timed out."""
    net = Network()
    phone, refresh = bridged(net)
    sent_at = net.runtime.t
    net.advance(sent_at + 64 * T1 - 0.2)
    assert not sent(net, net.pbx, "CANCEL")
    net.advance(sent_at + 64 * T1 + 0.1)
    (cancel,) = sent(net, net.pbx, "CANCEL")
    assert cancel.cseq.seq == refresh.request.cseq.seq
    net.pbx.respond(net.pbx.take(RequestReceived, "BYE"), 200)
    phone.respond(phone.take(RequestReceived, "BYE"), 200)
    (ended,) = net.ended()
    assert (ended.outcome, ended.hangup_by.value, ended.reason) == (
        "answered", "system", "caller-vanished")
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    quiet_after(net)


@pytest.mark.parametrize("failure", [408, 481, "timeout"])
def test_failed_refresh_ends_both_legs(failure: int | str) -> None:
    net = Network()
    if failure == "timeout":
        no_pbx_trying(net)
    phone, refresh = bridged(net)
    if isinstance(failure, int):
        net.pbx.respond(refresh, failure)
    else:
        net.advance(net.runtime.t + 64 * T1 + 0.1)  # resent until timer B
        assert not sent(net, net.pbx, "CANCEL")
    phone.respond(phone.take(RequestReceived, "BYE"), 200)
    if net.pbx.has(RequestReceived, "BYE"):
        net.pbx.respond(net.pbx.take(RequestReceived, "BYE"), 200)
    (ended,) = net.ended()
    assert (ended.outcome, ended.reason) == ("answered", "caller-vanished")
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    quiet_after(net)
