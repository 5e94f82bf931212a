"""What the router says: events (past-tense facts) and decisions (imperatives).

Events feed the queue_log-style journal and Prometheus; each carries the queue, the
agent and the durations those need, so no consumer has to keep its own state.
Decisions are what the SIP call-control engine must *do*: ring an agent
(``OfferCall``), CANCEL a ringing leg (``WithdrawOffer``) or transfer the caller out of
the ACD (``OverflowCall``, only for SIP URI targets; overflow into another queue is
done inside the router and reported as ``CallOverflowed`` + ``CallQueued``).

All are frozen, slotted, keyword-only dataclasses. ``at`` is the ``now`` of the
command or timer that produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, TypeVar

from .model import (
    AgentState,
    AgentStatus,
    OfferEndReason,
    OverflowReason,
)

__all__ = [
    "AgentStateChanged",
    "AgentStatusChanged",
    "CallAbandoned",
    "CallAnswered",
    "CallCompleted",
    "CallFailed",
    "CallOffered",
    "CallOverflowed",
    "CallQueued",
    "Decision",
    "Event",
    "OfferCall",
    "OfferEnded",
    "Output",
    "OverflowCall",
    "RequirementsRelaxed",
    "WithdrawOffer",
]


# --- events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued:
    call_id: str
    queue: str
    priority: int
    position: int  # 1-based, among this queue's unanswered calls
    overflowed_from: str | None
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered:
    call_id: str
    queue: str
    agent_id: str
    attempt: int  # 1 for the first offer of this call in this queue
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferEnded:
    call_id: str
    queue: str
    agent_id: str
    reason: OfferEndReason
    ring_seconds: float
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered:
    call_id: str
    queue: str
    agent_id: str
    wait_seconds: float  # since the call entered this queue
    ring_seconds: float
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallCompleted:
    call_id: str
    queue: str
    agent_id: str
    talk_seconds: float
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAbandoned:
    call_id: str
    queue: str
    wait_seconds: float
    position: int  # where the caller was when they hung up
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOverflowed:
    call_id: str
    queue: str
    target: str  # queue name or SIP URI
    reason: OverflowReason
    wait_seconds: float
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed:
    call_id: str
    queue: str
    reason: str
    wait_seconds: float
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged:
    agent_id: str
    old: AgentStatus
    new: AgentStatus
    reason: str | None  # pause reason code while PAUSED
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged:
    agent_id: str
    old: AgentState
    new: AgentState
    call_id: str | None
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementsRelaxed:
    call_id: str
    queue: str
    step: int  # 0-based index into the queue's relaxation steps
    requirements: Mapping[str, int]
    pools: tuple[str, ...]  # queues whose agents may take the call
    at: float


Event = (
    CallQueued
    | CallOffered
    | OfferEnded
    | CallAnswered
    | CallCompleted
    | CallAbandoned
    | CallOverflowed
    | CallFailed
    | AgentStatusChanged
    | AgentStateChanged
    | RequirementsRelaxed
)


# --- decisions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferCall:
    """Ring ``agent_id`` with the caller. The router times the ring itself."""

    call_id: str
    agent_id: str
    queue: str
    ring_timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawOffer:
    """Stop ringing ``agent_id`` (SIP CANCEL). The router has already moved on."""

    call_id: str
    agent_id: str
    reason: OfferEndReason


@dataclass(frozen=True, slots=True, kw_only=True)
class OverflowCall:
    """Send the caller out of the ACD to ``target`` (a SIP URI). The call is gone."""

    call_id: str
    queue: str
    target: str
    reason: OverflowReason


Decision = OfferCall | WithdrawOffer | OverflowCall
Output = Event | Decision


# --- cheaper construction -----------------------------------------------------------

_T = TypeVar("_T")


def _slot_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slotted dataclass an ``__init__`` that stores each field through
    its slot descriptor instead of ``object.__setattr__`` per field.

    Same signature (keyword-only, every field required), same frozen instance, equality,
    hash and repr; about a quarter cheaper, and the router builds about ten of these
    per routed call.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(cls))  # type: ignore[arg-type]
    namespace: dict[str, Any] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(f"def __init__(self, *, {', '.join(names)}):\n{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


for _cls in (
    CallQueued, CallOffered, OfferEnded, CallAnswered, CallCompleted, CallAbandoned,
    CallOverflowed, CallFailed, AgentStatusChanged, AgentStateChanged, RequirementsRelaxed,
    OfferCall, WithdrawOffer, OverflowCall,
):  # fmt: skip
    _slot_init(_cls)
del _cls


def _positional(cls: type[_T]) -> Callable[..., _T]:
    """A positional constructor (fields in declaration order) for the router's hot
    paths: skips the keyword-argument call of ``cls(...)``, about 0.3 us per event.
    Builds exactly the instance ``cls(**fields)`` builds."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    namespace.update(_new=object.__new__, _cls=cls)
    body = "".join(f"    _set_{n}(e, {n})\n" for n in names)
    exec(f"def make({', '.join(names)}):\n    e = _new(_cls)\n{body}    return e\n", namespace)
    make: Callable[..., _T] = namespace["make"]
    make.__qualname__ = make.__name__ = f"new_{cls.__name__}"
    return make


# Hot-path constructors (internal to queueing; arguments in field order).
new_agent_state_changed = _positional(AgentStateChanged)
new_call_queued = _positional(CallQueued)
new_call_offered = _positional(CallOffered)
new_offer_call = _positional(OfferCall)
new_offer_ended = _positional(OfferEnded)
new_call_answered = _positional(CallAnswered)
new_call_completed = _positional(CallCompleted)
