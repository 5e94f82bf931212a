"""Offer/answer (RFC 3264) and third-party call control helpers (RFC 3725).

The ACD uses SDP in two ways:

(a) It answers a caller itself to play announcements: :func:`negotiate_answer` picks
    one G.711 codec and keeps ``telephone-event`` (RFC 4733) if offered.  For a late
    offer (INVITE without a body) :func:`build_offer` makes our own offer.
(b) Third-party call control: the caller's SDP is offered to the agent, and the
    agent's answer goes back to the caller in a re-INVITE.  That re-offer must keep
    the ``o=`` username and session id the caller has seen from us and increment the
    version (RFC 3264 §8): :func:`reoffer`.  :func:`media_changed` tells whether a
    new caller SDP must be passed on to the agent.

Negotiation rules (RFC 3264 §6): the answer has the offer's m= lines in the same
order; we accept the first audio RTP/AVP stream with a common codec and reject every
other stream with port 0 (keeping its formats, as §6 requires).  Codec choice follows
the *offerer's* preference order and keeps its payload type numbers.  Direction is
mirrored: sendrecv→sendrecv, sendonly→recvonly, recvonly→sendonly,
inactive→inactive.  Secure (RTP/SAVP*) and feedback (AVPF) profiles are rejected: we
send plain RTP.  No common codec raises ``SdpError("no-common-codec")`` (answer 488
with ``Warning: 305``); no audio stream at all raises ``SdpError("no-audio")``
(488 with ``Warning: 304``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sip.sdp import (
    STATIC_PAYLOAD_TYPES,
    Attribute,
    Codec,
    Connection,
    MediaDescription,
    Origin,
    SdpError,
    SessionDescription,
)

__all__ = [
    "ANSWER_DIRECTION",
    "answer_codec",
    "build_offer",
    "media_changed",
    "negotiate_answer",
    "reoffer",
    "with_version",
]

ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
"""RFC 3264 §6.1: the answer's direction for each offered direction."""

_TELEPHONE_EVENT = "telephone-event"
_DEFAULT_TE_PT = 101
_DEFAULT_TE_FMTP = "0-16"


def _origin(username: str, session_id: str, version: int, address: str) -> Origin:
    conn = Connection.for_address(address)
    return Origin(username=username, session_id=session_id, version=version,
                  addr_type=conn.addr_type, address=address)


def _rtpmap(codec: Codec) -> Attribute:
    chans = f"/{codec.channels}" if codec.channels not in (None, 1) else ""
    return Attribute(name="rtpmap",
                     value=f"{codec.payload_type} {codec.name}/{codec.clock_rate}{chans}")


def _audio_media(
    port: int, codecs: Sequence[Codec], direction: str, ptime: int | None
) -> MediaDescription:
    attrs: list[Attribute] = []
    for codec in codecs:
        attrs.append(_rtpmap(codec))
        if codec.fmtp is not None:
            attrs.append(Attribute(name="fmtp", value=f"{codec.payload_type} {codec.fmtp}"))
    if ptime is not None:
        attrs.append(Attribute(name="ptime", value=str(ptime)))
    attrs.append(Attribute(name=direction))
    return MediaDescription(media="audio", port=port, proto="RTP/AVP",
                            formats=tuple(str(c.payload_type) for c in codecs),
                            attributes=tuple(attrs))


def _rejected(offered: MediaDescription) -> MediaDescription:
    return MediaDescription(media=offered.media, port=0, proto=offered.proto,
                            formats=offered.formats)


def _is_g711ish(codec: Codec, wanted: str) -> bool:
    return (codec.name.upper() == wanted.upper() and codec.clock_rate == 8000
            and codec.channels in (None, 1))


def _pick(codecs: Sequence[Codec], supported: Sequence[str]) -> Codec | None:
    """The offerer's first codec we support (its preference order)."""
    return next((c for c in codecs if any(_is_g711ish(c, s) for s in supported)), None)


def answer_codec(
    offer: SessionDescription, *, supported: Sequence[str] = ("PCMU", "PCMA")
) -> Codec:
    """The audio codec :func:`negotiate_answer` would answer *offer* with (name
    upper-cased, no fmtp), without building the answer. Raises the same ``SdpError``
    (``no-audio``, ``no-common-codec``)."""
    saw_audio = False
    for offered in offer.media:
        if offered.media != "audio" or offered.port == 0:
            continue
        saw_audio = True
        if offered.proto.upper() != "RTP/AVP":
            continue
        chosen = _pick(offered.codecs, supported)
        if chosen is not None:
            return dataclasses.replace(chosen, name=chosen.name.upper(), fmtp=None)
    if saw_audio:
        raise SdpError("no-common-codec", "no offered audio codec is supported")
    raise SdpError("no-audio", "the offer has no usable audio stream")


