"""A minimal SIP user agent for the simulator: one UDP socket on loopback
(`sip.transport.SipTransport`), our sans-IO `sip.endpoint.Endpoint`, one asyncio timer
handle for the endpoint's next deadline, and the helpers every simulated peer needs
(SDP offers/answers with a dummy RTP port, digest credentials).

Events from the endpoint are dispatched to ``on_request`` / ``on_ack`` / ``on_cancel``
(server side) and to the callback registered per client transaction (responses, timeouts,
transport failures). Callbacks run synchronously with ``now`` = ``loop.time()``; after
each one the datagrams are flushed and the timer re-armed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sip.digest import digest_response
from sip.digest_params import DigestParseError, format_params, parse_challenge
from sip.endpoint import Endpoint, EndpointConfig
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.message import Request, Response, make_response
from sip.offer_answer import build_offer, negotiate_answer
from sip.requests import LocalAddress
from sip.sdp import SdpError, SessionDescription
from sip.transaction_events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
)
from sip.transport import SipTransport

__all__ = [
    "ClientHandler",
    "RtpSink",
    "UserAgent",
    "answer_sdp",
    "authorization",
    "offer_sdp",
    "pick_challenge",
]

ClientHandler = Callable[[Event, float], None]
LOOPBACK = "127.0.0.1"


def offer_sdp(host: str, port: int, *, user: str = "sim", session: str = "1",
              version: int = 1) -> bytes:
    """A G.711 offer (PCMU, PCMA, telephone-event) at ``host:port``."""
    return build_offer(local_address=host, local_port=port, session_id=session,
                       version=version, username=user).to_bytes()


def answer_sdp(offer: bytes, host: str, port: int, *, session: str, version: int = 1,
               user: str = "sim") -> bytes | None:
    """Our answer to ``offer`` (None when it cannot be answered: no G.711 audio)."""
    try:
        parsed = SessionDescription.parse(offer)
        answer = negotiate_answer(parsed, local_address=host, local_port=port,
                                  session_id=session, version=version, username=user)
    except (SdpError, ValueError):
        return None
    return answer.to_bytes()


def pick_challenge(values: Iterable[str], prefer: str) -> dict[str, str] | None:
    """The parameters of the challenge to answer: ``prefer`` (``MD5`` / ``SHA-256``) when
    offered, else the first one we support (RFC 8760 §2.4)."""
    usable: list[dict[str, str]] = []
    for value in values:
        try:
            scheme, params = parse_challenge(value)
        except DigestParseError:
            continue
        algorithm = params.get("algorithm", "MD5").upper()
        if scheme == "digest" and algorithm in ("MD5", "SHA-256") and params.get("nonce"):
            usable.append(params | {"algorithm": algorithm})
    for params in usable:
        if params["algorithm"] == prefer.upper():
            return params
    return usable[0] if usable else None


def authorization(challenge: Mapping[str, str], *, username: str,
                  ha1_by_algorithm: Mapping[str, str], method: str, uri: str,
                  nc: int = 1) -> str:
    """An ``Authorization`` value answering ``challenge`` (qop=auth)."""
    algorithm = challenge["algorithm"]
    ha1 = ha1_by_algorithm[algorithm]
    cnonce = secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    params = {
        "username": username, "realm": challenge.get("realm", ""),
        "nonce": challenge["nonce"], "uri": uri, "algorithm": algorithm,
        "response": digest_response(algorithm=algorithm, ha1_hex=ha1,
                                    nonce=challenge["nonce"], method=method, uri=uri,
                                    qop="auth", nc=nc_text, cnonce=cnonce),
        "qop": "auth", "nc": nc_text, "cnonce": cnonce,
    }
    if "opaque" in challenge:
        params["opaque"] = challenge["opaque"]
    return format_params("Digest", params,
                         unquoted=frozenset({"algorithm", "qop", "nc"}))


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.packets += 1


class RtpSink:
    """One UDP socket that swallows every RTP packet sent to the simulated peers' SDP
    port (no audio is needed; it keeps the ACD's media player off ICMP errors)."""

    def __init__(self) -> None:
        self.port = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol = _Sink()

    @property
    def packets(self) -> int:
        return self._protocol.packets

    async def start(self, host: str = LOOPBACK) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self._protocol,
                                                           local_addr=(host, 0))
        self._transport = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        return self.port

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class UserAgent:
    """Base of the simulated phones and PBX (subclasses override the ``on_*`` hooks)."""

    def __init__(self, user: str, *, host: str = LOOPBACK, t1: float = 0.5) -> None:
        self.user = user
        self.host = host
        self.t1 = t1
        self.port = 0
        self.endpoint: Endpoint | None = None
        self.transport: SipTransport | None = None
        self.local: LocalAddress | None = None
        self.errors: list[str] = []
        self._handlers: dict[TransactionKey, ClientHandler] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self.closed = False

    # -- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.transport = SipTransport(self._on_message, self._on_transport_error)
        listener = await self.transport.listen("udp", self.host, 0)
        self.port = listener.port
        self.endpoint = Endpoint(EndpointConfig(
            sent_by={"udp": (self.host, self.port)}, t1=self.t1, t2=max(4.0, self.t1 * 2),
            server=None))
        self.local = LocalAddress(host=self.host, port=self.port, transport="UDP",
                                  contact=f"sip:{self.user}@{self.host}:{self.port}")

    async def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        for handle in self._later:
            handle.cancel()
        self._later.clear()
        if self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.close()

    @property
    def contact(self) -> str:
        assert self.local is not None
        return self.local.contact

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    # -- sending ---------------------------------------------------------------------------
    def send_request(self, request: Request, dest: Address,
                     handler: ClientHandler | None = None) -> TransactionKey | None:
        assert self.endpoint is not None
        try:
            key = self.endpoint.send_request(request, dest, self.now())
        except LocalProtocolError as exc:
            self.errors.append(f"send {request.method}: {exc}")
            return None
        if handler is not None:
            self._handlers[key] = handler
        self.flush()
        return key

    def send_ack(self, ack: Request, dest: Address) -> None:
        assert self.endpoint is not None
        self.endpoint.send_ack(ack, dest, self.now())
        self.flush()

    def respond(self, key: TransactionKey, response: Response) -> bool:
        """Send ``response``; False when the transaction is gone (CANCELled)."""
        assert self.endpoint is not None
        try:
            self.endpoint.send_response(key, response, self.now())
        except LocalProtocolError:
            return False
        finally:
            self.flush()
        return True

    def reply(self, event: RequestReceived, status: int, *, to_tag: str | None = None,
              body: bytes = b"", extra: Iterable[tuple[str, str]] = ()) -> Response:
        fields = list(extra)
        if status < 300 and event.request.method in ("INVITE", "UPDATE", "SUBSCRIBE"):
            fields.append(("Contact", f"<{self.contact}>"))
        if body:
            fields.append(("Content-Type", "application/sdp"))
        response = make_response(event.request, status, to_tag=to_tag, extra=fields,
                                 body=body)
        self.respond(event.key, response)
        return response

    def cancel(self, key: TransactionKey) -> bool:
        assert self.endpoint is not None
        try:
            return self.endpoint.cancel(key, self.now())
        finally:
            self.flush()

    def later(self, delay: float, action: Callable[[float], None]) -> asyncio.TimerHandle:
        """Run ``action(now)`` after ``delay`` seconds (then flush)."""
        assert self._loop is not None
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._later.discard(handle)
            if not self.closed:
                self._guard(action, self.now())

        handle = self._loop.call_later(max(0.0, delay), fire)
        self._later.add(handle)
        return handle

    def forget(self, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            handle.cancel()
            self._later.discard(handle)

    # -- hooks -----------------------------------------------------------------------------
    def on_request(self, event: RequestReceived, now: float) -> None:
        if event.request.method == "OPTIONS":
            self.reply(event, 200)
        else:
            self.reply(event, 501)

    def on_ack(self, event: AckReceived, now: float) -> None:
        pass

    def on_cancel(self, event: CancelReceived, now: float) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------
    def _guard(self, action: Callable[..., Any], *args: Any) -> None:
        try:
            action(*args)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        self.flush()

    def _on_message(self, data: bytes, source: Address, now: float) -> None:
        if self.endpoint is None or self.closed:
            return
        self.endpoint.receive(data, source, now)
        self.flush()

    def _on_transport_error(self, dest: Address, reason: str) -> None:
        self.errors.append(f"transport {dest}: {reason}")
        if self.endpoint is not None:
            self.endpoint.transport_error(dest, self.now())
            self.flush()

    def _on_timer(self) -> None:
        self._timer = None
        self._deadline = None
        if self.endpoint is not None and not self.closed:
            self.endpoint.handle_timer(self.now())
            self.flush()

    def flush(self) -> None:
        """Dispatch every pending event, send every datagram, re-arm the timer."""
        endpoint, transport = self.endpoint, self.transport
        if endpoint is None or transport is None:
            return
        for _ in range(1000):
            event = endpoint.next_event()
            if event is None:
                break
            self._dispatch(event)
        for transmit in endpoint.datagrams_to_send():
            transport.send(transmit.data, transmit.dest)
        deadline = endpoint.get_timer()
        if deadline != self._deadline and not self.closed:
            if self._timer is not None:
                self._timer.cancel()
            self._deadline = deadline
            assert self._loop is not None
            self._timer = None if deadline is None else self._loop.call_at(
                deadline, self._on_timer)

    def _dispatch(self, event: Event) -> None:
        now = self.now()
        try:
            if isinstance(event, RequestReceived):
                self.on_request(event, now)
            elif isinstance(event, AckReceived):
                self.on_ack(event, now)
            elif isinstance(event, CancelReceived):
                self.on_cancel(event, now)
            elif isinstance(event, ResponseReceived | TransactionTimedOut | TransportFailed):
                handler = self._handlers.get(event.key)
                if handler is not None:
                    handler(event, now)
            elif isinstance(event, TransactionTerminated):
                self._handlers.pop(event.key, None)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            self.errors.append(f"{type(event).__name__}: {type(exc).__name__}: {exc}")
