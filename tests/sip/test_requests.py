"""Out-of-dialog request building and OPTIONS answers, round-tripped through parse_message."""

from __future__ import annotations

import pytest

from sip.errors import LocalProtocolError
from sip.headers import NameAddress
from sip.message import Request, Response, parse_message
from sip.requests import (
    BRANCH_COOKIE,
    answer_options,
    build_invite,
    build_options,
    build_request,
    new_branch,
    new_call_id,
    new_tag,
)

ACD_FROM = NameAddress("sip:12345@hotline.gov.cn", "12345 Hotline")


def roundtrip(msg: Request | Response) -> Request | Response:
    wire = bytes(msg)
    parsed = parse_message(wire)
    assert bytes(parsed) == wire  # our serialisation is canonical
    return parsed


def test_build_request_has_every_mandatory_header_in_order() -> None:
    r = build_request(
        "message",
        "sip:1001@192.168.1.20:5060",
        ACD_FROM.with_tag("abc"),
        NameAddress("sip:1001@hotline.gov.cn"),
        call_id="cid-1@10.0.0.1",
        cseq=7,
        via_host="10.0.0.1",
        via_port=5060,
        contact="<sip:acd@10.0.0.1:5060>",
        branch="z9hG4bKfixed",
        extra=[("Subject", "test")],
        body=b"hello",
        content_type="text/plain",
    )
    parsed = roundtrip(r)
    assert isinstance(parsed, Request)
    assert parsed.method == "MESSAGE" and parsed.uri == "sip:1001@192.168.1.20:5060"
    assert [k for k, _ in parsed.headers.items()] == [
        "Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Contact", "User-Agent",
        "Subject", "Content-Type", "Content-Length",
    ]  # fmt: skip
    assert parsed.headers.get("Via") == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfixed;rport"
    assert parsed.headers.get("Max-Forwards") == "70"
    assert parsed.from_.tag == "abc" and parsed.from_.display_name == "12345 Hotline"
    assert parsed.to.tag is None
    assert str(parsed.cseq) == "7 MESSAGE"
    assert parsed.body == b"hello"


def test_missing_from_tag_and_branch_are_generated() -> None:
    r = build_request(
        "INFO", "sip:a@b", ACD_FROM, NameAddress("sip:a@b"),
        call_id="c", cseq=1, via_host="10.0.0.1", via_port=None, transport="tcp",
    )  # fmt: skip
    assert r.from_.tag and len(r.from_.tag) >= 8
    assert r.top_via.branch is not None and r.top_via.branch.startswith(BRANCH_COOKIE)
    assert r.top_via.transport == "TCP" and r.top_via.port is None
    assert r.headers.get("Route") is None


def test_route_values_are_copied_in_order() -> None:
    r = build_request(
        "BYE", "sip:a@b", ACD_FROM.with_tag("t"), NameAddress("sip:a@b").with_tag("u"),
        call_id="c", cseq=2, via_host="h", via_port=5060,
        route=["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"],
    )  # fmt: skip
    assert r.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"body": b"x"},  # body without Content-Type
        {"cseq": 2**31},
        {"branch": "no-cookie"},
        {"call_id": ""},
    ],
)
def test_misuse_raises_local_protocol_error(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"call_id": "c", "cseq": 1, "via_host": "h", "via_port": 5060}
    args.update(kwargs)
    with pytest.raises(LocalProtocolError):
        build_request("OPTIONS", "sip:a@b", ACD_FROM, NameAddress("sip:a@b"), **args)  # type: ignore[arg-type]


def test_bad_method_raises() -> None:
    with pytest.raises(LocalProtocolError):
        build_request("BAD METHOD", "sip:a@b", ACD_FROM, NameAddress("sip:a@b"),
                      call_id="c", cseq=1, via_host="h", via_port=5060)  # fmt: skip


def test_build_options_targets_the_contact() -> None:
    r = build_options(
        "sip:1001@192.168.1.20:5060;ob", ACD_FROM,
        call_id="q-1", via_host="10.0.0.1", via_port=5060,
    )  # fmt: skip
    parsed = roundtrip(r)
    assert isinstance(parsed, Request)
    assert parsed.method == "OPTIONS"
    assert parsed.to.uri == "sip:1001@192.168.1.20:5060;ob" and parsed.to.tag is None
    assert parsed.headers.get("Accept") == "application/sdp"
    assert parsed.body == b""


def test_build_invite_carries_sdp_contact_and_allow() -> None:
    sdp = b"v=0\r\no=acd 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    r = build_invite(
        "sip:1001@192.168.1.20:5060", ACD_FROM, NameAddress("sip:1001@hotline.gov.cn"),
        call_id=new_call_id("10.0.0.1"), via_host="10.0.0.1", via_port=5060,
        contact="<sip:acd@10.0.0.1:5060>", sdp=sdp, supported=["timer"],
    )  # fmt: skip
    parsed = roundtrip(r)
    assert isinstance(parsed, Request)
    assert parsed.headers.get("Content-Type") == "application/sdp"
    assert parsed.headers.get("Contact") == "<sip:acd@10.0.0.1:5060>"
    assert "INVITE" in (parsed.headers.get("Allow") or "")
    assert parsed.headers.get("Supported") == "timer"
    assert parsed.body == sdp
    assert parsed.call_id.endswith("@10.0.0.1")


def test_answer_options_is_200_with_capabilities() -> None:
    ping = build_options(
        "sip:acd@10.0.0.1", NameAddress("sip:pbx@10.0.0.5"),
        call_id="p-1", via_host="10.0.0.5", via_port=5080,
    )  # fmt: skip
    answer = answer_options(parse_message(bytes(ping)), to_tag="acdtag")  # type: ignore[arg-type]
    parsed = roundtrip(answer)
    assert isinstance(parsed, Response)
    assert parsed.status == 200
    assert parsed.to.tag == "acdtag"
    assert parsed.headers.get("Accept") == "application/sdp"
    assert parsed.headers.get("Allow") == "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE"
    assert parsed.headers.get("Supported") is None  # nothing claimed by default
    assert parsed.call_id == "p-1" and parsed.headers.get("Via") == ping.headers.get("Via")
    with_sup = answer_options(ping, supported=["timer"])
    assert with_sup.headers.get("Supported") == "timer" and with_sup.to.tag


def test_answer_options_rejects_other_methods() -> None:
    invite = build_invite(
        "sip:a@b", ACD_FROM, NameAddress("sip:a@b"), call_id="c",
        via_host="h", via_port=5060, contact="<sip:acd@h>",
    )  # fmt: skip
    with pytest.raises(LocalProtocolError):
        answer_options(invite)


def test_identifiers_are_fresh_and_well_formed() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100 and all(b.startswith("z9hG4bK") for b in branches)
    assert new_tag() != new_tag()
    assert "@" not in new_call_id()