def negotiate_answer(
    offer: SessionDescription,
    *,
    local_address: str,
    local_port: int,
    session_id: str,
    version: int,
    supported: Sequence[str] = ("PCMU", "PCMA"),
    telephone_event: bool = True,
    ptime: int | None = 20,
    username: str = "-",
    session_name: str = "-",
) -> SessionDescription:
    """Our answer to *offer*, sending/receiving RTP at ``local_address:local_port``.

    Raises ``SdpError`` with code ``no-audio`` or ``no-common-codec`` (→ 488).
    """
    answer_media: list[MediaDescription] = []
    accepted = False
    saw_audio = False
    for offered in offer.media:
        if offered.media != "audio" or offered.port == 0 or accepted:
            answer_media.append(_rejected(offered))
            continue
        saw_audio = True
        if offered.proto.upper() != "RTP/AVP":
            answer_media.append(_rejected(offered))
            continue
        codecs = offered.codecs
        chosen = _pick(codecs, supported)
        if chosen is None:
            answer_media.append(_rejected(offered))
            continue
        picked = [dataclasses.replace(chosen, name=chosen.name.upper(), fmtp=None)]
        if telephone_event:
            te = next((c for c in codecs if c.name.lower() == _TELEPHONE_EVENT
                       and c.clock_rate == 8000), None)
            if te is not None:
                picked.append(te)
        direction = ANSWER_DIRECTION[offer.direction_of(offered)]
        answer_media.append(_audio_media(local_port, picked, direction, ptime))
        accepted = True
    if not accepted:
        if saw_audio:
            raise SdpError("no-common-codec", "no offered audio codec is supported")
        raise SdpError("no-audio", "the offer has no usable audio stream")
    return SessionDescription(
        origin=_origin(username, session_id, version, local_address),
        session_name=session_name,
        connection=Connection.for_address(local_address),
        media=tuple(answer_media),
    )


def build_offer(
    *,
    local_address: str,
    local_port: int,
    session_id: str,
    version: int,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    telephone_event: bool = True,
    ptime: int | None = 20,
    direction: str = "sendrecv",
    username: str = "-",
    session_name: str = "-",
) -> SessionDescription:
    """Our own audio offer (late-offer INVITEs, or calling an agent ourselves)."""
    static = {name: pt for pt, (name, rate, _) in STATIC_PAYLOAD_TYPES.items() if rate == 8000}
    picked: list[Codec] = []
    for name in codecs:
        if name.upper() not in static:
            raise ValueError(f"no static payload type for codec {name!r}")
        pt = static[name.upper()]
        picked.append(Codec(payload_type=pt, name=name.upper(), clock_rate=8000))
    if telephone_event:
        picked.append(Codec(payload_type=_DEFAULT_TE_PT, name=_TELEPHONE_EVENT,
                            clock_rate=8000, fmtp=_DEFAULT_TE_FMTP))
    return SessionDescription(
        origin=_origin(username, session_id, version, local_address),
        session_name=session_name,
        connection=Connection.for_address(local_address),
        media=(_audio_media(local_port, picked, direction, ptime),),
    )


def with_version(sd: SessionDescription, version: int | None = None) -> SessionDescription:
    """*sd* with ``o=`` version set to *version* (default: current + 1); id kept."""
    new = sd.origin.version + 1 if version is None else version
    return dataclasses.replace(sd, origin=dataclasses.replace(sd.origin, version=new))


def reoffer(
    template: SessionDescription,
    *,
    previous: SessionDescription,
    version: int | None = None,
) -> SessionDescription:
    """A re-INVITE offer carrying *template*'s media under *previous*'s identity.

    ``o=`` username, session id and address come from *previous* (the last SDP this
    dialog's peer got from us); the version is ``previous.version + 1`` unless given
    (it must then be greater).  RFC 3264 §8: m= lines are never removed, so if
    *template* has fewer than *previous*, the missing ones are appended rejected.
    """
    new_version = previous.origin.version + 1 if version is None else version
    if new_version <= previous.origin.version:
        raise ValueError("a re-offer's version must exceed the previous one")
    media = list(template.media)
    media += [_rejected(m) for m in previous.media[len(media):]]
    return dataclasses.replace(
        template,
        origin=dataclasses.replace(previous.origin, version=new_version),
        media=tuple(media),
    )


def _media_key(sd: SessionDescription) -> tuple[object, ...]:
    audio = sd.audio
    if audio is None:
        return (None,)
    codecs = tuple((c.payload_type, c.name.upper(), c.clock_rate, c.channels, c.fmtp)
                   for c in audio.codecs)
    return (sd.audio_address, audio.port, codecs, sd.direction_of(audio))


def media_changed(a: SessionDescription, b: SessionDescription) -> bool:
    """True if the first audio stream's address, port, codecs or direction differ.

    Direction is included so that a caller putting us on hold (sendonly) is passed
    on to the agent.  ``o=`` versions are ignored: a peer that bumps the version
    without changing media (a session-timer refresh) must not re-INVITE the agent.
    """
    return _media_key(a) != _media_key(b)
