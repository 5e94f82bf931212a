"""Router internals, part 1: agent state, the idle index, waiting buckets and offers.

The layers, each a class extending the one before:

- ``RouterCore`` (here): records, agent state changes, the idle index, buckets, offers;
- ``QueueVisits`` (visits.py): entering, relaxing in and leaving queues, overflow;
- ``Dispatcher`` (dispatch.py): timers and the dispatch pass (work conservation);
- ``RouterQueries`` (queries.py) and ``Router`` (router.py): the public surface.

The idle index is kept *eagerly* on the way out and *lazily* on the way in: an agent
that stops taking offers leaves its queues' indexes at once, but an agent that becomes
able to take offers is only marked (``_dirty_agents``) and joins the indexes in the
dispatch pass, and only if it is still idle after looking for a waiting caller. A freed
agent who takes a waiting call at once (the usual case under load) never touches the
sorted indexes at all.
"""

from __future__ import annotations

import random

from .agents import TRANSITIONS_BY_NAME, Agent, AgentInput, next_state
from .calls import Bucket, Call, Offer
from .errors import INVALID_TRANSITION, RoutingError
from .estimator import HandleTimeEstimator
from .events import (
    AgentStatusChanged,
    OfferEnded,
    Output,
    WithdrawOffer,
    new_agent_state_changed,
    new_call_offered,
    new_offer_call,
)
from .model import (
    NO_ANSWER_PAUSE_REASON,
    AgentState,
    AgentStatus,
    CallState,
    OfferEndReason,
    QueueSpec,
)
from .skills import Requirements
from .strategies import QueuePool
from .timers import TimerKind, Timers

__all__ = ["RouterCore"]

_IDLE = AgentState.IDLE
_RESERVED = AgentState.RESERVED
_ON_CALL = AgentState.ON_CALL
_WRAP_UP = AgentState.WRAP_UP
_DELAYED = AgentState.DELAYED
_AVAILABLE = AgentStatus.AVAILABLE


