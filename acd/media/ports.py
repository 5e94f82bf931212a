"""RTP port allocation: one UDP socket per stream, even ports from a configured range.

RTP uses the even port (RFC 3550 §11); port+1 is *reserved* for RTCP but not bound:
the ACD neither sends nor needs RTCP for announcements, and leaving it unbound halves
the file descriptors (500 streams = 500 sockets).  Because only even ports are ever
handed out, port+1 is never given to another stream.  RTCP a peer sends there draws
an ICMP port-unreachable, which peers ignore.

Allocation is round-robin through the range (a port just released is the *last* to
be reused, so stray packets of a finished call do not land in the next one); a port
someone else holds is skipped (bind fails) and tried again on a later pass.
"""

from __future__ import annotations

import socket

__all__ = ["MediaError", "PortRange"]


class MediaError(RuntimeError):
    """A media operation failed; ``code`` is a stable string."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class PortRange:
    """Even UDP ports in ``[start, end]`` on *host* (``0.0.0.0``, ``::`` or one address)."""

    def __init__(self, start: int = 16384, end: int = 32767, host: str = "0.0.0.0") -> None:
        if not 1024 <= start <= end <= 65535:
            raise ValueError(f"RTP port range {start}-{end} must lie within 1024-65535")
        self.start = start + (start % 2)
        self.end = end
        if self.start > self.end:
            raise ValueError(f"RTP port range {start}-{end} contains no even port")
        self.host = host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._next = self.start
        self._in_use: set[int] = set()

    @property
    def capacity(self) -> int:
        return (self.end - self.start) // 2 + 1

    @property
    def in_use(self) -> int:
        return len(self._in_use)

    def bind(self) -> tuple[socket.socket, int]:
        """A non-blocking UDP socket bound to the next free even port, and that port."""
        for _ in range(self.capacity):
            port = self._next
            self._next = port + 2 if port + 2 <= self.end else self.start
            if port in self._in_use:
                continue
            sock = socket.socket(self.family, socket.SOCK_DGRAM)
            try:
                sock.bind((self.host, port))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            self._in_use.add(port)
            return sock, port
        raise MediaError("no-free-port",
                         f"all {self.capacity} RTP ports in {self.start}-{self.end} are busy")

    def release(self, port: int) -> None:
        self._in_use.discard(port)
