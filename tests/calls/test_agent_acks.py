"""Every 2xx an agent's phone sends to the ACD's INVITE is ACKed (RFC 3261 §13.2.2.4),
each retransmission again with the same ACK: also after the ACD hung the leg up (an
answer that came too late: RFC 5407 §3.2) and after the ACD re-INVITEd the agent (the
ACK of the first 2xx keeps that INVITE's CSeq). The BYE for a too-late answer goes out
once, however many times the 2xx is repeated."""

from __future__ import annotations

from sip.transaction_events import AckReceived, RequestReceived, ResponseReceived

from .harness import DOMAIN, Network, sdp, sent

CALLER_SDP = sdp("10.0.0.2", 30000, user="pbx")
AGENT_SDP = sdp("10.0.1.1", 50000, user="phone")
T1 = 0.5


def test_too_late_answer_every_retransmission_is_acked_one_bye() -> None:
    """The caller hangs up while the agent rings; the CANCEL is lost and the agent
    answers: ACK + BYE. The ACD's ACKs are lost too, so the phone repeats its 200 (T1,
    doubling) after the BYE: each repetition is ACKed with the same ACK, no second BYE."""
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    dialog = net.pbx.ack(invite, ok)
    inv = phone.take(RequestReceived, "INVITE")
    phone.respond(inv, 180)
    net.drop = lambda data: data.startswith((b"CANCEL ", b"ACK sip:1001@"))
    net.pbx.send_in_dialog(dialog, "BYE")
    answered_at = net.runtime.t
    phone.respond(inv, 200, AGENT_SDP)
    bye = phone.take(RequestReceived, "BYE")  # hung up at once: answered too late
    phone.respond(bye, 200)
    net.advance(answered_at + 7 * T1 + 0.1)  # the 200 again at +0.5, +1.5, +3.5
    acks = sent(net, phone, "ACK")
    assert len(acks) == 4, [a.cseq for a in acks]
    assert len({bytes(a) for a in acks}) == 1
    assert acks[0].cseq.seq == inv.request.cseq.seq
    assert not phone.has(AckReceived)  # all lost so far
    net.drop = lambda data: data.startswith(b"CANCEL ")
    net.advance(answered_at + 15 * T1 + 0.1)  # the next one, at +7.5, gets through
    assert phone.take(AckReceived).request.cseq.seq == inv.request.cseq.seq
    assert len(sent(net, phone, "ACK")) == 5
    byes = sent(net, phone, "BYE")
    assert len({b.top_via.branch for b in byes}) == 1  # one BYE transaction
    (leg,) = net.legs()
    assert (leg.result, leg.status) == ("answered-too-late", 200)
    assert net.ended()[-1].outcome == "abandoned"
    net.advance(net.runtime.t + 200)  # every timer over: the phone got its ACK, quiet
    assert net.sip.endpoint is not None and net.sip.endpoint.live_transactions == 0


def test_retransmitted_2xx_after_a_reinvite_to_the_agent_keeps_the_first_acks_cseq() -> None:
    """The ACK of the agent's 200 is lost; before the phone repeats it, the caller answered
    the 3PCC re-INVITE from a new port and the ACD re-INVITEd the agent. The repeated 200
    gets the ACK of the first INVITE (its CSeq), not one for the re-INVITE."""
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    invite, _ = net.pbx.invite(f"sip:12345@{DOMAIN}", CALLER_SDP)
    ok = net.pbx.take(ResponseReceived, "INVITE", 200).response
    net.pbx.ack(invite, ok)
    inv = phone.take(RequestReceived, "INVITE")
    net.drop = lambda data: data.startswith(b"ACK sip:1001@")
    phone.respond(inv, 200, AGENT_SDP)
    reinvite = net.pbx.take(RequestReceived, "INVITE")
    net.pbx.respond(reinvite, 200, sdp("10.0.0.2", 30010, user="pbx", version=2))
    update = phone.take(RequestReceived, "INVITE")
    assert update.request.cseq.seq > inv.request.cseq.seq
    net.drop = None
    net.advance(net.runtime.t + T1 + 0.1)  # the phone repeats its 200 to the first INVITE
    ack = phone.take(AckReceived)
    assert (ack.request.cseq.seq, ack.request.cseq.method) == (inv.request.cseq.seq, "ACK")
    acks = sent(net, phone, "ACK")
    assert len(acks) == 2 and bytes(acks[0]) == bytes(acks[1])
    phone.respond(update, 200, AGENT_SDP)
    assert [a.cseq.seq for a in sent(net, phone, "ACK")][-1] == update.request.cseq.seq
    assert net.engine.calls and next(iter(net.engine.calls.values())).state.value == "bridged"
