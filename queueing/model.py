"""Configuration consumed by the router, and the enums of the routing model.

These are plain frozen dataclasses. The pydantic models in ``config/`` are the only
place that validates *user* input; the composition root maps them onto these. The
checks here only guard the router's own assumptions (they raise ``RoutingError`` with
code ``invalid_config``) so a bad mapping fails at start-up, not mid-call.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import INVALID_CONFIG, RoutingError

__all__ = [
    "NO_ANSWER_PAUSE_REASON",
    "AgentSpec",
    "AgentState",
    "AgentStatus",
    "CallState",
    "OfferEndReason",
    "OfferFailure",
    "Outcome",
    "OverflowReason",
    "QueueSpec",
    "RelaxStep",
    "Strategy",
    "Tier",
    "WhenNoAgents",
    "is_sip_uri",
]

# Pause reason the router itself uses after max_no_answers consecutive misses. It is
# always valid, whether or not the configured reason codes list it.
NO_ANSWER_PAUSE_REASON = "no-answer"

MIN_SKILL_LEVEL = 1
MAX_SKILL_LEVEL = 10


class Strategy(enum.Enum):
    """How a queue picks among eligible idle agents (ties: fewest skills, then id)."""

    LONGEST_IDLE = "longest-idle"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    ROUND_ROBIN = "round-robin"  # remembers the last agent offered, per queue
    LINEAR = "linear"  # tier (level, position) order, always from the top
    RANDOM = "random"  # seeded: Router(seed=...)
    RING_ALL = "ring-all"  # every eligible idle agent; first answer wins


class WhenNoAgents(enum.Enum):
    """What a call does when no logged-in agent could ever take it."""

    WAIT = "wait"
    OVERFLOW = "overflow"


class AgentStatus(enum.Enum):
    """Chosen by the agent or a supervisor."""

    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    PAUSED = "paused"


class AgentState(enum.Enum):
    """Managed by the router: what the system is doing with the agent."""

    IDLE = "idle"
    RESERVED = "reserved"  # an offer is ringing on the agent's phone
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    DELAYED = "delayed"  # resting after a missed/rejected offer (no_answer_delay)
    UNREACHABLE = "unreachable"  # not registered / last INVITE could not reach it


class CallState(enum.Enum):
    WAITING = "waiting"  # in queue, no offer ringing
    OFFERED = "offered"  # at least one offer ringing
    ANSWERED = "answered"  # bridged to an agent, until call_completed


class Outcome(enum.Enum):
    """Exactly one per call visit to a queue."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    FAILED = "failed"


class OfferFailure(enum.Enum):
    """Why the SIP side reports an offer as failed (``Router.offer_failed``)."""

    NO_ANSWER = "no-answer"  # ring timeout seen by the SIP side (e.g. 408/480)
    REJECTED = "rejected"  # 486 Busy Here / 603 Decline
    UNREACHABLE = "unreachable"  # no registration, transport error, 404/503


class OfferEndReason(enum.Enum):
    """Why a ringing offer stopped (``OfferEnded.reason``)."""

    ANSWERED = "answered"
    NO_ANSWER = "no-answer"  # reported, or the router's ring timeout expired
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    CALLER_LEFT = "caller-left"
    ANSWERED_ELSEWHERE = "answered-elsewhere"  # ring-all: another agent won
    AGENT_LOGGED_OUT = "agent-logged-out"
    AGENT_PAUSED = "agent-paused"
    AGENT_UNREACHABLE = "agent-unreachable"  # registration lost while ringing
    OVERFLOWED = "overflowed"  # max wait reached while ringing
    CALL_FAILED = "call-failed"


class OverflowReason(enum.Enum):
    MAX_WAIT = "max-wait"
    NO_AGENTS = "no-agents"


def is_sip_uri(target: str) -> bool:
    """Overflow targets are queue names unless they are SIP(S) URIs."""
    return target.startswith(("sip:", "sips:"))


def _check_levels(where: str, levels: Mapping[str, int]) -> None:
    for skill, level in levels.items():
        if not skill or not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise RoutingError(
                INVALID_CONFIG, f"{where}: skill {skill!r} level {level} not in 1..10"
            )


