"""Dead calls: a vanished agent (OPTIONS unanswered), a PBX that stops refreshing (RFC 4028),
and the periodic position announcement."""

from __future__ import annotations

from queueing import AgentState
from sip.transaction_events import RequestReceived, ResponseReceived

from .harness import DOMAIN, Network, base_config, sdp

CALLER_SDP = sdp("10.0.0.2", 30000, user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, user="phone")


def bridged(net: Network, extra: tuple[tuple[str, str], ...] = ()):  # type: ignore[no-untyped-def]
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP, extra=extra)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    dialog = net.pbx.ack(invite, ok)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 200, AGENT_SDP)
    reinvite = net.pbx.take(RequestReceived, "INVITE")
    net.pbx.respond(reinvite, 200, CALLER_SDP)
    return phone, dialog, ok


def test_vanished_agent_is_detected_by_options_and_both_legs_end() -> None:
    net = Network()
    phone, _, _ = bridged(net)
    net.advance(net.runtime.t + 30.5)
    assert phone.take(RequestReceived, "OPTIONS")
    del net.peers[("10.0.1.1", 5060)]  # the softphone is gone
    assert net.pbx.take(RequestReceived, "OPTIONS")
    net.advance(net.runtime.t + 30 + 32.5)  # next ping, then timer F
    bye = net.pbx.take(RequestReceived, "BYE")
    net.pbx.respond(bye, 200)
    assert net.routing.router.agent_view("1001").state is AgentState.WRAP_UP
    end = net.ended()[-1]
    assert end.outcome == "answered" and end.reason == "agent-vanished"


def test_options_481_from_the_caller_tears_down() -> None:
    net = Network()
    phone, _, _ = bridged(net)
    net.pbx.auto_options = False
    net.advance(net.runtime.t + 30.5)
    ping = net.pbx.take(RequestReceived, "OPTIONS")
    net.pbx.respond(ping, 481)
    assert phone.take(RequestReceived, "BYE")
    assert net.ended()[-1].reason == "caller-vanished"


def test_session_timer_with_the_pbx_expires_without_refresh() -> None:
    net = Network()
    _, dialog, ok = bridged(net, extra=(("Supported", "timer"), ("Session-Expires", "120")))
    assert ok.headers.get("Session-Expires") == "120;refresher=uac"
    assert ok.headers.get("Require") == "timer"
    # A refresh at 60 s keeps it alive ...
    net.advance(net.runtime.t + 60)
    net.pbx.send_in_dialog(dialog, "UPDATE")
    assert net.pbx.take(ResponseReceived, "UPDATE", 200)
    net.advance(net.runtime.t + 100)
    assert not net.pbx.has(RequestReceived, "BYE")
    # ... none afterwards ends it.
    net.advance(net.runtime.t + 30)
    assert net.pbx.take(RequestReceived, "BYE")
    assert net.ended()[-1].reason == "session-expired"


def test_position_is_announced_every_interval_while_queued() -> None:
    net = Network(base_config(announce_interval=20))
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    net.pbx.ack(invite, ok)
    net.advance(net.runtime.t + 41)
    announced = [e for e in net.media.log if e[0] == "announce"]
    assert len(announced) == 2 and announced[0][2] == "1"
