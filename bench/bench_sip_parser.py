"""Parse/serialize throughput of the SIP message layer (sip/message.py) on one core.

Run: ``python bench/bench_sip_parser.py``. Prints messages/s for a realistic ~1.1 KB trunk
INVITE with SDP (Asterisk/FreeSWITCH style, 14 headers), a REGISTER, a 200 OK, and for
serialization, then whether the 40,000 INVITEs/s target is met.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sip.message import parse_message

TARGET = 40_000

_SDP = (
    b"v=0\r\no=FreeSWITCH 1712345678 1712345679 IN IP4 10.20.30.40\r\ns=FreeSWITCH\r\n"
    b"c=IN IP4 10.20.30.40\r\nt=0 0\r\nm=audio 23456 RTP/AVP 8 0 18 101 13\r\n"
    b"a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:18 G729/8000\r\n"
    b"a=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
    b"a=rtpmap:13 CN/8000\r\na=ptime:20\r\na=sendrecv\r\na=rtcp:23457 IN IP4 10.20.30.40\r\n"
)

INVITE = (
    "INVITE sip:12345@10.20.30.50:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.20.30.40:5060;rport;branch=z9hG4bK7e3c0a1b4d5f6a7b8c9d0e1f2a3b4c5d\r\n"
    "Max-Forwards: 69\r\n"
    'From: "13800138000" <sip:13800138000@10.20.30.40>;tag=as6f2b1c9d\r\n'
    "To: <sip:12345@10.20.30.50>\r\n"
    "Contact: <sip:13800138000@10.20.30.40:5060>\r\n"
    "Call-ID: 4f8a2c1e6b3d4a5f9e8d7c6b5a4f3e2d@10.20.30.40:5060\r\n"
    "CSeq: 102 INVITE\r\n"
    "User-Agent: Asterisk PBX 18.20.0\r\n"
    "Date: Tue, 04 Jun 2024 08:15:30 GMT\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n"
    "Supported: replaces, timer\r\n"
    "P-Asserted-Identity: \"13800138000\" <sip:13800138000@10.20.30.40>\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(_SDP)}\r\n\r\n"
).encode() + _SDP

REGISTER = (
    b"REGISTER sip:acd.example.gov.cn SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.10.21:5060;branch=z9hG4bK.Yq3dTzPx1;rport\r\n"
    b"From: <sip:agent017@acd.example.gov.cn>;tag=kQ2x8Zp0A\r\n"
    b"To: sip:agent017@acd.example.gov.cn\r\n"
    b"CSeq: 20 REGISTER\r\n"
    b"Call-ID: 9xR2mJ7wqL\r\n"
    b"Max-Forwards: 70\r\n"
    b'Contact: <sip:agent017@192.168.10.21;transport=udp>;+sip.instance="<urn:uuid:1b2c>"\r\n'
    b"Expires: 3600\r\n"
    b"User-Agent: Linphone/5.2.0 (belle-sip/5.2.0)\r\n"
    b"Content-Length: 0\r\n\r\n"
)

OK = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 10.20.30.50:5060;branch=z9hG4bK-524287-1---2f0a;rport=5060\r\n"
    b"Record-Route: <sip:10.20.30.50;lr>\r\n"
    b"Contact: <sip:agent017@192.168.10.21:5060>\r\n"
    b"To: <sip:agent017@acd.example.gov.cn>;tag=8f2d1a\r\n"
    b'From: "12345" <sip:12345@acd.example.gov.cn>;tag=b71c4e\r\n'
    b"Call-ID: 7c1e9d2b4a6f8e0d@10.20.30.50\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def rate(fn: Callable[[], object], seconds: float = 1.5) -> float:
    n = 0
    batch = 500
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    invite = parse_message(INVITE)
    print(f"trunk INVITE: {len(INVITE)} bytes, {len(invite.headers)} headers")
    results = {
        "parse INVITE (1.1 KB, SDP)": rate(lambda: parse_message(INVITE)),
        "parse REGISTER": rate(lambda: parse_message(REGISTER)),
        "parse 200 OK": rate(lambda: parse_message(OK)),
        "serialize INVITE": rate(lambda: bytes(invite)),
    }
    for name, value in results.items():
        print(f"{name:30s} {value:>10,.0f} msg/s")
    got = results["parse INVITE (1.1 KB, SDP)"]
    verdict = "MET" if got >= TARGET else "NOT MET"
    print(f"target {TARGET:,} INVITEs/s: {verdict} ({got:,.0f}/s)")


if __name__ == "__main__":
    main()
