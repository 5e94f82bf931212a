"""Cutting a byte stream (TCP) into SIP messages (RFC 3261 §18.3, RFC 5626 §3.5.1).

Feed bytes as they arrive, in pieces of any size; complete frames come out. Content-Length is
mandatory on streams. CRLF keep-alives between messages are consumed: a double CRLF ("ping")
is reported so the transport can answer a single CRLF ("pong").
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RemoteProtocolError
from .message import MAX_MESSAGE_SIZE

__all__ = ["KeepAlive", "StreamFramer"]


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A CRLFCRLF ping arrived between messages; answer with CRLF."""


class StreamFramer:
    """Incremental framer. After a `RemoteProtocolError` the stream is unusable: close it."""

    __slots__ = ("_buf", "_need")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int | None = None  # total frame length once the head is known

    def feed(self, data: bytes) -> list[bytes | KeepAlive]:
        self._buf += data
        out: list[bytes | KeepAlive] = []
        while True:
            if self._need is None:
                # Leading CRLFs are keep-alives, not messages.
                stripped = 0
                while self._buf[stripped : stripped + 2] == b"\r\n":
                    stripped += 2
                if stripped:
                    if stripped >= 4:
                        out.append(KeepAlive())
                    del self._buf[:stripped]
                head_end = self._buf.find(b"\r\n\r\n")
                if head_end < 0:
                    if len(self._buf) > MAX_MESSAGE_SIZE:
                        raise RemoteProtocolError("header block larger than 64 KiB", status_hint=513)
                    return out
                self._need = head_end + 4 + _content_length(bytes(self._buf[:head_end]))
                if self._need > MAX_MESSAGE_SIZE:
                    raise RemoteProtocolError("message larger than 64 KiB", status_hint=513)
            if len(self._buf) < self._need:
                return out
            out.append(bytes(self._buf[: self._need]))
            del self._buf[: self._need]
            self._need = None

    @property
    def buffered(self) -> int:
        return len(self._buf)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            text = value.strip()
            if not text.isdigit():
                raise RemoteProtocolError(f"bad Content-Length {text[:20]!r}")
            return int(text)
    raise RemoteProtocolError("Content-Length required on a stream transport")
