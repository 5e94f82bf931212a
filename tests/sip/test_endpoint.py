"""The sans-IO endpoint: two of them talking by moving datagrams by hand, literal `now`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.endpoint import Endpoint, EndpointConfig
from sip.errors import LocalProtocolError
from sip.message import Headers, Request, Response, make_response, parse_message
from sip.transaction import new_branch, new_call_id, new_tag
from sip.transaction_events import (
    AckReceived,
    AckTimedOut,
    Address,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    Transmit,
    TransportFailed,
)

from .transaction_support import request_bytes

A_UDP = Address("udp", "192.0.2.10", 5060)
B_UDP = Address("udp", "192.0.2.20", 5060)
A_TCP = Address("tcp", "192.0.2.10", 40001)  # A's side of the connection, as B sees it
B_TCP = Address("tcp", "192.0.2.20", 5060)


def endpoint(host: str) -> Endpoint:
    return Endpoint(EndpointConfig(sent_by={"udp": (host, 5060), "tcp": (host, 5060)}))


@pytest.fixture
def a() -> Endpoint:
    return endpoint("192.0.2.10")


@pytest.fixture
def b() -> Endpoint:
    return endpoint("192.0.2.20")


def deliver(src: Endpoint, src_addr: Address, dst: Endpoint, now: float) -> list[Transmit]:
    """Move every datagram ``src`` wants to send into ``dst``; returns what was moved."""
    moved = src.datagrams_to_send()
    for t in moved:
        dst.receive(t.data, src_addr, now)
    return moved


def lines(moved: list[Transmit]) -> list[str]:
    return [t.data.split(b"\r\n", 1)[0].decode() for t in moved]


def drain(ep: Endpoint, *skip: type) -> list[Event]:
    return [e for e in ep.events() if not isinstance(e, (TransactionTerminated, *skip))]


def make_request(
    ep: Endpoint,
    method: str,
    *,
    transport: str = "udp",
    call_id: str = "call-1@a",
    cseq: int = 1,
    to_tag: str | None = None,
    from_tag: str = "atag",
    branch: str | None = None,
) -> Request:
    to = "<sip:12345@192.0.2.20>" + (f";tag={to_tag}" if to_tag else "")
    headers = Headers(
        [
            ("Via", ep.local_via(transport, branch)),
            ("Max-Forwards", "70"),
            ("From", f"<sip:caller@192.0.2.10>;tag={from_tag}"),
            ("To", to),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", "<sip:caller@192.0.2.10>"),
        ]
    )
    return Request(headers=headers, method=method, uri="sip:12345@192.0.2.20")


def only(events: list[Event], kind: type) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


# -- full flows ----------------------------------------------------------------------------
def test_invite_200_ack_bye_between_two_endpoints(a: Endpoint, b: Endpoint) -> None:
    invite = make_request(a, "INVITE")
    ikey = a.send_request(invite, B_UDP, 0.0)
    assert lines(deliver(a, A_UDP, b, 0.01)) == ["INVITE sip:12345@192.0.2.20 SIP/2.0"]
    (req_ev,) = drain(b)
    assert isinstance(req_ev, RequestReceived) and req_ev.source == A_UDP
    skey = req_ev.key
    assert lines(deliver(b, B_UDP, a, 0.02)) == ["SIP/2.0 100 Trying"]  # auto_trying
    b.send_response(skey, make_response(req_ev.request, 180, to_tag="btag"), 0.1)
    ok = make_response(req_ev.request, 200, to_tag="btag", extra=[("Contact", "<sip:b>")])
    b.send_response(skey, ok, 0.2)
    assert lines(deliver(b, B_UDP, a, 0.21)) == ["SIP/2.0 180 Ringing", "SIP/2.0 200 OK"]
    got = drain(a)
    assert [e.response.status for e in got if isinstance(e, ResponseReceived)] == [100, 180, 200]
    assert all(e.key == ikey for e in got if isinstance(e, ResponseReceived))
    # b resends the 2xx at T1 until the ACK
    assert b.get_timer() == pytest.approx(0.7)
    b.handle_timer(0.7)
    assert lines(deliver(b, B_UDP, a, 0.71)) == ["SIP/2.0 200 OK"]
    assert [e.response.status for e in only(drain(a), ResponseReceived)] == [200]  # re-ACK
    ack = make_request(a, "ACK", to_tag="btag")
    a.send_ack(ack, B_UDP, 0.8)
    deliver(a, A_UDP, b, 0.81)
    (ack_ev,) = drain(b)
    assert isinstance(ack_ev, AckReceived) and ack_ev.key == skey
    b.handle_timer(1.7)  # the 2xx timer was stopped by the ACK
    assert b.datagrams_to_send() == []
    bye = make_request(a, "BYE", cseq=2, to_tag="btag")
    bkey = a.send_request(bye, B_UDP, 5.0)
    deliver(a, A_UDP, b, 5.01)
    (bye_ev,) = drain(b)
    assert isinstance(bye_ev, RequestReceived) and bye_ev.request.method == "BYE"
    b.send_response(bye_ev.key, make_response(bye_ev.request, 200), 5.1)
    deliver(b, B_UDP, a, 5.11)
    (bye_ok,) = drain(a)
    assert isinstance(bye_ok, ResponseReceived) and bye_ok.key == bkey
    for now in (10.2, 32.02, 32.21, 37.2, 40.0):
        a.handle_timer(now)
        b.handle_timer(now)
    assert a.live_transactions == 0 and b.live_transactions == 0
    assert a.get_timer() is None and b.get_timer() is None
    assert b.stats.requests_received == {"INVITE": 1, "ACK": 1, "BYE": 1}
    assert b.stats.responses_sent == {100: 1, 180: 1, 200: 2}
    assert b.stats.retransmissions_sent == 1


def test_register_flow_timer_j_and_k(a: Endpoint, b: Endpoint) -> None:
    key = a.send_request(make_request(a, "REGISTER"), B_UDP, 0.0)
    deliver(a, A_UDP, b, 0.0)
    (ev,) = drain(b)
    assert isinstance(ev, RequestReceived)
    assert b.datagrams_to_send() == []  # no automatic 100 for non-INVITE
    b.send_response(ev.key, make_response(ev.request, 200, to_tag="r"), 0.1)
    deliver(b, B_UDP, a, 0.1)
    assert [type(e) for e in drain(a)] == [ResponseReceived]
    assert a.get_timer() == pytest.approx(5.1)  # Timer K = T4
    assert b.get_timer() == pytest.approx(32.1)  # Timer J = 64*T1
    a.handle_timer(5.1)
    assert a.transaction(key) is None
    b.handle_timer(32.1)
    assert b.live_transactions == 0


def test_tcp_flow_no_retransmissions_and_zero_timers(a: Endpoint, b: Endpoint) -> None:
    a.send_request(make_request(a, "OPTIONS", transport="tcp"), B_TCP, 0.0)
    deliver(a, A_TCP, b, 0.0)
    (ev,) = drain(b)
    assert isinstance(ev, RequestReceived)
    assert a.get_timer() == 32.0  # only Timer F, no E on TCP
    b.send_response(ev.key, make_response(ev.request, 200), 0.1)
    (out,) = b.datagrams_to_send()
    assert out.dest == A_TCP  # same connection
    a.receive(out.data, B_TCP, 0.1)
    assert b.get_timer() == 0.1 and a.get_timer() == 0.1  # J and K are 0
    a.handle_timer(0.1)
    b.handle_timer(0.1)
    assert a.live_transactions == b.live_transactions == 0


def test_retransmitted_invite_absorbed_and_100_resent(b: Endpoint) -> None:
    data = request_bytes("INVITE")
    b.receive(data, A_UDP, 0.0)
    b.receive(data, A_UDP, 0.5)
    assert len(only(b.events(), RequestReceived)) == 1
    assert lines(b.datagrams_to_send()) == ["SIP/2.0 100 Trying"] * 2
    assert b.stats.retransmissions_received == 1


def test_timer_b_through_the_endpoint(a: Endpoint) -> None:
    key = a.send_request(make_request(a, "INVITE"), B_UDP, 0.0)
    for now in (0.5, 1.5, 3.5, 7.5, 15.5, 31.5):
        assert a.get_timer() == now
        a.handle_timer(now)
    assert len(a.datagrams_to_send()) == 7
    assert a.get_timer() == 32.0
    a.handle_timer(32.0)
    assert a.events() == [
        TransactionTimedOut(key=key, timer="B"),
        TransactionTerminated(key=key),
    ]
    assert a.stats.timeouts == {"B": 1}


def test_2xx_never_acked_gives_ack_timed_out(b: Endpoint) -> None:
    b.receive(request_bytes("INVITE"), A_UDP, 0.0)
    (ev,) = drain(b)
    assert isinstance(ev, RequestReceived)
    b.send_response(ev.key, make_response(ev.request, 200, to_tag="t"), 0.0)
    while (deadline := b.get_timer()) is not None:
        b.handle_timer(deadline)
    assert lines(b.datagrams_to_send()) == ["SIP/2.0 100 Trying"] + ["SIP/2.0 200 OK"] * 11
    assert b.events()[-2:] == [AckTimedOut(key=ev.key), TransactionTerminated(key=ev.key)]


def test_non_2xx_is_acked_by_the_layer(a: Endpoint, b: Endpoint) -> None:
    a.send_request(make_request(a, "INVITE"), B_UDP, 0.0)
    deliver(a, A_UDP, b, 0.0)
    (ev,) = drain(b)
    assert isinstance(ev, RequestReceived)
    b.send_response(ev.key, make_response(ev.request, 486, to_tag="busy"), 0.1)
    deliver(b, B_UDP, a, 0.1)
    assert lines(deliver(a, A_UDP, b, 0.1)) == ["ACK sip:12345@192.0.2.20 SIP/2.0"]
    assert drain(b) == []  # the ACK for a non-2xx stays in the transaction layer
    assert b.get_timer() == pytest.approx(5.1)  # Timer I: G and H stopped
    b.handle_timer(5.1)
    assert b.live_transactions == 0


# -- CANCEL --------------------------------------------------------------------------------
def test_cancel_queued_until_provisional_then_487_and_refused_200(a: Endpoint, b: Endpoint) -> None:
    ikey = a.send_request(make_request(a, "INVITE"), B_UDP, 0.0)
    assert a.cancel(ikey, 0.05, reason="SIP;cause=200") is True
    assert lines(deliver(a, A_UDP, b, 0.1)) == ["INVITE sip:12345@192.0.2.20 SIP/2.0"]
    (ev,) = drain(b)
    assert isinstance(ev, RequestReceived)
    deliver(b, B_UDP, a, 0.2)  # 100 Trying releases the CANCEL
    assert lines(deliver(a, A_UDP, b, 0.3)) == ["CANCEL sip:12345@192.0.2.20 SIP/2.0"]
    assert lines(b.datagrams_to_send()) == ["SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]
    (cancelled,) = drain(b)
    assert isinstance(cancelled, CancelReceived) and cancelled.key == ev.key
    assert cancelled.request.headers.get("Reason") == "SIP;cause=200"
    with pytest.raises(LocalProtocolError, match="caller is gone"):
        b.send_response(ev.key, make_response(ev.request, 200, to_tag="late"), 0.4)


def test_cancel_full_exchange_over_the_wire(a: Endpoint, b: Endpoint) -> None:
    ikey = a.send_request(make_request(a, "INVITE"), B_UDP, 0.0)
    deliver(a, A_UDP, b, 0.0)
    ev = drain(b)[0]
    assert isinstance(ev, RequestReceived)
    b.send_response(ev.key, make_response(ev.request, 180, to_tag="ring"), 0.1)
    deliver(b, B_UDP, a, 0.1)
    drain(a)
    assert a.cancel(ikey, 1.0) is True
    deliver(a, A_UDP, b, 1.0)  # CANCEL
    deliver(b, B_UDP, a, 1.0)  # 200 CANCEL, 487
    got = drain(a)
    statuses = [(e.key.method, e.response.status) for e in only(got, ResponseReceived)]
    assert statuses == [("CANCEL", 200), ("INVITE", 487)]
    (ack,) = deliver(a, A_UDP, b, 1.0)
    assert lines([ack]) == ["ACK sip:12345@192.0.2.20 SIP/2.0"] and b"tag=ring" in ack.data
    assert [type(e) for e in drain(b)] == [CancelReceived]
    for now in (6.0, 33.0, 40.0):
        a.handle_timer(now)
        b.handle_timer(now)
    assert a.live_transactions == b.live_transactions == 0


def test_cancel_after_final_is_too_late(a: Endpoint, b: Endpoint) -> None:
    ikey = a.send_request(make_request(a, "INVITE"), B_UDP, 0.0)
    deliver(a, A_UDP, b, 0.0)
    ev = drain(b)[0]
    assert isinstance(ev, RequestReceived)
    b.send_response(ev.key, make_response(ev.request, 200, to_tag="t"), 0.1)
    deliver(b, B_UDP, a, 0.1)
    assert a.cancel(ikey, 0.2) is False
    assert a.datagrams_to_send() == []
    # a CANCEL arriving after the 2xx gets 200 and changes nothing
    cancel = request_bytes("CANCEL", branch=ev.key.branch, from_tag="atag", call_id="call-1@a")
    b.receive(cancel, A_UDP, 0.3)
    assert lines(b.datagrams_to_send()) == ["SIP/2.0 200 OK"]
    assert drain(b) == []


def test_crossing_200_and_cancel(a: Endpoint, b: Endpoint) -> None:
    ikey = a.send_request(make_request(a, "INVITE"), B_UDP, 0.0)
    deliver(a, A_UDP, b, 0.0)
    ev = drain(b)[0]
    assert isinstance(ev, RequestReceived)
    deliver(b, B_UDP, a, 0.0)  # 100
    drain(a)
    assert a.cancel(ikey, 0.5) is True  # CANCEL leaves a ...
    b.send_response(ev.key, make_response(ev.request, 200, to_tag="t"), 0.5)  # ... 200 leaves b
    deliver(a, A_UDP, b, 0.6)
    deliver(b, B_UDP, a, 0.6)
    got = only(drain(a), ResponseReceived)
    assert [(e.key.method, e.response.status) for e in got] == [("INVITE", 200), ("CANCEL", 200)]
    assert not only(drain(b), CancelReceived)  # the final was already sent
    # the TU acks and hangs up
    a.send_ack(make_request(a, "ACK", to_tag="t"), B_UDP, 0.7)
    a.send_request(make_request(a, "BYE", cseq=2, to_tag="t"), B_UDP, 0.7)
    deliver(a, A_UDP, b, 0.7)
    got_b = drain(b)
    assert [type(e) for e in got_b] == [AckReceived, RequestReceived]


def test_cancel_matching_nothing_gets_481(b: Endpoint) -> None:
    b.receive(request_bytes("CANCEL", branch="z9hG4bKnothing"), A_UDP, 0.0)
    assert lines(b.datagrams_to_send()) == ["SIP/2.0 481 Call/Transaction Does Not Exist"]
    assert drain(b) == []


def test_cancel_of_a_non_invite_is_a_local_error(a: Endpoint) -> None:
    key = a.send_request(make_request(a, "OPTIONS"), B_UDP, 0.0)
    with pytest.raises(LocalProtocolError):
        a.cancel(key, 0.1)
    assert a.cancel(TransactionKey("z9hG4bKgone", "INVITE"), 0.1) is False


# -- Via, rport, routing -------------------------------------------------------------------
NAT = Address("udp", "203.0.113.5", 40000)


@pytest.mark.parametrize(
    ("via_host", "rport", "source", "dest", "via_params"),
    [
        ("10.0.0.5", True, NAT, NAT, ";rport=40000;received=203.0.113.5"),
        ("10.0.0.5", False, NAT, Address("udp", "203.0.113.5", 5060), ";received=203.0.113.5"),
        ("203.0.113.5", True, NAT, NAT, ";rport=40000;received=203.0.113.5"),
        ("203.0.113.5", False, Address("udp", "203.0.113.5", 5060), None, ""),
        ("10.0.0.5", False, Address("tcp", "203.0.113.5", 51000), None, ";received=203.0.113.5"),
    ],
)
def test_received_and_rport(
    b: Endpoint,
    via_host: str,
    rport: bool,
    source: Address,
    dest: Address | None,
    via_params: str,
) -> None:
    b.receive(request_bytes("OPTIONS", via_host=via_host, rport=rport), source, 0.0)
    (ev,) = drain(b)
    assert isinstance(ev, RequestReceived)
    b.send_response(ev.key, make_response(ev.request, 200), 0.0)
    (out,) = b.datagrams_to_send()
    assert out.dest == (dest or source)
    resp = parse_message(out.data)
    assert isinstance(resp, Response)
    assert (
        resp.headers.get("Via") == f"SIP/2.0/UDP {via_host}:5060;branch=z9hG4bKabc123{via_params}"
    )
    top = resp.top_via
    assert top.params.get("received") == (None if not via_params else "203.0.113.5")
    assert top.params.get("rport") == ("40000" if rport else None)


def test_response_not_for_our_via_is_dropped(a: Endpoint) -> None:
    a.send_request(make_request(a, "OPTIONS"), B_UDP, 0.0)
    a.datagrams_to_send()
    foreign = parse_message(request_bytes("OPTIONS", via_host="198.51.100.1"))
    assert isinstance(foreign, Request)
    a.receive(bytes(make_response(foreign, 200)), B_UDP, 0.1)
    assert drain(a) == [] and a.stats.stray_responses == 1


def test_stray_ack_absorbed(b: Endpoint) -> None:
    b.receive(request_bytes("ACK", to_tag="x"), A_UDP, 0.0)
    assert b.events() == [] and b.datagrams_to_send() == [] and b.stats.stray_acks == 1


def test_crlf_keepalive_ignored(b: Endpoint) -> None:
    b.receive(b"\r\n\r\n", A_UDP, 0.0)
    assert b.events() == [] and b.stats.rejected == 0


# -- bad input -----------------------------------------------------------------------------
def test_routable_bad_request_gets_400_with_warning(b: Endpoint) -> None:
    data = request_bytes("OPTIONS", rport=True).replace(b"Content-Length: 0", b"Content-Length: 99")
    b.receive(data, NAT, 0.0)
    (out,) = b.datagrams_to_send()
    assert out.dest == NAT  # routed like any response (rport)
    resp = parse_message(out.data)
    assert isinstance(resp, Response) and resp.status == 400
    assert resp.headers.get("Warning") == '399 192.0.2.20 "body shorter than Content-Length"'
    assert resp.to.tag  # a final response carries a To tag
    (ev,) = b.events()
    assert ev == MessageRejected(reason="body shorter than Content-Length", status=400, source=NAT)


def test_unsupported_version_gets_505(b: Endpoint) -> None:
    b.receive(request_bytes("OPTIONS").replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), A_UDP, 0.0)
    (out,) = b.datagrams_to_send()
    assert out.data.startswith(b"SIP/2.0 505 ")


@pytest.mark.parametrize(
    "data",
    [
        b"garbage\r\n\r\n",
        request_bytes("OPTIONS").replace(
            b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc123\r\n", b""
        ),
        request_bytes("ACK").replace(b"Content-Length: 0", b"Content-Length: 50"),
        b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",
    ],
)
def test_unroutable_or_ack_or_response_is_dropped(b: Endpoint, data: bytes) -> None:
    b.receive(data, A_UDP, 0.0)
    assert b.datagrams_to_send() == []
    (ev,) = b.events()
    assert isinstance(ev, MessageRejected) and ev.status is None


def test_local_misuse_raises(a: Endpoint, b: Endpoint) -> None:
    with pytest.raises(LocalProtocolError):
        a.send_request(make_request(a, "ACK"), B_UDP, 0.0)
    with pytest.raises(LocalProtocolError):
        a.send_request(make_request(a, "INVITE", branch="nocookie"), B_UDP, 0.0)
    req = make_request(a, "INVITE")
    a.send_request(req, B_UDP, 0.0)
    with pytest.raises(LocalProtocolError, match="already used"):
        a.send_request(req, B_UDP, 0.0)
    with pytest.raises(LocalProtocolError, match="no live server transaction"):
        b.send_response(TransactionKey("z9hG4bKx", "INVITE", "h"), Response(), 0.0)


def test_transport_error_reports_the_transactions_using_it(a: Endpoint) -> None:
    k1 = a.send_request(make_request(a, "INVITE"), B_TCP, 0.0)
    a.send_request(make_request(a, "OPTIONS"), B_UDP, 0.0)
    a.transport_error(B_TCP, 0.1)
    assert drain(a) == [TransportFailed(key=k1, dest=B_TCP)]
    assert a.live_transactions == 1


def test_helpers_build_unique_ids() -> None:
    assert new_branch() != new_branch() and new_tag() != new_tag()
    assert new_call_id("h").endswith("@h")


# -- never raise on peer input -------------------------------------------------------------
VALID = [request_bytes(m) for m in ("INVITE", "OPTIONS", "REGISTER", "CANCEL", "BYE")] + [
    request_bytes("ACK", to_tag="x"),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKabc123\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n",
]


@settings(max_examples=400, deadline=None)
@given(
    base=st.sampled_from(VALID),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.binary(max_size=40),
    pos=st.integers(min_value=0, max_value=400),
    tcp=st.booleans(),
)
def test_mutated_messages_never_raise(
    base: bytes, cut: int, junk: bytes, pos: int, tcp: bool
) -> None:
    ep = endpoint("192.0.2.20")
    data = base[:pos] + junk + base[pos + cut % 7 :]
    src = Address("tcp" if tcp else "udp", "192.0.2.10", 5060)
    ep.receive(data, src, 0.0)
    ep.receive(data, src, 0.5)
    ep.handle_timer(40.0)
    rejected = any(isinstance(e, MessageRejected) for e in ep.events())
    for t in ep.datagrams_to_send():
        if rejected:  # an error response echoes the peer's (possibly odd) routing headers
            assert t.data.startswith((b"SIP/2.0 4", b"SIP/2.0 5")) and b"Warning: 399" in t.data
        else:
            parse_message(t.data)  # what we build from good input is well formed


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    ep = endpoint("192.0.2.20")
    ep.receive(data, A_UDP, 0.0)
    ep.receive(b"INVITE sip:x@y SIP/2.0\r\n" + data, A_TCP, 0.0)
