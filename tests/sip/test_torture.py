"""RFC 4475 (and RFC 5118 IPv6) torture messages, fed whole, and byte by byte on a stream.

Fixtures are exact bytes under tests/sip/torture/ (regenerate with make_fixtures.py).
Each RFC 4475 "invalid" message is assigned to the layer that must reject it:

| message    | RFC § / verdict                        | layer that rejects it               |
|------------|----------------------------------------|-------------------------------------|
| badinv01   | 3.1.2.1 ;;,;,, in Via → 400            | parser (no route: Via unusable→drop)|
| clerr      | 3.1.2.2 C-L > body (UDP) → 400         | parser, 400 routable                |
| ncl        | 3.1.2.3 negative C-L → error           | parser, 400 routable                |
| scalar02   | 3.1.2.4 CSeq/Max-Forwards out of range | parser, 400 routable                |
| scalarlg   | 3.1.2.5 response, huge CSeq → drop     | parser (response: dropped)          |
| quotbal    | 3.1.2.6 unbalanced quote in To → 400   | parser, 400 routable                |
| ltgtruri   | 3.1.2.7 <> around Request-URI → 400    | parser, 400 routable                |
| lwsruri    | 3.1.2.8 LWS inside Request-URI → 400   | parser, 400 routable                |
| lwsstart   | 3.1.2.9 extra SP in request line → 400 | parser, 400 routable                |
| trws       | 3.1.2.10 SP after SIP/2.0 → 400        | parser, 400 routable                |
| escruri    | 3.1.2.11 headers in Request-URI → 400  | parser, 400 routable                |
| baddate    | 3.1.2.12 non-GMT Date                  | ACCEPTED: the ACD never reads Date; |
|            |                                        | RFC allows ignoring it (test below) |
| regbadct   | 3.1.2.13 Contact addr-spec with ?      | ACCEPTED by parser; Message.contacts|
|            |                                        | raises → registrar answers 400      |
| badaspec   | 3.1.2.14 LWS inside <> of To → 400     | parser, 400 routable                |
| baddn      | 3.1.2.15 unquoted ',' display → 400    | parser, 400 routable                |
| badvers    | 3.1.2.16 SIP/7.0 → 505                 | parser, 505 routable                |
| mismatch01 | 3.1.2.17 CSeq method ≠ method → 400    | parser, 400 routable                |
| mismatch02 | 3.1.2.18 unknown method + mismatch     | parser, 400 routable (501 allowed)  |
| bigcode    | 3.1.2.19 status 4294967301 → drop      | parser (response: dropped)          |
| badbranch  | 3.1.2.20 branch=z9hG4bK alone          | ACCEPTED (RFC: must not break);     |
|            |                                        | Via.has_rfc3261_branch is False, the|
|            |                                        | transaction layer decides (test)    |
| mcl01/multi01/insuf | 3.3 duplicated/missing singletons | parser (insuf: no From/To→drop) |
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sip.errors import RemoteProtocolError
from sip.framing import StreamFramer
from sip.message import Request, Response, make_response, parse_message

HERE = Path(__file__).parent / "torture"
VALID = sorted(p.stem for p in (HERE / "valid").glob("*.sip"))

# name -> (status_hint, routable?, reason fragment)
INVALID: dict[str, tuple[int, bool, str]] = {
    "badinv01": (400, False, "parameter"),
    "clerr": (400, True, "shorter than Content-Length"),
    "ncl": (400, True, "Content-Length"),
    "scalar02": (400, True, "CSeq"),
    "scalarlg": (400, False, "CSeq"),
    "quotbal": (400, True, "quoted string"),
    "ltgtruri": (400, True, "Request-URI"),
    "lwsruri": (400, True, "Request-URI"),
    "lwsstart": (400, True, "Request-URI"),
    "trws": (400, True, "version"),
    "escruri": (400, True, "headers in the Request-URI"),
    "badaspec": (400, True, "bad URI"),
    "baddn": (400, True, "display name"),
    "badvers": (505, True, "version"),
    "mismatch01": (400, True, "CSeq method"),
    "mismatch02": (400, True, "CSeq method"),
    "bigcode": (400, False, "status code"),
    "mcl01": (400, True, "more than one Content-Length"),
    "multi01": (400, True, "more than one"),
    "insuf": (400, False, "missing From"),
    "ipv6-bug-abnf-3-colons": (400, True, "IPv6"),
    "ipv6-no-brackets": (400, True, "port"),
    "mismatched-brackets": (400, True, "IPv6"),
}


def load(kind: str, name: str) -> bytes:
    return (HERE / kind / f"{name}.sip").read_bytes()


def test_every_invalid_fixture_is_in_the_table() -> None:
    assert sorted(p.stem for p in (HERE / "invalid").glob("*.sip")) == sorted(INVALID)
    assert len(VALID) >= 13


@pytest.mark.parametrize("name", VALID)
def test_valid_messages_parse(name: str) -> None:
    msg = parse_message(load("valid", name))
    assert msg.via and msg.call_id
    assert msg.cseq.seq >= 0
    if isinstance(msg, Request):
        assert msg.cseq.method == msg.method
        # A server could answer each of them.
        assert bytes(make_response(msg, 200, to_tag="t1")).startswith(b"SIP/2.0 200 OK\r\n")


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_messages_raise_with_hint(name: str) -> None:
    status, routable, fragment = INVALID[name]
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(load("invalid", name))
    assert info.value.status_hint == status
    assert (info.value.request is not None) is routable
    assert fragment in info.value.reason
    if routable:
        assert info.value.request is not None
        # The response copies the (possibly bad) fields verbatim, as §8.2.6 says.
        response = bytes(make_response(info.value.request, status, "Bad Request"))
        assert response.startswith(f"SIP/2.0 {status} Bad Request\r\n".encode())


def test_wsinv_details() -> None:
    msg = parse_message(load("valid", "wsinv"))
    assert isinstance(msg, Request)
    assert msg.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert msg.to.tag == "1918181833n"
    assert msg.from_.display_name == 'J Rosenberg \\"'
    assert msg.from_.tag == "98asjd8"
    assert msg.headers.get("Max-Forwards") == "0068"
    assert (msg.cseq.seq, msg.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in msg.via] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    (contact,) = msg.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(msg.body) == 150


def test_intmeth_details() -> None:
    msg = parse_message(load("valid", "intmeth"))
    assert isinstance(msg, Request)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = msg.request_uri
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert msg.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert msg.from_.tag == "_token~1'+`*%!-."
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"


def test_escapes_are_kept_as_written() -> None:
    msg = parse_message(load("valid", "esc01"))
    assert isinstance(msg, Request)
    assert msg.request_uri.user == "sips%3Auser%40example.com"
    esc02 = parse_message(load("valid", "esc02"))
    assert isinstance(esc02, Request)
    assert esc02.method == "RE%47IST%45R"
    assert len(esc02.contacts) == 2  # C%6Fntact is an unknown header, not a Contact
    assert esc02.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    null = parse_message(load("valid", "escnull"))
    assert [c.uri for c in null.contacts] == [
        "sip:%00@host5.example.com",
        "sip:%00%00@host5.example.com",
    ]


def test_semiuri_lwsdisp_longreq_transports_unreason_noreason() -> None:
    semi = parse_message(load("valid", "semiuri"))
    assert isinstance(semi, Request)
    assert semi.request_uri.user == "user;par=u%40example.net"
    assert len(semi.headers.get_all("Accept")) == 6
    assert parse_message(load("valid", "lwsdisp")).from_.display_name == "caller"
    long = parse_message(load("valid", "longreq"))
    assert len(long.via) == 34 and long.to.sip_uri().port == 6000
    transports = parse_message(load("valid", "transports"))
    assert [v.transport for v in transports.via] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    unreason = parse_message(load("valid", "unreason"))
    assert isinstance(unreason, Response) and unreason.reason.endswith("простое")
    noreason = parse_message(load("valid", "noreason"))
    assert isinstance(noreason, Response) and (noreason.status, noreason.reason) == (100, "")


def test_dblreq_extra_octets_on_udp_are_ignored() -> None:
    msg = parse_message(load("valid", "dblreq"))
    assert isinstance(msg, Request) and msg.method == "REGISTER" and msg.body == b""


def test_mpart01_binary_body_is_framed_exactly() -> None:
    data = load("valid", "mpart01")
    msg = parse_message(data)
    assert b"\x00" in msg.body and data.endswith(msg.body)
    assert len(msg.body) == int(msg.headers.get("Content-Length") or -1)


def test_semantic_cases_accepted_by_parser_and_caught_above() -> None:
    # baddate: Date is informational; nothing in the ACD reads it.
    assert parse_message(load("valid", "baddate")).headers.get("Date") == (
        "Fri, 01 Jan 2010 16:00:00 EST"
    )
    # regbadct: the registrar reads contacts, which raises → 400 from the registrar.
    reg = parse_message(load("valid", "regbadct"))
    with pytest.raises(RemoteProtocolError):
        reg.contacts  # noqa: B018
    # badbranch: syntactically fine; the branch is flagged as not RFC 3261 style.
    assert parse_message(load("valid", "badbranch")).top_via.has_rfc3261_branch is False
    assert parse_message(load("valid", "wsinv")).via[1].has_rfc3261_branch is True


@pytest.mark.parametrize("name", VALID)
def test_valid_messages_framed_byte_by_byte(name: str) -> None:
    data = load("valid", name)
    whole = parse_message(data)
    if whole.headers.get("Content-Length") is None:
        pytest.skip("no Content-Length: not valid on a stream")
    framer = StreamFramer()
    frames = [f for b in data for f in framer.feed(bytes([b]))]
    first = frames[0]
    assert isinstance(first, bytes)
    assert parse_message(first, stream=True).body == whole.body
