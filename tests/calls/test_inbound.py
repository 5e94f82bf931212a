"""Refusals before queueing, ringback relay, and the caller leaving early."""

from __future__ import annotations

from queueing import AgentState
from sip.transaction_events import AckReceived, CancelReceived, RequestReceived, ResponseReceived

from .harness import DOMAIN, Network, base_config, sdp

CALLER_SDP = sdp("10.0.0.2", 30000, user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, user="phone")


def test_invite_from_a_non_trunk_gets_403() -> None:
    net = Network()
    stranger = net.peer("192.0.2.9", 5060, "stranger")
    stranger.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    assert stranger.take(ResponseReceived, "INVITE", 403)
    assert not net.engine.calls


def test_unknown_number_gets_404() -> None:
    net = Network()
    net.pbx.invite(f"sip:99999@{DOMAIN}", CALLER_SDP)
    assert net.pbx.take(ResponseReceived, "INVITE", 404)
    assert net.ended()[-1].outcome == "rejected"


def test_no_g711_gets_488_with_warning() -> None:
    net = Network()
    net.pbx.invite(f"sip:12345@{DOMAIN}", sdp("10.0.0.2", 30000, codecs=(18,)))
    resp = net.pbx.take(ResponseReceived, "INVITE", 488).response
    assert resp.headers.get("Warning").startswith("305 ")
    assert resp.headers.get("Accept") == "application/sdp"


def test_offerless_invite_gets_488() -> None:
    net = Network()
    net.pbx.invite(f"sip:12345@{DOMAIN}", b"")
    assert net.pbx.take(ResponseReceived, "INVITE", 488)


def test_ringback_relays_the_agent_answer() -> None:
    net = Network(base_config(media="ringback"))
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    assert net.pbx.take(ResponseReceived, "INVITE", 180)
    assert not net.media.log  # the ACD does not answer nor play
    inv = phone.take(RequestReceived, "INVITE")
    assert inv.request.body == CALLER_SDP
    phone.respond(inv, 200, AGENT_SDP)
    phone.take(AckReceived)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    assert ok.body == AGENT_SDP
    dialog = net.pbx.ack(invite, ok)
    assert net.routing.router.agent_view("1001").state is AgentState.ON_CALL
    # The caller hangs up: BYE to the agent, wrap-up.
    net.pbx.send_in_dialog(dialog, "BYE")
    bye = phone.take(RequestReceived, "BYE")
    phone.respond(bye, 200)
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    assert net.ended()[-1].hangup_by.value == "caller"


def test_caller_cancel_while_agent_rings_cancels_the_agent() -> None:
    net = Network(base_config(media="ringback"))
    phone = net.agent("1001", "10.0.1.1")
    _, key = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 180)
    net.pbx.ep.cancel(key, net.runtime.t)
    net.pump()
    assert net.pbx.take(ResponseReceived, "INVITE", 487)
    assert phone.take(CancelReceived)
    abandoned = [e for e in net.router_events if type(e).__name__ == "CallAbandoned"]
    assert len(abandoned) == 1
    assert net.ended()[-1].outcome == "abandoned"


def test_caller_bye_while_queued_abandons_and_cancels() -> None:
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    dialog = net.pbx.ack(invite, ok)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 180)
    net.pbx.send_in_dialog(dialog, "BYE")
    assert net.pbx.take(ResponseReceived, "BYE", 200)
    assert phone.take(CancelReceived)
    assert not net.media.open_streams
    assert net.routing.router.agent_view("1001").state is not AgentState.ON_CALL
    assert net.ended()[-1].outcome == "abandoned"
