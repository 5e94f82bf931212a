"""The transaction state machines of RFC 3261 §17 (with RFC 6026's Accepted state) as data.

Every state change of every transaction is one row of `TRANSITIONS`:
``(kind, state, input) -> (actions, next_state)``. `sip.transaction.Transaction` only looks
rows up and runs their actions; nothing else changes a state (the h2 / h11 shape).

A pair with no row is a bug or a stale input: for a *local* input (the TU calling us) the
transaction ends TERMINATED and `LocalProtocolError` is raised; for a remote or timer input
the transaction ends TERMINATED silently. Rows whose only action is ``REFUSE`` raise
`LocalProtocolError` but keep the state, for the misuses a TU can hit through a race (an
agent's 200 arriving after the caller's CANCEL was answered 487): the 487 must still be
retransmitted until its ACK.

Timer values (RFC 3261 Table 4; RFC 6026 Timers L and M) live in `TimerConfig`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "TIMER_INPUTS",
    "TRANSITIONS",
    "Action",
    "Input",
    "Kind",
    "State",
    "Timer",
    "TimerConfig",
]


class Kind(enum.Enum):
    # Identity hash (C) instead of Enum's hash(name) in Python: every input looks a
    # (kind, state, input) row up and runs its actions from a dict keyed by Action.
    __hash__ = object.__hash__

    INVITE_CLIENT = "ict"
    NON_INVITE_CLIENT = "nict"
    INVITE_SERVER = "ist"
    NON_INVITE_SERVER = "nist"

    @property
    def is_client(self) -> bool:
        return self in (Kind.INVITE_CLIENT, Kind.NON_INVITE_CLIENT)


class State(enum.Enum):
    __hash__ = object.__hash__  # identity hash, as Kind

    INIT = "init"  # created, first input not yet applied
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"  # server INVITE: ACK received (after non-2xx, or after 2xx)
    ACCEPTED = "accepted"  # RFC 6026: 2xx sent/received, waiting for ACK / 2xx retransmits
    TERMINATED = "terminated"


class Timer(enum.Enum):
    __hash__ = object.__hash__  # identity hash, as Kind

    A = "A"
    B = "B"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the RFC's name
    J = "J"
    K = "K"
    L = "L"
    M = "M"


class Input(enum.Enum):
    __hash__ = object.__hash__  # identity hash, as Kind

    # local inputs: the TU calls us
    SEND_REQUEST = "send_request"
    SEND_1XX = "send_1xx"
    SEND_2XX = "send_2xx"
    SEND_FINAL = "send_final"  # 300-699
    CANCEL = "cancel"
    # remote inputs: the peer's messages, routed by the endpoint
    RECV_REQUEST = "recv_request"  # the request that creates a server transaction
    RECV_RETRANSMIT = "recv_retransmit"
    RECV_ACK = "recv_ack"
    RECV_CANCEL = "recv_cancel"  # a CANCEL matched this INVITE server transaction
    RECV_1XX = "recv_1xx"
    RECV_2XX = "recv_2xx"
    RECV_FINAL = "recv_final"  # 300-699
    TRANSPORT_ERROR = "transport_error"
    # timers
    TIMER_A = "timer_a"
    TIMER_B = "timer_b"
    TIMER_D = "timer_d"
    TIMER_E = "timer_e"
    TIMER_F = "timer_f"
    TIMER_G = "timer_g"
    TIMER_H = "timer_h"
    TIMER_I = "timer_i"
    TIMER_J = "timer_j"
    TIMER_K = "timer_k"
    TIMER_L = "timer_l"
    TIMER_M = "timer_m"

    @property
    def is_local(self) -> bool:
        return self in _LOCAL


_LOCAL = frozenset(
    {Input.SEND_REQUEST, Input.SEND_1XX, Input.SEND_2XX, Input.SEND_FINAL, Input.CANCEL}
)
TIMER_INPUTS: dict[Timer, Input] = {t: Input[f"TIMER_{t.name}"] for t in Timer}


class Action(enum.Enum):
    __hash__ = object.__hash__  # identity hash, as Kind

    SEND = "send"  # transmit the request / the TU's response (remembered for resending)
    RESEND = "resend"  # retransmit the last request / response (counted)
    SEND_ACK = "send_ack"  # §17.1.1.3: ACK a non-2xx final ourselves
    RESEND_ACK = "resend_ack"
    SEND_TRYING = "send_trying"  # §17.2.1: 100 Trying, when auto_trying is on
    SEND_487 = "send_487"  # §9.2: CANCEL matched a pending INVITE
    QUEUE_CANCEL = "queue_cancel"  # §9.1: remember that the TU wants to cancel
    SEND_CANCEL = "send_cancel"  # send the queued CANCEL once, if a provisional came
    START_A = "start_a"
    START_B = "start_b"
    START_D = "start_d"
    START_E = "start_e"
    START_F = "start_f"
    START_G = "start_g"  # unreliable transports only (§17.2.1)
    START_G_2XX = "start_g_2xx"  # every transport: the UAS core's 2xx resend (§13.3.1.4)
    START_H = "start_h"
    START_I = "start_i"
    START_J = "start_j"
    START_K = "start_k"
    START_L = "start_l"
    START_M = "start_m"
    RETRY_A = "retry_a"  # re-arm at twice the interval
    RETRY_E = "retry_e"  # re-arm at min(2x, T2)
    RETRY_E_T2 = "retry_e_t2"  # re-arm at T2 (Proceeding, §17.1.2.2)
    RETRY_G = "retry_g"  # re-arm at min(2x, T2)
    STOP_G = "stop_g"
    STOP_TIMERS = "stop_timers"
    PASS_REQUEST = "pass_request"  # RequestReceived
    PASS_RESPONSE = "pass_response"  # ResponseReceived
    PASS_ACK = "pass_ack"  # AckReceived (ACK for a 2xx)
    PASS_CANCEL = "pass_cancel"  # CancelReceived
    TIMED_OUT = "timed_out"  # TransactionTimedOut (B, F, H)
    ACK_TIMED_OUT = "ack_timed_out"  # AckTimedOut: 2xx unacknowledged for 64*T1
    TRANSPORT_FAILED = "transport_failed"  # TransportFailed
    REFUSE = "refuse"  # raise LocalProtocolError, state unchanged


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1/T2/T4 (RFC 3261 §17.1.1.1) and the timer values derived from them."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.t1 <= self.t2 or self.t4 <= 0:
            raise ValueError("need 0 < T1 <= T2 and T4 > 0")

    def initial(self, timer: Timer, reliable: bool) -> float:
        """First delay of ``timer``; 0 for D/I/J/K on a reliable transport."""
        t1, t4 = self.t1, self.t4
        if timer in (Timer.A, Timer.E, Timer.G):
            return t1
        if timer is Timer.D:
            return 0.0 if reliable else max(32.0, 64 * t1)
        if timer in (Timer.I, Timer.K):
            return 0.0 if reliable else t4
        if timer is Timer.J:
            return 0.0 if reliable else 64 * t1
        return 64 * t1  # B F H L M


_A = Action
_S = State
_I = Input
_Row = tuple[tuple[Action, ...], State]

_ICT: dict[tuple[State, Input], _Row] = {
    (_S.INIT, _I.SEND_REQUEST): ((_A.SEND, _A.START_A, _A.START_B), _S.CALLING),
    (_S.CALLING, _I.TIMER_A): ((_A.RESEND, _A.RETRY_A), _S.CALLING),
    (_S.CALLING, _I.TIMER_B): ((_A.TIMED_OUT,), _S.TERMINATED),
    (_S.CALLING, _I.RECV_1XX): ((_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.SEND_CANCEL), _S.PROCEEDING),
    (_S.CALLING, _I.RECV_2XX): ((_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.START_M), _S.ACCEPTED),
    (_S.CALLING, _I.RECV_FINAL): (
        (_A.STOP_TIMERS, _A.SEND_ACK, _A.PASS_RESPONSE, _A.START_D), _S.COMPLETED),
    (_S.CALLING, _I.CANCEL): ((_A.QUEUE_CANCEL,), _S.CALLING),
    (_S.CALLING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.PROCEEDING, _I.RECV_1XX): ((_A.PASS_RESPONSE,), _S.PROCEEDING),
    (_S.PROCEEDING, _I.RECV_2XX): ((_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.START_M), _S.ACCEPTED),
    (_S.PROCEEDING, _I.RECV_FINAL): (
        (_A.STOP_TIMERS, _A.SEND_ACK, _A.PASS_RESPONSE, _A.START_D), _S.COMPLETED),
    (_S.PROCEEDING, _I.CANCEL): ((_A.QUEUE_CANCEL, _A.SEND_CANCEL), _S.PROCEEDING),
    # Timer B is re-armed when the CANCEL goes out: no final 64*T1 later = give up (§9.1).
    (_S.PROCEEDING, _I.TIMER_B): ((_A.TIMED_OUT,), _S.TERMINATED),
    (_S.PROCEEDING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.COMPLETED, _I.RECV_FINAL): ((_A.RESEND_ACK,), _S.COMPLETED),
    (_S.COMPLETED, _I.RECV_1XX): ((), _S.COMPLETED),
    (_S.COMPLETED, _I.RECV_2XX): ((), _S.COMPLETED),
    (_S.COMPLETED, _I.CANCEL): ((), _S.COMPLETED),  # too late: the final is in
    (_S.COMPLETED, _I.TIMER_D): ((), _S.TERMINATED),
    (_S.COMPLETED, _I.TRANSPORT_ERROR): ((), _S.TERMINATED),
    # RFC 6026 §8.4: 2xx retransmissions (and other forks' 2xx) go to the TU, which ACKs.
    (_S.ACCEPTED, _I.RECV_2XX): ((_A.PASS_RESPONSE,), _S.ACCEPTED),
    (_S.ACCEPTED, _I.RECV_1XX): ((), _S.ACCEPTED),
    (_S.ACCEPTED, _I.RECV_FINAL): ((), _S.ACCEPTED),
    (_S.ACCEPTED, _I.CANCEL): ((), _S.ACCEPTED),  # too late: the TU must ACK and BYE
    (_S.ACCEPTED, _I.TIMER_M): ((), _S.TERMINATED),
    (_S.ACCEPTED, _I.TRANSPORT_ERROR): ((), _S.ACCEPTED),
}  # fmt: skip

_NICT: dict[tuple[State, Input], _Row] = {
    (_S.INIT, _I.SEND_REQUEST): ((_A.SEND, _A.START_E, _A.START_F), _S.TRYING),
    (_S.TRYING, _I.TIMER_E): ((_A.RESEND, _A.RETRY_E), _S.TRYING),
    (_S.TRYING, _I.TIMER_F): ((_A.TIMED_OUT,), _S.TERMINATED),
    (_S.TRYING, _I.RECV_1XX): ((_A.PASS_RESPONSE,), _S.PROCEEDING),
    (_S.TRYING, _I.RECV_2XX): ((_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.START_K), _S.COMPLETED),
    (_S.TRYING, _I.RECV_FINAL): ((_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.START_K), _S.COMPLETED),
    (_S.TRYING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.PROCEEDING, _I.TIMER_E): ((_A.RESEND, _A.RETRY_E_T2), _S.PROCEEDING),
    (_S.PROCEEDING, _I.TIMER_F): ((_A.TIMED_OUT,), _S.TERMINATED),
    (_S.PROCEEDING, _I.RECV_1XX): ((_A.PASS_RESPONSE,), _S.PROCEEDING),
    (_S.PROCEEDING, _I.RECV_2XX): (
        (_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.START_K), _S.COMPLETED),
    (_S.PROCEEDING, _I.RECV_FINAL): (
        (_A.STOP_TIMERS, _A.PASS_RESPONSE, _A.START_K), _S.COMPLETED),
    (_S.PROCEEDING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.COMPLETED, _I.RECV_1XX): ((), _S.COMPLETED),
    (_S.COMPLETED, _I.RECV_2XX): ((), _S.COMPLETED),
    (_S.COMPLETED, _I.RECV_FINAL): ((), _S.COMPLETED),
    (_S.COMPLETED, _I.TIMER_K): ((), _S.TERMINATED),
    (_S.COMPLETED, _I.TRANSPORT_ERROR): ((), _S.TERMINATED),
}  # fmt: skip

_REFUSE = (_A.REFUSE,)

_IST: dict[tuple[State, Input], _Row] = {
    (_S.INIT, _I.RECV_REQUEST): ((_A.PASS_REQUEST, _A.SEND_TRYING), _S.PROCEEDING),
    (_S.PROCEEDING, _I.RECV_RETRANSMIT): ((_A.RESEND,), _S.PROCEEDING),
    (_S.PROCEEDING, _I.RECV_ACK): ((), _S.PROCEEDING),  # stray: nothing to acknowledge yet
    (_S.PROCEEDING, _I.SEND_1XX): ((_A.SEND,), _S.PROCEEDING),
    (_S.PROCEEDING, _I.SEND_2XX): ((_A.SEND, _A.START_G_2XX, _A.START_L), _S.ACCEPTED),
    (_S.PROCEEDING, _I.SEND_FINAL): ((_A.SEND, _A.START_G, _A.START_H), _S.COMPLETED),
    (_S.PROCEEDING, _I.RECV_CANCEL): (
        (_A.SEND_487, _A.START_G, _A.START_H, _A.PASS_CANCEL), _S.COMPLETED),
    (_S.PROCEEDING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.COMPLETED, _I.RECV_RETRANSMIT): ((_A.RESEND,), _S.COMPLETED),
    (_S.COMPLETED, _I.TIMER_G): ((_A.RESEND, _A.RETRY_G), _S.COMPLETED),
    (_S.COMPLETED, _I.TIMER_H): ((_A.TIMED_OUT,), _S.TERMINATED),
    (_S.COMPLETED, _I.RECV_ACK): ((_A.STOP_TIMERS, _A.START_I), _S.CONFIRMED),
    (_S.COMPLETED, _I.RECV_CANCEL): ((), _S.COMPLETED),
    (_S.COMPLETED, _I.SEND_1XX): (_REFUSE, _S.COMPLETED),
    (_S.COMPLETED, _I.SEND_2XX): (_REFUSE, _S.COMPLETED),
    (_S.COMPLETED, _I.SEND_FINAL): (_REFUSE, _S.COMPLETED),
    (_S.COMPLETED, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    # RFC 6026 Accepted: we resend the 2xx (§13.3.1.4) until the ACK or Timer L.
    (_S.ACCEPTED, _I.RECV_RETRANSMIT): ((), _S.ACCEPTED),
    (_S.ACCEPTED, _I.TIMER_G): ((_A.RESEND, _A.RETRY_G), _S.ACCEPTED),
    (_S.ACCEPTED, _I.RECV_ACK): ((_A.STOP_G, _A.PASS_ACK), _S.CONFIRMED),
    (_S.ACCEPTED, _I.RECV_CANCEL): ((), _S.ACCEPTED),
    (_S.ACCEPTED, _I.TIMER_L): ((_A.ACK_TIMED_OUT,), _S.TERMINATED),
    (_S.ACCEPTED, _I.SEND_1XX): (_REFUSE, _S.ACCEPTED),
    (_S.ACCEPTED, _I.SEND_2XX): (_REFUSE, _S.ACCEPTED),
    (_S.ACCEPTED, _I.SEND_FINAL): (_REFUSE, _S.ACCEPTED),
    (_S.ACCEPTED, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    # Confirmed: absorb ACK and INVITE retransmissions until Timer I (non-2xx) or L (2xx).
    (_S.CONFIRMED, _I.RECV_ACK): ((), _S.CONFIRMED),
    (_S.CONFIRMED, _I.RECV_RETRANSMIT): ((), _S.CONFIRMED),
    (_S.CONFIRMED, _I.RECV_CANCEL): ((), _S.CONFIRMED),
    (_S.CONFIRMED, _I.TIMER_I): ((), _S.TERMINATED),
    (_S.CONFIRMED, _I.TIMER_L): ((), _S.TERMINATED),
    (_S.CONFIRMED, _I.SEND_1XX): (_REFUSE, _S.CONFIRMED),
    (_S.CONFIRMED, _I.SEND_2XX): (_REFUSE, _S.CONFIRMED),
    (_S.CONFIRMED, _I.SEND_FINAL): (_REFUSE, _S.CONFIRMED),
    (_S.CONFIRMED, _I.TRANSPORT_ERROR): ((), _S.CONFIRMED),
}  # fmt: skip

_NIST: dict[tuple[State, Input], _Row] = {
    (_S.INIT, _I.RECV_REQUEST): ((_A.PASS_REQUEST,), _S.TRYING),
    (_S.TRYING, _I.RECV_RETRANSMIT): ((), _S.TRYING),  # nothing to resend yet
    (_S.TRYING, _I.SEND_1XX): ((_A.SEND,), _S.PROCEEDING),
    (_S.TRYING, _I.SEND_2XX): ((_A.SEND, _A.START_J), _S.COMPLETED),
    (_S.TRYING, _I.SEND_FINAL): ((_A.SEND, _A.START_J), _S.COMPLETED),
    (_S.TRYING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.PROCEEDING, _I.RECV_RETRANSMIT): ((_A.RESEND,), _S.PROCEEDING),
    (_S.PROCEEDING, _I.SEND_1XX): ((_A.SEND,), _S.PROCEEDING),
    (_S.PROCEEDING, _I.SEND_2XX): ((_A.SEND, _A.START_J), _S.COMPLETED),
    (_S.PROCEEDING, _I.SEND_FINAL): ((_A.SEND, _A.START_J), _S.COMPLETED),
    (_S.PROCEEDING, _I.TRANSPORT_ERROR): ((_A.TRANSPORT_FAILED,), _S.TERMINATED),
    (_S.COMPLETED, _I.RECV_RETRANSMIT): ((_A.RESEND,), _S.COMPLETED),
    (_S.COMPLETED, _I.SEND_1XX): (_REFUSE, _S.COMPLETED),
    (_S.COMPLETED, _I.SEND_2XX): (_REFUSE, _S.COMPLETED),
    (_S.COMPLETED, _I.SEND_FINAL): (_REFUSE, _S.COMPLETED),
    (_S.COMPLETED, _I.TIMER_J): ((), _S.TERMINATED),
    (_S.COMPLETED, _I.TRANSPORT_ERROR): ((), _S.TERMINATED),
}  # fmt: skip

TRANSITIONS: dict[tuple[Kind, State, Input], _Row] = {
    (kind, state, inp): row
    for kind, table in (
        (Kind.INVITE_CLIENT, _ICT),
        (Kind.NON_INVITE_CLIENT, _NICT),
        (Kind.INVITE_SERVER, _IST),
        (Kind.NON_INVITE_SERVER, _NIST),
    )
    for (state, inp), row in table.items()
}
