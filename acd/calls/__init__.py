"""Call control: inbound calls from trunks, agent legs, 3PCC bridging, feature codes.

See docs/calls.md. `CallControl` is built by the composition root and installed on the
`SipService` (INVITE, BYE, UPDATE, in-dialog OPTIONS, CANCEL/ACK) and the
`RoutingService` (decisions).
"""

from .agent_leg import AgentLeg, LegState
from .call import Call, CallState, Mode
from .engine import CallControl, Observer
from .events import (
    AgentLegEnded,
    AgentStatusRequested,
    CallEnded,
    CallEngineEvent,
    CallStarted,
    HangupBy,
)
from .media import CallMedia, PlayerMedia

__all__ = [
    "AgentLeg",
    "AgentLegEnded",
    "AgentStatusRequested",
    "Call",
    "CallControl",
    "CallEnded",
    "CallEngineEvent",
    "CallMedia",
    "CallStarted",
    "CallState",
    "HangupBy",
    "LegState",
    "Mode",
    "Observer",
    "PlayerMedia",
]
