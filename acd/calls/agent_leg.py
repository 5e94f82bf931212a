"""One INVITE to one agent's softphone (an offer of the router made real), and its dialog.

States (`LegState`): INVITING (sent, nothing heard) → RINGING (a provisional arrived) →
ANSWERED (2xx received and ACKed; 3PCC not finished) → CONNECTED (bridged) → ENDED.
CANCELLING: the router withdrew the offer or the caller left; a 2xx that still arrives is
ACKed and hung up at once, never bridged. A leg is ended exactly once (`AgentLeg.end`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sip.dialog import Dialog
from sip.message import Request
from sip.sdp import SessionDescription
from sip.transaction_events import Address, TransactionKey

from .timers import Deadline

__all__ = ["AgentLeg", "LegState", "failure_for_status"]


class LegState(enum.Enum):
    INVITING = "inviting"
    RINGING = "ringing"
    CANCELLING = "cancelling"
    ANSWERED = "answered"
    CONNECTED = "connected"
    ENDED = "ended"


LIVE_BEFORE_ANSWER = frozenset({LegState.INVITING, LegState.RINGING})

# The mapping: 486/603 rejected; 408/480/503, transport error, no response
# unreachable. Any other failure is counted as a rejection by the phone.
_UNREACHABLE = frozenset({404, 408, 410, 480, 502, 503, 504})


def failure_for_status(status: int) -> str:
    """``"rejected"`` or ``"unreachable"`` for a final non-2xx status of an agent INVITE."""
    return "unreachable" if status in _UNREACHABLE else "rejected"


@dataclass(eq=False)
class AgentLeg:
    call_id: str
    agent_id: str
    invite: Request
    key: TransactionKey
    dest: Address
    offered_sdp: SessionDescription | None  # what the agent was offered (the caller's SDP)
    state: LegState = LegState.INVITING
    dialog: Dialog | None = None
    answer_sdp: SessionDescription | None = None  # the agent's current SDP
    answer_body: bytes = b""
    final_status: int = 0
    overflow_target: str | None = None  # set when this leg carries an overflow, not an offer
    session_expires: int | None = None  # RFC 4028 interval agreed in the 2xx
    we_refresh: bool = False
    timers: list[Deadline] = field(default_factory=list)
    #: The ACK of the first 2xx and where it went: resent as it is for every
    #: retransmission of that 2xx (its CSeq stays the INVITE's after later re-INVITEs).
    ack: Request | None = None
    ack_dest: Address | None = None

    @property
    def ringing(self) -> bool:
        return self.state in LIVE_BEFORE_ANSWER

    def end(self) -> bool:
        """Mark ended; False if it already was (so callers report a leg once)."""
        if self.state is LegState.ENDED:
            return False
        self.state = LegState.ENDED
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        return True
