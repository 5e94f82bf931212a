"""Response and request bodies of the supervisor API (the OpenAPI schema comes from here).

Times are ISO-8601 UTC; durations are seconds. Enum values are the routing core's own
(``logged-out``, ``on-call``, ...), so the API, the journal and the metrics agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from metrics.kpi import KpiFigures
from queueing import AgentState, AgentStatus, AgentView, CallState, CallView, QueueView

__all__ = [
    "Agent",
    "AuditEntry",
    "Call",
    "KpiReport",
    "KpiScope",
    "PauseRequest",
    "Queue",
    "QueueAgents",
    "agent_out",
    "call_out",
    "kpi_scope",
    "queue_out",
]


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class Agent(BaseModel):
    id: str
    name: str = ""
    status: AgentStatus = Field(description="chosen by the agent or a supervisor")
    pause_reason: str | None = None
    state: AgentState = Field(description="what the system is doing with the agent")
    reachable: bool = Field(description="the softphone is registered and answering")
    call_id: str | None = Field(default=None, description="call ringing or connected")
    queues: list[str]
    calls_answered: int = Field(ge=0)
    talk_seconds: float = Field(ge=0)
    last_call_end: datetime | None = None
    consecutive_no_answers: int = Field(ge=0)


class QueueAgents(BaseModel):
    logged_in: int = Field(ge=0)
    available: int = Field(ge=0, description="status available, whatever the state")
    idle: int = Field(ge=0, description="able to take an offer now")
    by_state: dict[str, int] = Field(description="logged-in member agents per state")
    by_status: dict[str, int] = Field(description="member agents per status")


class Queue(BaseModel):
    name: str
    waiting: int = Field(ge=0, description="unanswered calls (waiting or ringing)")
    ringing: int = Field(ge=0, description="of which an offer is ringing")
    longest_wait_seconds: float | None = Field(
        default=None, description="wait of the longest-waiting unanswered call"
    )
    mean_handle_time_seconds: float
    agents: QueueAgents


class Call(BaseModel):
    call_id: str
    queue: str
    state: CallState
    position: int | None = Field(default=None, description="1-based; None once answered")
    priority: int
    arrived_at: datetime
    queued_at: datetime
    waited_seconds: float = Field(description="seconds in this queue so far")
    requirements: dict[str, int] = Field(description="current (relaxed) skill levels")
    pools: list[str]
    offered_to: list[str] = Field(description="agents whose phone rings now")
    attempts: int
    agent_id: str | None = None


class PauseRequest(BaseModel):
    reason: str = Field(
        min_length=1, max_length=64, description="one of the configured pause_reasons"
    )


class AuditEntry(BaseModel):
    """One state-changing API request (``api_audit``), accepted or not."""

    id: int = Field(description="increases in recording order; page with ?after=<last id>")
    audit_id: str
    ts: datetime = Field(description="when the ACD received the request")
    actor: str | None = Field(
        description="the token's configured name (never the token); null: the API is open"
    )
    role: str | None = Field(description="the token's role: read or admin")
    action: str = Field(description='"METHOD /path template", e.g. '
                        '"POST /api/v1/agents/{agent_id}/pause"')
    target: str | None = Field(description="the path parameter(s): the agent id")
    params: dict[str, Any] = Field(description="what was sent: the body's fields (sanitised)")
    result: Literal["accepted", "refused", "failed"]
    status: int = Field(description="the HTTP status answered")
    code: str | None = Field(description="the problem code when refused or failed")
    detail: str | None = None


class KpiScope(BaseModel):
    queue: str | None = Field(description="None: the whole hotline")
    window: str = Field(description="rolling (24 h) or calendar_day (local time zone)")
    offered: int
    answered: int
    answered_within: int
    abandoned: int
    abandoned_short: int
    abandoned_within: int
    overflowed: int
    failed: int
    service_level: float | None
    connection_rate: float | None
    abandonment_rate: float | None
    average_speed_of_answer: float | None
    occupancy: float | None
    talk_seconds: float
    wrap_seconds: float
    idle_seconds: float


class KpiReport(BaseModel):
    generated_at: datetime
    scopes: list[KpiScope]


def agent_out(view: AgentView, name: str = "") -> Agent:
    return Agent(
        id=view.agent_id,
        name=name,
        status=view.status,
        pause_reason=view.pause_reason,
        state=view.state,
        reachable=view.reachable,
        call_id=view.call_id,
        queues=list(view.queues),
        calls_answered=view.calls_answered,
        talk_seconds=view.talk_time,
        last_call_end=_utc(view.last_call_end),
        consecutive_no_answers=view.consecutive_no_answers,
    )


def queue_out(view: QueueView, members: Iterable[AgentView]) -> Queue:
    members = list(members)
    by_state = Counter(
        a.state.value for a in members if a.status is not AgentStatus.LOGGED_OUT
    )
    by_status = Counter(a.status.value for a in members)
    return Queue(
        name=view.name,
        waiting=view.waiting,
        ringing=view.ringing,
        longest_wait_seconds=view.oldest_wait,
        mean_handle_time_seconds=view.mean_handle_time,
        agents=QueueAgents(
            logged_in=view.logged_in,
            available=view.available,
            idle=view.idle,
            by_state={s.value: by_state.get(s.value, 0) for s in AgentState},
            by_status={s.value: by_status.get(s.value, 0) for s in AgentStatus},
        ),
    )


def call_out(view: CallView, now: float) -> Call:
    return Call(
        call_id=view.call_id,
        queue=view.queue,
        state=view.state,
        position=view.position,
        priority=view.priority,
        arrived_at=datetime.fromtimestamp(view.arrived_at, UTC),
        queued_at=datetime.fromtimestamp(view.queued_at, UTC),
        waited_seconds=max(0.0, now - view.queued_at),
        requirements=dict(view.requirements),
        pools=list(view.pools),
        offered_to=list(view.offered_to),
        attempts=view.attempts,
        agent_id=view.agent_id,
    )


def kpi_scope(queue: str | None, window: str, f: KpiFigures) -> KpiScope:
    return KpiScope(
        queue=queue,
        window=window,
        offered=f.offered,
        answered=f.answered,
        answered_within=f.answered_within,
        abandoned=f.abandoned,
        abandoned_short=f.abandoned_short,
        abandoned_within=f.abandoned_within,
        overflowed=f.overflowed,
        failed=f.failed,
        service_level=f.service_level,
        connection_rate=f.connection_rate,
        abandonment_rate=f.abandonment_rate,
        average_speed_of_answer=f.average_speed_of_answer,
        occupancy=f.occupancy,
        talk_seconds=f.talk_seconds,
        wrap_seconds=f.wrap_seconds,
        idle_seconds=f.idle_seconds,
    )


def names(agents: Iterable[object]) -> Mapping[str, str]:
    """agent id -> display name from ``settings.agents``."""
    return {str(getattr(a, "id", "")): str(getattr(a, "name", "")) for a in agents}
