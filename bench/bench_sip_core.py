"""Transactions/s of the sans-IO SIP core (sip/endpoint.py + sip/transaction*.py), one core.

Run: ``python bench/bench_sip_core.py [--n N]``. Each figure is a whole server transaction
driven through `Endpoint` with literal times, parse and serialise included:

- non-INVITE: receive a REGISTER-like request, send 200, Timer J expiry (UDP);
- INVITE: receive INVITE (auto 100 Trying), send 200, receive the ACK (its own branch,
  matched through the dialog), Timer L expiry;
- INVITE + retransmissions: as above plus one retransmitted INVITE absorbed and one 2xx
  resend by the timer before the ACK.

The peak day (56,000 calls) is < 1 INVITE/s on average; the figures show the headroom.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sip.endpoint import Endpoint, EndpointConfig
from sip.message import make_response
from sip.transaction_events import Address, RequestReceived

PEER = Address("udp", "10.20.30.40", 5060)


def _request(method: str, i: int, branch: str, cseq_method: str | None = None) -> bytes:
    return (
        f"{method} sip:12345@10.20.30.50:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.20.30.40:5060;rport;branch=z9hG4bK{branch}{i}\r\n"
        "Max-Forwards: 70\r\n"
        f'From: "13800138000" <sip:13800138000@10.20.30.40>;tag=as{i}\r\n'
        f"To: <sip:12345@10.20.30.50>{';tag=acd' if method == 'ACK' else ''}\r\n"
        f"Contact: <sip:13800138000@10.20.30.40:5060>\r\n"
        f"Call-ID: {i}-4f8a2c1e6b3d4a5f9e8d7c6b5a4f3e2d@10.20.30.40\r\n"
        f"CSeq: 102 {cseq_method or method}\r\n"
        "User-Agent: Asterisk PBX 18.20.0\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def _endpoint() -> Endpoint:
    return Endpoint(EndpointConfig(sent_by={"udp": ("10.20.30.50", 5060)}))


def bench_non_invite(n: int) -> float:
    ep = _endpoint()
    data = [_request("REGISTER", i, "reg") for i in range(n)]
    start = time.perf_counter()
    for i, d in enumerate(data):
        now = float(i) * 1e-3
        ep.receive(d, PEER, now)
        ev = ep.next_event()
        assert isinstance(ev, RequestReceived)
        ep.send_response(ev.key, make_response(ev.request, 200, to_tag="acd"), now)
        ep.datagrams_to_send()
    ep.handle_timer(1e9)  # every Timer J
    ep.events()
    elapsed = time.perf_counter() - start
    assert ep.live_transactions == 0
    return n / elapsed


def bench_invite(n: int, retransmit: bool) -> float:
    ep = _endpoint()
    invites = [_request("INVITE", i, "inv") for i in range(n)]
    acks = [_request("ACK", i, "ack") for i in range(n)]
    start = time.perf_counter()
    for i in range(n):
        now = float(i) * 1e-3
        ep.receive(invites[i], PEER, now)
        ev = ep.next_event()
        assert isinstance(ev, RequestReceived)
        if retransmit:
            ep.receive(invites[i], PEER, now)
        ep.send_response(ev.key, make_response(ev.request, 200, to_tag="acd"), now)
        if retransmit:
            ep.handle_timer(now + 0.5)  # one 2xx resend (Timer G in Accepted)
        ep.receive(acks[i], PEER, now + 0.6)
        ep.datagrams_to_send()
        ep.events()
    ep.handle_timer(1e9)  # every Timer L
    ep.events()
    elapsed = time.perf_counter() - start
    assert ep.live_transactions == 0
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="transactions per figure")
    args = parser.parse_args()
    rows = [
        ("non-INVITE server txn (REGISTER, 200, Timer J)", bench_non_invite(args.n)),
        ("INVITE server txn (INVITE, 100, 200, ACK, Timer L)", bench_invite(args.n, False)),
        ("  + retransmitted INVITE and one 2xx resend", bench_invite(args.n, True)),
    ]
    for name, rate in rows:
        print(f"{name:<56} {rate:>10,.0f} txn/s  ({1e6 / rate:6.1f} µs each)")


if __name__ == "__main__":
    main()
