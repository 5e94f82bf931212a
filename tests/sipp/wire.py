"""A tiny raw-socket SIP peer for tests that must see the exact bytes on the wire.

Requests are plain text built here (digest answers use our own `sip.digest` to compute the
hash); responses are parsed by the few lines below, from the raw bytes received, never by
`sip.message`, so an assertion on a header is an assertion on what the ACD really sent.
Every receive is bounded by a timeout: nothing here sleeps.
"""

from __future__ import annotations

import re
import secrets
import socket
from dataclasses import dataclass, field

from sip.digest import digest_response, ha1

__all__ = [
    "RawMessage",
    "TcpPeer",
    "UdpPeer",
    "auth_params",
    "authorization",
    "build_request",
    "family_of",
    "params_of",
]


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bracket(host: str) -> str:
    """A host as it appears in a SIP URI or Via: IPv6 in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass
class RawMessage:
    """A message as received: start line, header fields in order (names as sent), body."""

    raw: bytes
    start: str
    fields: list[tuple[str, str]]
    body: bytes

    @classmethod
    def parse(cls, data: bytes) -> RawMessage:
        head, sep, body = data.partition(b"\r\n\r\n")
        assert sep, f"no blank line in {data[:200]!r}"
        lines = head.decode("utf-8").split("\r\n")
        fields = []
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            assert colon, f"bad header line {line!r}"
            fields.append((name.strip(), value.strip()))
        return cls(data, lines[0], fields, body)

    @property
    def status(self) -> int:
        assert self.start.startswith("SIP/2.0 "), self.start
        return int(self.start.split(" ", 2)[1])

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.fields]

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.fields if n.lower() == name.lower()]

    def header(self, name: str) -> str:
        values = self.all(name)
        assert len(values) == 1, f"{name}: {values!r} in\n{self.raw.decode(errors='replace')}"
        return values[0]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def text(self) -> str:
        return self.raw.decode(errors="replace")


def params_of(value: str) -> dict[str, str | None]:
    """``;name=value`` parameters of a header value (Via, Contact) after its first ``;``."""
    out: dict[str, str | None] = {}
    for part in value.split(";")[1:]:
        name, eq, val = part.strip().partition("=")
        out[name.lower()] = val if eq else None
    return out


_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)\s*(?:,|$)')


def auth_params(value: str) -> dict[str, str]:
    """The parameters of a ``Digest ...`` challenge (quotes removed)."""
    scheme, _, rest = value.partition(" ")
    assert scheme.lower() == "digest", value
    out = {}
    for match in _AUTH_PARAM.finditer(rest):
        raw = match.group(2)
        out[match.group(1).lower()] = raw[1:-1] if raw.startswith('"') else raw
    return out


def authorization(
    challenge: str,
    *,
    user: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """An Authorization value answering one WWW-Authenticate challenge (qop=auth)."""
    p = auth_params(challenge)
    algorithm = p.get("algorithm", "MD5")
    cnonce = cnonce or secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    response = digest_response(
        algorithm=algorithm,
        ha1_hex=ha1(user, p["realm"], password, algorithm),
        nonce=p["nonce"],
        method=method,
        uri=uri,
        qop="auth",
        nc=nc_text,
        cnonce=cnonce,
    )
    return (
        f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", uri="{uri}", '
        f'response="{response}", algorithm={algorithm}, qop=auth, nc={nc_text}, '
        f'cnonce="{cnonce}"'
    )


@dataclass
class Dialogish:
    """Identifiers a UA keeps across the requests of one registration (§10.2.4)."""

    call_id: str = field(default_factory=lambda: secrets.token_hex(12))
    from_tag: str = field(default_factory=lambda: secrets.token_hex(4))
    cseq: int = 0

    def next_cseq(self) -> int:
        self.cseq += 1
        return self.cseq


def build_request(
    method: str,
    uri: str,
    *,
    via: str,
    from_uri: str,
    to_uri: str,
    ids: Dialogish | None = None,
    cseq: int | None = None,
    cseq_method: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    content_length: str | None = None,
) -> bytes:
    """One request as bytes. ``via`` is the whole top Via value (tests choose sent-by and
    rport); ``content_length`` overrides the computed value (to lie about the body)."""
    ids = ids or Dialogish()
    number = cseq if cseq is not None else ids.next_cseq()
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        f"From: <{from_uri}>;tag={ids.from_tag}",
        f"To: <{to_uri}>",
        f"Call-ID: {ids.call_id}",
        f"CSeq: {number} {cseq_method or method}",
    ]
    lines += [f"{name}: {value}" for name, value in extra or []]
    lines.append(f"Content-Length: {content_length if content_length is not None else len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


class UdpPeer:
    """One UDP socket: send to the ACD, wait (bounded) for what comes back."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.host = host
        self.port = int(self.sock.getsockname()[1])

    def __enter__(self) -> UdpPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    @property
    def sent_by(self) -> str:
        return f"{bracket(self.host)}:{self.port}"

    def via(self, *, sent_by: str | None = None, rport: bool = True, branch: str = "") -> str:
        value = f"SIP/2.0/UDP {sent_by or self.sent_by};branch={branch or new_branch()}"
        return value + (";rport" if rport else "")

    def send(self, data: bytes, dest: tuple[str, int]) -> None:
        self.sock.sendto(data, dest)

    def recv(self, timeout: float) -> tuple[bytes, tuple[str, int]] | None:
        """The next datagram, or None after ``timeout`` seconds of silence."""
        self.sock.settimeout(timeout)
        try:
            data, addr = self.sock.recvfrom(70000)
        except TimeoutError:
            return None
        return data, (addr[0], addr[1])

    def response(self, timeout: float = 5.0, *, skip_provisional: bool = True) -> RawMessage:
        """The next response (100 Trying skipped); fails the test after ``timeout``."""
        while True:
            got = self.recv(timeout)
            assert got is not None, f"no response within {timeout} s on port {self.port}"
            msg = RawMessage.parse(got[0])
            if msg.start.startswith("SIP/2.0 1") and skip_provisional:
                continue
            return msg

    def drain(self, timeout: float = 0.05) -> list[bytes]:
        out = []
        while (got := self.recv(timeout)) is not None:
            out.append(got[0])
        return out


