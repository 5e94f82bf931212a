"""Agent legs: busy → next agent, ring timeout → CANCEL, 200 crossing CANCEL, caller BYE."""

from __future__ import annotations

import pytest

from acd.registration import binding_destination
from queueing import AgentState
from sip.transaction_events import (
    AckReceived,
    CancelReceived,
    RequestReceived,
    ResponseReceived,
)

from .harness import DOMAIN, Network, base_config, sdp

CALLER_SDP = sdp("10.0.0.2", 30000, user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, user="phone")


def start_call(net: Network):  # type: ignore[no-untyped-def]
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    return net.pbx.ack(invite, ok)


def test_busy_agent_is_rejected_and_the_next_agent_rings() -> None:
    net = Network(base_config(strategy="linear"))
    a = net.agent("1001", "10.0.1.1")
    b = net.agent("1002", "10.0.1.2")
    start_call(net)
    first = (a if a.has(RequestReceived, "INVITE") else b)
    other = b if first is a else a
    inv = first.take(RequestReceived, "INVITE")
    first.respond(inv, 486)
    assert other.take(RequestReceived, "INVITE")
    assert net.legs()[-1].result == "rejected" and net.legs()[-1].status == 486
    busy = first.user
    assert net.routing.router.agent_view(busy).state is AgentState.DELAYED


def test_unreachable_status_marks_the_agent_unreachable() -> None:
    net = Network()
    a = net.agent("1001", "10.0.1.1")
    start_call(net)
    inv = a.take(RequestReceived, "INVITE")
    a.respond(inv, 480)
    assert net.routing.router.agent_view("1001").state is AgentState.UNREACHABLE


def test_ring_timeout_cancels_and_offers_the_next_agent() -> None:
    net = Network()
    a = net.agent("1001", "10.0.1.1")
    start_call(net)
    inv = a.take(RequestReceived, "INVITE")
    a.respond(inv, 180)
    b = net.agent("1002", "10.0.1.2", login=False)
    net.runtime.step(lambda now: net.routing.router.agent_login("1002", now))
    net.advance(net.runtime.t + 15.5)
    assert a.take(CancelReceived)
    assert net.legs()[-1].result == "cancelled"
    assert b.take(RequestReceived, "INVITE")


def test_no_response_at_all_is_unreachable() -> None:
    net = Network()
    net.agent("1001", "10.0.9.9")
    del net.peers[("10.0.9.9", 5060)]  # the phone vanished: datagrams go nowhere
    start_call(net)
    net.advance(net.runtime.t + 6)
    assert net.routing.router.agent_view("1001").state is AgentState.UNREACHABLE
    assert net.legs()[-1].result == "unreachable"


def test_answer_crossing_cancel_is_acked_and_hung_up_never_bridged() -> None:
    net = Network()
    a = net.agent("1001", "10.0.1.1")
    dialog = start_call(net)
    inv = a.take(RequestReceived, "INVITE")
    a.respond(inv, 180)
    # The caller hangs up; the ACD's CANCEL is in flight while the phone answers.
    net.drop = lambda data: data.startswith(b"CANCEL")  # the CANCEL is lost on the way
    net.pbx.send_in_dialog(dialog, "BYE")
    tag = "agenttag"
    a.respond(inv, 200, AGENT_SDP, to_tag=tag)
    assert a.take(AckReceived)
    bye = a.take(RequestReceived, "BYE")
    a.respond(bye, 200)
    assert not net.pbx.has(RequestReceived, "INVITE")  # never re-INVITEd: no bridge
    assert net.legs()[-1].result == "answered-too-late"
    assert net.ended()[-1].outcome == "abandoned"
    assert net.routing.router.agent_view("1001").state is not AgentState.ON_CALL


def test_answer_before_caller_ack_waits_for_the_ack() -> None:
    net = Network()
    a = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    inv = a.take(RequestReceived, "INVITE")
    a.respond(inv, 200, AGENT_SDP)
    assert not net.pbx.has(RequestReceived, "INVITE")
    net.pbx.ack(invite, ok)
    assert net.pbx.take(RequestReceived, "INVITE")


def test_caller_bye_after_bridge_hangs_up_the_agent() -> None:
    net = Network()
    a = net.agent("1001", "10.0.1.1")
    dialog = start_call(net)
    inv = a.take(RequestReceived, "INVITE")
    a.respond(inv, 200, AGENT_SDP)
    reinvite = net.pbx.take(RequestReceived, "INVITE")
    # The caller answers from a new port: the agent is updated with it.
    moved = sdp("10.0.0.2", 30010, user="pbx", version=2)
    net.pbx.respond(reinvite, 200, moved)
    update = a.take(RequestReceived, "INVITE")
    assert b"m=audio 30010 " in update.request.body
    assert b"o=pbx 4711 2 " in update.request.body  # the agent's o= identity, version + 1
    a.respond(update, 200, AGENT_SDP)
    net.pbx.send_in_dialog(dialog, "BYE")
    assert a.take(RequestReceived, "BYE")
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    assert net.ended()[-1].hangup_by.value == "caller"


@pytest.mark.parametrize(
    ("listen", "contact", "source"),
    [
        # NAT: the Contact's IP is not the REGISTER's source IP -> the source.
        (("10.0.1.1", 40000), "sip:1001@192.168.1.5:5060", ("10.0.1.1", 40000)),
        # Same IP, another port: the phone listens on its Contact port.
        (("10.0.1.1", 5070), "sip:1001@10.0.1.1:5070", ("10.0.1.1", 40001)),
        # A Contact asking for TCP although it registered over UDP: the source, over UDP.
        (("10.0.1.1", 5060), "sip:1001@10.0.1.1:5062;transport=tcp", ("10.0.1.1", 5060)),
    ],
    ids=["nat", "contact-port", "tcp-contact-over-udp"],
)
def test_invite_goes_where_qualify_pings_go(
    listen: tuple[str, int], contact: str, source: tuple[str, int]
) -> None:
    net = Network()
    phone = net.agent("1001", *listen, contact=contact, source=source)
    start_call(net)
    invites = [dest for data, dest in net.transport.sent if data.startswith(b"INVITE sip:1001@")]
    assert invites == [binding_destination(net.bindings[-1])]
    inv = phone.take(RequestReceived, "INVITE")
    assert inv.request.uri == contact  # Request-URI: the Contact, whatever the destination
