"""Transaction state machines (RFC 3261 §17, RFC 6026) driven with literal times."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import LocalProtocolError
from sip.message import Request, Response, parse_message
from sip.transaction import (
    Outbox,
    TimerConfig,
    Transaction,
    TransactionConfig,
    build_ack,
    build_cancel,
    new_branch,
    new_call_id,
    new_tag,
    server_key,
)
from sip.transaction_events import (
    AckReceived,
    AckTimedOut,
    Address,
    CancelReceived,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
)
from sip.transaction_table import TRANSITIONS, Action, Input, Kind, State, Timer

from .transaction_support import UAC, UAC_TCP, UAS, request, response

UAS_TCP = Address("tcp", "192.0.2.20", 5060)
KEY = TransactionKey("z9hG4bKabc123", "INVITE")


def make(kind: Kind, dest: Address, method: str = "INVITE", **config: object) -> Transaction:
    req = request(method)
    key = TransactionKey("z9hG4bKabc123", method, "" if kind.is_client else "192.0.2.10:5060")
    cfg = TransactionConfig(**config)  # type: ignore[arg-type]
    return Transaction(kind, key, req, dest, Outbox(), cfg)


def sent(txn: Transaction) -> list[bytes]:
    out = [t.data for t in txn.outbox.transmits]
    txn.outbox.transmits.clear()
    return out


def events(txn: Transaction) -> list[object]:
    out = list(txn.outbox.events)
    txn.outbox.events.clear()
    return out


def first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode()


# -- helpers -------------------------------------------------------------------------------
def test_identifiers_are_fresh_and_well_formed() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100
    assert all(b.startswith("z9hG4bK") and len(b) > 20 for b in branches)
    assert new_tag() != new_tag()
    assert new_call_id("acd.example").endswith("@acd.example")


def test_timer_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TimerConfig(t1=5.0, t2=4.0)


def test_ack_for_non_2xx_per_17_1_1_3() -> None:
    invite = request("INVITE", extra="Route: <sip:proxy.example;lr>\r\n")
    ack = build_ack(invite, response(invite, 486, to_tag="xyz"))
    wire = parse_message(bytes(ack))
    assert isinstance(wire, Request)
    assert wire.method == "ACK" and wire.uri == invite.uri
    assert wire.top_via.branch == "z9hG4bKabc123" and len(wire.via) == 1
    assert wire.to.tag == "xyz" and wire.cseq.seq == 1 and wire.cseq.method == "ACK"
    assert wire.headers.get("Route") == "<sip:proxy.example;lr>"


def test_cancel_per_9_1() -> None:
    invite = request("INVITE")
    cancel = build_cancel(invite, 'SIP;cause=200;text="Call completed elsewhere"')
    assert cancel.method == "CANCEL" and cancel.top_via.branch == invite.top_via.branch
    assert cancel.cseq.seq == invite.cseq.seq and cancel.cseq.method == "CANCEL"
    assert cancel.to.tag is None
    assert (cancel.headers.get("Reason") or "").startswith("SIP;cause=200")


def test_rfc2543_key_matches_invite_ack_and_cancel() -> None:
    invite = server_key(request("INVITE", branch="oldstyle"))
    ack = server_key(request("ACK", branch="oldstyle", to_tag="t"))
    assert invite.branch.startswith("2543:") and invite == ack
    assert server_key(request("INVITE", branch="oldstyle", cseq=2)) != invite


# -- INVITE client -------------------------------------------------------------------------
def test_ict_udp_timer_a_doubles_and_timer_b_times_out_at_32() -> None:
    txn = make(Kind.INVITE_CLIENT, UAS)
    txn.feed(Input.SEND_REQUEST, 0.0)
    assert len(sent(txn)) == 1 and txn.state is State.CALLING
    assert txn.timer_deadline(Timer.A) == 0.5 and txn.timer_deadline(Timer.B) == 32.0
    for now in (0.5, 1.5, 3.5, 7.5, 15.5, 31.5):
        assert txn.next_deadline() == now
        txn.handle_timer(now)
        assert [first_line(d) for d in sent(txn)] == ["INVITE sip:12345@192.0.2.20 SIP/2.0"]
    assert txn.outbox.stats.retransmissions_sent == 6
    txn.handle_timer(31.9)
    assert txn.state is State.CALLING
    txn.handle_timer(32.0)
    assert txn.state is State.TERMINATED and txn.next_deadline() is None
    assert events(txn) == [
        TransactionTimedOut(key=txn.key, timer="B"),
        TransactionTerminated(key=txn.key),
    ]


def test_ict_tcp_has_no_timer_a() -> None:
    txn = make(Kind.INVITE_CLIENT, UAS_TCP)
    txn.feed(Input.SEND_REQUEST, 0.0)
    assert txn.timer_deadline(Timer.A) is None and txn.next_deadline() == 32.0
    txn.handle_timer(32.0)
    assert txn.state is State.TERMINATED and len(sent(txn)) == 1


def test_ict_late_handle_timer_fires_in_deadline_order() -> None:
    txn = make(Kind.INVITE_CLIENT, UAS)
    txn.feed(Input.SEND_REQUEST, 0.0)
    txn.handle_timer(40.0)  # A (0.5) then B (32.0) due: one retransmit, then timeout
    assert len(sent(txn)) == 2 and txn.state is State.TERMINATED


@pytest.mark.parametrize(("dest", "timer_d"), [(UAS, 32.0), (UAS_TCP, 0.0)])
def test_ict_non_2xx_is_acked_by_the_layer_and_timer_d(dest: Address, timer_d: float) -> None:
    txn = make(Kind.INVITE_CLIENT, dest)
    txn.feed(Input.SEND_REQUEST, 0.0)
    txn.feed(Input.RECV_1XX, 0.2, response(txn.request, 180))
    assert txn.state is State.PROCEEDING and txn.next_deadline() is None  # A and B stopped
    sent(txn)
    busy = response(txn.request, 486)
    txn.feed(Input.RECV_FINAL, 1.0, busy)
    (ack,) = sent(txn)
    assert first_line(ack) == "ACK sip:12345@192.0.2.20 SIP/2.0" and b"tag=uastag" in ack
    assert txn.state is State.COMPLETED and txn.timer_deadline(Timer.D) == 1.0 + timer_d
    txn.feed(Input.RECV_FINAL, 2.0, busy)  # retransmitted 486: ACK again, not passed up
    assert sent(txn) == [ack]
    assert [type(e) for e in events(txn)] == [ResponseReceived, ResponseReceived]
    txn.handle_timer(1.0 + timer_d)
    assert txn.state is State.TERMINATED


def test_ict_2xx_goes_up_and_retransmissions_too_until_timer_m() -> None:
    txn = make(Kind.INVITE_CLIENT, UAS)
    txn.feed(Input.SEND_REQUEST, 0.0)
    ok = response(txn.request, 200)
    txn.feed(Input.RECV_2XX, 0.1, ok)
    assert txn.state is State.ACCEPTED and txn.next_deadline() == 0.1 + 32.0
    txn.feed(Input.RECV_2XX, 0.6, ok)
    assert events(txn) == [ResponseReceived(key=txn.key, response=ok)] * 2
    assert len(sent(txn)) == 1  # the layer never ACKs a 2xx
    txn.handle_timer(32.1)
    assert txn.state is State.TERMINATED


def test_ict_cancel_is_queued_until_a_provisional() -> None:
    txn = make(Kind.INVITE_CLIENT, UAS)
    txn.feed(Input.SEND_REQUEST, 0.0)
    txn.feed(Input.CANCEL, 0.1)
    assert txn.outbox.cancels == []
    txn.feed(Input.RECV_1XX, 0.3, response(txn.request, 100, to_tag=None))
    ((cancel, dest),) = txn.outbox.cancels
    assert cancel.method == "CANCEL" and dest == UAS
    assert txn.timer_deadline(Timer.B) == 0.3 + 32.0  # §9.1 give-up
    txn.feed(Input.CANCEL, 0.4)  # a second cancel sends nothing more
    assert len(txn.outbox.cancels) == 1
    txn.handle_timer(32.3)
    assert txn.state is State.TERMINATED
    assert TransactionTimedOut(key=txn.key, timer="B") in events(txn)


def test_transport_error_in_calling() -> None:
    txn = make(Kind.INVITE_CLIENT, UAS)
    txn.feed(Input.SEND_REQUEST, 0.0)
    txn.feed(Input.TRANSPORT_ERROR, 0.1)
    assert events(txn)[0] == TransportFailed(key=txn.key, dest=UAS)
    assert txn.state is State.TERMINATED


# -- non-INVITE client ---------------------------------------------------------------------
def test_nict_timer_e_caps_at_t2_and_f_at_32() -> None:
    txn = make(Kind.NON_INVITE_CLIENT, UAS, "REGISTER")
    txn.feed(Input.SEND_REQUEST, 0.0)
    fired = []
    while txn.state is not State.TERMINATED:
        deadline = txn.next_deadline()
        assert deadline is not None
        fired.append(deadline)
        txn.handle_timer(deadline)
    assert fired == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5, 32.0]
    assert TransactionTimedOut(key=txn.key, timer="F") in events(txn)


def test_nict_proceeding_retransmits_at_t2_then_k() -> None:
    txn = make(Kind.NON_INVITE_CLIENT, UAS, "REGISTER")
    txn.feed(Input.SEND_REQUEST, 0.0)
    txn.handle_timer(0.5)
    txn.feed(Input.RECV_1XX, 0.6, response(txn.request, 100, to_tag=None))
    txn.handle_timer(1.5)  # E still at 1.5 (armed in Trying)
    assert txn.timer_deadline(Timer.E) == 1.5 + 4.0
    txn.feed(Input.RECV_2XX, 2.0, response(txn.request, 200))
    assert txn.state is State.COMPLETED and txn.next_deadline() == 7.0  # K = T4
    txn.feed(Input.RECV_2XX, 3.0, response(txn.request, 200))  # absorbed
    assert [type(e) for e in events(txn)] == [ResponseReceived, ResponseReceived]
    txn.handle_timer(7.0)
    assert txn.state is State.TERMINATED


def test_nict_tcp_timer_k_is_zero() -> None:
    txn = make(Kind.NON_INVITE_CLIENT, UAC_TCP, "OPTIONS")
    txn.feed(Input.SEND_REQUEST, 0.0)
    assert txn.timer_deadline(Timer.E) is None
    txn.feed(Input.RECV_FINAL, 1.0, response(txn.request, 404))
    assert txn.next_deadline() == 1.0
    txn.handle_timer(1.0)
    assert txn.state is State.TERMINATED


# -- INVITE server -------------------------------------------------------------------------
def server(kind: Kind = Kind.INVITE_SERVER, dest: Address = UAC, **cfg: object) -> Transaction:
    txn = make(kind, dest, "INVITE" if kind is Kind.INVITE_SERVER else "REGISTER", **cfg)
    txn.feed(Input.RECV_REQUEST, 0.0, txn.request)
    return txn


def test_ist_auto_trying_and_retransmission_absorbed() -> None:
    txn = server()
    assert [first_line(d) for d in sent(txn)] == ["SIP/2.0 100 Trying"]
    assert events(txn) == [RequestReceived(key=txn.key, request=txn.request, source=UAC)]
    txn.feed(Input.RECV_RETRANSMIT, 0.5, txn.request)
    assert [first_line(d) for d in sent(txn)] == ["SIP/2.0 100 Trying"] and not events(txn)


def test_ist_without_auto_trying_absorbs_silently() -> None:
    txn = server(auto_trying=False)
    assert sent(txn) == []
    txn.feed(Input.RECV_RETRANSMIT, 0.5, txn.request)
    assert sent(txn) == []


@pytest.mark.parametrize(("dest", "timer_i"), [(UAC, 5.0), (UAC_TCP, 0.0)])
def test_ist_non_2xx_timer_g_h_then_ack_and_timer_i(dest: Address, timer_i: float) -> None:
    txn = server(dest=dest)
    sent(txn)
    txn.feed(Input.SEND_FINAL, 1.0, response(txn.request, 486))
    assert len(sent(txn)) == 1 and txn.timer_deadline(Timer.H) == 33.0
    if dest.reliable:
        assert txn.timer_deadline(Timer.G) is None
    else:
        for now in (1.5, 2.5, 4.5, 8.5, 12.5):
            assert txn.timer_deadline(Timer.G) == now
            txn.handle_timer(now)
            assert len(sent(txn)) == 1
    txn.feed(Input.RECV_ACK, 13.0, request("ACK", to_tag="uastag"))
    assert txn.state is State.CONFIRMED and txn.next_deadline() == 13.0 + timer_i
    txn.feed(Input.RECV_RETRANSMIT, 13.1, txn.request)
    txn.feed(Input.RECV_ACK, 13.1, request("ACK", to_tag="uastag"))
    assert sent(txn) == []
    txn.handle_timer(13.0 + timer_i)
    assert txn.state is State.TERMINATED


def test_ist_timer_h_without_ack() -> None:
    txn = server()
    txn.feed(Input.SEND_FINAL, 0.0, response(txn.request, 480))
    txn.handle_timer(32.0)
    assert txn.state is State.TERMINATED
    assert TransactionTimedOut(key=txn.key, timer="H") in events(txn)


@pytest.mark.parametrize("dest", [UAC, UAC_TCP])
def test_ist_2xx_resent_until_ack_even_on_tcp(dest: Address) -> None:
    txn = server(dest=dest)
    sent(txn)
    events(txn)
    txn.feed(Input.SEND_2XX, 0.0, response(txn.request, 200))
    assert txn.state is State.ACCEPTED
    for now in (0.5, 1.5, 3.5, 7.5, 11.5):
        assert txn.timer_deadline(Timer.G) == now
        txn.handle_timer(now)
    assert [first_line(d) for d in sent(txn)] == ["SIP/2.0 200 OK"] * 6
    txn.feed(Input.RECV_RETRANSMIT, 12.0, txn.request)  # absorbed in Accepted
    ack = request("ACK", branch="z9hG4bKother", to_tag="uastag")
    txn.feed(Input.RECV_ACK, 12.0, ack)
    assert events(txn) == [AckReceived(key=txn.key, request=ack, source=dest)]
    assert txn.state is State.CONFIRMED and txn.timer_deadline(Timer.G) is None
    txn.handle_timer(32.0)  # Timer L ends it quietly
    assert events(txn) == [TransactionTerminated(key=txn.key)] and sent(txn) == []


def test_ist_2xx_unacknowledged_gives_up_after_64_t1() -> None:
    txn = server()
    txn.feed(Input.SEND_2XX, 0.0, response(txn.request, 200))
    fired = []
    while txn.state is not State.TERMINATED:
        deadline = txn.next_deadline()
        assert deadline is not None
        fired.append(deadline)
        txn.handle_timer(deadline)
    assert fired == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5, 32.0]
    assert events(txn)[-2:] == [AckTimedOut(key=txn.key), TransactionTerminated(key=txn.key)]


def test_ist_cancel_sends_487_and_then_refuses_the_2xx() -> None:
    txn = server()
    sent(txn)
    txn.feed(Input.SEND_1XX, 0.1, response(txn.request, 180, to_tag="ringtag"))
    sent(txn)
    cancel = request("CANCEL")
    txn.feed(Input.RECV_CANCEL, 1.0, cancel)
    (data,) = sent(txn)
    assert first_line(data) == "SIP/2.0 487 Request Terminated" and b"tag=ringtag" in data
    assert b"Server: hotline-acd" in data
    assert CancelReceived(key=txn.key, request=cancel) in events(txn)
    with pytest.raises(LocalProtocolError, match="caller is gone"):
        txn.feed(Input.SEND_2XX, 1.2, response(txn.request, 200))
    assert txn.state is State.COMPLETED  # the 487 is still resent until its ACK
    txn.handle_timer(1.5)
    assert [first_line(d) for d in sent(txn)] == ["SIP/2.0 487 Request Terminated"]


def test_ist_cancel_after_final_has_no_effect() -> None:
    txn = server()
    txn.feed(Input.SEND_2XX, 0.5, response(txn.request, 200))
    sent(txn)
    events(txn)
    txn.feed(Input.RECV_CANCEL, 0.6, request("CANCEL"))
    assert sent(txn) == [] and events(txn) == [] and txn.state is State.ACCEPTED


# -- non-INVITE server ---------------------------------------------------------------------
@pytest.mark.parametrize(("dest", "timer_j"), [(UAC, 32.0), (UAC_TCP, 0.0)])
def test_nist_absorbs_retransmissions_and_timer_j(dest: Address, timer_j: float) -> None:
    txn = server(Kind.NON_INVITE_SERVER, dest=dest)
    assert sent(txn) == []  # no automatic 100 for non-INVITE
    txn.feed(Input.RECV_RETRANSMIT, 0.1, txn.request)
    assert sent(txn) == []
    txn.feed(Input.SEND_2XX, 0.2, response(txn.request, 200))
    txn.feed(Input.RECV_RETRANSMIT, 0.7, txn.request)
    assert [first_line(d) for d in sent(txn)] == ["SIP/2.0 200 OK"] * 2
    with pytest.raises(LocalProtocolError, match="final response already sent"):
        txn.feed(Input.SEND_FINAL, 0.8, response(txn.request, 500))
    assert txn.next_deadline() == 0.2 + timer_j
    txn.handle_timer(0.2 + timer_j)
    assert txn.state is State.TERMINATED


# -- totality ------------------------------------------------------------------------------
def message_for(inp: Input, txn: Transaction) -> Request | Response | None:
    req = txn.request
    return {
        Input.SEND_1XX: response(req, 180),
        Input.SEND_2XX: response(req, 200),
        Input.SEND_FINAL: response(req, 486),
        Input.RECV_1XX: response(req, 180),
        Input.RECV_2XX: response(req, 200),
        Input.RECV_FINAL: response(req, 486),
        Input.RECV_REQUEST: req,
        Input.RECV_RETRANSMIT: req,
        Input.RECV_ACK: request("ACK", to_tag="uastag"),
        Input.RECV_CANCEL: request("CANCEL"),
    }.get(inp)


def check_step(txn: Transaction, inp: Input, now: float) -> None:
    """The table decides: a row's next state (REFUSE rows raise, keep the state); no row →
    TERMINATED, raising only for local inputs."""
    before = txn.state
    row = TRANSITIONS.get((txn.kind, before, inp))
    raised = False
    try:
        txn.feed(inp, now, message_for(inp, txn))
    except LocalProtocolError:
        raised = True
    if row is None:
        assert txn.state is State.TERMINATED and raised == inp.is_local
    elif Action.REFUSE in row[0]:
        assert raised and txn.state is before
    else:
        assert not raised and txn.state is row[1]
    if txn.state is State.TERMINATED:
        assert txn.next_deadline() is None


@pytest.mark.parametrize(
    ("kind", "state", "reliable"), itertools.product(Kind, State, (False, True))
)
def test_every_state_input_pair_is_total(kind: Kind, state: State, reliable: bool) -> None:
    for inp in Input:
        txn = make(kind, UAC_TCP if reliable else UAC)
        txn.state = state  # place it directly: every pair, reachable or not
        check_step(txn, inp, 1.0)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(Kind),
    reliable=st.booleans(),
    inputs=st.lists(st.sampled_from(Input), max_size=15),
)
def test_random_input_sequences_follow_the_table(
    kind: Kind, reliable: bool, inputs: list[Input]
) -> None:
    txn = make(kind, UAC_TCP if reliable else UAC)
    first = Input.SEND_REQUEST if kind.is_client else Input.RECV_REQUEST
    now = 0.0
    for inp in [first, *inputs]:
        now += 0.7
        check_step(txn, inp, now)
        txn.handle_timer(now)
    terminated = [e for e in txn.outbox.events if isinstance(e, TransactionTerminated)]
    assert len(terminated) == (1 if txn.state is State.TERMINATED else 0)
