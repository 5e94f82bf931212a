"""Cutting a byte stream (TCP) into SIP messages (RFC 3261 §18.3, RFC 5626 §3.5.1).

Feed bytes as they arrive, in pieces of any size; complete frames come out. Content-Length is
mandatory on streams. CRLF keep-alives between messages are consumed: a double CRLF ("ping")
is reported so the transport can answer a single CRLF ("pong"), even when its four bytes
arrive one at a time. The head is scanned once: each feed resumes the search for the blank
line where the last one stopped, so byte-by-byte feeding stays linear.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RemoteProtocolError
from .message import MAX_MESSAGE_SIZE

__all__ = ["KeepAlive", "StreamFramer"]

_CONTENT_LENGTH_NAMES = (b"content-length", b"l")


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A CRLFCRLF ping arrived between messages; answer with CRLF."""


class StreamFramer:
    """Incremental framer. After a `RemoteProtocolError` the stream is unusable: close it."""

    __slots__ = ("_buf", "_crlfs", "_need", "_scan")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int | None = None  # total frame length once the head is known
        self._scan = 0  # where the search for CRLFCRLF resumes
        self._crlfs = 0  # CRLF pairs seen between messages, not yet reported

    def feed(self, data: bytes) -> list[bytes | KeepAlive]:
        buf = self._buf
        buf += data
        out: list[bytes | KeepAlive] = []
        while True:
            if self._need is None:
                # Leading CRLFs are keep-alives, not messages.
                stripped = 0
                while buf[stripped : stripped + 2] == b"\r\n":
                    stripped += 2
                    self._crlfs += 1
                    if self._crlfs == 2:
                        out.append(KeepAlive())
                        self._crlfs = 0
                if stripped:
                    del buf[:stripped]
                    self._scan = 0
                if not buf or buf == b"\r":
                    return out  # nothing, or half of a CRLF
                head_end = buf.find(b"\r\n\r\n", max(0, self._scan - 3))
                if head_end < 0:
                    if len(buf) > MAX_MESSAGE_SIZE:
                        raise RemoteProtocolError(
                            "header block larger than 64 KiB", status_hint=513
                        )
                    self._scan = len(buf)
                    return out
                self._crlfs = 0
                self._need = head_end + 4 + _content_length(bytes(buf[:head_end]))
                if self._need > MAX_MESSAGE_SIZE:
                    raise RemoteProtocolError("message larger than 64 KiB", status_hint=513)
            if len(buf) < self._need:
                return out
            out.append(bytes(buf[: self._need]))
            del buf[: self._need]
            self._need = None
            self._scan = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)


def _content_length(head: bytes) -> int:
    """The Content-Length of a head (long or compact name, any case, folded or not)."""
    found: bytes | None = None
    current: bytearray | None = None  # value being accumulated, if the field is C-L
    values: list[bytes] = []
    for line in head.split(b"\r\n")[1:]:
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current += b" " + line.strip()
            continue
        if current is not None:
            values.append(bytes(current))
            current = None
        name, colon, value = line.partition(b":")
        if colon and name.rstrip(b" \t").lower() in _CONTENT_LENGTH_NAMES:
            current = bytearray(value.strip())
    if current is not None:
        values.append(bytes(current))
    for text in values:
        text = text.strip()
        if not text.isdigit() or len(text) > 10:
            raise RemoteProtocolError(f"bad Content-Length {text[:20]!r}")
        if found is not None and found != text:
            raise RemoteProtocolError("conflicting Content-Length headers")
        found = text
    if found is None:
        raise RemoteProtocolError("Content-Length required on a stream transport")
    return int(found)
