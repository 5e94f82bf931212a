"""The SIP side of the runtime: sockets in, sans-IO `Endpoint` in the middle, handlers out.

Inputs from `SipTransport` become `Endpoint.receive` calls inside `Runtime.step`; after every
step the endpoint's events are dispatched (requests to the handler registered for their
method, responses and timeouts to the callback of the client transaction that sent the
request) and its datagrams written to the sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acd.logging import get_logger
from acd.runtime import Runtime
from sip.endpoint import Endpoint, EndpointConfig
from sip.errors import LocalProtocolError
from sip.message import Request, Response, make_response
from sip.transaction_events import (
    AckReceived,
    AckTimedOut,
    Address,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
)
from sip.transport import Listener, SipTransport

__all__ = ["ClientOutcome", "SipService"]

log = get_logger("acd.sip")

RequestHandler = Callable[[RequestReceived, float], None]
ClientCallback = Callable[["ClientOutcome", float], None]
DialogHandler = Callable[[Event, float], None]


@dataclass(frozen=True, slots=True)
class ClientOutcome:
    """What became of a request we sent: a response (provisional or final), or a failure
    (``status`` 408 for timer B/F, 503 for a transport error, RFC 3261 §8.1.3.1)."""

    key: TransactionKey
    status: int
    response: Response | None = None

    @property
    def final(self) -> bool:
        return self.status >= 200


class SipService:
    def __init__(self, runtime: Runtime, *, t1: float, t2: float, t4: float) -> None:
        self.runtime = runtime
        self._timers = (t1, t2, t4)
        self.endpoint: Endpoint | None = None
        self.transport: SipTransport | None = None
        self.listeners: list[Listener] = []
        self.handlers: dict[str, RequestHandler] = {}
        self.dialog_handler: DialogHandler | None = None  # ACK, CANCEL, AckTimedOut
        self._callbacks: dict[TransactionKey, ClientCallback] = {}
        self.advertised: dict[str, tuple[str, int]] = {}

    # -- lifecycle -------------------------------------------------------------------------
    async def start(
        self, listen: list[tuple[str, str, int]], advertised_host: str, advertised_port: int | None
    ) -> list[Listener]:
        self.transport = SipTransport(self._on_message, self._on_transport_error)
        for transport, host, port in listen:
            self.listeners.append(await self.transport.listen(transport, host, port))
        for listener in self.listeners:
            self.advertised.setdefault(
                listener.transport, (advertised_host, advertised_port or listener.port)
            )
        t1, t2, t4 = self._timers
        self.endpoint = Endpoint(EndpointConfig(sent_by=self.advertised, t1=t1, t2=t2, t4=t4))
        self.runtime.add_timed(self)
        self.runtime.add_flusher(self.flush)
        for listener in self.listeners:
            log.info(
                "sip_listening",
                transport=listener.transport,
                host=listener.host,
                port=listener.port,
            )
        return self.listeners

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.close()

    # -- Timed -----------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self.endpoint.get_timer() if self.endpoint is not None else None

    def handle_timer(self, now: float) -> None:
        if self.endpoint is not None:
            self.endpoint.handle_timer(now)

    # -- inputs ----------------------------------------------------------------------------
    def _on_message(self, data: bytes, source: Address, _loop_now: float) -> None:
        endpoint = self.endpoint
        if endpoint is not None:
            self.runtime.step(lambda now: endpoint.receive(data, source, now))

    def _on_transport_error(self, dest: Address, reason: str) -> None:
        log.warning(
            "sip_transport_error", dest=f"{dest.transport}:{dest.host}:{dest.port}", reason=reason
        )
        endpoint = self.endpoint
        if endpoint is not None:
            self.runtime.step(lambda now: endpoint.transport_error(dest, now))

    # -- outputs to the TU -----------------------------------------------------------------
    def request(
        self, request: Request, dest: Address, now: float, callback: ClientCallback | None = None
    ) -> TransactionKey:
        assert self.endpoint is not None
        key = self.endpoint.send_request(request, dest, now)
        if callback is not None:
            self._callbacks[key] = callback
        return key

    def respond(self, key: TransactionKey, response: Response, now: float) -> bool:
        """Answer a server transaction; False when the core refused (e.g. the caller
        cancelled and got 487 — the answer must not go out)."""
        assert self.endpoint is not None
        try:
            self.endpoint.send_response(key, response, now)
        except LocalProtocolError as exc:
            log.info("sip_response_refused", status=response.status, reason=str(exc))
            return False
        return True

    def cancel(self, key: TransactionKey, now: float, reason: str | None = None) -> bool:
        """CANCEL our INVITE ``key`` (§9.1); False when too late (its final is reported)."""
        assert self.endpoint is not None
        return self.endpoint.cancel(key, now, reason)

    def send_ack(self, ack: Request, dest: Address, now: float) -> None:
        """The ACK for a 2xx (§13.2.2.4): no transaction; resend per 2xx retransmission."""
        assert self.endpoint is not None
        self.endpoint.send_ack(ack, dest, now)

    def via_for(self, transport: str) -> tuple[str, int]:
        return self.advertised.get(transport) or next(iter(self.advertised.values()))

    def flush(self, now: float) -> bool:
        endpoint, transport = self.endpoint, self.transport
        if endpoint is None or transport is None:
            return False
        moved = False
        while (event := endpoint.next_event()) is not None:
            moved = True
            self._dispatch(event, now)
        for transmit in endpoint.datagrams_to_send():
            moved = True
            transport.send(transmit.data, transmit.dest)
        return moved

    def _dispatch(self, event: Event, now: float) -> None:
        if isinstance(event, RequestReceived):
            handler = self.handlers.get(event.request.method)
            if handler is None:
                self._not_allowed(event, now)
                return
            try:
                handler(event, now)
            except Exception:
                log.exception(
                    "sip_handler_failed", method=event.request.method, call_id=event.request.call_id
                )
                self.respond(event.key, make_response(event.request, 500), now)
        elif isinstance(event, ResponseReceived):
            self._client(
                event.key, ClientOutcome(event.key, event.response.status, event.response), now
            )
        elif isinstance(event, TransactionTimedOut):
            if event.key.is_client:
                self._client(event.key, ClientOutcome(event.key, 408), now)
        elif isinstance(event, TransportFailed):
            if event.key.is_client:
                self._client(event.key, ClientOutcome(event.key, 503), now)
        elif isinstance(event, TransactionTerminated):
            self._callbacks.pop(event.key, None)
        elif isinstance(event, (AckReceived, CancelReceived, AckTimedOut)):
            if self.dialog_handler is not None:
                self.dialog_handler(event, now)
        elif isinstance(event, MessageRejected):
            log.warning(
                "sip_message_rejected",
                reason=event.reason,
                status=event.status,
                source=f"{event.source.transport}:{event.source.host}:{event.source.port}",
            )

    def _client(self, key: TransactionKey, outcome: ClientOutcome, now: float) -> None:
        callback = self._callbacks.get(key)
        if outcome.status >= 200 and not (outcome.status < 300 and key.method == "INVITE"):
            self._callbacks.pop(key, None)  # 2xx to INVITE may repeat: keep until terminated
        if callback is not None:
            try:
                callback(outcome, now)
            except Exception:
                log.exception("sip_callback_failed", method=key.method, status=outcome.status)

    def _not_allowed(self, event: RequestReceived, now: float) -> None:
        allow = ", ".join(sorted({*self.handlers, "ACK", "CANCEL"}))
        self.respond(event.key, make_response(event.request, 405, extra=[("Allow", allow)]), now)