class TcpPeer:
    """One TCP connection to the ACD."""

    def __init__(self, dest: tuple[str, int], timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(dest, timeout=timeout)
        host, port = self.sock.getsockname()[:2]
        self.host, self.port = host, int(port)
        self._buf = b""

    def __enter__(self) -> TcpPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    @property
    def sent_by(self) -> str:
        return f"{bracket(self.host)}:{self.port}"

    def via(self, *, rport: bool = True) -> str:
        return f"SIP/2.0/TCP {self.sent_by};branch={new_branch()}" + (";rport" if rport else "")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, timeout: float = 5.0) -> RawMessage:
        """The next final response framed by Content-Length (100 Trying skipped)."""
        while True:
            msg = self._message(timeout)
            if not msg.start.startswith("SIP/2.0 1"):
                return msg

    def _message(self, timeout: float) -> RawMessage:
        self.sock.settimeout(timeout)
        while True:
            head_end = self._buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = RawMessage.parse(self._buf[: head_end + 4])
                length = int(head.get("Content-Length") or head.get("l") or 0)
                total = head_end + 4 + length
                if len(self._buf) >= total:
                    data, self._buf = self._buf[:total], self._buf[total:]
                    return RawMessage.parse(data)
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed by the ACD"
            self._buf += chunk

    def closed_by_peer(self, timeout: float) -> bool:
        """True once the ACD closes the connection (EOF or reset) within ``timeout``;
        bytes received meanwhile are kept."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self._buf += chunk
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def register_with_digest(
    peer: UdpPeer | TcpPeer,
    dest: tuple[str, int],
    user: str,
    password: str,
    *,
    domain: str,
    contact: str,
) -> tuple[RawMessage, RawMessage]:
    """REGISTER ``user`` with ``contact`` (Expires 300), answer the first challenge; the
    challenge and the final response to the answer."""
    ids, aor = Dialogish(), f"sip:{user}@{domain}"

    def send(extra: list[tuple[str, str]]) -> RawMessage:
        data = build_request(
            "REGISTER",
            f"sip:{domain}",
            via=peer.via(),
            from_uri=aor,
            to_uri=aor,
            ids=ids,
            extra=[("Contact", contact), ("Expires", "300"), *extra],
        )
        if isinstance(peer, UdpPeer):
            peer.send(data, dest)
        else:
            peer.send(data)
        return peer.response()

    challenge = send([])
    answer = authorization(
        challenge.all("WWW-Authenticate")[0],
        user=user,
        password=password,
        method="REGISTER",
        uri=f"sip:{domain}",
    )
    return challenge, send([("Authorization", answer)])
