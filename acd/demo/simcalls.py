"""The simulator's shared bookkeeping: how a simulated call ended (`CallerResult`), one
simulated caller as the PBX sees it (`SimCall`) and the run's counters (`SimStats`).

Shared by the PBX (`acd.demo.pbx`), which owns the calls, and the agents' phones
(`acd.demo.phones`), which look up a call's handle time by the caller number.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from enum import Enum

from queueing.traffic import CallArrival
from sip.dialog import Dialog
from sip.message import Request
from sip.transaction_events import TransactionKey

__all__ = ["CallerResult", "SimCall", "SimStats", "stats_json"]


class CallerResult(Enum):
    """How a simulated call ended, as the PBX saw it."""

    COMPLETED = "completed"  # connected to an agent, then hung up by either side
    ABANDONED = "abandoned"  # the caller gave up before being connected
    REFUSED = "refused"  # a final non-2xx to the INVITE (404, 486, 503, ...)
    REDIRECTED = "redirected"  # 3xx (overflow to a SIP URI in ringback mode)
    DROPPED = "dropped"  # the ACD sent BYE before connecting (failed / overflow)
    TIMED_OUT = "timed-out"  # no final response at all
    CUT = "cut"  # still up when the simulator stopped


@dataclass(slots=True)
class SimCall:
    """One simulated caller from the PBX's point of view (times: loop clock)."""

    arrival: CallArrival
    number: str  # the dialled queue number
    caller: str  # unique caller number: the agent's key to the handle time
    agent_hangs_up: bool
    speed: float
    invite: Request | None = None
    key: TransactionKey | None = None
    dialog: Dialog | None = None
    started: float = 0.0
    answered_by_acd: float | None = None  # 200 to the INVITE
    connected: float | None = None  # talking to an agent
    ended: float | None = None
    result: CallerResult | None = None
    status: int | None = None  # final status of the INVITE
    gave_up: bool = False
    session: str = "1"
    sdp_version: int = 1
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    @property
    def handle_time(self) -> float:
        return self.arrival.handle_time / self.speed

    @property
    def patience(self) -> float | None:
        p = self.arrival.patience
        return None if p is None else p / self.speed

    @property
    def wait(self) -> float | None:
        """Seconds from the INVITE to being connected to an agent."""
        return None if self.connected is None else self.connected - self.started


@dataclass(slots=True)
class SimStats:
    placed: int = 0
    connected: int = 0
    results: dict[str, int] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)  # seconds to connect, real
    agent_answers: int = 0
    agent_hangups: int = 0
    caller_hangups: int = 0
    pauses: int = 0
    unpauses: int = 0
    pause_refused: int = 0
    registered: int = 0
    register_failed: int = 0

    def count(self, result: CallerResult) -> None:
        self.results[result.value] = self.results.get(result.value, 0) + 1

    def as_dict(self) -> dict[str, object]:
        return {
            "placed": self.placed, "connected": self.connected, "results": dict(self.results),
            "agent_answers": self.agent_answers, "agent_hangups": self.agent_hangups,
            "caller_hangups": self.caller_hangups, "pauses": self.pauses,
            "unpauses": self.unpauses, "pause_refused": self.pause_refused,
            "registered": self.registered, "register_failed": self.register_failed,
        }


def stats_json(stats: SimStats) -> str:
    return json.dumps(stats.as_dict(), sort_keys=True)
