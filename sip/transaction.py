"""One SIP transaction (RFC 3261 §17, RFC 6026), sans-IO.

A `Transaction` is fed `Input`s with the current time; it looks the row up in
`sip.transaction_table.TRANSITIONS`, runs the row's actions and takes the row's next state.
Its outputs go to a shared `Outbox`: events, datagrams (`Transmit`) and CANCEL requests for
the endpoint to start as new client transactions. Timers are deadlines, read with
`next_deadline()` and fired by `handle_timer(now)`.

The 2xx/ACK machinery that §13.3.1.4 puts in the UAS core is done here, in RFC 6026's
Accepted state: the 2xx is resent (T1 doubling to T2, on every transport, because a proxy
between us and the UAC may use UDP) until the ACK arrives or Timer L (64*T1) gives up with
`AckTimedOut`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import LocalProtocolError, RemoteProtocolError
from .message import Request, Response, make_response
from .transaction_events import (
    AckReceived,
    AckTimedOut,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    SipStats,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    Transmit,
    TransportFailed,
)
from .transaction_table import TIMER_INPUTS, TRANSITIONS, Action, Input, Kind, State, Timer
from .transaction_table import TimerConfig as TimerConfig
from .transaction_util import (
    MAGIC_COOKIE,
    build_ack,
    build_cancel,
    client_key,
    new_branch,
    new_call_id,
    new_tag,
    server_key,
)

__all__ = [
    "MAGIC_COOKIE",
    "Outbox",
    "Transaction",
    "TransactionConfig",
    "build_ack",
    "build_cancel",
    "client_key",
    "new_branch",
    "new_call_id",
    "new_tag",
    "server_key",
]


@dataclass(frozen=True, slots=True)
class TransactionConfig:
    timers: TimerConfig = field(default_factory=TimerConfig)
    auto_trying: bool = True  # send 100 Trying as soon as an INVITE arrives (§17.2.1)
    server: str | None = "hotline-acd"  # Server header on responses the core makes


class Outbox:
    """Where transactions put their outputs; the endpoint drains it."""

    __slots__ = ("cancels", "events", "stats", "transmits")

    def __init__(self, stats: SipStats | None = None) -> None:
        self.events: deque[Event] = deque()
        self.transmits: list[Transmit] = []
        self.cancels: list[tuple[Request, Address]] = []
        self.stats = stats if stats is not None else SipStats()


_Message = Request | Response | None
_Handler = Callable[["Transaction", Input, float, _Message], None]


class Transaction:
    """A client or server transaction. Create it, then feed the first input
    (``SEND_REQUEST`` for a client, ``RECV_REQUEST`` for a server)."""

    __slots__ = (
        "_ack",
        "_intervals",
        "_last",
        "_timers",
        "ack_source",
        "cancel_sent",
        "cancel_wanted",
        "config",
        "dest",
        "key",
        "kind",
        "last_response",
        "outbox",
        "pass_up",
        "reason",
        "request",
        "scheduled",
        "source",
        "state",
        "to_tag",
    )

    def __init__(
        self,
        kind: Kind,
        key: TransactionKey,
        request: Request,
        dest: Address,
        outbox: Outbox,
        config: TransactionConfig,
        *,
        source: Address | None = None,
        pass_up: bool = True,
    ) -> None:
        self.kind = kind
        self.key = key
        self.request = request
        self.dest = dest  # where requests (client) or responses (server) go
        self.source = source if source is not None else dest
        self.outbox = outbox
        self.config = config
        self.pass_up = pass_up  # False: the endpoint answers it itself (CANCEL)
        self.state = State.INIT
        self.last_response: Response | None = None
        self.to_tag: str | None = None
        self.cancel_wanted = False
        self.cancel_sent = False
        self.reason: str | None = None  # Reason header for our CANCEL
        self.ack_source: Address | None = None
        self.scheduled: float | None = None  # the endpoint's bookkeeping
        self._timers: dict[Timer, float] = {}
        self._intervals: dict[Timer, float] = {}
        self._last: bytes | None = None  # last request or response sent, for resending
        self._ack: bytes | None = None

    @property
    def reliable(self) -> bool:
        return self.dest.transport != "udp"

    def __repr__(self) -> str:
        return f"<Transaction {self.kind.name} {self.state.name} {self.key}>"

    # -- inputs ----------------------------------------------------------------------------
    def feed(self, inp: Input, now: float, message: _Message = None) -> None:
        """Apply one input. Raises LocalProtocolError for a local input the state refuses."""
        row = TRANSITIONS.get((self.kind, self.state, inp))
        if row is None:
            state = self.state
            self._terminate()
            if inp.is_local:
                raise LocalProtocolError(
                    f"{self.kind.name} transaction in state {state.name} cannot take "
                    f"{inp.name}; transaction terminated"
                )
            return
        actions, next_state = row
        for action in actions:
            _HANDLERS[action](self, inp, now, message)
        if next_state is State.TERMINATED:
            self._terminate()
        else:
            self.state = next_state

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now``, earliest first."""
        timers = self._timers
        while timers and self.state is not State.TERMINATED:
            timer = min(timers, key=timers.__getitem__)
            if timers[timer] > now:
                return
            del timers[timer]
            self.feed(TIMER_INPUTS[timer], now)

    def next_deadline(self) -> float | None:
        return min(self._timers.values()) if self._timers else None

    def timer_deadline(self, timer: Timer) -> float | None:
        """When ``timer`` fires, if armed (for tests and introspection)."""
        return self._timers.get(timer)

    # -- helpers ---------------------------------------------------------------------------
    def _terminate(self) -> None:
        if self.state is not State.TERMINATED:
            self.state = State.TERMINATED
            self._timers.clear()
            self.outbox.events.append(TransactionTerminated(key=self.key))

    def _arm(self, timer: Timer, now: float, delay: float) -> None:
        self._timers[timer] = now + delay
        self._intervals[timer] = delay

    def _start(self, timer: Timer, now: float) -> None:
        self._arm(timer, now, self.config.timers.initial(timer, self.reliable))

    def _transmit(self, data: bytes) -> None:
        self.outbox.transmits.append(Transmit(data, self.dest))

    def _send_response(self, response: Response) -> None:
        if self.kind is Kind.INVITE_SERVER and response.status > 100 and self.to_tag is None:
            with contextlib.suppress(RemoteProtocolError):
                self.to_tag = response.to.tag
        data = bytes(response)
        self._last = data
        self.last_response = response
        self.outbox.stats.responses_sent[response.status] += 1
        self._transmit(data)

    def _core_response(self, status: int, to_tag: str | None = None) -> Response:
        extra = [("Server", self.config.server)] if self.config.server else None
        return make_response(self.request, status, to_tag=to_tag, extra=extra)

    # -- actions (one method per `Action`) -------------------------------------------------
    def _send(self, inp: Input, now: float, msg: _Message) -> None:
        if self.kind.is_client:
            self._last = bytes(self.request)
            self.outbox.stats.requests_sent[self.request.method] += 1
            self._transmit(self._last)
        elif isinstance(msg, Response):
            self._send_response(msg)
        else:
            raise LocalProtocolError(f"{inp.name} needs a Response")

    def _resend(self, inp: Input, now: float, msg: _Message) -> None:
        if self._last is not None:
            self.outbox.stats.retransmissions_sent += 1
            self._transmit(self._last)

    def _send_ack(self, inp: Input, now: float, msg: _Message) -> None:
        if isinstance(msg, Response):
            self._ack = bytes(build_ack(self.request, msg))
            self.outbox.stats.requests_sent["ACK"] += 1
            self._transmit(self._ack)

    def _resend_ack(self, inp: Input, now: float, msg: _Message) -> None:
        if self._ack is not None:
            self.outbox.stats.retransmissions_sent += 1
            self._transmit(self._ack)

    def _send_trying(self, inp: Input, now: float, msg: _Message) -> None:
        if self.config.auto_trying:
            self._send_response(self._core_response(100))

    def _send_487(self, inp: Input, now: float, msg: _Message) -> None:
        self._send_response(self._core_response(487, self.to_tag or new_tag()))

    def _queue_cancel(self, inp: Input, now: float, msg: _Message) -> None:
        self.cancel_wanted = True

    def _send_cancel(self, inp: Input, now: float, msg: _Message) -> None:
        if self.cancel_wanted and not self.cancel_sent:
            self.cancel_sent = True
            self.outbox.cancels.append((build_cancel(self.request, self.reason), self.dest))
            self._start(Timer.B, now)  # §9.1: no final 64*T1 after CANCEL → give up

    def _retry(self, timer: Timer, now: float, cap: float | None) -> None:
        interval = 2 * self._intervals.get(timer, self.config.timers.t1)
        self._arm(timer, now, interval if cap is None else min(interval, cap))

    def _retry_a(self, inp: Input, now: float, msg: _Message) -> None:
        self._retry(Timer.A, now, None)

    def _retry_e(self, inp: Input, now: float, msg: _Message) -> None:
        self._retry(Timer.E, now, self.config.timers.t2)

    def _retry_e_t2(self, inp: Input, now: float, msg: _Message) -> None:
        self._arm(Timer.E, now, self.config.timers.t2)

    def _retry_g(self, inp: Input, now: float, msg: _Message) -> None:
        self._retry(Timer.G, now, self.config.timers.t2)

    def _stop_g(self, inp: Input, now: float, msg: _Message) -> None:
        self._timers.pop(Timer.G, None)

    def _stop_timers(self, inp: Input, now: float, msg: _Message) -> None:
        self._timers.clear()

    def _pass_request(self, inp: Input, now: float, msg: _Message) -> None:
        if self.pass_up:
            self.outbox.events.append(
                RequestReceived(key=self.key, request=self.request, source=self.source)
            )

    def _pass_response(self, inp: Input, now: float, msg: _Message) -> None:
        if isinstance(msg, Response):
            self.last_response = msg
            self.outbox.events.append(ResponseReceived(key=self.key, response=msg))

    def _pass_ack(self, inp: Input, now: float, msg: _Message) -> None:
        if isinstance(msg, Request):
            source = self.ack_source or self.source
            self.outbox.events.append(AckReceived(key=self.key, request=msg, source=source))

    def _pass_cancel(self, inp: Input, now: float, msg: _Message) -> None:
        if isinstance(msg, Request):
            self.outbox.events.append(CancelReceived(key=self.key, request=msg))

    def _timed_out(self, inp: Input, now: float, msg: _Message) -> None:
        letter = inp.name[-1]
        self.outbox.stats.timeouts[letter] += 1
        self.outbox.events.append(TransactionTimedOut(key=self.key, timer=letter))

    def _ack_timed_out(self, inp: Input, now: float, msg: _Message) -> None:
        self.outbox.stats.timeouts["L"] += 1
        self.outbox.events.append(AckTimedOut(key=self.key))

    def _transport_failed(self, inp: Input, now: float, msg: _Message) -> None:
        self.outbox.events.append(TransportFailed(key=self.key, dest=self.dest))

    def _refuse(self, inp: Input, now: float, msg: _Message) -> None:
        if self.last_response is not None and self.last_response.status == 487:
            raise LocalProtocolError(
                f"INVITE was cancelled and answered 487: the caller is gone, {inp.name} refused"
            )
        raise LocalProtocolError(
            f"{self.kind.name} transaction in state {self.state.name}: final response "
            f"already sent, {inp.name} refused"
        )


