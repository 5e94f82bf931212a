"""parse_message / serialization / make_response: table-driven wire cases, limits,
UDP framing rules, hypothesis round trips and fuzzing (only RemoteProtocolError may escape)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.headers import NameAddress
from sip.message import (
    MAX_HEADERS,
    Headers,
    Request,
    Response,
    canonical_name,
    make_response,
    parse_message,
    reason_phrase,
)

BASE = (
    "INVITE sip:12345@acd.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Caller" <sip:13800138000@10.0.0.1>;tag=1928301774\r\n'
    "To: <sip:12345@acd.example.com>\r\n"
    "Call-ID: a84b4c76e66710@10.0.0.1\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Record-Route: <sip:proxy.example.com;lr>\r\n"
    "Contact: <sip:13800138000@10.0.0.1:5060>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n\r\nv=0\n"
)


def invite(**replace: str) -> bytes:
    text = BASE
    for old, new in replace.items():
        text = text.replace(old.replace("_", "-"), new)
    return text.encode()


def test_parses_base_invite() -> None:
    msg = parse_message(invite())
    assert isinstance(msg, Request)
    assert (msg.method, msg.uri, msg.body) == ("INVITE", "sip:12345@acd.example.com", b"v=0\n")
    assert msg.top_via.branch == "z9hG4bK776asdhds" and msg.top_via.port == 5060
    assert msg.from_.tag == "1928301774" and msg.to.tag is None
    assert msg.cseq.seq == 314159


COMPACT = (
    "INVITE sip:a@b.example SIP/2.0\r\n"
    "v: SIP/2.0/TCP h.example;branch=z9hG4bK1\r\n"
    "f: <sip:x@y.example>;tag=1\r\nt: sip:a@b.example\r\ni: cid1\r\nCSeq: 1 INVITE\r\n"
    "m: <sip:x@h.example>\r\nc: application/sdp\r\nk: timer\r\nl: 3\r\n\r\nabc"
)


def test_compact_forms_and_case_insensitive_names() -> None:
    msg = parse_message(COMPACT.encode(), stream=True)
    assert msg.headers.get("via") == "SIP/2.0/TCP h.example;branch=z9hG4bK1"
    assert msg.headers.get("CONTACT") == "<sip:x@h.example>"
    assert msg.headers.get("Content-Type") == "application/sdp"
    assert msg.headers.get("supported") == "timer"
    assert msg.call_id == "cid1" and msg.body == b"abc"
    assert canonical_name("cAlL-iD") == "Call-ID" and canonical_name("X-Foo") == "X-Foo"
    assert canonical_name("WWW-AUTHENTICATE") == "WWW-Authenticate"


def test_folding_and_multi_via() -> None:
    data = invite(**{"Max-Forwards: 70": "Max-Forwards:\r\n  70",
                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport":
                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport,\r\n"
                     " SIP/2.0/TCP p1.example;branch=z9hG4bKp1\r\nv: SIP/2.0/UDP [2001:db8::1]"
                     ":5070;branch=z9hG4bKp2;received=2001:db8::2"})  # fmt: skip
    msg = parse_message(data)
    assert msg.headers.get("Max-Forwards") == "70"
    assert [v.host for v in msg.via] == ["10.0.0.1", "p1.example", "[2001:db8::1]"]
    assert msg.via[2].port == 5070 and msg.via[2].params["received"] == "2001:db8::2"
    response = make_response(msg, 486)  # type: ignore[arg-type]
    assert [v for k, v in response.headers.items() if k == "Via"] == msg.headers.get_lines("Via")


def test_bare_lf_is_tolerated() -> None:
    msg = parse_message(BASE.replace("\r\n", "\n").encode())
    assert msg.body == b"v=0\n" and msg.cseq.seq == 314159


def test_leading_crlf_before_start_line_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + invite()).call_id == "a84b4c76e66710@10.0.0.1"


BAD: list[tuple[str, bytes, int, bool]] = [
    ("bad Content-Length", invite(**{"Content-Length: 4": "Content-Length: 4x"}), 400, True),
    ("unicode digit C-L", invite(**{"Content-Length: 4": "Content-Length: ²"}), 400, True),
    ("huge C-L", invite(**{"Content-Length: 4": "Content-Length: " + "9" * 5000}), 400, True),
    ("bad CSeq", invite(**{"CSeq: 314159 INVITE": "CSeq: abc INVITE"}), 400, True),
    ("CSeq 2**31", invite(**{"CSeq: 314159 INVITE": "CSeq: 2147483648 INVITE"}), 400, True),
    ("huge CSeq", invite(**{"CSeq: 314159 INVITE": "CSeq: " + "1" * 5000 + " INVITE"}), 400, True),
    ("wrong version", invite(**{"SIP/2.0\r\nVia": "SIP/3.0\r\nVia"}), 505, True),
    ("missing Via", invite(**{"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport\r\n": ""}), 400, False),  # noqa: E501
    ("missing From", invite(**{'From: "Caller" <sip:13800138000@10.0.0.1>;tag=1928301774\r\n': ""}), 400, False),  # noqa: E501
    ("missing To", invite(**{"To: <sip:12345@acd.example.com>\r\n": ""}), 400, False),
    ("missing Call-ID", invite(**{"Call-ID: a84b4c76e66710@10.0.0.1\r\n": ""}), 400, False),
    ("missing CSeq", invite(**{"CSeq: 314159 INVITE\r\n": ""}), 400, False),
    ("Max-Forwards 256", invite(**{"Max-Forwards: 70": "Max-Forwards: 256"}), 400, True),
    ("header without colon", invite(**{"Max-Forwards: 70": "Max-Forwards 70"}), 400, False),
    ("space in header name", invite(**{"Max-Forwards: 70": "Max Forwards: 70"}), 400, False),
    ("bare CR", invite(**{"Max-Forwards: 70": "Max-Forwards: 7\r0"}), 400, False),
    ("Call-ID with space", invite(**{"Call-ID: a84b4c76e66710@10.0.0.1": "Call-ID: a b"}), 400, True),  # noqa: E501
    ("no blank line", BASE.split("\r\n\r\n")[0].encode(), 400, False),
    ("status 99", b"SIP/2.0 099 x\r\n\r\n", 400, False),
    ("non-UTF-8 start line", invite(**{"INVITE sip:12345": "INVITE sip:\xff"}).replace(b"\xc3\xbf", b"\xff"), 400, False),  # noqa: E501
]


@pytest.mark.parametrize(("case", "data", "status", "routable"), BAD, ids=[c[0] for c in BAD])
def test_strict_errors(case: str, data: bytes, status: int, routable: bool) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(data)
    assert info.value.status_hint == status, case
    assert (info.value.request is not None) is routable, case


def test_ack_is_never_routable_for_400() -> None:
    data = invite(**{"INVITE sip": "ACK sip", "314159 INVITE": "314159 ACK",
                     "Content-Length: 4": "Content-Length: x"})  # fmt: skip
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(data)
    assert info.value.request is None


def test_size_limits() -> None:
    big = invite(**{"v=0\n": "x" * (64 * 1024)})
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(big)
    assert info.value.status_hint == 513
    many = invite(**{"Max-Forwards: 70": "Max-Forwards: 70" + "\r\nX-A: 1" * MAX_HEADERS})
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(many)
    assert info.value.status_hint == 513
    ok = invite(**{"Max-Forwards: 70": "Max-Forwards: 70" + "\r\nX-A: 1" * (MAX_HEADERS - 10)})
    assert len(parse_message(ok).headers) == MAX_HEADERS


def test_udp_body_longer_is_truncated_shorter_rejected() -> None:
    assert parse_message(invite() + b"garbage").body == b"v=0\n"
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(invite()[:-1])
    assert info.value.request is not None and info.value.status_hint == 400
    no_cl = invite(**{"Content-Length: 4\r\n": ""})
    assert parse_message(no_cl + b"more").body == b"v=0\nmore"  # UDP: to the end
    with pytest.raises(RemoteProtocolError):
        parse_message(no_cl, stream=True)
    with pytest.raises(RemoteProtocolError):
        parse_message(invite() + b"x", stream=True)


def test_responses_to_bad_responses_are_never_routable() -> None:
    data = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: x INVITE\r\n\r\n"
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(data)
    assert info.value.request is None


# -- make_response (§8.2.6) --------------------------------------------------------------


def test_make_response_rules() -> None:
    req = parse_message(invite())
    assert isinstance(req, Request)
    trying = make_response(req, 100, to_tag="abc")
    assert trying.headers.get("To") == "<sip:12345@acd.example.com>"  # never a tag on 100
    assert trying.headers.get("Record-Route") is None
    ringing = make_response(req, 180, to_tag="abc")
    assert NameAddress.parse(ringing.headers.get("To") or "").tag == "abc"
    assert ringing.headers.get("Record-Route") == "<sip:proxy.example.com;lr>"
    ok = make_response(req, 200, to_tag="abc", extra=[("m", "<sip:acd@10.0.0.2>")])
    assert ok.headers.get("Record-Route") == "<sip:proxy.example.com;lr>"
    assert ok.headers.get("Contact") == "<sip:acd@10.0.0.2>"
    busy = make_response(req, 486, to_tag="abc")
    assert busy.headers.get("Record-Route") is None and busy.reason == "Busy Here"
    for key in ("Via", "From", "Call-ID", "CSeq"):
        assert ok.headers.get(key) == req.headers.get(key)
    assert ok.headers.get("Max-Forwards") is None and ok.headers.get("Content-Type") is None
    # Record-Route only for INVITE.
    options = parse_message(invite(**{"INVITE sip": "OPTIONS sip", "314159 INVITE": "1 OPTIONS"}))
    assert make_response(options, 200, to_tag="x").headers.get("Record-Route") is None  # type: ignore[arg-type]
    # An existing To tag is kept.
    tagged = parse_message(invite(**{"<sip:12345@acd.example.com>\r\n":
                                     "<sip:12345@acd.example.com>;tag=old\r\n"}))  # fmt: skip
    assert make_response(tagged, 200, to_tag="new").to.tag == "old"  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        make_response(req, 700)
    assert reason_phrase(487) == "Request Terminated" and reason_phrase(299) == "Unknown"


def test_serializer_refuses_header_injection() -> None:
    msg = Response(headers=Headers([("Warning", '399 acd "x"\r\nVia: evil')]))
    with pytest.raises(LocalProtocolError):
        bytes(msg)


def test_headers_api() -> None:
    h = Headers()
    h.add("v", "a, b")
    h.add("Via", "c")
    h.prepend("Call-ID", "x")
    assert h.get_all("VIA") == ["a", "b", "c"] and h.get_lines("via") == ["a, b", "c"]
    h.set("via", "d")
    assert h.get_all("Via") == ["d"] and "call-id" in h and len(h) == 2
    h.remove("i")
    assert "Call-ID" not in h and h.copy() == h


# -- hypothesis: round trips ------------------------------------------------------------

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
                min_size=1, max_size=12)  # fmt: skip
HOST = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)
SAFE_VALUE = st.from_regex(r"[!-~]([ !-~]{0,30}[!-~])?", fullmatch=True)
USER = st.from_regex(r"[A-Za-z0-9\-_.!~*'()&=+$,]{1,12}", fullmatch=True)
EXTRA_NAMES = st.from_regex(r"X-[A-Za-z0-9]{1,10}", fullmatch=True)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["INVITE", "REGISTER", "OPTIONS", "BYE"]) | TOKEN)
    host = draw(HOST)
    port = draw(st.none() | st.integers(1, 65535))
    hostport = host if port is None else f"{host}:{port}"
    vias = draw(st.lists(st.builds(lambda h, b: f"SIP/2.0/UDP {h};branch=z9hG4bK{b}", HOST, TOKEN),
                         min_size=1, max_size=4))  # fmt: skip
    chars = st.characters(min_codepoint=32, max_codepoint=0x7FF, exclude_characters="\x7f")
    display = draw(st.none() | st.text(chars, max_size=10))
    from_ = NameAddress(f"sip:{draw(USER)}@{host}", display, {"tag": draw(TOKEN)})
    fields = [("Via", v) for v in vias]
    fields += [("From", str(from_)), ("To", f"<sip:{draw(USER)}@{hostport}>"),
               ("Call-ID", draw(TOKEN) + "@" + host), ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}")]  # fmt: skip # noqa: E501
    fields += draw(st.lists(st.tuples(EXTRA_NAMES, SAFE_VALUE), max_size=8))
    fields = draw(st.permutations(fields))
    return Request(headers=Headers(fields), body=draw(st.binary(max_size=300)), method=method,
                   uri=f"sip:{draw(USER)}@{hostport}")  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_request_round_trip(req: Request) -> None:
    data = bytes(req)
    back = parse_message(data, stream=True)
    assert isinstance(back, Request)
    assert (back.method, back.uri, back.body) == (req.method, req.uri, req.body)
    assert [f for f in back.headers.items() if f[0] != "Content-Length"] == req.headers.items()
    assert back.from_ == NameAddress.parse(req.headers.get("From") or "")
    assert bytes(back) == data


@settings(max_examples=200)
@given(requests(), st.integers(100, 699), st.from_regex(r"[ -~]{0,20}", fullmatch=True), TOKEN)
def test_response_round_trip(req: Request, status: int, reason: str, tag: str) -> None:
    response = make_response(req, status, reason or None, to_tag=tag, body=b"x")
    back = parse_message(bytes(response))
    assert isinstance(back, Response)
    assert (back.status, back.reason, back.body) == (status, response.reason, b"x")
    assert back.to.tag == (None if status == 100 else tag)
    assert bytes(back) == bytes(response)


# -- hypothesis: fuzzing ------------------------------------------------------------------


def _only_remote_errors(data: bytes, stream: bool = False) -> None:
    try:
        msg = parse_message(data, stream=stream)
    except RemoteProtocolError as exc:
        assert exc.status_hint in (400, 505, 513, 416)
        if exc.request is not None:
            bytes(make_response(exc.request, exc.status_hint))
        return
    # Whatever parsed must serialize and expose its routing views without crashing.
    bytes(msg)
    msg.top_via, msg.cseq, msg.from_, msg.to  # noqa: B018
    if isinstance(msg, Request):
        bytes(make_response(msg, 200, to_tag="t"))


@settings(max_examples=1500)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_remote_errors(data)
    _only_remote_errors(data, stream=True)


SEEDS = [invite(), COMPACT.encode(), BASE.replace("\r\n", "\n").encode()]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    alphabet = b" \t\r\n:;,<>\"\\@=?[]%0123456789/SIPvlx\x00\xff\xc3"
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.integers(0, 3))
        if op == 0 and pos < len(data):
            del data[pos : pos + draw(st.integers(1, 20))]
        elif op == 1:
            insert = draw(st.lists(st.sampled_from(alphabet), min_size=1, max_size=6))
            data[pos:pos] = bytes(insert)
        elif op == 2 and pos < len(data):
            data[pos] = draw(st.sampled_from(alphabet))
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 60))]  # duplicate a slice
    return bytes(data)


@settings(max_examples=2500)
@given(mutated())
def test_fuzz_mutated_messages(data: bytes) -> None:
    _only_remote_errors(data)
    _only_remote_errors(data, stream=True)
