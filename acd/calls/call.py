"""Per-call state: the caller's leg (the PBX's INVITE and our dialog with it), the agent
legs ringing for it, the one bridged to it, and what the journal needs to know.

States (`CallState`):

| state | meaning |
|---|---|
| ANSWERING | announce mode: RTP port being opened, 200 not yet sent |
| QUEUED | in the router: announce mode answered (hold music), ringback mode still ringing |
| CONNECTING | an agent answered; 3PCC re-INVITE of the caller in progress (announce) |
| BRIDGED | caller and agent talk (media directly between them) |
| ENDED | gone; every later event for it is ignored |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sip.dialog import Dialog
from sip.message import Request
from sip.sdp import SessionDescription
from sip.transaction_events import Address, TransactionKey

from .agent_leg import AgentLeg
from .events import HangupBy
from .timers import Deadline

__all__ = ["Call", "CallState", "Mode"]


class CallState(enum.Enum):
    ANSWERING = "answering"
    QUEUED = "queued"
    CONNECTING = "connecting"
    BRIDGED = "bridged"
    ENDED = "ended"


class Mode(enum.Enum):
    ANNOUNCE = "announce"
    RINGBACK = "ringback"


@dataclass(eq=False)
class Call:
    id: str
    trunk: str
    queue: str
    mode: Mode
    caller: str
    caller_display: str | None
    dialled: str
    invite: Request
    key: TransactionKey  # the caller's INVITE server transaction
    source: Address
    to_tag: str
    caller_offer: SessionDescription  # the caller's original offer, as received
    codec: tuple[int, str]  # payload type, name: what the ACD's own RTP uses
    started_at: float
    state: CallState = CallState.ANSWERING
    dialog: Dialog | None = None  # our UAS dialog with the caller
    our_sdp: SessionDescription | None = None  # the last SDP the caller got from us
    caller_sdp: SessionDescription | None = None  # the caller's current SDP
    acked: bool = False
    in_router: bool = False  # call_arrived done, no outcome reported yet
    answered: bool = False  # offer_answered accepted by the router
    legs: dict[str, AgentLeg] = field(default_factory=dict)  # ringing, by agent id
    bridged: AgentLeg | None = None
    pending_bridge: AgentLeg | None = None  # answered before the caller's ACK arrived
    media_open: bool = False
    ringing_sent: bool = False
    final_status: int = 0  # final status sent on the caller's INVITE
    session_expires: int | None = None  # RFC 4028 interval agreed with the caller
    timers: list[Deadline] = field(default_factory=list)
    announce: Deadline | None = None
    hangup_by: HangupBy | None = None
    reason: str = ""

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED

    @property
    def sip_call_id(self) -> str:
        return self.invite.call_id

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        if self.announce is not None:
            self.announce.cancel()
            self.announce = None
