"""Typed values of the SIP headers the core reads: Via, name-addr (From/To/Contact/Route),
SIP URIs and CSeq (RFC 3261 §19.1, §20, §25.1; IPv6 references per RFC 5118).

Each type has ``parse(str)`` raising `RemoteProtocolError` and ``__str__`` giving the wire
form, so that ``T.parse(str(x)) == x``. Parameters keep their order; a parameter without a
value (``;lr``, ``;rport``) maps to ``None``.

The parsers are strict where a wrong reading would misroute a response or merge two
transactions (Via, CSeq, the URI inside a name-addr, quoting) and leave the rest as text.
Every one of them raises only `RemoteProtocolError`, whatever the input.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Final

from .errors import RemoteProtocolError
from .memo import remember

__all__ = [
    "MAGIC_COOKIE",
    "TOKEN_CHARS",
    "CSeq",
    "NameAddress",
    "Params",
    "SipUri",
    "Via",
    "format_params",
    "is_token",
    "parse_params",
    "split_list",
]

Params = dict[str, str | None]

MAGIC_COOKIE: Final = "z9hG4bK"
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~")

_TOKEN_CLASS = r"[A-Za-z0-9\-.!%*_+`'~]"
_TOKEN_RE: Final = re.compile(_TOKEN_CLASS + "+")
# An unquoted parameter value: token, or a host / IPv6 address (received=2001:db8::1, §4.5
# of RFC 5118), or the bracketed form. Quoted strings are checked separately.
_PVALUE_RE: Final = re.compile(r"[A-Za-z0-9\-.!%*_+`'~:\[\]/&=$?@]+")
_PARAMS_FAST: Final = re.compile(
    r"(?:;" + _TOKEN_CLASS + r"+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]/&=$?@]+)?)*"
)
# The usual name-addr: optional simple quoted name, <uri> without LWS, simple params.
_NA_FAST: Final = re.compile(
    r"(?:\"([^\"\\\x00-\x1f\x7f]*)\" ?)?<([A-Za-z][A-Za-z0-9+.\-]*:"
    r"[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,\[\]#]+)>(.*)\Z",
    re.S,
)
_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# Characters an URI may hold (RFC 3986 reserved + unreserved + '%'); no LWS, no <>, no quote.
_URI_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,\[\]#]+")
_HOSTNAME_RE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?")
_ESCAPE_RE: Final = re.compile(r"\\(.)", re.S)
# Fast path for the Via every trunk sends: "SIP/2.0/UDP 192.0.2.1:5060;branch=...".
_VIA_FAST: Final = re.compile(
    r"SIP/2\.0/(" + _TOKEN_CLASS + r"+) ([A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?"
    r"((?:;.*)?)\Z",
    re.S,
)
# General form: LWS is allowed around '/' and ':' (RFC 3261 §25.1 SLASH, COLON).
_VIA_SLOW: Final = re.compile(
    r"(" + _TOKEN_CLASS + r"+)[ \t]*/[ \t]*(" + _TOKEN_CLASS + r"+)[ \t]*/[ \t]*("
    + _TOKEN_CLASS + r"+)[ \t]+(\[[^\]]*\]|[^;\s:\[]+)(?:[ \t]*:[ \t]*([^;\s]*))?[ \t]*"
    r"((?:;.*)?)\Z",
    re.S,
)


def is_token(text: str) -> bool:
    """True if ``text`` is a non-empty RFC 3261 ``token``."""
    return _TOKEN_RE.fullmatch(text) is not None


def split_list(value: str, *, keep_empty: bool = False) -> list[str]:
    """Split a comma-separated header value (§7.3.1), honouring quotes and <...>.

    Empty elements are dropped unless ``keep_empty`` (strict callers then reject them).
    """
    if "," not in value:
        stripped = value.strip()
        return [stripped] if stripped or keep_empty else []
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return parts if keep_empty else [p for p in parts if p]


def _quoted_end(text: str, start: int) -> int:
    """Index of the quote closing the quoted-string opened at ``text[start]``."""
    i = start + 1
    while True:
        q = text.find('"', i)
        if q < 0:
            raise RemoteProtocolError(f"unterminated quoted string in {text[:80]!r}")
        bs = text.find("\\", i, q)
        if bs < 0:
            return q
        i = bs + 2  # skip the quoted-pair, which may be an escaped quote


def parse_params(text: str) -> Params:
    """Parse ``;a=1;b;c="x"`` (leading ``;`` optional). Names are lower-cased.

    Strict: every parameter needs a token name, ``;;`` and a dangling ``;`` or ``=`` are
    errors (RFC 4475 badinv01), and unquoted values may not contain LWS or quotes.
    """
    if _PARAMS_FAST.fullmatch(text) is not None:  # common case: one regex, no LWS/quotes
        out: Params = {}
        for raw in text[1:].split(";") if text else ():
            name, eq, val = raw.partition("=")
            out[name.lower()] = val if eq else None
        return out
    text = text.strip(" \t")
    if not text:
        return {}
    if text[0] == ";":
        text = text[1:]
    params: Params = {}
    for raw in _split_semicolons(text):
        name, eq, val = raw.partition("=")
        name = name.strip(" \t")
        if _TOKEN_RE.fullmatch(name) is None:
            raise RemoteProtocolError(f"bad parameter name in {text[:80]!r}")
        if not eq:
            params[name.lower()] = None
            continue
        val = val.strip(" \t")
        if val[:1] == '"':
            if len(val) < 2 or _quoted_end(val, 0) != len(val) - 1:
                raise RemoteProtocolError(f"bad quoted parameter value in {text[:80]!r}")
        elif _PVALUE_RE.fullmatch(val) is None:
            raise RemoteProtocolError(f"bad parameter value in {text[:80]!r}")
        params[name.lower()] = val
    return params


def _split_semicolons(text: str) -> list[str]:
    if '"' not in text:
        return text.split(";")
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _quoted_end(text, i)
        elif ch == ";":
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return out


def format_params(params: Params) -> str:
    if not params:
        return ""
    return "".join([f";{k}" if v is None else f";{k}={v}" for k, v in params.items()])


def _check_host(host: str, text: str) -> str:
    """Validate a hostname, IPv4 address or bracketed IPv6 reference; lower-case it."""
    if host[:1] == "[":
        if host[-1:] != "]":
            raise RemoteProtocolError(f"unterminated IPv6 reference in {text[:80]!r}")
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise RemoteProtocolError(f"bad IPv6 reference in {text[:80]!r}") from None
        return host.lower()
    if _HOSTNAME_RE.fullmatch(host) is None:
        raise RemoteProtocolError(f"bad host in {text[:80]!r}")
    return host.lower()


def _check_port(port_text: str, text: str) -> int:
    if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        raise RemoteProtocolError(f"bad port in {text[:80]!r}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise RemoteProtocolError(f"bad port in {text[:80]!r}")
    return port


def _split_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` → (host, port), validated."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise RemoteProtocolError(f"unterminated IPv6 reference {text[:80]!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise RemoteProtocolError(f"bad host:port {text[:80]!r}")
        port_text = rest[1:] if rest else ""
        if rest and not port_text:
            raise RemoteProtocolError(f"empty port in {text[:80]!r}")
    else:
        host, sep, port_text = text.partition(":")
        if sep and not port_text:
            raise RemoteProtocolError(f"empty port in {text[:80]!r}")
    if not host:
        raise RemoteProtocolError(f"empty host in {text[:80]!r}")
    host = _check_host(host, text)
    return host, (_check_port(port_text, text) if port_text else None)


def _join_hostport(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class SipUri:
    """``sip:user:password@host:port;params?headers`` (§19.1.1). ``tel:`` URIs keep the
    number in ``user`` and an empty host."""

    scheme: str = "sip"
    user: str | None = None
    host: str = ""
    port: int | None = None
    params: Params = field(default_factory=dict, compare=False)
    headers: str = ""
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse ``text``. A call engine parses the same few URIs over and over (the
        trunk's Request-URI and Contact, the agents' contacts): results are kept, up to
        `sip.memo.LIMIT` texts, and shared — never mutate a parsed URI's ``params``."""
        if cls is SipUri:
            cached = _URI_CACHE.get(text)
            if cached is not None:
                return cached
            return remember(_URI_CACHE, text, cls._parse(text))
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: str) -> SipUri:
        text = text.strip(" \t")
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips", "tel"):
            raise RemoteProtocolError(f"unsupported URI {text[:80]!r}", status_hint=416)
        if _URI_RE.fullmatch(text) is None:
            raise RemoteProtocolError(f"bad characters in URI {text[:80]!r}")
        if scheme == "tel":
            rest, _, headers = rest.partition("?")
            number, _, ptext = rest.partition(";")
            if not number:
                raise RemoteProtocolError(f"empty tel number in {text[:80]!r}")
            return cls(scheme, number, "", None, _uri_params(ptext, text), headers)
        user: str | None = None
        password: str | None = None
        # The userinfo may hold '?', ';' and ',' (RFC 4475 intmeth, semiuri); '@' cannot
        # appear unescaped after it, so the last '@' ends it.
        if "@" in rest:
            userinfo, _, rest = rest.rpartition("@")
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
            if not user:
                raise RemoteProtocolError(f"empty user in {text[:80]!r}")
        rest, _, headers = rest.partition("?")
        hostport, _, ptext = rest.partition(";")
        host, port = _split_hostport(hostport)
        return cls(scheme, user, host, port, _uri_params(ptext, text), headers, password)

    def __str__(self) -> str:
        if self.scheme == "tel":
            out = f"tel:{self.user}{format_params(self.params)}"
        else:
            userinfo = ""
            if self.user is not None:
                pw = f":{self.password}" if self.password is not None else ""
                userinfo = f"{self.user}{pw}@"
            hostport = _join_hostport(self.host, self.port)
            out = f"{self.scheme}:{userinfo}{hostport}{format_params(self.params)}"
        return f"{out}?{self.headers}" if self.headers else out

    @property
    def aor(self) -> str:
        """Address-of-record key: scheme, user and host, lower-cased host, no port/params."""
        if self.user:
            return f"{self.scheme}:{self.user}@{self.host}"
        return f"{self.scheme}:{self.host}"

    def with_params(self, **params: str | None) -> SipUri:
        return SipUri(self.scheme, self.user, self.host, self.port, {**self.params, **params},
                      self.headers, self.password)


