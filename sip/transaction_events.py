"""What the transaction layer and the endpoint hand to their user: addresses, datagrams to
send, events (past-tense facts), transaction keys and counters.

Events are frozen, slotted, keyword-only dataclasses. The runtime logs each one once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from .message import Request, Response

__all__ = [
    "AckReceived",
    "AckTimedOut",
    "Address",
    "CancelReceived",
    "Event",
    "MessageRejected",
    "RequestReceived",
    "ResponseReceived",
    "SipStats",
    "TransactionKey",
    "TransactionTerminated",
    "TransactionTimedOut",
    "Transmit",
    "TransportFailed",
]


class Address(NamedTuple):
    """A transport address. For TCP/TLS, (transport, host, port) names the connection."""

    transport: str  # "udp" | "tcp" | "tls"
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


class Transmit(NamedTuple):
    """Bytes the transport must send to ``dest``."""

    data: bytes
    dest: Address


class TransactionKey(NamedTuple):
    """Identifies a transaction (§17.1.3, §17.2.3).

    ``branch`` is the top Via branch (for an RFC 2543 peer without the magic cookie, a
    synthetic one built from Call-ID, From tag, CSeq number and the Via); ``method`` is the
    CSeq method, with ACK counted as INVITE; ``sent_by`` is the top Via sent-by for server
    transactions and ``""`` for client transactions.
    """

    branch: str
    method: str
    sent_by: str = ""

    @property
    def is_client(self) -> bool:
        return not self.sent_by


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReceived:
    """A new request created the server transaction ``key``; answer it with
    `Endpoint.send_response`. Retransmissions are absorbed and never reported."""

    key: TransactionKey
    request: Request
    source: Address


@dataclass(frozen=True, slots=True, kw_only=True)
class AckReceived:
    """The ACK for a 2xx we sent (§13.3.1.4): the 2xx is no longer retransmitted.
    ``key`` is the INVITE server transaction it acknowledged."""

    key: TransactionKey
    request: Request
    source: Address


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReceived:
    """A CANCEL matched the pending INVITE server transaction ``key`` (§9.2). The CANCEL was
    answered 200 and the INVITE 487: any further response on ``key`` is refused."""

    key: TransactionKey
    request: Request


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived:
    """A response for client transaction ``key`` (retransmissions are absorbed, except 2xx
    to INVITE, which the TU must ACK each time — RFC 6026 §8.4)."""

    key: TransactionKey
    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTimedOut:
    """Timer B/F (no final response: treat as 408, §8.1.3.1) or H (no ACK for our non-2xx
    final) fired; ``timer`` is the RFC letter."""

    key: TransactionKey
    timer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AckTimedOut:
    """Our 2xx went unacknowledged for 64*T1 (§13.3.1.4): the TU should send BYE."""

    key: TransactionKey


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportFailed:
    """The transport reported ``dest`` unreachable while ``key`` was using it (§17.1.1.2,
    §17.2.4): for a client transaction, treat as 503."""

    key: TransactionKey
    dest: Address


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTerminated:
    """Transaction ``key`` is gone; its key may be forgotten."""

    key: TransactionKey


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRejected:
    """A message from ``source`` could not be used. ``status`` is what we answered with
    (400, 505, 513, ...) or None when it was dropped (unroutable, a response, an ACK)."""

    reason: str
    status: int | None
    source: Address


Event = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | ResponseReceived
    | TransactionTimedOut
    | AckTimedOut
    | TransportFailed
    | TransactionTerminated
    | MessageRejected
)


@dataclass(slots=True)
class SipStats:
    """Counters for metrics; the runtime exports them (they only ever grow)."""

    requests_received: Counter[str] = field(default_factory=Counter)  # by method
    responses_received: Counter[int] = field(default_factory=Counter)  # by status
    requests_sent: Counter[str] = field(default_factory=Counter)
    responses_sent: Counter[int] = field(default_factory=Counter)
    retransmissions_sent: int = 0
    retransmissions_received: int = 0  # absorbed requests and responses
    stray_acks: int = 0
    stray_responses: int = 0  # no transaction, or not our Via
    rejected: int = 0  # unparseable messages
    timeouts: Counter[str] = field(default_factory=Counter)  # by timer letter
