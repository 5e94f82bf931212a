"""Routing-core events -> KPI engine records (``QueueVisit``, ``AgentActivityChange``).

``KpiFeed`` keeps only what the events do not carry: when each live call first entered
the ACD (for the caller's total wait across overflows) and each agent's current status
and state (occupancy needs both). Memory is bounded by the calls in progress and the
agents. Durations come from the events' own ``at`` (router clock); the wall-clock
``now`` given with each event places it in the KPI windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from queueing import (
    AgentState,
    AgentStateChanged,
    AgentStatus,
    AgentStatusChanged,
    CallAbandoned,
    CallAnswered,
    CallFailed,
    CallOverflowed,
    CallQueued,
    Event,
    is_sip_uri,
)

from .kpi import Activity, AgentActivityChange, QueueVisit, VisitOutcome

__all__ = ["KpiFeed", "activity_for", "activity_for_names"]

KpiRecord = QueueVisit | AgentActivityChange


def activity_for(status: AgentStatus, state: AgentState) -> Activity | None:
    """How an agent's time counts for occupancy (docs/kpi.md, Occupancy)."""
    if status is AgentStatus.LOGGED_OUT:
        return None
    if state is AgentState.ON_CALL:
        return Activity.TALK
    if state is AgentState.WRAP_UP:
        return Activity.WRAP
    if status is AgentStatus.AVAILABLE and state in (
        AgentState.IDLE,
        AgentState.RESERVED,
        AgentState.DELAYED,
    ):
        return Activity.IDLE
    return None  # paused and not handling a call, or unreachable


_STATE_ALIASES = {"busy": "on-call", "wrapup": "wrap-up", "ringing": "reserved"}


def activity_for_names(status: str, state: str) -> Activity | None:
    """``activity_for`` from stored names (``agent_state_history``): accepts the enum
    values and underscore/alias spellings (``logged_out``, ``wrapup``, ``busy``)."""
    status_v = status.strip().lower().replace("_", "-")
    state_v = state.strip().lower().replace("_", "-")
    state_v = _STATE_ALIASES.get(state_v, state_v)
    try:
        return activity_for(AgentStatus(status_v), AgentState(state_v))
    except ValueError:
        return None


class KpiFeed:
    """Translate events as they come out of ``Router.drain()``, in order."""

    def __init__(self, agent_queues: Mapping[str, Sequence[str]] | None = None) -> None:
        self.agent_queues = {a: tuple(qs) for a, qs in (agent_queues or {}).items()}
        self._entered: dict[str, float] = {}  # call_id -> router time of first CallQueued
        self._agents: dict[str, tuple[AgentStatus, AgentState]] = {}

    def translate(self, event: Event, now: float) -> list[KpiRecord]:
        if isinstance(event, CallQueued):
            self._entered.setdefault(event.call_id, event.at)
            return []
        if isinstance(event, CallAnswered | CallAbandoned | CallFailed | CallOverflowed):
            return [self._visit(event, now)]
        if isinstance(event, AgentStatusChanged | AgentStateChanged):
            return self._agent(event, now)
        return []

    def _visit(
        self, event: CallAnswered | CallAbandoned | CallFailed | CallOverflowed, now: float
    ) -> QueueVisit:
        final = not isinstance(event, CallOverflowed) or is_sip_uri(event.target)
        entered = self._entered.get(event.call_id)
        if final:
            self._entered.pop(event.call_id, None)
        outcome = {
            CallAnswered: VisitOutcome.ANSWERED,
            CallAbandoned: VisitOutcome.ABANDONED,
            CallFailed: VisitOutcome.FAILED,
            CallOverflowed: VisitOutcome.OVERFLOWED,
        }[type(event)]
        call_wait = None if entered is None else max(event.at - entered, event.wait_seconds)
        return QueueVisit(
            call_id=event.call_id,
            queue=event.queue,
            outcome=outcome,
            at=now,
            wait_seconds=event.wait_seconds,
            call_wait_seconds=call_wait,
            final=final,
        )

    def _agent(
        self, event: AgentStatusChanged | AgentStateChanged, now: float
    ) -> list[KpiRecord]:
        status, state = self._agents.get(event.agent_id, (AgentStatus.LOGGED_OUT, AgentState.IDLE))
        before = activity_for(status, state)
        if isinstance(event, AgentStatusChanged):
            status = event.new
        else:
            state = event.new
        self._agents[event.agent_id] = (status, state)
        after = activity_for(status, state)
        if after == before:
            return []
        return [
            AgentActivityChange(
                agent_id=event.agent_id,
                activity=after,
                at=now,
                queues=self.agent_queues.get(event.agent_id, ()),
            )
        ]

    @property
    def calls_tracked(self) -> int:
        return len(self._entered)
