"""Typed header values: table-driven good/bad cases, IPv6 (RFC 5118), hypothesis round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sip.errors import RemoteProtocolError
from sip.headers import CSeq, NameAddress, SipUri, Via, parse_params, split_list

GOOD_VIAS = [
    ("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport", ("UDP", "10.0.0.1", 5060)),
    ("SIP/2.0/tcp Host.Example.COM", ("TCP", "host.example.com", None)),
    ("SIP / 2.0 / UDP  h.example : 5070 ; branch = z9hG4bKx", ("UDP", "h.example", 5070)),
    ("SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bK2", ("UDP", "[2001:db8::9:1]", 5060)),
    ("SIP/2.0/TLS [2001:DB8::1];received=2001:db8::2", ("TLS", "[2001:db8::1]", None)),
]
BAD_VIAS = ["", "SIP/2.0 h", "SIP/2.0/UDP", "SIP/2.0/UDP h;;", "SIP/2.0/UDP h;branch=",
            "SIP/2.0/UDP h:0", "SIP/2.0/UDP h:99999", "SIP/2.0/UDP h:²", "SIP/2.0/UDP a b",
            "SIP/2.0/UDP [2001:db8:::1]", "SIP/2.0/UDP [::1", "SIP/2.0/UDP h;a b=c"]  # fmt: skip


@pytest.mark.parametrize(("text", "want"), GOOD_VIAS)
def test_via_good(text: str, want: tuple[str, str, int | None]) -> None:
    via = Via.parse(text)
    assert (via.transport, via.host, via.port) == want
    assert Via.parse(str(via)) == via


@pytest.mark.parametrize("text", BAD_VIAS)
def test_via_bad(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        Via.parse(text)


GOOD_ADDRS = [
    ('"A \\"B\\"" <sip:a@b.example>;tag=1', ('A "B"', "sip:a@b.example", "1")),
    ("caller<sip:c@example.com>;tag=323", ("caller", "sip:c@example.com", "323")),
    ("sip:a@b.example;tag=9", (None, "sip:a@b.example", "9")),
    ("Two Words <tel:+8612345>", ("Two Words", "tel:+8612345", None)),
    ('"Mr <x>" <sip:a@[2001:db8::1]:50;transport=tcp>', ("Mr <x>", None, None)),
]
BAD_ADDRS = [
    '"unterminated <sip:a@b>', "Bell, A <sip:a@b>", "< sip:a@b >", "<sip:a@b", "sip:a@b?x=1",
    "<sip:a@b> junk", "noscheme", "<sip:a@b>;;tag=1", '"x" sip:a@b',
]  # fmt: skip


@pytest.mark.parametrize(("text", "want"), GOOD_ADDRS)
def test_name_address_good(text: str, want: tuple[str | None, str | None, str | None]) -> None:
    addr = NameAddress.parse(text)
    display, uri, tag = want
    assert addr.display_name == display and addr.tag == tag
    if uri:
        assert addr.uri == uri
    assert NameAddress.parse(str(addr)) == addr
    assert NameAddress.parse("*").uri == "*"


@pytest.mark.parametrize("text", BAD_ADDRS)
def test_name_address_bad(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        NameAddress.parse(text)


def test_sip_uri_parts_and_rfc5118() -> None:
    uri = SipUri.parse("sips:alice:pw@[2001:db8::10]:5071;transport=tcp;lr?subject=x")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips", "alice", "pw", "[2001:db8::10]", 5071)  # fmt: skip
    assert uri.params == {"transport": "tcp", "lr": None} and uri.headers == "subject=x"
    assert uri.aor == "sips:alice@[2001:db8::10]"
    assert SipUri.parse(str(uri)) == uri
    assert SipUri.parse("tel:+86-10-12345;phone-context=x").user == "+86-10-12345"
    for bad in ("sip:2001:db8::10", "sip:[2001:db8::10", "sip:a@", "sip:a b@c", "sip:@h",
                "sip:h:70000", "sip:h;;x"):  # fmt: skip
        with pytest.raises(RemoteProtocolError):
            SipUri.parse(bad)
    with pytest.raises(RemoteProtocolError) as info:
        SipUri.parse("http://example.com")
    assert info.value.status_hint == 416


def test_cseq() -> None:
    assert CSeq.parse(" 0009 \t INVITE ") == CSeq(9, "INVITE")
    for bad in ("1", "x INVITE", "1 INV ITE", "2147483648 INVITE", "-1 BYE", "1 <BYE>",
                "1" * 5000 + " BYE", "١ BYE"):  # fmt: skip
        with pytest.raises(RemoteProtocolError):
            CSeq.parse(bad)


def test_params_and_lists() -> None:
    assert parse_params(' ;Tag = 1 ; lr ; x="a;b"') == {"tag": "1", "lr": None, "x": '"a;b"'}
    for bad in (";;", ";a=", ";=1", ';a="x', ";a=b c"):
        with pytest.raises(RemoteProtocolError):
            parse_params(bad)
    assert split_list('a, "b,c" <sip:x,y>, d') == ['a', '"b,c" <sip:x,y>', "d"]
    assert split_list("a,,b", keep_empty=True) == ["a", "", "b"]


TOKEN = st.from_regex(r"[A-Za-z0-9\-.!%*_+`'~]{1,10}", fullmatch=True)


@given(st.sampled_from(["UDP", "TCP", "TLS"]),
       st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,6}){0,2}", fullmatch=True),
       st.none() | st.integers(1, 65535), st.dictionaries(TOKEN.map(str.lower), st.none() | TOKEN, max_size=4))  # fmt: skip # noqa: E501
def test_via_round_trip(transport: str, host: str, port: int | None,
                        params: dict[str, str | None]) -> None:  # fmt: skip
    via = Via(transport, host, port, params)
    assert Via.parse(str(via)) == via


@given(st.none() | st.text(st.characters(min_codepoint=0, max_codepoint=0x10FF,
                                         exclude_characters="\r\n"), max_size=12),
       st.dictionaries(TOKEN.map(str.lower), st.none() | TOKEN, max_size=3))  # fmt: skip
def test_name_address_round_trip(display: str | None, params: dict[str, str | None]) -> None:
    addr = NameAddress("sip:u@h.example", display, params)
    assert NameAddress.parse(str(addr)) == addr


@given(st.text(max_size=80))
def test_header_parsers_raise_only_remote_errors(text: str) -> None:
    for parse in (Via.parse, NameAddress.parse, SipUri.parse, CSeq.parse, parse_params):
        with contextlib.suppress(RemoteProtocolError):
            parse(text)  # type: ignore[operator]
