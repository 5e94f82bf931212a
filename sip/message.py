"""SIP messages: parsing, serialization and response construction (RFC 3261 §7, §8.2.6,
§18.3, §20, §25).

Parsing is strict where the RFC is (version, CSeq, Content-Length, the five mandatory headers,
size limits) and lenient where real peers differ (header-name case, compact forms, folding,
whitespace). Header values stay text until asked for: `Request.via`, `.cseq`, `.from_`, `.to`
parse on first use, so the hot path (a retransmission matched by branch) touches little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from .errors import LocalProtocolError, RemoteProtocolError
from .headers import CSeq, NameAddress, SipUri, Via, split_list
from .memo import remember

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
# Fields that may appear once only (§7.3: only list-valued fields may repeat).
_SINGLE: Final = frozenset(
    ("From", "To", "Call-ID", "CSeq", "Content-Length", "Max-Forwards", "Content-Type")
)


def _name_variants() -> dict[str, str]:
    """Exact spellings seen on the wire → canonical name, so the hot path is one dict hit."""
    out: dict[str, str] = {}
    for lower, canon in _CANONICAL.items():
        for variant in (lower, canon, lower.upper(), lower.title(), canon.lower()):
            out[variant] = canon
    return out


_NAMES: Final = _name_variants()
_KNOWN_METHODS: Final = frozenset(
    ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE", "INFO",
     "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH")
)  # fmt: skip
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_VERSION_RE: Final = re.compile(r"SIP/[0-9]+\.[0-9]+", re.I)
_FIELD_RE: Final = re.compile(r"\r\n([^:\r\n]*):[ \t]*([^\r\n]*)")
_URI_OK: dict[str, bool] = {}  # Request-URIs already validated (a trunk uses a handful)
_CALL_ID_RE: Final = re.compile(r"[!-~]+")
_REQUEST_URI_RE: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,\[\]#]+"
)

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
    canon = _NAMES.get(name)
    if canon is not None:
        return canon
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
    _from: NameAddress | None = field(default=None, repr=False, init=False)
    _to: NameAddress | None = field(default=None, repr=False, init=False)

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
        if self._from is None:
            self._from = NameAddress.parse(self.headers.get("From") or "")
        return self._from

    @property
    def to(self) -> NameAddress:
        if self._to is None:
            self._to = NameAddress.parse(self.headers.get("To") or "")
        return self._to

    @property
    def contacts(self) -> list[NameAddress]:
        """Every Contact value, parsed (raises `RemoteProtocolError` on a bad one; the
        parser does not look at Contact, so the registrar/dialog layer answers 400)."""
        return [NameAddress.parse(c) for c in self.headers.get_all("Contact")]

    def invalidate(self) -> None:
        """Forget cached parsed headers after editing ``headers`` in place."""
        self._via = None
        self._cseq = None
        self._from = None
        self._to = None

    def _encode(self, start_line: str) -> bytes:
        lines = [start_line]
        lines.extend([f"{k}: {v}" for k, v in self.headers._fields if k != "Content-Length"])
        lines.append(f"Content-Length: {len(self.body)}")
        head = "\r\n".join(lines)
        # A CR or LF inside a value would start a new header line (header injection).
        if head.count("\n") != len(lines) - 1 or head.count("\r") != len(lines) - 1:
            raise LocalProtocolError("CR or LF inside a start line or header value")
        return (head + "\r\n\r\n").encode() + self.body


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
    a To tag added when the request had none (never on 100 Trying); Record-Route copied on
    dialog-creating responses to INVITE (101-299, §12.1.1)."""
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"status {status} out of range")
    fields: list[tuple[str, str]] = []
    for key, value in request.headers._fields:
        if key in ("Via", "From", "Call-ID", "CSeq"):
            fields.append((key, value))
        elif key == "To":
            if to_tag and status > 100 and _to_tag_missing(request, value):
                value = str(request.to.with_tag(to_tag))  # request.to: this value, parsed
            fields.append((key, value))
        elif key == "Record-Route" and 100 < status < 300 and request.method == "INVITE":
            fields.append((key, value))
    for key, value in extra or []:
        fields.append((canonical_name(key), value))
    return Response(
        headers=Headers(fields),
        body=body,
        status=status,
        reason=reason or reason_phrase(status),
    )


