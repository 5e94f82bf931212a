"""Offer/answer (RFC 3264) and 3PCC re-offers (RFC 3725)."""

from __future__ import annotations

import pytest

from sip.offer_answer import (
    answer_codec,
    build_offer,
    media_changed,
    negotiate_answer,
    reoffer,
    with_version,
)
from sip.sdp import SdpError, SessionDescription
from tests.sip.test_sdp import ASTERISK, BARESIP, FREESWITCH, IPV6, LINPHONE, MICROSIP

ACD = "10.1.2.3"


def offer(formats: str, *lines: str, media_extra: str = "") -> SessionDescription:
    body = (
        "v=0\r\no=caller 42 7 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        f"m=audio 40000 RTP/AVP {formats}\r\n" + "".join(f"{ln}\r\n" for ln in lines)
        + media_extra
    )
    return SessionDescription.parse(body)


def answer(sd: SessionDescription, **kwargs: object) -> SessionDescription:
    params: dict[str, object] = {
        "local_address": ACD, "local_port": 20000, "session_id": "900", "version": 1,
    }
    params.update(kwargs)
    return negotiate_answer(sd, **params)  # type: ignore[arg-type]


def codec_names(sd: SessionDescription) -> list[tuple[int, str]]:
    return [(c.payload_type, c.name) for c in sd.audio_codecs]


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (offer("8", "a=rtpmap:8 PCMA/8000"), [(8, "PCMA")]),
        (offer("0 8"), [(0, "PCMU")]),
        (offer("8 0"), [(8, "PCMA")]),
        (offer("9 0", "a=rtpmap:9 G722/8000"), [(0, "PCMU")]),
        (offer("96 8", "a=rtpmap:96 opus/48000/2"), [(8, "PCMA")]),
        (offer("97", "a=rtpmap:97 pcmu/8000"), [(97, "PCMU")]),  # dynamic PT, any case
        (offer("0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15"),
         [(0, "PCMU"), (101, "telephone-event")]),
        (offer("0 102 101", "a=rtpmap:102 telephone-event/16000",
               "a=rtpmap:101 telephone-event/8000"),
         [(0, "PCMU"), (101, "telephone-event")]),
    ],
)
def test_codec_choice_follows_offer_order(
    offered: SessionDescription, expected: list[tuple[int, str]]
) -> None:
    ans = answer(offered)
    assert codec_names(ans) == expected
    assert ans.audio_address == ACD and ans.audio_port == 20000
    assert ans.origin.session_id == "900" and ans.origin.version == 1
    assert ans.audio is not None and ans.audio.attribute_values("ptime") == ["20"]
    assert SessionDescription.parse(bytes(ans)) == ans


def test_telephone_event_fmtp_mirrored_and_can_be_disabled() -> None:
    offered = offer("0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15")
    ans = answer(offered)
    assert ans.audio is not None and ans.audio.attribute_values("fmtp") == ["101 0-15"]
    assert codec_names(answer(offered, telephone_event=False)) == [(0, "PCMU")]


def test_supported_list_restricts_choice() -> None:
    assert codec_names(answer(offer("0 8"), supported=("PCMA",))) == [(8, "PCMA")]


def test_opus_only_has_no_common_codec() -> None:
    with pytest.raises(SdpError) as info:
        answer(offer("96", "a=rtpmap:96 opus/48000/2"))
    assert info.value.code == "no-common-codec"


def test_wideband_pcmu_is_not_g711() -> None:
    with pytest.raises(SdpError):
        answer(offer("96", "a=rtpmap:96 PCMU/16000"))


@pytest.mark.parametrize(
    ("offered_dir", "answered_dir"),
    [("sendrecv", "sendrecv"), ("sendonly", "recvonly"), ("recvonly", "sendonly"),
     ("inactive", "inactive")],
)
def test_direction_mirrored(offered_dir: str, answered_dir: str) -> None:
    ans = answer(offer("0", f"a={offered_dir}"))
    assert ans.direction_of(ans.media[0]) == answered_dir
    assert ans.media[0].direction == answered_dir  # always explicit in our answer


def test_session_level_direction_mirrored() -> None:
    ans = answer(SessionDescription.parse(IPV6))  # a=sendonly in the media section
    assert ans.media[0].direction == "recvonly"


def test_non_audio_and_extra_streams_rejected_with_port_zero() -> None:
    sd = SessionDescription.parse(LINPHONE)
    ans = answer(sd)
    assert [(m.media, m.port) for m in ans.media] == [("audio", 20000), ("video", 0)]
    assert ans.media[1].formats == sd.media[1].formats
    assert codec_names(ans) == [(0, "PCMU"), (100, "telephone-event")]


def test_second_audio_stream_rejected_and_port_zero_offer_kept_zero() -> None:
    extra = "m=audio 0 RTP/AVP 0\r\nm=audio 40002 RTP/AVP 8\r\n"
    ans = answer(offer("0", media_extra=extra))
    assert [m.port for m in ans.media] == [20000, 0, 0]


def test_first_audio_without_common_codec_falls_through_to_next() -> None:
    extra = "m=audio 40002 RTP/AVP 8\r\n"
    ans = answer(offer("96", "a=rtpmap:96 opus/48000/2", media_extra=extra))
    assert [m.port for m in ans.media] == [0, 20000]
    assert codec_names(ans) == [(8, "PCMA")]


def test_srtp_profile_rejected() -> None:
    body = bytes(offer("0")).replace(b"RTP/AVP", b"RTP/SAVP")
    with pytest.raises(SdpError) as info:
        answer(SessionDescription.parse(body))
    assert info.value.code == "no-common-codec"


