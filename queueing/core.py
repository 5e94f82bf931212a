"""Router internals: offers, queue membership, timers and the dispatch pass.

``Router`` (router.py) validates commands and calls into these mechanics. The one rule
that keeps routing correct lives in ``_dispatch``: after every command or timer, each
agent that became able to take offers is matched with the best call it may take, and
each call that became waiting (or was relaxed) is matched with the agent its queue's
strategy prefers. Agents go first, so a freed agent takes the oldest eligible caller
even when a younger caller was relaxed onto it at the same instant.
"""

from __future__ import annotations

import random

from .agents import Agent, AgentInput, next_state
from .calls import Bucket, BucketKey, Call, CallKey, Offer
from .estimator import HandleTimeEstimator
from .events import (
    AgentStateChanged,
    AgentStatusChanged,
    CallOffered,
    CallOverflowed,
    CallQueued,
    OfferCall,
    OfferEnded,
    Output,
    OverflowCall,
    RequirementsRelaxed,
    WithdrawOffer,
)
from .model import (
    NO_ANSWER_PAUSE_REASON,
    AgentState,
    AgentStatus,
    CallState,
    OfferEndReason,
    OverflowReason,
    QueueSpec,
    WhenNoAgents,
    is_sip_uri,
)
from .skills import Requirements, meets, requirements_after
from .strategies import QueuePool, select_agents
from .timers import Timer, TimerKind, Timers

__all__ = ["RouterCore"]

RankKey = tuple[int, int, float, int]


