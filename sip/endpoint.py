"""The sans-IO SIP endpoint that `sip.transport` drives (aioquic style).

Inputs: `Endpoint.receive(data, source, now)` for every datagram / stream frame,
`send_request`, `send_response`, `send_ack`, `cancel`, `transport_error` and
`handle_timer(now)`. Outputs: `next_event()` / `events()`, `datagrams_to_send()` and
`get_timer()`, the next deadline at which `handle_timer` must be called.

The endpoint parses, routes messages to transactions (§17.1.3, §17.2.3), stamps Via with
``received``/``rport`` (§18.2.1, RFC 3581), picks where responses go (§18.2.2, RFC 3581),
answers CANCEL (§9.2), answers requests it cannot parse with 4xx/5xx and a Warning, and
counts what it sees for metrics. It never raises out of `receive`: a bad peer becomes a
`MessageRejected` event.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import LocalProtocolError, RemoteProtocolError
from .headers import Via, split_list
from .message import Request, Response, make_response, parse_message
from .transaction import Outbox, Transaction, TransactionConfig
from .transaction_events import (
    Address,
    Event,
    MessageRejected,
    SipStats,
    TransactionKey,
    Transmit,
)
from .transaction_table import Input, Kind, State, TimerConfig
from .transaction_util import MAGIC_COOKIE, client_key, new_branch, new_tag, server_key

__all__ = ["Endpoint", "EndpointConfig"]

_DialogKey = tuple[str, int, str | None]  # Call-ID, CSeq number, From tag: 2xx ACK matching


def _default_sent_by() -> dict[str, tuple[str, int]]:
    return {"udp": ("127.0.0.1", 5060), "tcp": ("127.0.0.1", 5060)}


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """``sent_by`` maps a transport ("udp", "tcp") to the host and port we put in Via and
    recognise in responses (§18.1.2)."""

    sent_by: Mapping[str, tuple[str, int]] = field(default_factory=_default_sent_by)
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    auto_trying: bool = True
    server: str | None = "hotline-acd"


def _response_dest(via: Via, source: Address) -> Address:
    """§18.2.2 + RFC 3581: same connection on TCP; on UDP the source IP (= received) and
    the source port if the request asked for rport, else the sent-by port."""
    if source.reliable:
        return source
    port = source.port if "rport" in via.params else (via.port or 5060)
    return Address(source.transport, source.host, port)


def _dialog_key(request: Request) -> _DialogKey:
    return (request.call_id, request.cseq.seq, request.from_.tag)


def _quote(text: str) -> str:
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"')[:200] + '"'


class Endpoint:
    """All transactions of one SIP endpoint, and the wire-facing rules around them."""

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self.stats = SipStats()
        self._txn_config = TransactionConfig(
            TimerConfig(self.config.t1, self.config.t2, self.config.t4),
            self.config.auto_trying,
            self.config.server,
        )
        self._outbox = Outbox(self.stats)
        self._events: deque[Event] = self._outbox.events
        self._clients: dict[TransactionKey, Transaction] = {}
        self._servers: dict[TransactionKey, Transaction] = {}
        self._accepted: dict[_DialogKey, TransactionKey] = {}
        self._heap: list[tuple[float, int, Transaction]] = []
        self._seq = itertools.count()
        self._ours = {(h.lower(), p) for h, p in self.config.sent_by.values()}

    # -- outputs ---------------------------------------------------------------------------
    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def events(self) -> list[Event]:
        out = list(self._events)
        self._events.clear()
        return out

    def datagrams_to_send(self) -> list[Transmit]:
        out = self._outbox.transmits
        self._outbox.transmits = []
        return out

    def get_timer(self) -> float | None:
        heap = self._heap
        while heap:
            deadline, _, txn = heap[0]
            if txn.scheduled == deadline and txn.state is not State.TERMINATED:
                return deadline
            heapq.heappop(heap)
        return None

    @property
    def live_transactions(self) -> int:
        return len(self._clients) + len(self._servers)

    def transaction(self, key: TransactionKey) -> Transaction | None:
        """The live transaction ``key`` (introspection; do not feed it directly)."""
        return (self._clients if key.is_client else self._servers).get(key)

    def local_via(self, transport: str = "udp", branch: str | None = None) -> str:
        """A Via value for a request we send: our sent-by, a fresh branch, rport."""
        host, port = self.config.sent_by[transport]
        return f"SIP/2.0/{transport.upper()} {host}:{port};branch={branch or new_branch()};rport"

    # -- local inputs ----------------------------------------------------------------------
    def send_request(self, request: Request, dest: Address, now: float) -> TransactionKey:
        """Start a client transaction; the request's top Via must carry a fresh RFC 3261
        branch (`new_branch()`). Returns its key."""
        if request.method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"send {request.method} with send_ack() / cancel()")
        try:
            branch = request.top_via.branch
            cseq = request.cseq
        except RemoteProtocolError as exc:
            raise LocalProtocolError(f"request not sendable: {exc.reason}") from exc
        if not branch or not branch.startswith(MAGIC_COOKIE):
            raise LocalProtocolError("top Via needs a branch starting with z9hG4bK")
        if cseq.method != request.method:
            raise LocalProtocolError("CSeq method differs from the request method")
        key = TransactionKey(branch, request.method)
        if key in self._clients:
            raise LocalProtocolError(f"branch {branch} already used by a live transaction")
        kind = Kind.INVITE_CLIENT if request.method == "INVITE" else Kind.NON_INVITE_CLIENT
        txn = Transaction(kind, key, request, dest, self._outbox, self._txn_config)
        self._clients[key] = txn
        txn.feed(Input.SEND_REQUEST, now)
        self._after(txn, now)
        return key

    def send_response(self, key: TransactionKey, response: Response, now: float) -> None:
        """Answer server transaction ``key``. Raises LocalProtocolError when the transaction
        is gone or refuses (a final already sent — after a CANCEL's 487: caller gone)."""
        txn = self._servers.get(key)
        if txn is None or not txn.pass_up:
            raise LocalProtocolError(f"no live server transaction {key}")
        status = response.status
        if status < 200:
            inp = Input.SEND_1XX
        elif status < 300:
            inp = Input.SEND_2XX
        else:
            inp = Input.SEND_FINAL
        if self.config.server and "Server" not in response.headers:
            response.headers.add("Server", self.config.server)
        try:
            txn.feed(inp, now, response)
        finally:
            self._after(txn, now)
        if txn.state is State.ACCEPTED:
            self._accepted[_dialog_key(txn.request)] = key

    def send_ack(self, ack: Request, dest: Address, now: float) -> None:
        """Send the ACK for a 2xx (§13.2.2.4): no transaction, the TU resends it for each
        2xx retransmission it is told about."""
        if ack.method != "ACK":
            raise LocalProtocolError("send_ack sends ACK requests only")
        self.stats.requests_sent["ACK"] += 1
        self._outbox.transmits.append(Transmit(bytes(ack), dest))

    def cancel(self, key: TransactionKey, now: float, reason: str | None = None) -> bool:
        """Cancel INVITE client transaction ``key`` (§9.1): the CANCEL goes out once a
        provisional has arrived. Returns False when it is too late (a final response was
        received or the transaction ended) — its final is then, or was, reported.
        ``reason`` is an RFC 3326 Reason header value."""
        txn = self._clients.get(key)
        if txn is None:
            return False
        if txn.kind is not Kind.INVITE_CLIENT:
            raise LocalProtocolError("only an INVITE can be cancelled")
        pending = txn.state in (State.CALLING, State.PROCEEDING)
        if pending and not txn.cancel_wanted:
            txn.reason = reason
        txn.feed(Input.CANCEL, now)
        self._after(txn, now)
        return pending

    def transport_error(self, dest: Address, now: float) -> None:
        """The transport could not reach ``dest`` (ICMP error, TCP connection lost)."""
        for txn in [*self._clients.values(), *self._servers.values()]:
            if txn.dest == dest and txn.state is not State.TERMINATED:
                txn.feed(Input.TRANSPORT_ERROR, now)
                self._after(txn, now)

    def handle_timer(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, txn = heapq.heappop(heap)
            if txn.scheduled != deadline or txn.state is State.TERMINATED:
                continue  # stale entry
            txn.scheduled = None
            txn.handle_timer(now)
            self._after(txn, now)

    # -- remote input ----------------------------------------------------------------------
    def receive(self, data: bytes, source: Address, now: float) -> None:
        """One datagram, or one frame cut by `StreamFramer` on a stream transport."""
        if not data.strip(b"\r\n"):
            return  # RFC 5626 CRLF keep-alive
        try:
            msg = parse_message(data, stream=source.reliable)
        except RemoteProtocolError as exc:
            self._reject(exc, source)
            return
        try:
            if isinstance(msg, Request):
                self._receive_request(msg, source, now)
            else:
                self._receive_response(msg, source, now)
        except RemoteProtocolError as exc:  # a header parsed lazily was bad
            routable = isinstance(msg, Request) and msg.method != "ACK"
            self._reject(
                RemoteProtocolError(
                    exc.reason,
                    status_hint=exc.status_hint,
                    request=msg if routable and isinstance(msg, Request) else None,
                ),
                source,
            )

    def _receive_request(self, req: Request, source: Address, now: float) -> None:
        self.stats.requests_received[req.method] += 1
        via = self._stamp_via(req, source)
        key = server_key(req)
        if req.method == "ACK":
            self._receive_ack(req, key, source, now)
            return
        txn = self._servers.get(key)
        if txn is not None:
            self.stats.retransmissions_received += 1
            txn.feed(Input.RECV_RETRANSMIT, now, req)
            self._after(txn, now)
            return
        kind = Kind.INVITE_SERVER if req.method == "INVITE" else Kind.NON_INVITE_SERVER
        is_cancel = req.method == "CANCEL"
        txn = Transaction(
            kind,
            key,
            req,
            _response_dest(via, source),
            self._outbox,
            self._txn_config,
            source=source,
            pass_up=not is_cancel,
        )
        self._servers[key] = txn
        txn.feed(Input.RECV_REQUEST, now, req)
        if is_cancel:
            self._answer_cancel(txn, now)
        self._after(txn, now)

    def _answer_cancel(self, txn: Transaction, now: float) -> None:
        """§9.2: 200 to the CANCEL, then the INVITE's 487; 481 if it matches nothing."""
        invite = self._servers.get(txn.key._replace(method="INVITE"))
        if invite is None or invite.kind is not Kind.INVITE_SERVER:
            txn.feed(Input.SEND_FINAL, now, self._core_response(txn.request, 481))
            return
        ok = self._core_response(txn.request, 200, invite.to_tag or new_tag())
        txn.feed(Input.SEND_2XX, now, ok)
        invite.feed(Input.RECV_CANCEL, now, txn.request)
        self._after(invite, now)

    def _receive_ack(self, ack: Request, key: TransactionKey, source: Address, now: float) -> None:
        txn = self._servers.get(key)  # ACK for a non-2xx: same branch as the INVITE
        if txn is None:  # ACK for a 2xx: its own branch, matched through the dialog
            accepted = self._accepted.get(_dialog_key(ack))
            txn = self._servers.get(accepted) if accepted is not None else None
        if txn is None or txn.kind is not Kind.INVITE_SERVER:
            self.stats.stray_acks += 1
            return
        txn.ack_source = source
        txn.feed(Input.RECV_ACK, now, ack)
        self._after(txn, now)

    def _receive_response(self, resp: Response, source: Address, now: float) -> None:
        status = resp.status
        self.stats.responses_received[status] += 1
        via = resp.top_via
        txn = None
        if (via.host, via.port or 5060) in self._ours:
            txn = self._clients.get(client_key(resp))
        if txn is None:
            self.stats.stray_responses += 1  # §18.1.2: not ours, or no transaction
            return
        if status < 200:
            inp = Input.RECV_1XX
        elif status < 300:
            inp = Input.RECV_2XX
        else:
            inp = Input.RECV_FINAL
        if txn.state in (State.COMPLETED, State.ACCEPTED):
            self.stats.retransmissions_received += 1
        txn.feed(inp, now, resp)
        self._after(txn, now)

    # -- helpers ---------------------------------------------------------------------------
    def _stamp_via(self, req: Request, source: Address) -> Via:
        """§18.2.1 / RFC 3581: ``received`` when the source IP differs from sent-by (always
        when rport is asked for), ``rport`` filled with the source port."""
        via = req.top_via
        rport = "rport" in via.params
        if not rport and via.host.strip("[]") == source.host.strip("[]"):
            return via
        # RFC 3261 via-received is a bare IPv6address; RFC 5118 §4.5: do not send brackets.
        received = source.host.strip("[]")
        if rport:
            stamped = via.with_params(received=received, rport=str(source.port))
        else:
            stamped = via.with_params(received=received)
        fields = req.headers._fields
        for i, (name, value) in enumerate(fields):
            if name == "Via":
                first = str(stamped)
                if "," in value:
                    first = ", ".join([first, *split_list(value)[1:]])
                fields[i] = ("Via", first)
                break
        # Only the top Via changed: From, To, CSeq stay parsed (Via.parse(str(v)) == v).
        req._via = [stamped, *req.via[1:]]
        return stamped

    def _core_response(self, req: Request, status: int, to_tag: str | None = None) -> Response:
        extra = [("Server", self.config.server)] if self.config.server else None
        return make_response(req, status, to_tag=to_tag, extra=extra)

    def _reject(self, exc: RemoteProtocolError, source: Address) -> None:
        """Answer a routable bad request with ``status_hint`` and a Warning (§8.2, §20.43);
        drop anything else. Always report it."""
        self.stats.rejected += 1
        status: int | None = None
        req = exc.request
        if req is not None and req.method != "ACK":
            try:
                # Re-check what a response copies: the parser's notion of routable may be
                # looser than what we are willing to echo back.
                req.cseq  # noqa: B018
                req.from_  # noqa: B018
                req.to  # noqa: B018
                host = self.config.sent_by.get(source.transport, ("-", 0))[0]
                resp = self._core_response(req, exc.status_hint, new_tag())
                resp.headers.add("Warning", f"399 {host} {_quote(exc.reason)}")
                dest = _response_dest(req.top_via, source)
                self.stats.responses_sent[resp.status] += 1
                self._outbox.transmits.append(Transmit(bytes(resp), dest))
                status = resp.status
            except RemoteProtocolError:
                status = None
        self._events.append(MessageRejected(reason=exc.reason, status=status, source=source))

    def _after(self, txn: Transaction, now: float) -> None:
        """Start the CANCELs a transaction asked for, forget ended transactions, and
        (re)schedule the next deadline."""
        outbox = self._outbox
        while outbox.cancels:
            cancel, dest = outbox.cancels.pop(0)
            key = TransactionKey(txn.key.branch, "CANCEL")
            ctx = Transaction(Kind.NON_INVITE_CLIENT, key, cancel, dest, outbox, self._txn_config)
            self._clients[key] = ctx
            ctx.feed(Input.SEND_REQUEST, now)
            self._schedule(ctx)
        self._schedule(txn)

    def _schedule(self, txn: Transaction) -> None:
        if txn.state is State.TERMINATED:
            table = self._clients if txn.kind.is_client else self._servers
            if table.get(txn.key) is txn:
                del table[txn.key]
            if txn.kind is Kind.INVITE_SERVER and txn.last_response is not None:
                self._accepted.pop(_dialog_key(txn.request), None)
            txn.scheduled = None
            return
        deadline = txn.next_deadline()
        if deadline != txn.scheduled:
            txn.scheduled = deadline
            if deadline is not None:
                heapq.heappush(self._heap, (deadline, next(self._seq), txn))
