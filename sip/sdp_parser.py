"""The RFC 4566 parser behind :meth:`sip.sdp.SessionDescription.parse`.

Strictness rules are listed in :mod:`sip.sdp`; every failure is an ``SdpError`` with a
stable code and, where known, the 1-based line number.
"""

from __future__ import annotations

import re

from sip.memo import remember
from sip.sdp import (
    _RTPMAP_RE,
    DIRECTIONS,
    Attribute,
    Connection,
    MediaDescription,
    Origin,
    SdpError,
    SessionDescription,
    Timing,
)

__all__ = ["parse_sdp"]

_TYPE_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+")
_PORT_RE = re.compile(r"([0-9]{1,5})(?:/([0-9]{1,5}))?")
_SESSION_TYPES = frozenset("iuepcbtrzka")
_MEDIA_TYPES = frozenset("icbka")


def _split_lines(data: bytes | str) -> list[str]:
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SdpError("bad-encoding", "SDP is not UTF-8") from exc
    else:
        text = data
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SdpError("empty", "no SDP lines")
    return lines


def _fields(value: str, count: int, code: str, n: int) -> list[str]:
    parts = value.rstrip(" ").split(" ")  # tolerate trailing blanks, not doubled ones
    if len(parts) != count or not all(parts):
        raise SdpError(code, f"expected {count} space-separated fields in {value!r}", n)
    return parts


# a= and c= lines repeat from call to call (rtpmap, ptime, direction; a trunk's address):
# their parsed values (immutable) are kept (sip.memo: up to 4,096 lines each).
_ATTRIBUTES: dict[str, Attribute] = {}
_CONNECTIONS: dict[str, Connection] = {}


def _connection(value: str, n: int) -> Connection:
    found = _CONNECTIONS.get(value)
    if found is None:
        found = remember(_CONNECTIONS, value, _parse_connection(value, n))
    return found


def _parse_connection(value: str, n: int) -> Connection:
    net, addr_type, address = _fields(value, 3, "bad-connection", n)
    if net != "IN" or addr_type not in ("IP4", "IP6"):
        raise SdpError("bad-connection", f"unsupported c= {value!r}", n)
    return Connection(net_type=net, addr_type=addr_type, address=address)


def _attribute(value: str, n: int) -> Attribute:
    found = _ATTRIBUTES.get(value)
    if found is None:
        found = remember(_ATTRIBUTES, value, _parse_attribute(value, n))
    return found


def _parse_attribute(value: str, n: int) -> Attribute:
    name, colon, rest = value.partition(":")
    if not _TOKEN_RE.fullmatch(name):
        raise SdpError("bad-attribute", f"bad attribute name in {value!r}", n)
    if name == "rtpmap" and not _RTPMAP_RE.fullmatch(rest):
        raise SdpError("bad-rtpmap", f"malformed rtpmap {rest!r}", n)
    if name == "fmtp" and not re.fullmatch(r"\S+ ?.*", rest):
        raise SdpError("bad-fmtp", f"malformed fmtp {rest!r}", n)
    if name in DIRECTIONS and colon:
        raise SdpError("bad-direction", f"direction {name} takes no value", n)
    return Attribute(name=name, value=rest if colon else None)


def _media_line(value: str, n: int) -> tuple[str, int, int | None, str, tuple[str, ...]]:
    """media, port, port count, proto, formats of an ``m=`` line."""
    parts = value.rstrip(" ").split(" ")
    if len(parts) < 4 or not all(parts):
        raise SdpError("bad-media", f"m= needs media, port, proto and formats: {value!r}", n)
    media, port_text, proto, *formats = parts
    m = _PORT_RE.fullmatch(port_text)
    if not _TOKEN_RE.fullmatch(media) or m is None or int(m.group(1)) > 65535:
        raise SdpError("bad-media", f"bad media or port in {value!r}", n)
    if proto.upper().startswith("RTP/") and not all(
        f.isdigit() and int(f) <= 127 for f in formats
    ):
        raise SdpError("bad-media", f"RTP payload types must be 0-127: {value!r}", n)
    count = int(m.group(2)) if m.group(2) else None
    return media, int(m.group(1)), count, proto, tuple(formats)