_URI_CACHE: dict[str, SipUri] = {}


def _uri_params(ptext: str, text: str) -> Params:
    """URI parameters (§19.1.1): ``paramchar`` is wider than a token, and ``%HH`` escapes
    are allowed in names (RFC 4475 esc01), so only emptiness is checked here; the URI as a
    whole was already matched against the URI character set."""
    params: Params = {}
    if not ptext:
        return params
    for raw in ptext.split(";"):
        name, eq, val = raw.partition("=")
        if not name or (eq and not val):
            raise RemoteProtocolError(f"empty URI parameter in {text[:80]!r}")
        params[name.lower()] = val if eq else None
    return params


def _unescape(quoted_body: str) -> str:
    return _ESCAPE_RE.sub(r"\1", quoted_body) if "\\" in quoted_body else quoted_body


def _escape(display: str) -> str:
    out = display.replace("\\", "\\\\").replace('"', '\\"')
    if any((ord(ch) < 0x20 and ch != "\t") or ch == "\x7f" for ch in out):
        out = "".join(
            "\\" + ch if (ord(ch) < 0x20 and ch != "\t") or ch == "\x7f" else ch for ch in out
        )
    return out


def _check_uri_text(uri: str, text: str) -> None:
    if _URI_RE.fullmatch(uri) is None:
        raise RemoteProtocolError(f"bad URI in {text[:80]!r}")