class RouterCore:
    def __init__(
        self, seed: int, default_handle_time: float, alpha: float, window: float | None = None
    ) -> None:
        self._queues: dict[str, QueuePool] = {}
        self._agents: dict[str, Agent] = {}
        self._calls: dict[str, Call] = {}
        self._buckets: dict[tuple[str, Requirements, tuple[str, ...]], Bucket] = {}
        self._out: list[Output] = []
        self._timers = Timers()
        self._rng = random.Random(seed)
        self._token = 0
        self._call_seq = 0
        # agents that became able to take offers in this step, not yet indexed
        self._dirty_agents: dict[str, None] = {}  # insertion-ordered set
        self._dirty_calls: set[str] = set()
        self._default_handle_time = default_handle_time
        self._alpha = alpha
        self._window = window

    def _new_pool(self, spec: QueueSpec) -> QueuePool:
        estimator = HandleTimeEstimator(self._default_handle_time, self._alpha, self._window)
        return QueuePool(spec, estimator)

    def _next_token(self) -> int:
        self._token += 1
        return self._token

    # --- agent state and the idle index ------------------------------------------------

    def _set_state(self, agent: Agent, event: AgentInput, now: float) -> None:
        old = agent.state
        # next_state(), inlined: this runs four times per routed call
        new = TRANSITIONS_BY_NAME.get((old._name_, event._name_))
        if new is None or (new is _IDLE and not agent.reachable):
            new = next_state(agent, event)  # raises, or UNREACHABLE
        if new is old:
            return
        agent.state = new
        call_id = agent.call_id if new is _RESERVED or new is _ON_CALL else None
        self._out.append(new_agent_state_changed(agent.id, old, new, call_id, now))
        if old is _WRAP_UP or old is _DELAYED:
            agent.rest_token = 0  # any pending rest deadline is void
            if old is _WRAP_UP and agent.last_queue is not None:
                self._queues[agent.last_queue].handle_time.observe(now - agent.busy_since, now)
                agent.idle_since = now
        if agent.indexed:
            self._unindex(agent)  # it left IDLE
        elif new is _IDLE and agent.status is _AVAILABLE:
            self._freed(agent)

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
        if agent.indexed:
            if status is not _AVAILABLE:
                self._unindex(agent)
        elif status is _AVAILABLE and agent.state is _IDLE:
            self._freed(agent)

    def _freed(self, agent: Agent) -> None:
        """The agent just became able to take offers: the dispatch pass looks after it."""
        agent.random_key = self._rng.random()
        self._dirty_agents[agent.id] = None

    def _index(self, agent: Agent) -> None:
        """List a freed agent that stayed idle in its queues' idle indexes."""
        if not agent.indexed and agent.status is _AVAILABLE and agent.state is _IDLE:
            agent.indexed = True
            for q in agent.queues:
                self._queues[q].add_idle(agent)

    def _unindex(self, agent: Agent) -> None:
        agent.indexed = False
        for q in agent.queues:
            self._queues[q].remove_idle(agent.id)

    def _rest(self, agent: Agent, event: AgentInput, seconds: float, now: float) -> None:
        """Enter wrap-up / delay for ``seconds``. A zero delay goes straight to IDLE; a
        zero wrap-up still passes through WRAP_UP, where handle time is measured."""
        if seconds <= 0 and event is AgentInput.COMPLETE and agent.reachable:
            self._zero_wrapup(agent, now)
            return
        if event is AgentInput.MISS and seconds <= 0:
            event = AgentInput.WITHDRAW
        self._set_state(agent, event, now)
        state = agent.state
        if state is _WRAP_UP or state is _DELAYED:
            if seconds > 0:
                agent.rest_token = self._next_token()
                self._timers.schedule(now + seconds, TimerKind.REST, agent.id, agent.rest_token)
            else:
                self._set_state(agent, AgentInput.REST_END, now)

    def _zero_wrapup(self, agent: Agent, now: float) -> None:
        """ON_CALL -> WRAP_UP -> IDLE at one instant: what two ``_set_state`` calls do
        (both events, the handle time sample), in one step; this is the hot path."""
        if agent.state is not _ON_CALL:
            raise RoutingError(INVALID_TRANSITION, f"agent {agent.id!r}: complete while "
                               f"{agent.state.value}")  # fmt: skip
        out = self._out
        agent_id = agent.id
        out.append(new_agent_state_changed(agent_id, _ON_CALL, _WRAP_UP, None, now))
        out.append(new_agent_state_changed(agent_id, _WRAP_UP, _IDLE, None, now))
        agent.state = _IDLE
        agent.rest_token = 0
        if agent.last_queue is not None:
            self._queues[agent.last_queue].handle_time.observe(now - agent.busy_since, now)
        agent.idle_since = now
        if agent.status is _AVAILABLE:  # _freed(), inlined
            agent.random_key = self._rng.random()
            self._dirty_agents[agent_id] = None

    # --- waiting buckets ---------------------------------------------------------------

    def _bucket_add(self, call: Call) -> None:
        key = (call.queue, call.requirements, call.pools)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(key, -self._queues[call.queue].spec.weight)
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
        ring_timeout = spec.ring_timeout
        if call.bucket is not None:
            self._bucket_remove(call)
        call.state = CallState.OFFERED
        out = self._out
        for agent_id in agent_ids:
            agent = self._agents[agent_id]
            agent.call_id = call.id
            if agent.state is _IDLE:  # _set_state(OFFER), inlined: IDLE -> RESERVED
                agent.state = _RESERVED
                out.append(new_agent_state_changed(agent_id, _IDLE, _RESERVED, call.id, now))
                if agent.indexed:
                    self._unindex(agent)
            else:
                self._set_state(agent, AgentInput.OFFER, now)  # raises
            self._token += 1
            token = self._token
            call.offers[agent_id] = Offer(agent_id, now, token)
            call.tried.add(agent_id)
            call.attempts += 1
            self._timers.schedule(now + ring_timeout, TimerKind.RING, call.id, token, agent_id)
            out.append(new_call_offered(call.id, call.queue, agent_id, call.attempts, now))
            out.append(new_offer_call(call.id, agent_id, call.queue, ring_timeout))

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
        )  # fmt: skip
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