def _check_media(media: MediaDescription, has_session_c: bool) -> None:
    if sum(1 for a in media.attributes if a.name in DIRECTIONS) > 1:
        raise SdpError("bad-direction", f"more than one direction in m={media.media}")
    if media.port != 0 and not media.connections and not has_session_c:
        raise SdpError("no-connection", f"m={media.media} has no c= line")


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Parse an SDP body (see :mod:`sip.sdp` for the strictness rules)."""
    lines = _split_lines(data)
    parsed: list[tuple[int, str, str]] = []
    for n, line in enumerate(lines, 1):
        # <type>=<value>: one ASCII lower-case letter, '=', no NUL or CR anywhere
        if line[1:2] != "=" or line[0] not in _TYPE_LETTERS or "\x00" in line or "\r" in line:
            raise SdpError("bad-line", f"not a <type>=<value> line: {line!r}", n)
        parsed.append((n, line[0], line[2:]))
    if len(parsed) < 3 or [t for _, t, _ in parsed[:3]] != ["v", "o", "s"]:
        raise SdpError("missing-field", "SDP must start with v=, o=, s=")
    if parsed[0][2] != "0":
        raise SdpError("bad-version", f"v={parsed[0][2]} is not 0", 1)
    user, sess_id, version, net, addr_type, address = _fields(parsed[1][2], 6, "bad-origin", 2)
    if not version.isdigit() or net != "IN" or addr_type not in ("IP4", "IP6"):
        raise SdpError("bad-origin", f"bad o= {parsed[1][2]!r}", 2)
    origin = Origin(username=user, session_id=sess_id, version=int(version), net_type=net,
                    addr_type=addr_type, address=address)

    # Lines by type; a= and c= lines are kept parsed (each is parsed once, when checked).
    sess: dict[str, list[str]] = {t: [] for t in _SESSION_TYPES}
    sess_attrs: list[Attribute] = []
    sess_conns: list[Connection] = []
    times: list[Timing] = []
    media: list[MediaDescription] = []
    cur: dict[str, list[str]] | None = None
    cur_attrs: list[Attribute] = []
    cur_conns: list[Connection] = []
    cur_m: tuple[str, int, int | None, str, tuple[str, ...]] | None = None

    def close_media() -> None:
        if cur_m is not None and cur is not None:
            if len(cur["i"]) > 1 or len(cur["k"]) > 1:
                raise SdpError("duplicate-field", f"repeated i= or k= in m={cur_m[0]}")
            media.append(MediaDescription(
                media=cur_m[0], port=cur_m[1], port_count=cur_m[2], proto=cur_m[3],
                formats=cur_m[4],
                info=cur["i"][0] if cur["i"] else None, connections=tuple(cur_conns),
                bandwidths=tuple(cur["b"]), key=cur["k"][0] if cur["k"] else None,
                attributes=tuple(cur_attrs),
            ))

    for n, kind, value in parsed[3:]:
        if kind == "m":
            close_media()
            cur_m, cur = _media_line(value, n), {t: [] for t in _MEDIA_TYPES}
            cur_attrs, cur_conns = [], []
        elif cur is not None:
            if kind not in _MEDIA_TYPES:
                raise SdpError("bad-line", f"{kind}= not allowed in a media section", n)
            if kind == "a":
                cur_attrs.append(_attribute(value, n))
            elif kind == "c":
                cur_conns.append(_connection(value, n))
            else:
                cur[kind].append(value)
        elif kind == "t":
            start, stop = _fields(value, 2, "bad-timing", n)
            if not (start.isdigit() and stop.isdigit()):
                raise SdpError("bad-timing", f"bad t= {value!r}", n)
            times.append(Timing(start=int(start), stop=int(stop)))
        elif kind == "r":
            if not times:
                raise SdpError("bad-timing", "r= before t=", n)
            last = times[-1]
            times[-1] = Timing(start=last.start, stop=last.stop, repeats=(*last.repeats, value))
        elif kind in _SESSION_TYPES:
            if kind == "a":
                sess_attrs.append(_attribute(value, n))
            elif kind == "c":
                sess_conns.append(_connection(value, n))
            else:
                sess[kind].append(value)
        else:
            raise SdpError("unknown-type", f"unknown or misplaced line type {kind}=", n)
    close_media()

    if not times:
        raise SdpError("missing-field", "no t= line")
    for kind in "iuczk":
        if len(sess_conns if kind == "c" else sess[kind]) > 1:
            raise SdpError("duplicate-field", f"more than one session-level {kind}=")
    session_attrs = tuple(sess_attrs)
    if sum(1 for a in session_attrs if a.name in DIRECTIONS) > 1:
        raise SdpError("bad-direction", "more than one session-level direction")
    connection = sess_conns[0] if sess_conns else None
    for section in media:
        _check_media(section, connection is not None)

    def one(kind: str) -> str | None:
        return sess[kind][0] if sess[kind] else None

    return SessionDescription(
        origin=origin, session_name=parsed[2][2], info=one("i"), uri=one("u"),
        emails=tuple(sess["e"]), phones=tuple(sess["p"]), connection=connection,
        bandwidths=tuple(sess["b"]), times=tuple(times), zone=one("z"), key=one("k"),
        attributes=session_attrs, media=tuple(media),
    )