def _starter(timer: Timer, only_unreliable: bool) -> _Handler:
    def start(txn: Transaction, inp: Input, now: float, msg: _Message) -> None:
        if not (only_unreliable and txn.reliable):
            txn._start(timer, now)

    return start


_HANDLERS: dict[Action, _Handler] = {
    Action.SEND: Transaction._send,
    Action.RESEND: Transaction._resend,
    Action.SEND_ACK: Transaction._send_ack,
    Action.RESEND_ACK: Transaction._resend_ack,
    Action.SEND_TRYING: Transaction._send_trying,
    Action.SEND_487: Transaction._send_487,
    Action.QUEUE_CANCEL: Transaction._queue_cancel,
    Action.SEND_CANCEL: Transaction._send_cancel,
    Action.START_A: _starter(Timer.A, True),
    Action.START_B: _starter(Timer.B, False),
    Action.START_D: _starter(Timer.D, False),
    Action.START_E: _starter(Timer.E, True),
    Action.START_F: _starter(Timer.F, False),
    Action.START_G: _starter(Timer.G, True),
    Action.START_G_2XX: _starter(Timer.G, False),
    Action.START_H: _starter(Timer.H, False),
    Action.START_I: _starter(Timer.I, False),
    Action.START_J: _starter(Timer.J, False),
    Action.START_K: _starter(Timer.K, False),
    Action.START_L: _starter(Timer.L, False),
    Action.START_M: _starter(Timer.M, False),
    Action.RETRY_A: Transaction._retry_a,
    Action.RETRY_E: Transaction._retry_e,
    Action.RETRY_E_T2: Transaction._retry_e_t2,
    Action.RETRY_G: Transaction._retry_g,
    Action.STOP_G: Transaction._stop_g,
    Action.STOP_TIMERS: Transaction._stop_timers,
    Action.PASS_REQUEST: Transaction._pass_request,
    Action.PASS_RESPONSE: Transaction._pass_response,
    Action.PASS_ACK: Transaction._pass_ack,
    Action.PASS_CANCEL: Transaction._pass_cancel,
    Action.TIMED_OUT: Transaction._timed_out,
    Action.ACK_TIMED_OUT: Transaction._ack_timed_out,
    Action.TRANSPORT_FAILED: Transaction._transport_failed,
    Action.REFUSE: Transaction._refuse,
}
assert set(_HANDLERS) == set(Action), "every Action needs a handler"
