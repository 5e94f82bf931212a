"""Protocol errors, split the way h11 splits them.

`RemoteProtocolError` means the peer sent something RFC 3261 does not allow; it carries the
status code a server should answer with (``status_hint``) and, when enough of the message was
understood to route a response (Via, From, To, Call-ID, CSeq), the partially parsed request
(``request``) so the transport can answer ``400`` instead of dropping the datagram.

`LocalProtocolError` means *our* code misused the API (sent a 2xx after a 487, answered a
transaction twice). It is a bug on our side, never the peer's fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Request

__all__ = ["LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


class ProtocolError(Exception):
    """Base of every SIP protocol error."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol.

    ``status_hint`` is the response a UAS should send (400 unless said otherwise);
    ``request`` is set when the message was a request whose routing headers parsed, so that
    a response can be built and sent back (RFC 3261 §8.2: "SHOULD return a 400").
    """

    def __init__(
        self, reason: str, *, status_hint: int = 400, request: Request | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_hint = status_hint
        self.request = request


class LocalProtocolError(ProtocolError):
    """Our own code tried something the protocol forbids."""
