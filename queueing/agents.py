"""Runtime agent records and the agent *state* machine.

*Status* (``AgentStatus``) is what the agent or a supervisor chose; *state*
(``AgentState``) is what the router is doing with the agent. An agent gets offers only
when status is AVAILABLE and state is IDLE. Every state change goes through
``next_state``; a (state, input) pair missing from ``STATE_TRANSITIONS`` is a bug in
the caller of the router and raises ``invalid_transition``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .errors import INVALID_TRANSITION, RoutingError
from .model import AgentSpec, AgentState, AgentStatus

__all__ = ["STATE_TRANSITIONS", "TRANSITIONS_BY_NAME", "Agent", "AgentInput", "next_state"]


class AgentInput(enum.Enum):
    OFFER = "offer"  # the router rings the agent
    ANSWER = "answer"
    WITHDRAW = "withdraw"  # offer cancelled through no fault of the agent
    MISS = "miss"  # no answer / rejected: rest for the delay
    UNREACHABLE = "unreachable"  # the offer could not reach the phone
    COMPLETE = "complete"  # the bridged call ended
    REST_END = "rest-end"  # wrap-up or no-answer delay over
    LOST = "lost"  # registration lost / qualify failed
    FOUND = "found"  # registered again


_S = AgentState
_I = AgentInput

STATE_TRANSITIONS: dict[tuple[AgentState, AgentInput], AgentState] = {
    (_S.IDLE, _I.OFFER): _S.RESERVED,
    (_S.RESERVED, _I.ANSWER): _S.ON_CALL,
    (_S.RESERVED, _I.WITHDRAW): _S.IDLE,
    (_S.RESERVED, _I.MISS): _S.DELAYED,
    (_S.RESERVED, _I.UNREACHABLE): _S.UNREACHABLE,
    (_S.ON_CALL, _I.COMPLETE): _S.WRAP_UP,
    (_S.WRAP_UP, _I.REST_END): _S.IDLE,
    (_S.DELAYED, _I.REST_END): _S.IDLE,
    (_S.IDLE, _I.LOST): _S.UNREACHABLE,
    (_S.DELAYED, _I.LOST): _S.UNREACHABLE,
    (_S.RESERVED, _I.LOST): _S.UNREACHABLE,
    (_S.UNREACHABLE, _I.LOST): _S.UNREACHABLE,
    # A phone that drops its registration mid-call keeps the call (media flows
    # peer to peer); it becomes UNREACHABLE when the call and wrap-up are over.
    (_S.ON_CALL, _I.LOST): _S.ON_CALL,
    (_S.WRAP_UP, _I.LOST): _S.WRAP_UP,
    (_S.UNREACHABLE, _I.FOUND): _S.IDLE,
    (_S.IDLE, _I.FOUND): _S.IDLE,
    (_S.RESERVED, _I.FOUND): _S.RESERVED,
    (_S.ON_CALL, _I.FOUND): _S.ON_CALL,
    (_S.WRAP_UP, _I.FOUND): _S.WRAP_UP,
    (_S.DELAYED, _I.FOUND): _S.DELAYED,
}


# The same table keyed by member names: Enum.__hash__ is a Python-level call, and this
# lookup runs on every state change (four times per routed call).
TRANSITIONS_BY_NAME: dict[tuple[str, str], AgentState] = {
    (state._name_, event._name_): new for (state, event), new in STATE_TRANSITIONS.items()
}


def next_state(agent: Agent, event: AgentInput) -> AgentState:
    """The state after ``event``; an unreachable phone never rests into IDLE."""
    new = TRANSITIONS_BY_NAME.get((agent.state._name_, event._name_))
    if new is None:
        raise RoutingError(
            INVALID_TRANSITION, f"agent {agent.id!r}: {event.value} while {agent.state.value}"
        )
    if new is AgentState.IDLE and not agent.reachable:
        return AgentState.UNREACHABLE
    return new


@dataclass(slots=True, eq=False)
class Agent:
    spec: AgentSpec
    status: AgentStatus = AgentStatus.LOGGED_OUT
    pause_reason: str | None = None
    state: AgentState = AgentState.IDLE
    reachable: bool = True
    calls_answered: int = 0
    talk_time: float = 0.0
    last_call_end: float | None = None
    consecutive_no_answers: int = 0
    # when the agent last became free for work (login, unpause, end of wrap-up):
    # the longest-idle strategy key; not reset by a missed or withdrawn offer
    idle_since: float = 0.0
    call_id: str | None = None  # the call ringing on / connected to the agent
    busy_since: float = 0.0  # answer time of the current call
    last_queue: str | None = None  # queue of the current / last answered call
    rest_token: int = 0  # validates the wrap-up / delay deadline
    random_key: float = 0.0  # the random strategy's order, redrawn on each idle
    indexed: bool = False  # listed in the idle index of its queues
    queues: tuple[str, ...] = field(default=())  # member queues (tiers), sorted
    id: str = field(init=False)  # spec.id, copied: read on every hot path

    def __post_init__(self) -> None:
        self.id = self.spec.id

    @property
    def n_skills(self) -> int:
        return len(self.spec.skills)

    @property
    def takes_offers(self) -> bool:
        return self.status is AgentStatus.AVAILABLE and self.state is AgentState.IDLE
