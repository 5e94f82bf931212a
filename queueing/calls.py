"""Runtime call records, offers, and the per-requirement waiting buckets.

Waiting calls of one queue that share requirements and agent pools sit in one
``Bucket`` ordered by ``CallKey`` = (-priority, first arrival, sequence, id): the
bucket head is the only call of the bucket any agent needs to look at. Relaxation moves
a call to another bucket at its step deadline; nothing rescans waiting calls per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .model import CallState
from .skills import Requirements
from .sortedkeys import SortedKeys

__all__ = ["Bucket", "BucketKey", "Call", "CallKey", "Offer"]

CallKey = tuple[int, float, int, str]
BucketKey = tuple[str, Requirements, tuple[str, ...]]


@dataclass(slots=True, eq=False)
class Offer:
    agent_id: str
    offered_at: float
    token: int  # validates the ring-timeout deadline


@dataclass(slots=True, eq=False)
class Call:
    id: str
    queue: str
    priority: int
    arrived_at: float  # first arrival at the ACD: keeps the caller's place on overflow
    queued_at: float  # entry into the current queue: relaxation and max wait count from it
    seq: int
    extra_skills: Mapping[str, int]
    requirements: Requirements
    pools: tuple[str, ...]
    steps_applied: int = 0
    state: CallState = CallState.WAITING
    offers: dict[str, Offer] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)
    attempts: int = 0
    visited: list[str] = field(default_factory=list)
    relax_token: int = 0
    visit_token: int = 0  # validates the max-wait deadline of the current visit
    agent_id: str | None = None  # who answered
    answered_at: float = 0.0
    bucket: BucketKey | None = None  # set while WAITING
    position: int = 0  # 1-based position when it last entered a queue (CallQueued)
    # (-priority, first arrival, sequence, id): never changes, so computed once
    key: CallKey = field(init=False)

    def __post_init__(self) -> None:
        self.key = (-self.priority, self.arrived_at, self.seq, self.id)


@dataclass(slots=True, eq=False)
class Bucket:
    key: BucketKey
    neg_weight: int  # minus the weight of the calls' queue: part of the head's rank
    waiting: SortedKeys[CallKey] = field(default_factory=SortedKeys)

    @property
    def queue(self) -> str:
        return self.key[0]

    @property
    def requirements(self) -> Requirements:
        return self.key[1]

    @property
    def pools(self) -> tuple[str, ...]:
        return self.key[2]
