"""SIP messages: parsing, serialization and response construction (RFC 3261 §7, §8.2.6,
§18.3, §20, §25).

Parsing is strict where the RFC is (version, CSeq, Content-Length, the five mandatory headers,
size limits) and lenient where real peers differ (header-name case, compact forms, folding,
whitespace). Header values stay text until asked for: `Request.via`, `.cseq`, `.from_`, `.to`
parse on first use, so the hot path (a retransmission matched by branch) touches little.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from .errors import RemoteProtocolError
from .headers import TOKEN_CHARS as _TOKEN
from .headers import CSeq, NameAddress, SipUri, Via, split_list

__all__ = [
    "MAX_HEADERS",
    "MAX_MESSAGE_SIZE",
    "Headers",
    "Message",
    "Request",
    "Response",
    "canonical_name",
    "make_response",
    "parse_message",
    "reason_phrase",
]

MAX_MESSAGE_SIZE: Final = 64 * 1024
MAX_HEADERS: Final = 256
SIP_VERSION: Final = "SIP/2.0"

_COMPACT: Final = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "o": "Event", "r": "Refer-To", "b": "Referred-By", "x": "Session-Expires",
    "u": "Allow-Events", "a": "Accept-Contact", "j": "Reject-Contact",
    "d": "Request-Disposition", "y": "Identity", "n": "Identity-Info",
}  # fmt: skip
_KNOWN: Final = [
    "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Authentication-Info",
    "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
    "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Expires",
    "From", "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version", "Organization",
    "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route",
    "Reply-To", "Require", "Retry-After", "Route", "Server", "Subject", "Supported", "Timestamp",
    "To", "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate", "Session-Expires",
    "Min-SE", "Event", "Allow-Events", "P-Asserted-Identity", "Refer-To", "Referred-By",
    "Reason", "RSeq", "RAck", "Path",
]  # fmt: skip
_CANONICAL: Final = {name.lower(): name for name in _KNOWN} | _COMPACT
_MANDATORY: Final = ("Via", "From", "To", "Call-ID", "CSeq")

_REASONS: Final = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 301: "Moved Permanently",
    302: "Moved Temporarily", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    491: "Request Pending", 493: "Undecipherable", 500: "Server Internal Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}  # fmt: skip


def canonical_name(name: str) -> str:
    """``v`` → ``Via``, ``call-id`` → ``Call-ID``; unknown names are kept as written."""
    return _CANONICAL.get(name.lower(), name)


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Unknown")


class Headers:
    """Ordered, case-insensitive, multi-valued header fields.

    Each stored field is one header line (name canonicalised). `get_all` splits
    comma-separated lists, so ``Via: a, b`` and two ``Via`` lines read the same.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]] | None = None) -> None:
        self._fields: list[tuple[str, str]] = fields if fields is not None else []

    def get(self, name: str) -> str | None:
        """The first field's whole value (not split)."""
        name = canonical_name(name)
        for key, value in self._fields:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, comma lists split, in order."""
        name = canonical_name(name)
        out: list[str] = []
        for key, value in self._fields:
            if key == name:
                out.extend(split_list(value))
        return out

    def get_lines(self, name: str) -> list[str]:
        """Every field of ``name`` without splitting (WWW-Authenticate, Authorization)."""
        name = canonical_name(name)
        return [value for key, value in self._fields if key == name]

    def add(self, name: str, value: str) -> None:
        self._fields.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        self._fields.insert(0, (canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every field of ``name`` by one, keeping the first one's position."""
        name = canonical_name(name)
        for i, (key, _) in enumerate(self._fields):
            if key == name:
                self._fields[i] = (name, value)
                self._fields[i + 1 :] = [f for f in self._fields[i + 1 :] if f[0] != name]
                return
        self._fields.append((name, value))

    def remove(self, name: str) -> None:
        name = canonical_name(name)
        self._fields = [f for f in self._fields if f[0] != name]

    def copy(self) -> Headers:
        return Headers(list(self._fields))

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._fields == other._fields

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