def test_video_only_offer_is_no_audio() -> None:
    body = bytes(offer("0")).replace(b"m=audio", b"m=video")
    with pytest.raises(SdpError) as info:
        answer(SessionDescription.parse(body))
    assert info.value.code == "no-audio"


def test_ipv6_local_address() -> None:
    ans = answer(offer("0"), local_address="2001:db8::acd")
    assert ans.connection is not None and ans.connection.addr_type == "IP6"
    assert ans.origin.addr_type == "IP6"
    assert b"c=IN IP6 2001:db8::acd\r\n" in bytes(ans)


@pytest.mark.parametrize("body", [ASTERISK, FREESWITCH, BARESIP, LINPHONE, MICROSIP, IPV6])
def test_real_world_offers_negotiate(body: bytes) -> None:
    ans = answer(SessionDescription.parse(body))
    assert ans.audio_codecs[0].name in ("PCMU", "PCMA")
    assert len(ans.media) == len(SessionDescription.parse(body).media)


_CODEC_CASES = [
    offer("8", "a=rtpmap:8 PCMA/8000"), offer("0 8"), offer("8 0"),
    offer("9 0", "a=rtpmap:9 G722/8000"), offer("97", "a=rtpmap:97 pcmu/8000"),
    offer("96", "a=rtpmap:96 opus/48000/2"), offer("96", "a=rtpmap:96 PCMU/16000"),
    offer("96", "a=rtpmap:96 opus/48000/2", media_extra="m=audio 40002 RTP/AVP 8\r\n"),
    offer("0", media_extra="m=audio 0 RTP/AVP 0\r\nm=audio 40002 RTP/AVP 8\r\n"),
    SessionDescription.parse(bytes(offer("0")).replace(b"RTP/AVP", b"RTP/SAVP")),
    SessionDescription.parse(bytes(offer("0")).replace(b"m=audio", b"m=video")),
    *(SessionDescription.parse(b)
      for b in (ASTERISK, FREESWITCH, BARESIP, LINPHONE, MICROSIP, IPV6)),
]


@pytest.mark.parametrize("offered", _CODEC_CASES)
@pytest.mark.parametrize("supported", [("PCMU", "PCMA"), ("PCMA",)])
def test_answer_codec_is_what_negotiate_answer_picks(
    offered: SessionDescription, supported: tuple[str, ...]
) -> None:
    try:
        expected = answer(offered, supported=supported).audio_codecs[0]
    except SdpError as exc:
        with pytest.raises(SdpError) as info:
            answer_codec(offered, supported=supported)
        assert info.value.code == exc.code
        return
    got = answer_codec(offered, supported=supported)
    assert (got.payload_type, got.name, got.clock_rate) == (
        expected.payload_type, expected.name, expected.clock_rate)


def test_build_offer() -> None:
    sd = build_offer(local_address=ACD, local_port=20002, session_id="5", version=0)
    assert bytes(sd) == (
        b"v=0\r\no=- 5 0 IN IP4 10.1.2.3\r\ns=-\r\nc=IN IP4 10.1.2.3\r\nt=0 0\r\n"
        b"m=audio 20002 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    with pytest.raises(ValueError):
        build_offer(local_address=ACD, local_port=1, session_id="5", version=0, codecs=("opus",))


def test_with_version_keeps_session_id_and_username() -> None:
    sd = SessionDescription.parse(LINPHONE)
    bumped = with_version(sd)
    assert (bumped.origin.username, bumped.origin.session_id) == ("1001", "1284")
    assert bumped.origin.version == 2862
    assert with_version(sd, 9000).origin.version == 9000
    assert bumped.media == sd.media


def test_3pcc_reoffer_keeps_our_origin_and_increments_version() -> None:
    caller_offer = SessionDescription.parse(MICROSIP)
    to_caller = answer(caller_offer, session_id="777", version=1)  # announcements
    agent_answer = answer(caller_offer, local_address="192.168.5.20", local_port=7078,
                          session_id="4242", version=3, username="agent7")
    re_offer = reoffer(agent_answer, previous=to_caller)
    assert re_offer.origin.username == to_caller.origin.username
    assert re_offer.origin.session_id == "777"
    assert re_offer.origin.address == ACD
    assert re_offer.origin.version == 2
    assert re_offer.audio_address == "192.168.5.20" and re_offer.audio_port == 7078
    assert media_changed(to_caller, re_offer)
    twice = reoffer(agent_answer, previous=re_offer)
    assert twice.origin.version == 3 and twice.origin.session_id == "777"
    with pytest.raises(ValueError):
        reoffer(agent_answer, previous=to_caller, version=1)


def test_reoffer_never_drops_m_lines() -> None:
    previous = answer(SessionDescription.parse(LINPHONE))  # audio + rejected video
    template = answer(offer("0"), local_address="192.168.5.20")
    re_offer = reoffer(template, previous=previous)
    assert [(m.media, m.port) for m in re_offer.media] == [("audio", 20000), ("video", 0)]


def test_media_changed() -> None:
    base = offer("0 8")
    assert not media_changed(base, base)
    assert not media_changed(base, with_version(base))  # refresh: version only
    moved = SessionDescription.parse(bytes(base).replace(b"192.0.2.10", b"192.0.2.11"))
    assert media_changed(base, moved)
    assert media_changed(base, SessionDescription.parse(bytes(base).replace(b"40000", b"40002")))
    assert media_changed(base, offer("8 0"))
    assert media_changed(base, offer("0 8", "a=sendonly"))
    no_audio = SessionDescription.parse(bytes(base).replace(b"audio 40000", b"audio 0"))
    assert media_changed(base, no_audio) and not media_changed(no_audio, no_audio)
