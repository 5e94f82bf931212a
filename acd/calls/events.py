"""Facts the call-control engine reports (past tense), for the journal, KPIs and the log.

The routing core reports queue facts (CallQueued, CallAnswered, ...); these add what only
the SIP side knows: which trunk, which numbers, the final SIP codes and who hung up.
Every call ends with exactly one `CallEnded`; every agent leg with one `AgentLegEnded`.
Agent status changes requested from a softphone (feature codes) are `AgentStatusRequested`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "AgentLegEnded",
    "AgentStatusRequested",
    "CallEnded",
    "CallEngineEvent",
    "CallStarted",
    "HangupBy",
]


class HangupBy(enum.Enum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted:
    """An INVITE from a trunk was accepted into a queue."""

    call_id: str  # our internal id (the router's call id)
    sip_call_id: str
    trunk: str
    queue: str
    caller: str  # caller number (From user)
    dialled: str  # Request-URI user
    mode: str  # "announce" | "ringback"
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLegEnded:
    """One ring of one agent ended. ``status``: the final SIP status of the agent's
    INVITE (0 if none arrived); ``result``: answered, rejected, unreachable, cancelled,
    answered-too-late (a 200 crossing our CANCEL: ACKed and hung up, never bridged)."""

    call_id: str
    agent_id: str
    status: int
    result: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    """The call is gone. ``outcome``: answered, abandoned, overflowed, failed, rejected
    (refused before queueing: 403/404/488). ``hangup_by``: who ended it."""

    call_id: str
    sip_call_id: str
    trunk: str
    queue: str | None
    caller: str
    dialled: str
    outcome: str
    hangup_by: HangupBy
    caller_status: int  # the final status we sent on the caller's INVITE (200, 302, 487, ...)
    agent_id: str | None
    reason: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusRequested:
    """An agent dialled a feature code. ``accepted`` False: the router refused (``code``)."""

    agent_id: str
    action: str  # available | login | pause | logout | end-wrapup
    reason: str | None
    accepted: bool
    code: str | None
    at: float


CallEngineEvent = CallStarted | AgentLegEnded | CallEnded | AgentStatusRequested
