"""Pure, synchronous, deterministic routing core of the ACD.

Imports only the standard library; never reads the clock, never logs, never does I/O.
Feed it commands with ``now``; take events and decisions from ``Router.drain()``;
call ``Router.handle_timer(now)`` at ``Router.next_deadline()``.
"""

from .errors import RoutingError
from .events import (
    AgentStateChanged,
    AgentStatusChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOffered,
    CallOverflowed,
    CallQueued,
    Decision,
    Event,
    OfferCall,
    OfferEnded,
    Output,
    OverflowCall,
    RequirementsRelaxed,
    WithdrawOffer,
)
from .model import (
    NO_ANSWER_PAUSE_REASON,
    AgentSpec,
    AgentState,
    AgentStatus,
    CallState,
    OfferEndReason,
    OfferFailure,
    Outcome,
    OverflowReason,
    QueueSpec,
    RelaxStep,
    Strategy,
    Tier,
    WhenNoAgents,
    is_sip_uri,
)
from .router import Router
from .views import AgentView, CallView, QueueView

__all__ = [
    "NO_ANSWER_PAUSE_REASON",
    "AgentSpec",
    "AgentState",
    "AgentStateChanged",
    "AgentStatus",
    "AgentStatusChanged",
    "AgentView",
    "CallAbandoned",
    "CallAnswered",
    "CallCompleted",
    "CallFailed",
    "CallOffered",
    "CallOverflowed",
    "CallQueued",
    "CallState",
    "CallView",
    "Decision",
    "Event",
    "OfferCall",
    "OfferEndReason",
    "OfferEnded",
    "OfferFailure",
    "Outcome",
    "Output",
    "OverflowCall",
    "OverflowReason",
    "QueueSpec",
    "QueueView",
    "RelaxStep",
    "RequirementsRelaxed",
    "Router",
    "RoutingError",
    "Strategy",
    "Tier",
    "WhenNoAgents",
    "WithdrawOffer",
    "is_sip_uri",
]