class RouterCore:
    def __init__(self, seed: int, default_handle_time: float, alpha: float) -> None:
        self._queues: dict[str, QueuePool] = {}
        self._agents: dict[str, Agent] = {}
        self._calls: dict[str, Call] = {}
        self._buckets: dict[tuple[str, Requirements, tuple[str, ...]], Bucket] = {}
        self._out: list[Output] = []
        self._timers = Timers()
        self._rng = random.Random(seed)
        self._token = 0
        self._call_seq = 0
        self._dirty_agents: dict[str, None] = {}  # insertion-ordered set
        self._dirty_calls: set[str] = set()
        self._default_handle_time = default_handle_time
        self._alpha = alpha

    def _new_pool(self, spec: QueueSpec) -> QueuePool:
        return QueuePool(spec, HandleTimeEstimator(self._default_handle_time, self._alpha))

    def _next_token(self) -> int:
        self._token += 1
        return self._token

    # --- agent state and the idle index ------------------------------------------------

    def _set_state(self, agent: Agent, event: AgentInput, now: float) -> None:
        old = agent.state
        new = next_state(agent, event)
        if new is old:
            return
        agent.state = new
        if new is not AgentState.RESERVED and new is not AgentState.ON_CALL:
            call_id = None
        else:
            call_id = agent.call_id
        self._out.append(
            AgentStateChanged(agent_id=agent.id, old=old, new=new, call_id=call_id, at=now)
        )
        if old in (AgentState.WRAP_UP, AgentState.DELAYED):
            agent.rest_token = 0  # any pending rest deadline is void
        if old is AgentState.WRAP_UP and agent.last_queue is not None:
            self._queues[agent.last_queue].handle_time.observe(now - agent.busy_since)
            agent.idle_since = now
        self._reindex(agent)

    def _set_status(
        self, agent: Agent, status: AgentStatus, reason: str | None, now: float
    ) -> None:
        old = agent.status
        agent.status = status
        agent.pause_reason = reason
        self._out.append(
            AgentStatusChanged(agent_id=agent.id, old=old, new=status, reason=reason, at=now)
        )
        if status is AgentStatus.LOGGED_OUT:
            for q in agent.queues:
                self._queues[q].logged_in.discard(agent.id)
        elif old is AgentStatus.LOGGED_OUT:
            for q in agent.queues:
                self._queues[q].logged_in.add(agent.id)
        self._reindex(agent)

    def _rest(self, agent: Agent, event: AgentInput, seconds: float, now: float) -> None:
        """Enter wrap-up / delay for ``seconds``. A zero delay goes straight to IDLE; a
        zero wrap-up still passes through WRAP_UP, where handle time is measured."""
        if event is AgentInput.MISS and seconds <= 0:
            event = AgentInput.WITHDRAW
        self._set_state(agent, event, now)
        if agent.state in (AgentState.WRAP_UP, AgentState.DELAYED):
            if seconds > 0:
                agent.rest_token = self._next_token()
                self._timers.schedule(now + seconds, TimerKind.REST, agent.id, agent.rest_token)
            else:
                self._set_state(agent, AgentInput.REST_END, now)

    def _reindex(self, agent: Agent) -> None:
        indexed = bool(agent.queues) and agent.id in self._queues[agent.queues[0]].idle_keys
        should = agent.takes_offers
        if should and not indexed:
            agent.random_key = self._rng.random()
            for q in agent.queues:
                self._queues[q].add_idle(agent)
            self._dirty_agents[agent.id] = None
        elif indexed and not should:
            for q in agent.queues:
                self._queues[q].remove_idle(agent.id)

    # --- waiting buckets ---------------------------------------------------------------

    def _bucket_add(self, call: Call) -> None:
        key = (call.queue, call.requirements, call.pools)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(key)
            for q in call.pools:
                self._queues[q].buckets[key] = bucket
        bucket.waiting.add(call.key)
        call.bucket = key
        call.state = CallState.WAITING
        self._dirty_calls.add(call.id)

    def _bucket_remove(self, call: Call) -> None:
        key = call.bucket
        if key is None:
            return
        bucket = self._buckets[key]
        bucket.waiting.remove(call.key)
        call.bucket = None
        if not bucket.waiting:
            del self._buckets[key]
            for q in key[2]:
                del self._queues[q].buckets[key]

    # --- offers ------------------------------------------------------------------------

    def _offer(self, call: Call, agent_ids: list[str], now: float) -> None:
        spec = self._queues[call.queue].spec
        self._bucket_remove(call)
        call.state = CallState.OFFERED
        for agent_id in agent_ids:
            agent = self._agents[agent_id]
            agent.call_id = call.id
            self._set_state(agent, AgentInput.OFFER, now)
            token = self._next_token()
            call.offers[agent_id] = Offer(agent_id, now, token)
            call.tried.add(agent_id)
            call.attempts += 1
            self._timers.schedule(
                now + spec.ring_timeout, TimerKind.RING, call.id, token, agent_id
            )
            self._out.append(
                CallOffered(
                    call_id=call.id, queue=call.queue, agent_id=agent_id,
                    attempt=call.attempts, at=now,
                )
            )
            self._out.append(
                OfferCall(
                    call_id=call.id, agent_id=agent_id, queue=call.queue,
                    ring_timeout=spec.ring_timeout,
                )
            )

    def _end_offer(
        self,
        call: Call,
        agent_id: str,
        reason: OfferEndReason,
        now: float,
        *,
        withdraw: bool,
        requeue: bool = True,
    ) -> None:
        """Stop one ringing offer (not for ANSWERED) and settle agent and call."""
        offer = call.offers.pop(agent_id)
        agent = self._agents[agent_id]
        agent.call_id = None
        self._out.append(
            OfferEnded(
                call_id=call.id, queue=call.queue, agent_id=agent_id, reason=reason,
                ring_seconds=now - offer.offered_at, at=now,
            )
        )
        if withdraw:
            self._out.append(WithdrawOffer(call_id=call.id, agent_id=agent_id, reason=reason))
        spec = self._queues[call.queue].spec
        if reason is OfferEndReason.NO_ANSWER:
            agent.consecutive_no_answers += 1
            limit = spec.max_no_answers
            if limit and agent.consecutive_no_answers >= limit:
                agent.consecutive_no_answers = 0
                if agent.status is AgentStatus.AVAILABLE:
                    self._set_status(agent, AgentStatus.PAUSED, NO_ANSWER_PAUSE_REASON, now)
            self._rest(agent, AgentInput.MISS, spec.no_answer_delay, now)
        elif reason is OfferEndReason.REJECTED:
            self._rest(agent, AgentInput.MISS, spec.reject_delay, now)
        elif reason is OfferEndReason.UNREACHABLE:
            agent.reachable = False
            self._set_state(agent, AgentInput.UNREACHABLE, now)
        elif reason is OfferEndReason.AGENT_UNREACHABLE:
            agent.reachable = False
            self._set_state(agent, AgentInput.LOST, now)
        else:
            self._set_state(agent, AgentInput.WITHDRAW, now)
        if requeue and not call.offers and call.state is CallState.OFFERED:
            self._bucket_add(call)

    def _withdraw_all(self, call: Call, reason: OfferEndReason, now: float) -> None:
        for agent_id in sorted(call.offers):
            self._end_offer(call, agent_id, reason, now, withdraw=True, requeue=False)

    # --- queue visits ------------------------------------------------------------------

    def _leave_queue(self, call: Call, reason: OfferEndReason, now: float) -> None:
        """Take an unanswered call out of its queue (offers withdrawn, indexes cleared)."""
        self._withdraw_all(call, reason, now)
        self._bucket_remove(call)
        self._queues[call.queue].order.remove(call.key)
        call.visit_token = call.relax_token = 0
        call.state = CallState.WAITING
        self._dirty_calls.discard(call.id)

    def _enqueue(self, call: Call, queue: str, now: float, came_from: str | None) -> None:
        pool = self._queues[queue]
        spec = pool.spec
        call.queue = queue
        call.queued_at = now
        call.visited.append(queue)
        call.tried.clear()
        call.attempts = 0
        call.steps_applied = 0
        call.requirements, call.pools = requirements_after(spec, call.extra_skills, 0)
        pool.order.add(call.key)
        self._out.append(
            CallQueued(
                call_id=call.id, queue=queue, priority=call.priority,
                position=pool.order.rank(call.key) + 1, overflowed_from=came_from, at=now,
            )
        )
        while call.steps_applied < len(spec.relaxation) and (
            spec.relaxation[call.steps_applied].after_seconds <= 0
        ):
            self._relax(call, now)
        if spec.when_no_agents is WhenNoAgents.OVERFLOW and not self._staffed(
            call.requirements, call.pools
        ):
            self._overflow(call, OverflowReason.NO_AGENTS, now, queued=False)
            return
        self._bucket_add(call)
        if spec.max_wait is not None:
            call.visit_token = self._next_token()
            self._timers.schedule(
                now + spec.max_wait, TimerKind.MAX_WAIT, call.id, call.visit_token
            )
        self._schedule_relax(call)

    def _schedule_relax(self, call: Call) -> None:
        steps = self._queues[call.queue].spec.relaxation
        if call.steps_applied < len(steps):
            call.relax_token = self._next_token()
            when = call.queued_at + steps[call.steps_applied].after_seconds
            self._timers.schedule(when, TimerKind.RELAX, call.id, call.relax_token)

    def _relax(self, call: Call, now: float) -> None:
        spec = self._queues[call.queue].spec
        waiting = call.state is CallState.WAITING and call.bucket is not None
        if waiting:
            self._bucket_remove(call)
        call.steps_applied += 1
        call.requirements, call.pools = requirements_after(
            spec, call.extra_skills, call.steps_applied
        )
        self._out.append(
            RequirementsRelaxed(
                call_id=call.id, queue=call.queue, step=call.steps_applied - 1,
                requirements=dict(call.requirements), pools=call.pools, at=now,
            )
        )
        if waiting:
            self._bucket_add(call)

    def _staffed(self, requirements: Requirements, pools: tuple[str, ...]) -> bool:
        """Is any logged-in member of the pools skilled for the call?"""
        for q in pools:
            for agent_id in self._queues[q].logged_in:
                if meets(self._agents[agent_id].spec.skills, requirements):
                    return True
        return False

    def _overflow(
        self, call: Call, reason: OverflowReason, now: float, *, queued: bool = True
    ) -> None:
        source = call.queue
        target = self._queues[source].spec.overflow_target
        assert target is not None  # QueueSpec guarantees it
        if queued:
            self._leave_queue(call, OfferEndReason.OVERFLOWED, now)
        else:  # overflowing straight from _enqueue: only listed in the queue order
            self._queues[source].order.remove(call.key)
        self._out.append(
            CallOverflowed(
                call_id=call.id, queue=source, target=target, reason=reason,
                wait_seconds=now - call.queued_at, at=now,
            )
        )
        if is_sip_uri(target):
            self._out.append(
                OverflowCall(call_id=call.id, queue=source, target=target, reason=reason)
            )
            del self._calls[call.id]
        else:
            self._enqueue(call, target, now, came_from=source)

    def _overflow_unstaffed(self, queues: tuple[str, ...], now: float) -> None:
        """After a logout: overflow waiting calls of when_no_agents=OVERFLOW queues
        that no logged-in agent could take any more."""
        affected = set(queues)
        for key, bucket in list(self._buckets.items()):
            spec = self._queues[key[0]].spec
            if spec.when_no_agents is not WhenNoAgents.OVERFLOW:
                continue
            if affected.isdisjoint(key[2]) or self._staffed(key[1], key[2]):
                continue
            for call_key in list(bucket.waiting):
                self._overflow(self._calls[call_key[3]], OverflowReason.NO_AGENTS, now)

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
        while (timer := self._timers.peek()) is not None and timer.when <= now:
            self._timers.pop()
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
        for q in agent.queues:
            for bucket in self._queues[q].buckets.values():
                if not meets(skills, bucket.key[1]):
                    continue
                head = bucket.waiting.first()
                rank = self._rank(head, bucket.key[0])
                if best is None or rank < best:
                    best, best_id = rank, head[3]
        return self._calls[best_id] if best is not None else None

    def _select_agents(self, call: Call) -> list[str]:
        return select_agents(call, self._queues, self._agents)

    def _dispatch(self, now: float) -> None:
        while self._dirty_agents or self._dirty_calls:
            agent_ids = list(self._dirty_agents)
            self._dirty_agents.clear()
            for agent_id in agent_ids:
                agent = self._agents[agent_id]
                while agent.takes_offers:
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
                        ] or [agent_id]
                    self._offer(call, chosen, now)
            calls = [self._calls[c] for c in self._dirty_calls if c in self._calls]
            self._dirty_calls.clear()
            calls = [c for c in calls if c.state is CallState.WAITING]
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
