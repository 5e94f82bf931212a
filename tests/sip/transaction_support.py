"""Builders shared by the transaction and endpoint tests."""

from __future__ import annotations

from sip.message import Request, Response, make_response, parse_message
from sip.transaction_events import Address

UAC = Address("udp", "192.0.2.10", 5060)
UAS = Address("udp", "192.0.2.20", 5060)
UAC_TCP = Address("tcp", "192.0.2.10", 40000)


def request_bytes(
    method: str = "INVITE",
    *,
    branch: str = "z9hG4bKabc123",
    via_host: str = "192.0.2.10",
    via_port: int | None = 5060,
    transport: str = "UDP",
    rport: bool = False,
    call_id: str = "call-1@192.0.2.10",
    cseq: int = 1,
    from_tag: str = "ftag",
    to_tag: str | None = None,
    cseq_method: str | None = None,
    extra: str = "",
    body: bytes = b"",
) -> bytes:
    sent_by = via_host if via_port is None else f"{via_host}:{via_port}"
    params = f";branch={branch}" + (";rport" if rport else "")
    to = "<sip:12345@192.0.2.20>" + (f";tag={to_tag}" if to_tag else "")
    head = (
        f"{method} sip:12345@192.0.2.20 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {sent_by}{params}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:caller@192.0.2.10>;tag={from_tag}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "Contact: <sip:caller@192.0.2.10:5060>\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def request(method: str = "INVITE", **kw: object) -> Request:
    msg = parse_message(request_bytes(method, **kw))  # type: ignore[arg-type]
    assert isinstance(msg, Request)
    return msg


def response(req: Request, status: int, to_tag: str | None = "uastag") -> Response:
    return make_response(req, status, to_tag=to_tag)
