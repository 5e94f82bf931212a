"""Router internals, part 3: timers and the dispatch pass.

The one rule that keeps routing correct lives in ``_dispatch``: after every command or
timer, each agent that became able to take offers is matched with the best call it may
take, and each call that became waiting (or was relaxed) is matched with the agent its
queue's strategy prefers. Agents go first, so a freed agent takes the oldest eligible
caller even when a younger caller was relaxed onto it at the same instant.
"""

from __future__ import annotations

from heapq import heappop

from .agents import Agent, AgentInput
from .calls import BucketKey, Call, CallKey
from .model import AgentState, AgentStatus, CallState, OfferEndReason, OverflowReason
from .strategies import select_agents
from .timers import Timer, TimerKind
from .visits import QueueVisits

__all__ = ["Dispatcher", "RankKey"]

RankKey = tuple[int, int, float, int]

_IDLE = AgentState.IDLE
_AVAILABLE = AgentStatus.AVAILABLE


class Dispatcher(QueueVisits):
    # --- timers ------------------------------------------------------------------------

    def _valid(self, timer: Timer) -> bool:
        if timer.kind is TimerKind.REST:
            agent = self._agents.get(timer.subject)
            return agent is not None and agent.rest_token == timer.token
        call = self._calls.get(timer.subject)
        if call is None:
            return False
        if timer.kind is TimerKind.RING:
            offer = call.offers.get(timer.other)
            return offer is not None and offer.token == timer.token
        if timer.kind is TimerKind.RELAX:
            return call.relax_token == timer.token
        return call.visit_token == timer.token

    def _fire(self, timer: Timer) -> None:
        now = timer.when
        if timer.kind is TimerKind.REST:
            self._set_state(self._agents[timer.subject], AgentInput.REST_END, now)
            return
        call = self._calls[timer.subject]
        if timer.kind is TimerKind.RING:
            self._end_offer(call, timer.other, OfferEndReason.NO_ANSWER, now, withdraw=True)
        elif timer.kind is TimerKind.RELAX:
            self._relax(call, now)
            self._schedule_relax(call)
        else:
            self._overflow(call, OverflowReason.MAX_WAIT, now)

    def _advance(self, now: float) -> None:
        """Fire every deadline at or before ``now``, each at its own time."""
        heap = self._timers.heap
        while heap and heap[0][0] <= now:  # the earliest deadline is due
            timer = heappop(heap)
            if self._valid(timer):
                self._fire(timer)
                self._dispatch(timer.when)

    # --- dispatch ----------------------------------------------------------------------

    def _rank(self, key: CallKey, queue: str) -> RankKey:
        return (key[0], -self._queues[queue].spec.weight, key[1], key[2])

    def _best_call_for(self, agent: Agent) -> Call | None:
        """Best (priority, queue weight, wait) head among buckets the agent may serve."""
        best: RankKey | None = None
        best_id = ""
        skills = agent.spec.skills
        queues = self._queues
        for q in agent.queues:
            for key, bucket in queues[q].buckets.items():
                for skill, level in key[1]:  # meets(), inlined: the hottest loop
                    if skills.get(skill, 0) < level:
                        break
                else:
                    head = bucket.waiting.first()
                    rank = (head[0], bucket.neg_weight, head[1], head[2])
                    if best is None or rank < best:
                        best, best_id = rank, head[3]
        return self._calls[best_id] if best is not None else None

    def _select_agents(self, call: Call) -> list[str]:
        return select_agents(call, self._queues, self._agents)

    def _dispatch(self, now: float) -> None:
        while self._dirty_agents or self._dirty_calls:
            agent_ids = list(self._dirty_agents)
            self._dirty_agents.clear()
            if self._dirty_calls:
                # New callers pick by strategy among *all* idle agents: list the freed
                # ones first. Without new callers (the common case: a call ended while
                # callers wait) a freed agent that finds a caller never gets indexed.
                for agent_id in agent_ids:
                    self._index(self._agents[agent_id])
            for agent_id in agent_ids:
                agent = self._agents[agent_id]
                while agent.status is _AVAILABLE and agent.state is _IDLE:
                    call = self._best_call_for(agent)
                    if call is None:
                        break
                    if call.id not in self._dirty_calls:
                        # The call waited before this step, so by work conservation
                        # only agents freed in this step can take it: this one.
                        chosen = [agent_id]
                    else:
                        # The strategy picks among the idle agents, but only agents for
                        # whom this call is the best may get it: another freed agent
                        # may be owed an older caller that this agent cannot take.
                        chosen = [
                            other for other in self._select_agents(call)
                            if other == agent_id
                            or self._best_call_for(self._agents[other]) is call
                        ] or [agent_id]  # fmt: skip
                    self._offer(call, chosen, now)
                if agent.state is _IDLE and not agent.indexed:  # still idle: index it
                    self._index(agent)
            if self._dirty_calls:
                self._dispatch_calls(now)

    def _dispatch_calls(self, now: float) -> None:
        if len(self._dirty_calls) == 1:  # one new caller: the same rule, made short
            call = self._calls.get(self._dirty_calls.pop())
            if call is None or call.state is not CallState.WAITING or call.bucket is None:
                return
            if len(self._buckets[call.bucket].waiting) == 1:
                chosen = self._select_agents(call)
                if chosen:
                    self._offer(call, chosen, now)
            return
        calls = [self._calls[c] for c in self._dirty_calls if c in self._calls]
        self._dirty_calls.clear()
        calls = [c for c in calls if c.state is CallState.WAITING]
        if len(calls) > 1:
            calls.sort(key=lambda c: self._rank(c.key, c.queue))
        # A bucket holding a call that waited before this step has no eligible idle
        # agent (work conservation; agents freed now were served first): skip it
        # instead of walking the idle index once per new caller.
        fresh: dict[BucketKey, int] = {}
        for call in calls:
            assert call.bucket is not None
            fresh[call.bucket] = fresh.get(call.bucket, 0) + 1
        exhausted: set[BucketKey] = set()
        for call in calls:
            key = call.bucket
            if key is None or key in exhausted:
                continue
            if len(self._buckets[key].waiting) > fresh[key]:
                exhausted.add(key)
                continue
            chosen = self._select_agents(call)
            if chosen:
                fresh[key] -= 1
                self._offer(call, chosen, now)
            else:
                exhausted.add(key)
