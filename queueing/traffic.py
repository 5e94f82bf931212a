"""Traffic model for the simulation: who calls, when, for how long, with what patience,
and how the simulated agents handle an offer.

Every random quantity of a caller is drawn when the caller is generated, so two routers
fed the same traffic see the very same callers (common random numbers).
``acd demo`` can iterate ``PoissonTraffic.arrivals()`` to place real SIP calls.
``single_skill_centre`` builds the one-queue, one-skill set-up of Erlang C/A.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from .model import AgentSpec, QueueSpec, Tier

__all__ = [
    "AgentBehaviour",
    "CallArrival",
    "CallStream",
    "PoissonTraffic",
    "TrafficModel",
    "single_skill_centre",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStream:
    """One Poisson stream of callers into ``queue``.

    ``mean_patience`` None means callers never hang up before being answered.
    """

    queue: str
    arrival_rate: float  # calls per second
    mean_handle_time: float  # seconds of talk (exponential); wrap-up comes from the queue
    mean_patience: float | None = None  # seconds (exponential)
    priority: int = 0
    extra_skills: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not math.isfinite(self.arrival_rate) or self.arrival_rate < 0:
            raise ValueError(f"arrival_rate must be >= 0, got {self.arrival_rate!r}")
        if not math.isfinite(self.mean_handle_time) or self.mean_handle_time <= 0:
            raise ValueError(f"mean_handle_time must be > 0, got {self.mean_handle_time!r}")
        if self.mean_patience is not None and not self.mean_patience > 0:
            raise ValueError(f"mean_patience must be > 0 or None, got {self.mean_patience!r}")
        object.__setattr__(self, "extra_skills", MappingProxyType(dict(self.extra_skills)))


@dataclass(frozen=True, slots=True, kw_only=True)
class CallArrival:
    """One generated caller, with all of its random quantities already drawn."""

    call_id: str
    queue: str
    at: float
    handle_time: float
    patience: float | None  # None: never abandons
    priority: int
    extra_skills: Mapping[str, int]


class TrafficModel(Protocol):
    def arrivals(self, start: float, end: float) -> Iterator[CallArrival]:
        """Callers arriving in [start, end), in time order."""
        ...


class PoissonTraffic:
    """Superposition of independent Poisson streams, exponential talk and patience.

    Seeded with its own ``random.Random``; ``arrivals()`` restarts the sequence, so
    the same seed always yields the same callers.
    """

    def __init__(self, streams: Sequence[CallStream], *, seed: int = 0) -> None:
        if not streams:
            raise ValueError("PoissonTraffic needs at least one CallStream")
        self.streams = tuple(streams)
        self.seed = seed
        self.total_rate = sum(s.arrival_rate for s in self.streams)

    def arrivals(self, start: float, end: float) -> Iterator[CallArrival]:
        rng = random.Random(f"traffic:{self.seed}")
        if self.total_rate <= 0:
            return
        weights = [s.arrival_rate for s in self.streams]
        t = start
        n = 0
        while True:
            t += rng.expovariate(self.total_rate)
            if t >= end:
                return
            stream = (
                self.streams[0]
                if len(self.streams) == 1
                else (rng.choices(self.streams, weights)[0])
            )
            n += 1
            handle = rng.expovariate(1.0 / stream.mean_handle_time)
            patience = (
                None
                if stream.mean_patience is None
                else rng.expovariate(1.0 / stream.mean_patience)
            )
            yield CallArrival(
                call_id=f"c{n}",
                queue=stream.queue,
                at=t,
                handle_time=handle,
                patience=patience,
                priority=stream.priority,
                extra_skills=stream.extra_skills,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentBehaviour:
    """How the simulated agents handle an offer.

    ``ring_delay`` is the mean time from ``OfferCall`` to the answer (0 answers at
    once; ``exponential_ring_delay`` draws it, otherwise it is fixed). With
    probability 1 − ``answer_probability`` the agent lets it ring: the router's
    own ring timeout ends the offer.
    """

    ring_delay: float = 0.0
    exponential_ring_delay: bool = False
    answer_probability: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.ring_delay) or self.ring_delay < 0:
            raise ValueError(f"ring_delay must be >= 0, got {self.ring_delay!r}")
        if not 0.0 <= self.answer_probability <= 1.0:
            raise ValueError(
                f"answer_probability must be in [0, 1], got {self.answer_probability!r}"
            )


def single_skill_centre(
    agents: int,
    *,
    queue: str = "general",
    skill: str = "general",
    wrapup_seconds: float = 0.0,
    ring_timeout: float = 15.0,
) -> tuple[list[QueueSpec], list[AgentSpec]]:
    """One queue, one skill, ``agents`` identical agents: the Erlang C/A set-up."""
    queues = [
        QueueSpec(
            name=queue,
            required_skills={skill: 1},
            wrapup_seconds=wrapup_seconds,
            ring_timeout=ring_timeout,
        )
    ]
    specs = [AgentSpec(id=f"a{i}", skills={skill: 5}, tiers={queue: Tier()}) for i in range(agents)]
    return queues, specs