def _to_tag_missing(request: Request, value: str) -> bool:
    try:
        return request.to.tag is None
    except RemoteProtocolError:
        return "tag=" not in value.lower()


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one whole message (a UDP datagram, or a frame cut by `StreamFramer`).

    On a datagram, bytes after Content-Length are discarded and a missing Content-Length
    means "to the end" (§18.3); with ``stream=True`` Content-Length must be present and exact.
    Raises only `RemoteProtocolError`; its ``request`` is set when a 400 can be routed.
    """
    if len(data) > MAX_MESSAGE_SIZE:
        raise RemoteProtocolError("message larger than 64 KiB", status_hint=513)
    if data[:2] == b"\r\n":  # §7.5: ignore CRLFs before the start line
        data = data.lstrip(b"\r\n")
    head_end = data.find(b"\r\n\r\n")
    sep = 4
    lf_end = data.find(b"\n\n", 0, head_end if head_end >= 0 else len(data))
    if lf_end >= 0:  # bare-LF peers (tolerated; §7 says CRLF)
        head_end, sep = lf_end, 2
    elif head_end < 0:
        raise RemoteProtocolError("no blank line after headers")
    try:
        head = data[:head_end].decode()
    except UnicodeDecodeError as exc:
        where = "start line" if data.find(b"\n", 0, exc.start) < 0 else "header block"
        raise RemoteProtocolError(f"{where} is not UTF-8") from None
    crlf = head.count("\r\n")
    fields: list[tuple[str, str]] | None = None
    if head.count("\n") != crlf or head.count("\r") != crlf:
        if "\r" in head.replace("\r\n", ""):
            raise RemoteProtocolError("bare CR in message head")
        head = head.replace("\r\n", "\n").replace("\n", "\r\n")
    first_end = head.find("\r\n")
    start = head if first_end < 0 else head[:first_end]
    if first_end >= 0 and "\r\n " not in head and "\r\n\t" not in head:
        # Fast path (no folding): one C-level scan yields every (name, value) pair.
        pairs = _FIELD_RE.findall(head, first_end)
        if len(pairs) == crlf and crlf <= MAX_HEADERS:
            names = _NAMES
            fields = [
                (names.get(n) or _slow_name(n), v.rstrip(" \t") if v[-1:] in " \t" else v)
                for n, v in pairs
            ]
    if fields is None:
        fields = _parse_fields(head.split("\r\n"))
    headers = Headers(fields)
    msg = _start(start, headers)
    msg.body = _frame_body(headers, data[head_end + sep :], stream, msg)
    _check_headers(msg, fields)
    return msg


def _slow_name(name: str) -> str:
    stripped = name.rstrip(" \t")
    if _TOKEN_RE.fullmatch(stripped) is None:
        raise RemoteProtocolError(f"malformed header name {name[:80]!r}")
    return canonical_name(stripped)


def _parse_fields(lines: list[str]) -> list[tuple[str, str]]:
    if len(lines) > 4 * MAX_HEADERS:  # cheap bound before any work; folds included
        raise RemoteProtocolError("more than 256 header fields", status_hint=513)
    names = _NAMES
    fields: list[tuple[str, str]] = []
    append = fields.append
    for i in range(1, len(lines)):
        line = lines[i]
        first = line[:1]
        if first == " " or first == "\t":  # folded continuation (§7.3.1)
            if not fields:
                raise RemoteProtocolError("continuation line before any header")
            name, value = fields[-1]
            cont = line.strip(" \t")
            fields[-1] = (name, f"{value} {cont}" if value else cont)
            continue
        name, colon, value = line.partition(":")
        canon = names.get(name)
        if canon is None:
            stripped = name.rstrip(" \t")
            if not colon or _TOKEN_RE.fullmatch(stripped) is None:
                raise RemoteProtocolError(f"malformed header line {line[:80]!r}")
            canon = canonical_name(stripped)
        append((canon, value.strip(" \t")))
    if len(fields) > MAX_HEADERS:
        raise RemoteProtocolError("more than 256 header fields", status_hint=513)
    return fields


def _start(start: str, headers: Headers) -> Request | Response:
    if start[:4].upper() == "SIP/":
        version, _, rest = start.partition(" ")
        code, _, reason = rest.partition(" ")
        if version.upper() != SIP_VERSION:
            raise RemoteProtocolError(f"unsupported version {version[:20]!r}", status_hint=505)
        # Exactly three digits (RFC 4475 bigcode); "SIP/2.0 100" without the SP is accepted
        # (noreason: a liberal receiver may).
        if len(code) != 3 or not (code.isascii() and code.isdigit()) or code[0] in "0789":
            raise RemoteProtocolError(f"bad status code {code[:20]!r}")
        return Response(headers=headers, status=int(code), reason=reason)
    # Request-Line = Method SP Request-URI SP SIP-Version CRLF, single SPs (§25.1).
    sp1 = start.find(" ")
    sp2 = start.rfind(" ")
    if sp1 <= 0 or sp2 == sp1:
        raise RemoteProtocolError(f"malformed request line {start[:80]!r}")
    method, uri, version = start[:sp1], start[sp1 + 1 : sp2], start[sp2 + 1 :]
    if method not in _KNOWN_METHODS and _TOKEN_RE.fullmatch(method) is None:
        raise RemoteProtocolError(f"bad method {method[:40]!r}")
    request = Request(headers=headers, method=method, uri=uri)
    if version != SIP_VERSION and version.upper() != SIP_VERSION:
        # A well-formed other version gets 505 (RFC 4475 badvers); "SIP/2.0 " with
        # trailing SP (trws) or LWS in the URI (lwsruri) is a plain 400.
        hint = 505 if _VERSION_RE.fullmatch(version) else 400
        raise RemoteProtocolError(
            f"bad SIP version {version[:20]!r}", status_hint=hint, request=_routable(request)
        )
    _check_request_uri(uri, request)
    return request


def _check_request_uri(uri: str, request: Request) -> None:
    if uri in _URI_OK:
        return
    _check_request_uri_slow(uri, request)
    remember(_URI_OK, uri, True)


def _check_request_uri_slow(uri: str, request: Request) -> None:
    # absoluteURI syntax for any scheme (a non-SIP scheme is the UAS core's 416, not a
    # parse error); sip/sips are parsed fully, and headers are not allowed (escruri).
    if _REQUEST_URI_RE.fullmatch(uri) is None:
        raise RemoteProtocolError(f"bad Request-URI {uri[:80]!r}", request=_routable(request))
    scheme = uri[:5].lower()
    if scheme.startswith(("sip:", "sips:")):
        try:
            parsed = SipUri.parse(uri)
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(exc.reason, request=_routable(request)) from None
        if parsed.headers:
            raise RemoteProtocolError(
                "headers in the Request-URI", request=_routable(request)
            )


def _frame_body(headers: Headers, body: bytes, stream: bool, msg: Request | Response) -> bytes:
    clen = headers.get("Content-Length")
    if clen is None:
        if stream:
            raise RemoteProtocolError("Content-Length required on a stream transport")
        return body
    if not (clen.isascii() and clen.isdigit()) or len(clen) > 10:
        raise RemoteProtocolError(f"bad Content-Length {clen[:20]!r}", request=_routable(msg))
    length = int(clen)
    if length > len(body):
        raise RemoteProtocolError("body shorter than Content-Length", request=_routable(msg))
    if stream and length != len(body):
        raise RemoteProtocolError("stream frame longer than Content-Length")
    return body[:length] if length != len(body) else body


def _check_headers(msg: Request | Response, fields: list[tuple[str, str]]) -> None:
    """The five routing headers present and valid, singletons single, scalars in range."""
    seen: dict[str, str] = {}
    vias: list[str] = []
    single = _SINGLE
    for name, value in fields:
        if name == "Via":
            vias.append(value)
        elif name in single:
            if name in seen:
                raise RemoteProtocolError(f"more than one {name} header", request=_routable(msg))
            seen[name] = value
    try:
        via_list: list[Via] = []
        for value in vias:
            if "," in value:
                via_list.extend(Via.parse(v) for v in split_list(value, keep_empty=True))
            else:
                via_list.append(Via.parse(value))
        if not via_list:
            raise RemoteProtocolError("missing Via header")
        msg._via = via_list
        for name in ("From", "To", "Call-ID", "CSeq"):
            if name not in seen:
                raise RemoteProtocolError(f"missing {name} header")
        if _CALL_ID_RE.fullmatch(seen["Call-ID"]) is None:
            raise RemoteProtocolError(f"bad Call-ID {seen['Call-ID'][:80]!r}")
        cseq = msg._cseq = CSeq.parse(seen["CSeq"])
        msg._from = NameAddress.parse(seen["From"])
        msg._to = NameAddress.parse(seen["To"])
        max_forwards = seen.get("Max-Forwards")
        if max_forwards is not None and not (
            max_forwards.isascii()
            and max_forwards.isdigit()
            and len(max_forwards) <= 10
            and int(max_forwards) <= 255
        ):
            raise RemoteProtocolError(f"bad Max-Forwards {max_forwards[:20]!r}")
    except RemoteProtocolError as exc:
        raise RemoteProtocolError(exc.reason, request=_routable(msg)) from None
    if isinstance(msg, Request) and cseq.method != msg.method:
        raise RemoteProtocolError(
            "CSeq method does not match the request", request=_routable(msg)
        )


def _routable(msg: Request | Response) -> Request | None:
    """The request, if a response to it can be routed (§8.2: Via and the dialog headers).

    Never raises: it is called while another error is being reported.
    """
    if not isinstance(msg, Request) or msg.method == "ACK":
        return None
    try:
        if msg._via is None:
            msg._via = [Via.parse(v) for v in msg.headers.get_all("Via")]
    except RemoteProtocolError:
        msg._via = None
        return None
    if not msg._via:
        return None
    # A bad CSeq number still gets its 400 (scalar02): the response copies it verbatim and
    # the client matches it by branch.
    for name in ("Call-ID", "CSeq", "From", "To"):
        if not msg.headers.get(name):
            return None
    return msg
