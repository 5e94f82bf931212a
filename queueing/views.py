"""Read-only snapshots for the HTTP API and wallboards (copies, never live records)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .model import AgentState, AgentStatus, CallState

__all__ = ["AgentView", "CallView", "QueueView"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentView:
    agent_id: str
    status: AgentStatus
    pause_reason: str | None
    state: AgentState
    reachable: bool
    call_id: str | None
    calls_answered: int
    talk_time: float
    last_call_end: float | None
    consecutive_no_answers: int
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallView:
    call_id: str
    queue: str
    state: CallState
    priority: int
    arrived_at: float
    queued_at: float
    requirements: Mapping[str, int]
    pools: tuple[str, ...]
    offered_to: tuple[str, ...]  # agents ringing now
    tried: tuple[str, ...]  # agents offered so far in this queue, sorted
    attempts: int
    agent_id: str | None  # who answered
    position: int | None  # 1-based among the queue's unanswered calls; None once answered


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueView:
    name: str
    waiting: int  # unanswered calls (waiting or ringing)
    ringing: int  # of which an offer is ringing
    oldest_wait: float | None  # seconds the longest-waiting unanswered call has waited
    logged_in: int  # member agents not LOGGED_OUT
    available: int  # member agents AVAILABLE (any state)
    idle: int  # member agents able to take an offer now
    mean_handle_time: float  # the estimator's current figure
