"""Announce mode end to end in-process: answer, queue, ring, 3PCC, BYE both ways."""

from __future__ import annotations

from queueing import AgentState
from sip.sdp import SessionDescription
from sip.transaction_events import AckReceived, RequestReceived, ResponseReceived

from .harness import DOMAIN, Network, Peer, sdp

CALLER_SDP = sdp("10.0.0.2", 30000, session="4711", user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, session="99", user="phone")


def queued_call(net: Network) -> tuple[object, SessionDescription, ResponseReceived]:
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200)
    dialog = net.pbx.ack(invite, ok.response)
    ours = SessionDescription.parse(ok.response.body)
    return dialog, ours, ok


def answer_agent(net: Network, phone: Peer) -> RequestReceived:
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 180)
    phone.respond(inv, 200, AGENT_SDP)
    phone.take(AckReceived)
    return inv


def test_answered_then_bridged_by_reinvite_keeping_origin() -> None:
    net = Network()
    _, ours, _ = queued_call(net)
    assert ours.audio_port == 40000 and ours.audio_address == "10.0.0.1"
    assert net.media.log[1][:1] == ("greet",)
    phone = net.agent("1001", "10.0.1.1")
    inv = answer_agent(net, phone)
    # The agent was offered the caller's original SDP, caller id in From.
    assert inv.request.body == CALLER_SDP
    assert inv.request.from_.uri.startswith("sip:13800138000@")
    reinvite = net.pbx.take(RequestReceived, "INVITE")
    offer = SessionDescription.parse(reinvite.request.body)
    assert offer.origin.session_id == ours.origin.session_id
    assert offer.origin.username == ours.origin.username
    assert offer.origin.version == ours.origin.version + 1
    assert (offer.audio_address, offer.audio_port) == ("10.0.1.1", 50000)
    assert not net.media.open_streams  # the ACD's RTP stopped
    net.pbx.respond(reinvite, 200, CALLER_SDP)
    net.pbx.take(AckReceived)
    assert not phone.has(RequestReceived, "INVITE")  # caller's answer unchanged: no update
    view = net.routing.router.agent_view("1001")
    assert view.state is AgentState.ON_CALL
    # The agent hangs up: the caller gets BYE, the agent goes to wrap-up.
    phone.send_in_dialog(phone.dialogs[0], "BYE")
    assert phone.take(ResponseReceived, "BYE", 200)
    bye = net.pbx.take(RequestReceived, "BYE")
    net.pbx.respond(bye, 200)
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    ended = [e for e in net.events if type(e).__name__ == "CallEnded"]
    assert len(ended) == 1 and ended[0].hangup_by.value == "agent"
    assert ended[0].outcome == "answered"