def _frozen(levels: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(levels))


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaxStep:
    """Applied ``after_seconds`` after the call entered its queue; steps accumulate.

    ``set_level`` sets a skill's minimum level (adding the requirement if absent),
    ``drop_skills`` removes requirements, ``add_queues`` lets the agents of those
    queues take the call too (still subject to the call's current requirements).
    """

    after_seconds: float
    set_level: Mapping[str, int] = field(default_factory=dict)
    drop_skills: tuple[str, ...] = ()
    add_queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.after_seconds < 0:
            raise RoutingError(INVALID_CONFIG, "relax step after_seconds must be >= 0")
        _check_levels("relax step", self.set_level)
        object.__setattr__(self, "set_level", _frozen(self.set_level))


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """An agent's membership of one queue: lower level first, then lower position."""

    level: int = 1
    position: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSpec:
    name: str
    numbers: tuple[str, ...] = ()
    required_skills: Mapping[str, int] = field(default_factory=dict)
    strategy: Strategy = Strategy.LONGEST_IDLE
    weight: int = 0  # higher wins when one agent could take callers of several queues
    ring_timeout: float = 15.0
    wrapup_seconds: float = 0.0
    max_wait: float | None = None  # None: wait forever
    when_no_agents: WhenNoAgents = WhenNoAgents.WAIT
    overflow_target: str | None = None  # queue name or sip:/sips: URI
    relaxation: tuple[RelaxStep, ...] = ()
    no_answer_delay: float = 0.0  # agent rests this long after a missed offer
    reject_delay: float = 0.0  # ... and after a rejected (busy/decline) offer
    max_no_answers: int = 0  # consecutive misses before pause "no-answer"; 0 = never

    def __post_init__(self) -> None:
        if not self.name:
            raise RoutingError(INVALID_CONFIG, "queue name must not be empty")
        where = f"queue {self.name!r}"
        _check_levels(where, self.required_skills)
        object.__setattr__(self, "required_skills", _frozen(self.required_skills))
        if self.ring_timeout <= 0:
            raise RoutingError(INVALID_CONFIG, f"{where}: ring_timeout must be > 0")
        for value, label in (
            (self.wrapup_seconds, "wrapup_seconds"),
            (self.no_answer_delay, "no_answer_delay"),
            (self.reject_delay, "reject_delay"),
            (self.max_no_answers, "max_no_answers"),
        ):
            if value < 0:
                raise RoutingError(INVALID_CONFIG, f"{where}: {label} must be >= 0")
        if self.max_wait is not None and self.max_wait <= 0:
            raise RoutingError(INVALID_CONFIG, f"{where}: max_wait must be > 0 or None")
        needs_target = self.max_wait is not None or self.when_no_agents is WhenNoAgents.OVERFLOW
        if needs_target and self.overflow_target is None:
            raise RoutingError(
                INVALID_CONFIG, f"{where}: max_wait / when_no_agents=overflow need overflow_target"
            )
        if self.overflow_target == self.name:
            raise RoutingError(INVALID_CONFIG, f"{where}: overflows into itself")
        steps = tuple(sorted(self.relaxation, key=lambda s: s.after_seconds))
        object.__setattr__(self, "relaxation", steps)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSpec:
    id: str
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    tiers: Mapping[str, Tier] = field(default_factory=dict)  # queue name -> tier
    wrapup_seconds: float | None = None  # overrides the queue's when set

    def __post_init__(self) -> None:
        if not self.id:
            raise RoutingError(INVALID_CONFIG, "agent id must not be empty")
        _check_levels(f"agent {self.id!r}", self.skills)
        object.__setattr__(self, "skills", _frozen(self.skills))
        object.__setattr__(self, "tiers", MappingProxyType(dict(self.tiers)))
        if self.wrapup_seconds is not None and self.wrapup_seconds < 0:
            raise RoutingError(INVALID_CONFIG, f"agent {self.id!r}: wrapup_seconds < 0")
