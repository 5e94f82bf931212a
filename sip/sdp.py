"""SDP session descriptions (RFC 4566): a strict parser and an exact serializer.

Why not ``aiosipua.sdp`` (the pinned 0.7.1, which we evaluated): it silently skips
lines it cannot parse and fills in defaults (a body of garbage parses as an empty
session), raises bare ``ValueError``/``TypeError`` from ``int()``, drops ``i=``,
``u=``, ``e=``, ``p=``, ``r=``, ``z=``, ``k=`` lines, keeps attributes in a dict so
``a=rtpmap:0``/``a=ptime``/``a=rtpmap:8`` come back reordered (no faithful round
trip), accepts only ``str``, and its negotiator reads ``time.time()``.  We need a
typed error for 400/488 and a faithful round trip for third-party call control,
so this module is our own, about the size of theirs.

Strictness (RFC 4566 §5): ``v=0`` then ``o=`` then ``s=`` must open the body; a
line is ``<lower-case letter>=<value>`` with no space around ``=``; an unknown type
letter rejects the whole description, as §5 requires; ``o=``, ``c=``, ``t=`` and
``m=`` must have their fields, ports are 0-65535, RTP payload types 0-127; every
``rtpmap`` is well formed; at most one direction attribute per level; each m= line
with a non-zero port needs a ``c=`` (its own or the session's).  Lines may end in
CRLF or bare LF (§5 allows parsers to accept LF); trailing empty lines are ignored.
Known lines may appear in any order after ``s=`` (some stacks put ``c=`` after
``t=``); serialization uses the RFC order, so canonical input round-trips byte for
byte.  The parser is in :mod:`sip.sdp_parser`; offer/answer in :mod:`sip.offer_answer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "Attribute",
    "Codec",
    "Connection",
    "MediaDescription",
    "Origin",
    "SdpError",
    "SessionDescription",
    "Timing",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, int | None]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    13: ("CN", 8000, 1),
    18: ("G729", 8000, 1),
}
"""RFC 3551 static audio payload types: name, clock rate, channels."""

_RTPMAP_RE = re.compile(r"([0-9]{1,3}) ([^/ ]+)/([0-9]{1,6})(?:/([0-9]{1,2}))?")


class SdpError(ValueError):
    """Malformed SDP (answer 400) or failed negotiation (answer 488); ``code`` is stable."""

    def __init__(self, code: str, detail: str, line: int | None = None) -> None:
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{code}: {detail}{where}")
        self.code = code
        self.line = line


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""

    username: str = "-"
    session_id: str
    version: int
    net_type: str = "IN"
    addr_type: str = "IP4"
    address: str

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.version} "
            f"{self.net_type} {self.addr_type} {self.address}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """``c=IN IP4 192.0.2.1`` (address kept raw: it may carry ``/ttl`` for multicast)."""

    net_type: str = "IN"
    addr_type: str = "IP4"
    address: str

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """IP6 if the address contains ':' else IP4."""
        return cls(addr_type="IP6" if ":" in address else "IP4", address=address)

    def __str__(self) -> str:
        return f"{self.net_type} {self.addr_type} {self.address}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute:
    """``a=name`` (flag, ``value is None``) or ``a=name:value``."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """``t=<start> <stop>`` and its ``r=`` repeat lines (kept raw)."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    """One payload format of an RTP m= line, resolved through rtpmap/fmtp/static table."""

    payload_type: int
    name: str  # "" for a dynamic payload type without rtpmap
    clock_rate: int
    channels: int | None = None
    fmtp: str | None = None


def _attr_values(attributes: tuple[Attribute, ...], name: str) -> list[str]:
    return [a.value for a in attributes if a.name == name and a.value is not None]


def _direction(attributes: tuple[Attribute, ...]) -> str | None:
    found = [a.name for a in attributes if a.name in DIRECTIONS and a.value is None]
    return found[0] if found else None


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaDescription:
    """One ``m=`` section with its ``i= c= b= k= a=`` lines."""

    media: str
    port: int
    port_count: int | None = None
    proto: str
    formats: tuple[str, ...]
    info: str | None = None
    connections: tuple[Connection, ...] = ()
    bandwidths: tuple[str, ...] = ()
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()

    @property
    def is_rtp(self) -> bool:
        return self.proto.upper().startswith("RTP/")

    @property
    def direction(self) -> str | None:
        """The media-level direction attribute, if any (see ``SessionDescription``)."""
        return _direction(self.attributes)

    def attribute_values(self, name: str) -> list[str]:
        """Values of every ``a=name:value`` line, in order."""
        return _attr_values(self.attributes, name)

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """Payload formats in the m= line's (preference) order; empty if not RTP."""
        if not self.is_rtp:
            return ()
        rtpmap: dict[int, tuple[str, int, int | None]] = {}
        for value in self.attribute_values("rtpmap"):
            m = _RTPMAP_RE.fullmatch(value)
            if m is not None:  # validated at parse time; builders are trusted
                chans = int(m.group(4)) if m.group(4) else None
                rtpmap.setdefault(int(m.group(1)), (m.group(2), int(m.group(3)), chans))
        fmtp: dict[int, str] = {}
        for value in self.attribute_values("fmtp"):
            pt_text, _, params = value.partition(" ")
            if pt_text.isdigit():
                fmtp.setdefault(int(pt_text), params.strip())
        codecs = []
        for fmt in self.formats:
            pt = int(fmt)
            name, rate, chans = rtpmap.get(pt) or STATIC_PAYLOAD_TYPES.get(pt) or ("", 0, None)
            codecs.append(
                Codec(payload_type=pt, name=name, clock_rate=rate, channels=chans,
                      fmtp=fmtp.get(pt))
            )
        return tuple(codecs)

    def lines(self) -> list[str]:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}".rstrip()]
        if self.info is not None:
            out.append(f"i={self.info}")
        out += [f"c={c}" for c in self.connections]
        out += [f"b={b}" for b in self.bandwidths]
        if self.key is not None:
            out.append(f"k={self.key}")
        out += [f"a={a}" for a in self.attributes]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDescription:
    """A whole SDP body. Build directly, or with :meth:`parse`; ``bytes(sd)`` encodes."""

    origin: Origin
    session_name: str = "-"
    info: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    connection: Connection | None = None
    bandwidths: tuple[str, ...] = ()
    times: tuple[Timing, ...] = field(default_factory=lambda: (Timing(),))
    zone: str | None = None
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()

    # -- accessors ---------------------------------------------------------------------

    def connection_of(self, media: MediaDescription) -> Connection | None:
        """The media-level ``c=`` if present, else the session-level one."""
        return media.connections[0] if media.connections else self.connection

    def direction_of(self, media: MediaDescription) -> str:
        """Media-level direction, else session-level, else ``sendrecv`` (RFC 3264 §5.1)."""
        return media.direction or _direction(self.attributes) or "sendrecv"

    @property
    def audio(self) -> MediaDescription | None:
        """The first audio stream that is not rejected (port != 0)."""
        return next((m for m in self.media if m.media == "audio" and m.port != 0), None)

    @property
    def audio_address(self) -> str | None:
        audio = self.audio
        conn = None if audio is None else self.connection_of(audio)
        return None if conn is None else conn.address

    @property
    def audio_port(self) -> int | None:
        audio = self.audio
        return None if audio is None else audio.port

    @property
    def audio_codecs(self) -> tuple[Codec, ...]:
        audio = self.audio
        return () if audio is None else audio.codecs

    # -- encoding ----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        out = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        for prefix, value in (("i", self.info), ("u", self.uri)):
            if value is not None:
                out.append(f"{prefix}={value}")
        out += [f"e={e}" for e in self.emails] + [f"p={p}" for p in self.phones]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidths]
        for t in self.times:
            out.append(f"t={t.start} {t.stop}")
            out += [f"r={r}" for r in t.repeats]
        for prefix, value in (("z", self.zone), ("k", self.key)):
            if value is not None:
                out.append(f"{prefix}={value}")
        out += [f"a={a}" for a in self.attributes]
        for m in self.media:
            out += m.lines()
        return ("\r\n".join(out) + "\r\n").encode("utf-8")

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    # -- parsing -----------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse a body; raise :class:`SdpError` if it is not valid RFC 4566 SDP."""
        from sip.sdp_parser import parse_sdp  # the parser imports this module's types

        return parse_sdp(data)
