"""Agent selection strategies and the per-queue index of idle agents.

Each queue keeps its idle agents (status AVAILABLE, state IDLE) in ``SortedKeys``
ordered by the queue's strategy key, then fewest skills (generalists stay free for the
calls only they can take), then agent id -- in two disjoint halves: members who meet
the queue's *base* requirements (``required_skills``) and members who do not. Choosing
an agent for a call is a walk from the front of that order to the first agent meeting
the call's requirements. When those requirements imply the queue's base requirements
(every call of the queue until relaxation lowers or drops a skill, and extra skills
only add to them) only the first half is walked, so members lacking the queue's level
are never walked past; otherwise both halves are merged in key order.

Strategy keys (lower first):

- longest-idle: the time the agent last became free for work (login, unpause, end of
  wrap-up); a missed or withdrawn offer does not reset it.
- fewest-calls: calls answered since start; least-talk-time: talk seconds.
- linear and ring-all: tier (level, position) in this queue.
- round-robin: tier order, starting after the agent last offered from this queue.
- random: a number drawn from the router's seeded RNG each time the agent becomes idle.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .agents import Agent
from .calls import Bucket, BucketKey, Call, CallKey
from .estimator import HandleTimeEstimator
from .model import QueueSpec, Strategy, Tier
from .skills import Requirements, meets, requirements_after, to_requirements
from .sortedkeys import SortedKeys

__all__ = ["IdleKey", "QueuePool", "idle_key", "select_agents"]

IdleKey = tuple[float, float, int, str]

_TIER_ORDERED = (Strategy.LINEAR, Strategy.ROUND_ROBIN, Strategy.RING_ALL)


def idle_key(strategy: Strategy, agent: Agent, tier: Tier) -> IdleKey:
    tail = (agent.n_skills, agent.id)
    if strategy is Strategy.LONGEST_IDLE:
        return (agent.idle_since, 0.0, *tail)
    if strategy is Strategy.FEWEST_CALLS:
        return (float(agent.calls_answered), 0.0, *tail)
    if strategy is Strategy.LEAST_TALK_TIME:
        return (agent.talk_time, 0.0, *tail)
    if strategy is Strategy.RANDOM:
        return (agent.random_key, 0.0, *tail)
    assert strategy in _TIER_ORDERED
    return (float(tier.level), float(tier.position), *tail)


@dataclass(slots=True, eq=False)
class QueuePool:
    """Runtime state of one queue: its members, idle index, calls and estimator."""

    spec: QueueSpec
    handle_time: HandleTimeEstimator
    members: dict[str, Tier] = field(default_factory=dict)
    qualified: set[str] = field(default_factory=set)  # members meeting the base requirements
    logged_in: set[str] = field(default_factory=set)
    idle: SortedKeys[IdleKey] = field(default_factory=SortedKeys)  # idle qualified members
    idle_other: SortedKeys[IdleKey] = field(default_factory=SortedKeys)  # idle, the rest
    idle_keys: dict[str, IdleKey] = field(default_factory=dict)  # every idle member
    rr_last: IdleKey | None = None
    # every unanswered call whose current queue is this one: positions by rank
    order: SortedKeys[CallKey] = field(default_factory=SortedKeys)
    # non-empty waiting buckets whose pools include this queue
    buckets: dict[BucketKey, Bucket] = field(default_factory=dict)
    base: Requirements = ()
    # requirements and pools of a call without extra skills when it enters the queue
    initial: tuple[Requirements, tuple[str, ...]] = ((), ())
    _covers: dict[Requirements, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base = to_requirements(self.spec.required_skills)
        self.initial = requirements_after(self.spec, {}, 0)

    @property
    def name(self) -> str:
        return self.spec.name

    def add_member(self, agent_id: str, skills: Mapping[str, int], tier: Tier) -> None:
        self.members[agent_id] = tier
        if meets(skills, self.base):
            self.qualified.add(agent_id)

    def add_idle(self, agent: Agent) -> None:
        key = idle_key(self.spec.strategy, agent, self.members[agent.id])
        self.idle_keys[agent.id] = key
        (self.idle if agent.id in self.qualified else self.idle_other).add(key)

    def remove_idle(self, agent_id: str) -> None:
        key = self.idle_keys.pop(agent_id)
        (self.idle if agent_id in self.qualified else self.idle_other).remove(key)

    def covers(self, requirements: Requirements) -> bool:
        """Does meeting ``requirements`` imply meeting this queue's base requirements?"""
        known = self._covers.get(requirements)
        if known is None:
            levels = dict(requirements)
            known = all(levels.get(skill, 0) >= level for skill, level in self.base)
            self._covers[requirements] = known
        return known

    def candidates(self, requirements: Requirements = ()) -> Iterator[IdleKey]:
        """Idle agents in this queue's strategy order; only the qualified half when
        ``requirements`` imply the base requirements (nobody else can meet them)."""
        halves = [self.idle]
        if self.idle_other and not self.covers(requirements):
            halves.append(self.idle_other)
        if self.spec.strategy is Strategy.ROUND_ROBIN and self.rr_last is not None:
            last = self.rr_last
            yield from _merged([h.iter_after(last) for h in halves])
            for key in _merged([iter(h) for h in halves]):
                if key > last:
                    return
                yield key
        else:
            yield from _merged([iter(h) for h in halves])


def _merged(iterators: list[Iterator[IdleKey]]) -> Iterator[IdleKey]:
    return iterators[0] if len(iterators) == 1 else heapq.merge(*iterators)


def select_agents(
    call: Call, queues: Mapping[str, QueuePool], agents: Mapping[str, Agent]
) -> list[str]:
    """The agent(s) the call's queue strategy picks among eligible idle agents.

    Own queue first, then added pools in order. Within a pool the first skilled agent
    the call has not tried yet wins; failing that, the first skilled agent at all.
    Ring-all returns every skilled idle agent of every pool.
    """
    requirements = call.requirements
    if queues[call.queue].spec.strategy is Strategy.RING_ALL:
        chosen: dict[str, None] = {}
        for q in call.pools:
            for key in queues[q].candidates(requirements):
                agent_id = key[3]
                if agent_id not in chosen and meets(agents[agent_id].spec.skills, requirements):
                    chosen[agent_id] = None
        return list(chosen)
    for q in call.pools:
        pool = queues[q]
        pick: IdleKey | None = None
        for key in pool.candidates(requirements):
            if not meets(agents[key[3]].spec.skills, requirements):
                continue
            if key[3] not in call.tried:
                pick = key
                break
            if pick is None:
                pick = key
        if pick is not None:
            if pool.spec.strategy is Strategy.ROUND_ROBIN:
                pool.rr_last = pick
            return [pick[3]]
    return []
