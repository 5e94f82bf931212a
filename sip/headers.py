"""Typed values of the SIP headers the core reads: Via, name-addr (From/To/Contact/Route),
SIP URIs and CSeq (RFC 3261 §19.1, §20, §25.1).

Each type has ``parse(str)`` raising `RemoteProtocolError` and ``__str__`` giving the wire
form, so that ``T.parse(str(x)) == x``. Parameters keep their order; a parameter without a
value (``;lr``, ``;rport``) maps to ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import RemoteProtocolError

__all__ = [
    "TOKEN_CHARS",
    "CSeq",
    "NameAddress",
    "Params",
    "SipUri",
    "Via",
    "format_params",
    "parse_params",
    "split_list",
]

Params = dict[str, str | None]

TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~")


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value (§7.3.1), honouring quotes and <...>."""
    if "," not in value:
        stripped = value.strip()
        return [stripped] if stripped else []
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
    return [p for p in parts if p]


def parse_params(text: str) -> Params:
    """Parse ``;a=1;b;c="x"`` (leading ``;`` optional). Names are lower-cased."""
    params: Params = {}
    for raw in _split_semicolons(text):
        if not raw:
            continue
        name, eq, val = raw.partition("=")
        name = name.strip().lower()
        if not name:
            raise RemoteProtocolError(f"empty parameter name in {text!r}")
        params[name] = val.strip() if eq else None
    return params


def _split_semicolons(text: str) -> list[str]:
    if '"' not in text:
        return [p.strip() for p in text.split(";")]
    out: list[str] = []
    quoted = False
    cur: list[str] = []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _split_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` → (host, port)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise RemoteProtocolError(f"unterminated IPv6 reference {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise RemoteProtocolError(f"bad host:port {text!r}")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.partition(":")
        if not sep:
            port_text = ""
    if not host:
        raise RemoteProtocolError(f"empty host in {text!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RemoteProtocolError(f"bad port in {text!r}")
    return host, int(port_text)


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
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips", "tel"):
            raise RemoteProtocolError(f"unsupported URI {text!r}", status_hint=416)
        rest, _, headers = rest.partition("?")
        if scheme == "tel":
            number, _, ptext = rest.partition(";")
            return cls(scheme, number, "", None, parse_params(ptext), headers)
        user: str | None = None
        password: str | None = None
        if "@" in rest:
            userinfo, _, rest = rest.rpartition("@")
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
            if not user:
                raise RemoteProtocolError(f"empty user in {text!r}")
        hostport, _, ptext = rest.partition(";")
        host, port = _split_hostport(hostport)
        return cls(scheme, user, host.lower(), port, parse_params(ptext), headers, password)

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
        return f"{self.scheme}:{self.user}@{self.host}" if self.user else f"{self.scheme}:{self.host}"

    def with_params(self, **params: str | None) -> SipUri:
        return replace(self, params={**self.params, **params})


@dataclass(frozen=True, slots=True)
class NameAddress:
    """``"Display" <uri>;tag=x`` or ``uri;tag=x`` (From, To, Contact, Route, Record-Route).

    ``uri`` is kept as text: most of the core only compares or copies it; call
    `SipUri.parse` on it when its parts are needed. ``uri == "*"`` is the wildcard Contact.
    """

    uri: str
    display_name: str | None = None
    params: Params = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddress:
        text = text.strip()
        if text == "*":
            return cls("*")
        display: str | None = None
        if "<" in text:
            lt = text.index("<")
            gt = text.find(">", lt)
            if gt < 0:
                raise RemoteProtocolError(f"unterminated <...> in {text!r}")
            display = text[:lt].strip() or None
            if display and display.startswith('"'):
                if not display.endswith('"') or len(display) < 2:
                    raise RemoteProtocolError(f"bad display name in {text!r}")
                display = display[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            uri = text[lt + 1 : gt].strip()
            params = parse_params(text[gt + 1 :])
        else:
            # addr-spec form: parameters after the URI belong to the header (§20.10).
            uri, _, ptext = text.partition(";")
            uri = uri.strip()
            params = parse_params(ptext)
        if ":" not in uri:
            raise RemoteProtocolError(f"bad URI in {text!r}")
        return cls(uri, display, params)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddress:
        return replace(self, params={**self.params, "tag": tag})

    def sip_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    def __str__(self) -> str:
        if self.uri == "*":
            return "*"
        name = ""
        if self.display_name is not None:
            escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
            name = f'"{escaped}" '
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
        proto, _, rest = text.strip().partition(" ")
        parts = proto.split("/")
        if len(parts) != 3 or parts[0].strip().upper() != "SIP" or parts[1].strip() != "2.0":
            raise RemoteProtocolError(f"bad Via protocol {text!r}")
        sent_by, _, ptext = rest.strip().partition(";")
        sent_by = "".join(sent_by.split())  # "host : port" is legal (LWS around ':')
        host, port = _split_hostport(sent_by)
        return cls(parts[2].strip().upper(), host.lower(), port, parse_params(ptext))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def with_params(self, **params: str | None) -> Via:
        return replace(self, params={**self.params, **params})

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {_join_hostport(self.host, self.port)}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (§20.16): sequence < 2**31, method a token."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise RemoteProtocolError(f"bad CSeq {text!r}")
        seq = int(parts[0])
        if seq >= 2**31:
            raise RemoteProtocolError(f"CSeq number out of range {text!r}")
        if not set(parts[1]) <= TOKEN_CHARS:
            raise RemoteProtocolError(f"bad CSeq method {text!r}")
        return cls(seq, parts[1])

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"