@dataclass(eq=False, slots=True)
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    _via: list[Via] | None = field(default=None, repr=False)
    _cseq: CSeq | None = field(default=None, repr=False)

    # -- parsed views of the routing headers (cached; reset by `invalidate`) --
    @property
    def via(self) -> list[Via]:
        if self._via is None:
            self._via = [Via.parse(v) for v in self.headers.get_all("Via")]
        return self._via

    @property
    def top_via(self) -> Via:
        vias = self.via
        if not vias:
            raise RemoteProtocolError("missing Via")
        return vias[0]

    @property
    def cseq(self) -> CSeq:
        if self._cseq is None:
            value = self.headers.get("CSeq")
            if value is None:
                raise RemoteProtocolError("missing CSeq")
            self._cseq = CSeq.parse(value)
        return self._cseq

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def from_(self) -> NameAddress:
        return NameAddress.parse(self.headers.get("From") or "")

    @property
    def to(self) -> NameAddress:
        return NameAddress.parse(self.headers.get("To") or "")

    @property
    def contacts(self) -> list[NameAddress]:
        return [NameAddress.parse(c) for c in self.headers.get_all("Contact")]

    def invalidate(self) -> None:
        """Forget cached parsed headers after editing ``headers`` in place."""
        self._via = None
        self._cseq = None

    def _encode(self, start_line: str) -> bytes:
        lines = [start_line]
        lines.extend(f"{k}: {v}" for k, v in self.headers.items() if k != "Content-Length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(eq=False, slots=True)
class Request(Message):
    method: str = "OPTIONS"
    uri: str = ""

    def __bytes__(self) -> bytes:
        return self._encode(f"{self.method} {self.uri} {SIP_VERSION}")

    @property
    def request_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    @property
    def transaction_method(self) -> str:
        """The INVITE an ACK or CANCEL belongs to matches on method INVITE (§17.2.3)."""
        return "INVITE" if self.method in ("ACK", "CANCEL") else self.method


@dataclass(eq=False, slots=True)
class Response(Message):
    status: int = 200
    reason: str = "OK"

    def __bytes__(self) -> bytes:
        return self._encode(f"{SIP_VERSION} {self.status} {self.reason}")


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Response:
    """Build a response per §8.2.6: Via (all, in order), From, To, Call-ID and CSeq copied;
    a To tag added when the request had none (never on 100 Trying)."""
    fields: list[tuple[str, str]] = []
    for key, value in request.headers.items():
        if key in ("Via", "From", "Call-ID", "CSeq"):
            fields.append((key, value))
        elif key == "To":
            if to_tag and status > 100 and "tag=" not in value.lower():
                value = str(NameAddress.parse(value).with_tag(to_tag))
            fields.append((key, value))
        elif key == "Record-Route" and 100 < status < 300 and request.method == "INVITE":
            fields.append((key, value))  # §12.1.1: dialog-creating responses copy it
    for key, value in extra or []:
        fields.append((canonical_name(key), value))
    return Response(
        headers=Headers(fields),
        body=body,
        status=status,
        reason=reason or reason_phrase(status),
    )


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one whole message (a UDP datagram, or a frame cut by `StreamFramer`).

    On a datagram, bytes after Content-Length are discarded and a missing Content-Length
    means "to the end" (§18.3); with ``stream=True`` Content-Length must be present and exact.
    """
    if len(data) > MAX_MESSAGE_SIZE:
        raise RemoteProtocolError("message larger than 64 KiB", status_hint=513)
    head_end = data.find(b"\r\n\r\n")
    sep = 4
    if head_end < 0:
        head_end = data.find(b"\n\n")  # bare-LF peers (tolerated, §7.5 says CRLF)
        sep = 2
        if head_end < 0:
            raise RemoteProtocolError("no blank line after headers")
    try:
        head = data[:head_end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError("message head is not UTF-8") from exc
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):  # folded continuation (§7.3.1)
            if not fields:
                raise RemoteProtocolError("continuation line before any header")
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or " " in name:
            raise RemoteProtocolError(f"malformed header line {line[:80]!r}")
        fields.append((canonical_name(name), value.strip()))
        if len(fields) > MAX_HEADERS:
            raise RemoteProtocolError("more than 256 header fields", status_hint=513)
    headers = Headers(fields)
    body = data[head_end + sep :]
    msg = _start(start, headers)
    msg.body = _frame_body(headers, body, stream, msg)
    _check_mandatory(msg)
    return msg


def _start(start: str, headers: Headers) -> Request | Response:
    parts = start.split(" ", 2)
    if len(parts) < 2:
        raise RemoteProtocolError(f"malformed start line {start[:80]!r}")
    if parts[0].upper().startswith("SIP/"):
        if parts[0] != SIP_VERSION:
            raise RemoteProtocolError(f"unsupported version {parts[0]!r}", status_hint=505)
        code = parts[1]
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise RemoteProtocolError(f"bad status code {code!r}")
        return Response(headers=headers, status=int(code), reason=parts[2] if len(parts) > 2 else "")
    if len(parts) != 3:
        raise RemoteProtocolError(f"malformed request line {start[:80]!r}")
    method, uri, version = parts
    request = Request(headers=headers, method=method, uri=uri)
    if version != SIP_VERSION:
        raise RemoteProtocolError(
            f"unsupported version {version!r}", status_hint=505, request=_routable(request)
        )
    if not method or any(ch not in _TOKEN for ch in method):
        raise RemoteProtocolError(f"bad method {method!r}")
    if ":" not in uri or " " in uri:
        raise RemoteProtocolError(f"bad Request-URI {uri!r}", request=_routable(request))
    return request


def _frame_body(headers: Headers, body: bytes, stream: bool, msg: Request | Response) -> bytes:
    clen = headers.get("Content-Length")
    if clen is None:
        if stream:
            raise RemoteProtocolError("Content-Length required on a stream transport")
        return body
    if not clen.isdigit():
        raise RemoteProtocolError(f"bad Content-Length {clen!r}", request=_routable(msg))
    length = int(clen)
    if length > len(body):
        raise RemoteProtocolError(
            "body shorter than Content-Length", request=_routable(msg)
        )
    return body[:length]


def _check_mandatory(msg: Request | Response) -> None:
    for name in _MANDATORY:
        if msg.headers.get(name) is None:
            raise RemoteProtocolError(f"missing {name} header", request=_routable(msg))
    try:
        cseq = msg.cseq
        msg.via  # noqa: B018 - parse now so a bad Via fails here, not deep in the core
        msg.from_  # noqa: B018
        msg.to  # noqa: B018
    except RemoteProtocolError as exc:
        raise RemoteProtocolError(exc.reason, request=_routable(msg)) from exc
    if isinstance(msg, Request) and cseq.method != msg.method:
        raise RemoteProtocolError(
            "CSeq method does not match the request", request=_routable(msg)
        )


def _routable(msg: Request | Response) -> Request | None:
    """The request, if a response to it can be routed (§8.2: Via and the dialog headers)."""
    if not isinstance(msg, Request) or msg.method == "ACK":
        return None
    try:
        if not msg.via or not msg.call_id:
            return None
        msg.cseq  # noqa: B018
    except RemoteProtocolError:
        return None
    if msg.headers.get("From") is None or msg.headers.get("To") is None:
        return None
    return msg
