"""SDP parsing/serialization (RFC 4566) on real-world bodies, and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sip.sdp import (
    Attribute,
    Connection,
    MediaDescription,
    Origin,
    SdpError,
    SessionDescription,
)


def crlf(text: str) -> bytes:
    return ("\r\n".join(text.strip().splitlines()) + "\r\n").encode()


ASTERISK = crlf("""
v=0
o=- 1184461227 1184461227 IN IP4 192.168.1.10
s=Asterisk
c=IN IP4 192.168.1.10
t=0 0
m=audio 10024 RTP/AVP 0 8 3 111 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:3 GSM/8000
a=rtpmap:111 G726-32/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
""")

FREESWITCH = crlf("""
v=0
o=FreeSWITCH 1700000000 1700000001 IN IP4 10.0.0.5
s=FreeSWITCH
c=IN IP4 10.0.0.5
t=0 0
m=audio 24590 RTP/AVP 9 0 8 102 101
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:102 telephone-event/16000
a=fmtp:102 0-16
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=rtcp:24591 IN IP4 10.0.0.5
""")

BARESIP = crlf("""
v=0
o=- 1918468339 3612392118 IN IP4 192.168.1.50
s=-
c=IN IP4 192.168.1.50
t=0 0
m=audio 10390 RTP/AVP 96 0 8 101
b=AS:64
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-mux
a=sendrecv
a=label:1
a=ssrc:1546478436 cname:ccd3da32-d1b1-4f8d-9b23-cfac04c0c0d0
a=mid:0
""")

LINPHONE = crlf("""
v=0
o=1001 1284 2861 IN IP4 192.168.1.60
s=Talk
c=IN IP4 192.168.1.60
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:96 nack pli
""")

MICROSIP = crlf("""
v=0
o=- 3917249375 3917249375 IN IP4 192.168.1.70
s=pjmedia
b=AS:84
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 8 0 101
c=IN IP4 192.168.1.70
b=AS:64000
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=rtcp:4001 IN IP4 192.168.1.70
a=ssrc:1093960718 cname:5d0e4d6b3e2a1f70
""")

IPV6 = crlf("""
v=0
o=- 20518 0 IN IP6 2001:db8::5
s=-
c=IN IP6 2001:db8::5
t=0 0
m=audio 30000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendonly
""")

FULL_RFC4566 = crlf("""
v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
p=+1 617 555-6011
c=IN IP4 224.2.17.12/127
b=CT:128
t=2873397496 2873404696
r=604800 3600 0 90000
z=2882844526 -1h 2898848070 0
k=prompt
a=recvonly
m=audio 49170 RTP/AVP 0
i=voice
m=video 51372/2 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
m=application 5000 udp wb
""")

REAL_WORLD = {
    "asterisk": ASTERISK,
    "freeswitch": FREESWITCH,
    "baresip": BARESIP,
    "linphone": LINPHONE,
    "microsip": MICROSIP,
    "ipv6": IPV6,
    "rfc4566": FULL_RFC4566,
}


@pytest.mark.parametrize("body", REAL_WORLD.values(), ids=REAL_WORLD.keys())
def test_round_trip_is_byte_exact(body: bytes) -> None:
    sd = SessionDescription.parse(body)
    assert bytes(sd) == body
    assert sd.to_bytes() == body
    assert SessionDescription.parse(body.decode()) == sd


@pytest.mark.parametrize("body", REAL_WORLD.values(), ids=REAL_WORLD.keys())
def test_lf_only_line_endings_accepted(body: bytes) -> None:
    sd = SessionDescription.parse(body.replace(b"\r\n", b"\n"))
    assert bytes(sd) == body


def test_accessors_session_level_connection() -> None:
    sd = SessionDescription.parse(ASTERISK)
    assert sd.origin.session_id == "1184461227" and sd.origin.version == 1184461227
    assert sd.audio_address == "192.168.1.10"
    assert sd.audio_port == 10024
    assert [(c.payload_type, c.name) for c in sd.audio_codecs] == [
        (0, "PCMU"), (8, "PCMA"), (3, "GSM"), (111, "G726-32"), (101, "telephone-event")
    ]
    assert sd.audio_codecs[-1].fmtp == "0-16"
    assert sd.direction_of(sd.media[0]) == "sendrecv"


def test_accessors_media_level_connection_and_static_types() -> None:
    sd = SessionDescription.parse(MICROSIP)
    assert sd.connection is None
    assert sd.audio_address == "192.168.1.70"
    assert sd.audio_port == 4000
    assert sd.audio is not None
    assert sd.audio.attribute_values("rtcp") == ["4001 IN IP4 192.168.1.70"]
    assert [c.name for c in sd.audio_codecs] == ["PCMA", "PCMU", "telephone-event"]


def test_static_payload_without_rtpmap_and_multichannel() -> None:
    sd = SessionDescription.parse(LINPHONE)
    codecs = {c.payload_type: c for c in sd.audio_codecs}
    assert (codecs[18].name, codecs[18].fmtp) == ("G729", "annexb=yes")
    assert (codecs[96].name, codecs[96].clock_rate, codecs[96].channels) == ("opus", 48000, 2)
    assert [m.media for m in sd.media] == ["audio", "video"]
    assert sd.media[1].codecs[0].name == "VP8"  # payload types are per m= line


def test_ipv6_and_session_direction() -> None:
    sd = SessionDescription.parse(IPV6)
    assert sd.connection == Connection(addr_type="IP6", address="2001:db8::5")
    assert sd.origin.addr_type == "IP6"
    assert sd.direction_of(sd.media[0]) == "sendonly"
    full = SessionDescription.parse(FULL_RFC4566)
    assert full.direction_of(full.media[0]) == "recvonly"  # inherited from session level
    assert full.media[1].port_count == 2 and full.media[2].codecs == ()
    assert full.times[0].repeats == ("604800 3600 0 90000",)


def test_no_audio_or_rejected_audio_gives_none() -> None:
    body = crlf("""
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
t=0 0
m=audio 0 RTP/AVP 0
m=video 0 RTP/AVP 96
""")
    sd = SessionDescription.parse(body)
    assert sd.audio is None and sd.audio_address is None and sd.audio_port is None
    assert sd.audio_codecs == ()


def test_tolerated_variations() -> None:
    # c= after t= (seen in the wild), trailing blanks on m=, trailing empty lines.
    body = b"v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 1.1.1.1\r\n" \
        b"m=audio 5000 RTP/AVP 0 \r\n\r\n"
    sd = SessionDescription.parse(body)
    assert sd.audio_address == "1.1.1.1" and sd.media[0].formats == ("0",)


BASE = "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n"
MEDIA = "m=audio 5000 RTP/AVP 0\r\n"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"\xff\xfe", "bad-encoding"),
        ("hello world\r\n", "bad-line"),
        (BASE + "a =x\r\n", "bad-line"),
        (BASE + "A=x\r\n", "bad-line"),
        (BASE + "a=x\x00\r\n", "bad-line"),
        (BASE + "a=x\ry\r\n", "bad-line"),
        ("o=- 1 1 IN IP4 1.1.1.1\r\nv=0\r\ns=-\r\nt=0 0\r\n", "missing-field"),
        ("v=0\r\ns=-\r\nt=0 0\r\n", "missing-field"),
        ("v=1\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n", "bad-version"),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", "bad-origin"),
        ("v=0\r\no=- 1 x IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n", "bad-origin"),
        ("v=0\r\no=- 1 1 ATM NSAP 1.1.1.1\r\ns=-\r\nt=0 0\r\n", "bad-origin"),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n", "missing-field"),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0\r\n", "bad-timing"),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=now 0\r\n", "bad-timing"),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nr=1 2 3\r\nt=0 0\r\n", "bad-timing"),
        (BASE.replace("c=IN IP4 1.1.1.1", "c=IN IP4") + MEDIA, "bad-connection"),
        (BASE.replace("c=IN IP4 1.1.1.1", "c=IN IPX 1.1.1.1") + MEDIA, "bad-connection"),
        (BASE + "x=unknown\r\n", "unknown-type"),
        (BASE + "v=0\r\n", "unknown-type"),
        (BASE + "c=IN IP4 2.2.2.2\r\n", "duplicate-field"),
        (BASE + "m=audio 5000 RTP/AVP\r\n", "bad-media"),
        (BASE + "m=audio 70000 RTP/AVP 0\r\n", "bad-media"),
        (BASE + "m=audio -1 RTP/AVP 0\r\n", "bad-media"),
        (BASE + "m=audio five RTP/AVP 0\r\n", "bad-media"),
        (BASE + "m=audio 5000 RTP/AVP 0 128\r\n", "bad-media"),
        (BASE + "m=audio 5000 RTP/AVP PCMU\r\n", "bad-media"),
        (BASE + "m=audio  5000 RTP/AVP 0\r\n", "bad-media"),
        (BASE + MEDIA + "a=rtpmap:0 PCMU\r\n", "bad-rtpmap"),
        (BASE + MEDIA + "a=rtpmap:x PCMU/8000\r\n", "bad-rtpmap"),
        (BASE + MEDIA + "a=rtpmap:0 PCMU/fast\r\n", "bad-rtpmap"),
        (BASE + MEDIA + "a=fmtp:\r\n", "bad-fmtp"),
        (BASE + MEDIA + "a=sendonly\r\na=recvonly\r\n", "bad-direction"),
        (BASE + MEDIA + "a=sendonly:yes\r\n", "bad-direction"),
        (BASE + "a=inactive\r\na=sendrecv\r\n", "bad-direction"),
        (BASE + MEDIA + "a=\r\n", "bad-attribute"),
        (BASE + MEDIA + "s=in media\r\n", "bad-line"),
        (BASE + MEDIA + "i=a\r\ni=b\r\n", "duplicate-field"),
        (BASE.replace("c=IN IP4 1.1.1.1\r\n", "") + MEDIA, "no-connection"),
    ],
)
def test_malformed_raises_sdp_error(body: bytes | str, code: str) -> None:
    with pytest.raises(SdpError) as info:
        SessionDescription.parse(body)
    assert info.value.code == code


def test_error_carries_line_number() -> None:
    with pytest.raises(SdpError) as info:
        SessionDescription.parse(BASE + MEDIA + "a=rtpmap:0 PCMU\r\n")
    assert info.value.line == 7


# -- property: anything we can build, we can parse back -------------------------------

_tok = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20
).filter(lambda s: s == s.rstrip(" "))
_attr = st.builds(
    Attribute, name=_tok.filter(lambda s: s not in ("rtpmap", "fmtp", "sendonly", "recvonly",
                                                    "inactive", "sendrecv")),
    value=st.none() | _text,
)
_media = st.builds(
    MediaDescription,
    media=st.sampled_from(["audio", "video", "application"]),
    port=st.integers(0, 65535),
    proto=st.just("RTP/AVP"),
    formats=st.lists(st.integers(0, 127).map(str), min_size=1, max_size=5).map(tuple),
    info=st.none() | _text,
    attributes=st.lists(_attr, max_size=4).map(tuple),
)


@given(
    media=st.lists(_media, max_size=3),
    attrs=st.lists(_attr, max_size=3),
    sid=st.integers(0, 2**63).map(str),
    version=st.integers(0, 2**63),
    name=_text,
)
def test_built_descriptions_round_trip(
    media: list[MediaDescription], attrs: list[Attribute], sid: str, version: int, name: str
) -> None:
    sd = SessionDescription(
        origin=Origin(session_id=sid, version=version, address="192.0.2.1"),
        session_name=name,
        connection=Connection(address="192.0.2.1"),
        attributes=tuple(attrs),
        media=tuple(media),
    )
    assert SessionDescription.parse(bytes(sd)) == sd