@dataclass(frozen=True, slots=True)
class NameAddress:
    """``"Display" <uri>;tag=x`` or ``uri;tag=x`` (From, To, Contact, Route, Record-Route).

    ``uri`` is kept as text: most of the core only compares or copies it; call
    `SipUri.parse` on it when its parts are needed. ``uri == "*"`` is the wildcard Contact.
    The URI's syntax is checked (scheme, URI characters, no LWS inside ``<>``).
    """

    uri: str
    display_name: str | None = None
    params: Params = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddress:
        m = _NA_FAST.match(text)
        if m is not None:
            display_fast, uri_fast, rest_fast = m.groups()
            if _PARAMS_FAST.fullmatch(rest_fast) is not None:
                return cls(uri_fast, display_fast, parse_params(rest_fast))
        text = text.strip(" \t")
        if text == "*":
            return cls("*")
        display: str | None = None
        if text[:1] == '"':
            end = _quoted_end(text, 0)
            display = _unescape(text[1:end])
            lt = end + 1
            while text[lt : lt + 1] in (" ", "\t"):
                lt += 1
            if text[lt : lt + 1] != "<":
                raise RemoteProtocolError(f"quoted display name without <uri> in {text[:80]!r}")
        else:
            lt = text.find("<")
        if lt >= 0:
            if display is None:
                raw = text[:lt].strip(" \t")
                if raw:
                    # Unquoted display name: tokens separated by LWS (§25.1; lwsdisp).
                    if any(_TOKEN_RE.fullmatch(w) is None for w in raw.split()):
                        raise RemoteProtocolError(f"bad display name in {text[:80]!r}")
                    display = raw
            gt = text.find(">", lt)
            if gt < 0:
                raise RemoteProtocolError(f"unterminated <...> in {text[:80]!r}")
            uri = text[lt + 1 : gt]
            _check_uri_text(uri, text)  # no LWS inside <> (RFC 4475 badaspec)
            rest = text[gt + 1 :]
            if rest and rest.lstrip(" \t")[:1] not in ("", ";"):
                raise RemoteProtocolError(f"junk after <uri> in {text[:80]!r}")
            params = parse_params(rest)
        else:
            # addr-spec form: parameters after the URI belong to the header (§20.10), and
            # a URI with ',', ';' or '?' must be in <> (RFC 4475 regbadct).
            uri, _, ptext = text.partition(";")
            uri = uri.rstrip(" \t")
            _check_uri_text(uri, text)
            if "?" in uri or "," in uri:
                raise RemoteProtocolError(f"URI with '?' or ',' outside <> in {text[:80]!r}")
            params = parse_params(ptext)
        return cls(uri, display, params)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddress:
        # The constructor, not dataclasses.replace (5x slower; this runs per message).
        return NameAddress(self.uri, self.display_name, {**self.params, "tag": tag})

    def sip_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    def __str__(self) -> str:
        if self.uri == "*":
            return "*"
        name = "" if self.display_name is None else f'"{_escape(self.display_name)}" '
        return f"{name}<{self.uri}>{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class Via:
    """``SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`` (§20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_FAST.match(text)
        if m is not None:
            transport, host, port_text, ptext = m.groups()
            host = _check_host(host, text) if host[0] == "[" else host.lower()
            port = _check_port(port_text, text) if port_text else None
        else:
            m = _VIA_SLOW.match(text.strip(" \t"))
            if m is None:
                raise RemoteProtocolError(f"bad Via {text[:80]!r}")
            # Any protocol name/version is syntactically a Via (badvers carries SIP/7.0);
            # the version itself is judged on the start line.
            _name, _version, transport, host, port_text, ptext = m.groups()
            host = _check_host(host, text)  # "host : port" is legal (LWS around ':')
            port = _check_port(port_text, text) if port_text is not None else None
        params = parse_params(ptext)
        if "branch" in params and not params["branch"]:
            raise RemoteProtocolError(f"empty branch in Via {text[:80]!r}")
        return cls(transport.upper(), host, port, params)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def has_rfc3261_branch(self) -> bool:
        """True when the branch starts with the magic cookie and has an id after it
        (§8.1.1.7); RFC 4475 badbranch has the cookie alone."""
        branch = self.params.get("branch")
        return branch is not None and len(branch) > 7 and branch.startswith(MAGIC_COOKIE)

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def with_params(self, **params: str | None) -> Via:
        return Via(self.transport, self.host, self.port, {**self.params, **params})

    def __str__(self) -> str:
        hostport = _join_hostport(self.host, self.port)
        return f"SIP/2.0/{self.transport} {hostport}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (§20.16): sequence < 2**31, method a token."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2:
            raise RemoteProtocolError(f"bad CSeq {text[:80]!r}")
        number, method = parts
        # isascii: str.isdigit accepts '²' and int() then fails; len: int() of huge
        # digit strings is slow and capped (sys.int_info.str_digits_check_threshold).
        if not (number.isascii() and number.isdigit()) or len(number) > 10:
            raise RemoteProtocolError(f"bad CSeq number {text[:80]!r}")
        seq = int(number)
        if seq >= 2**31:
            raise RemoteProtocolError(f"CSeq number out of range {text[:80]!r}")
        if _TOKEN_RE.fullmatch(method) is None:
            raise RemoteProtocolError(f"bad CSeq method {text[:80]!r}")
        return cls(seq, method)

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"
