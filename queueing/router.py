"""The router: commands in (each with ``now``), events and decisions out via ``drain()``.

Every command first fires the timers due at or before ``now`` (ring timeouts, wrap-up
and no-answer delays, relaxation steps, max wait), each at its own deadline, then
applies itself, then runs the dispatch pass that restores work conservation. Outputs
accumulate until ``drain()``. A refused command raises ``RoutingError`` and changes
nothing except the timers it fired first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .agents import Agent, AgentInput
from .calls import Call
from .errors import (
    DUPLICATE_CALL,
    INVALID_ARGUMENT,
    INVALID_CONFIG,
    INVALID_TRANSITION,
    NO_SUCH_OFFER,
    UNKNOWN_PAUSE_REASON,
    UNKNOWN_QUEUE,
    RoutingError,
)
from .estimator import DEFAULT_HANDLE_TIME_WINDOW
from .events import (
    CallAbandoned,
    CallFailed,
    Output,
    new_call_answered,
    new_call_completed,
    new_offer_ended,
)
from .model import (
    MAX_SKILL_LEVEL,
    MIN_SKILL_LEVEL,
    NO_ANSWER_PAUSE_REASON,
    AgentSpec,
    AgentState,
    AgentStatus,
    CallState,
    OfferEndReason,
    OfferFailure,
    QueueSpec,
    is_sip_uri,
)
from .queries import RouterQueries

__all__ = ["Router"]

_FAILURE_REASON = {
    OfferFailure.NO_ANSWER: OfferEndReason.NO_ANSWER,
    OfferFailure.REJECTED: OfferEndReason.REJECTED,
    OfferFailure.UNREACHABLE: OfferEndReason.UNREACHABLE,
}


class Router(RouterQueries):
    """Pure, synchronous, deterministic ACD routing core."""

    def __init__(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec],
        pause_reasons: Iterable[str] = (),
        *,
        seed: int = 0,
        default_handle_time: float = 180.0,
        handle_time_alpha: float | None = None,
        handle_time_window: float | None = None,
    ) -> None:
        """``handle_time_window`` (seconds, default ``DEFAULT_HANDLE_TIME_WINDOW``): the
        mean handle time of a queue is the mean over the calls whose wrap-up ended in
        that window. ``handle_time_alpha``: use an exponentially weighted moving average
        with this alpha instead (the estimator before issue 3; give one or the other)."""
        if handle_time_alpha is not None:
            if handle_time_window is not None:
                raise RoutingError(
                    INVALID_CONFIG, "give handle_time_alpha or handle_time_window, not both"
                )
            if not 0.0 < handle_time_alpha <= 1.0:
                raise RoutingError(INVALID_CONFIG, "handle_time_alpha must be in (0, 1]")
            alpha, window = handle_time_alpha, None
        else:
            alpha, window = 0.0, handle_time_window or DEFAULT_HANDLE_TIME_WINDOW
            if handle_time_window is not None and handle_time_window <= 0:
                raise RoutingError(INVALID_CONFIG, "handle_time_window must be > 0")
        super().__init__(seed, default_handle_time, alpha, window)
        self._pause_reasons = frozenset(pause_reasons) | {NO_ANSWER_PAUSE_REASON}
        self._numbers: dict[str, str] = {}
        for spec in queues:
            if spec.name in self._queues:
                raise RoutingError(INVALID_CONFIG, f"queue {spec.name!r} defined twice")
            self._queues[spec.name] = self._new_pool(spec)
            for number in spec.numbers:
                if self._numbers.setdefault(number, spec.name) != spec.name:
                    raise RoutingError(INVALID_CONFIG, f"number {number!r} in two queues")
        self._check_queue_links()
        for agent_spec in agents:
            if agent_spec.id in self._agents:
                raise RoutingError(INVALID_CONFIG, f"agent {agent_spec.id!r} defined twice")
            for q, tier in agent_spec.tiers.items():
                if q not in self._queues:
                    raise RoutingError(
                        INVALID_CONFIG, f"agent {agent_spec.id!r}: unknown queue {q!r}"
                    )
                self._queues[q].add_member(agent_spec.id, agent_spec.skills, tier)
            self._agents[agent_spec.id] = Agent(agent_spec, queues=tuple(sorted(agent_spec.tiers)))

    def _check_queue_links(self) -> None:
        """Overflow targets and added pools exist; queue overflow has no cycle."""
        for name, pool in self._queues.items():
            target = pool.spec.overflow_target
            if target is not None and not is_sip_uri(target) and target not in self._queues:
                raise RoutingError(INVALID_CONFIG, f"queue {name!r}: unknown target {target!r}")
            for step in pool.spec.relaxation:
                for q in step.add_queues:
                    if q not in self._queues:
                        raise RoutingError(INVALID_CONFIG, f"queue {name!r}: unknown pool {q!r}")
            seen = [name]
            while target is not None and not is_sip_uri(target):
                if target in seen:
                    raise RoutingError(INVALID_CONFIG, f"overflow cycle: {[*seen, target]}")
                seen.append(target)
                target = self._queues[target].spec.overflow_target

    # --- outputs and timers -----------------------------------------------------------

    def drain(self) -> list[Output]:
        """Events and decisions produced since the last drain, in order."""
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called; None when nothing is timed."""
        while (timer := self._timers.peek()) is not None and not self._valid(timer):
            self._timers.pop()
        return None if timer is None else timer.when

    def handle_timer(self, now: float) -> None:
        """Fire every deadline at or before ``now``."""
        self._advance(now)
        self._dispatch(now)

    # --- agent commands (status is the agent's / supervisor's choice) ----------------

    def _withdraw_agent_offer(self, agent: Agent, reason: OfferEndReason, now: float) -> None:
        if agent.state is AgentState.RESERVED and agent.call_id is not None:
            call = self._calls[agent.call_id]
            self._end_offer(call, agent.id, reason, now, withdraw=True)

    def agent_login(self, agent_id: str, now: float) -> None:
        self._advance(now)
        agent = self._agent(agent_id)
        if agent.status is not AgentStatus.LOGGED_OUT:
            raise RoutingError(INVALID_TRANSITION, f"agent {agent_id!r} is logged in")
        agent.idle_since = now
        agent.consecutive_no_answers = 0
        self._set_status(agent, AgentStatus.AVAILABLE, None, now)
        self._dispatch(now)

    def agent_logout(self, agent_id: str, now: float) -> None:
        """Log out; a ringing offer is withdrawn, a connected call carries on."""
        self._advance(now)
        agent = self._agent(agent_id)
        if agent.status is AgentStatus.LOGGED_OUT:
            raise RoutingError(INVALID_TRANSITION, f"agent {agent_id!r} is logged out")
        self._withdraw_agent_offer(agent, OfferEndReason.AGENT_LOGGED_OUT, now)
        self._set_status(agent, AgentStatus.LOGGED_OUT, None, now)
        self._overflow_unstaffed(agent.queues, now)
        self._dispatch(now)

    def agent_pause(self, agent_id: str, reason: str, now: float) -> None:
        """Pause (or change the pause reason); a ringing offer is withdrawn."""
        self._advance(now)
        agent = self._agent(agent_id)
        if reason not in self._pause_reasons:
            raise RoutingError(UNKNOWN_PAUSE_REASON, f"no pause reason {reason!r}")
        if agent.status is AgentStatus.LOGGED_OUT:
            raise RoutingError(INVALID_TRANSITION, f"agent {agent_id!r} is logged out")
        if agent.status is AgentStatus.PAUSED and agent.pause_reason == reason:
            return
        self._withdraw_agent_offer(agent, OfferEndReason.AGENT_PAUSED, now)
        self._set_status(agent, AgentStatus.PAUSED, reason, now)
        self._dispatch(now)

    def agent_available(self, agent_id: str, now: float) -> None:
        """Unpause. Idempotent for an available agent; a logged-out one must log in."""
        self._advance(now)
        agent = self._agent(agent_id)
        if agent.status is AgentStatus.LOGGED_OUT:
            raise RoutingError(INVALID_TRANSITION, f"agent {agent_id!r} is logged out")
        if agent.status is AgentStatus.PAUSED:
            agent.idle_since = now
            agent.consecutive_no_answers = 0
            self._set_status(agent, AgentStatus.AVAILABLE, None, now)
        self._dispatch(now)

    def agent_end_wrapup(self, agent_id: str, now: float) -> None:
        self._advance(now)
        agent = self._agent(agent_id)
        if agent.state is not AgentState.WRAP_UP:
            raise RoutingError(INVALID_TRANSITION, f"agent {agent_id!r} is not in wrap-up")
        self._set_state(agent, AgentInput.REST_END, now)
        self._dispatch(now)

    def agent_reachable(self, agent_id: str, reachable: bool, now: float) -> None:
        """Registration / qualify result from the SIP side (agents start reachable)."""
        self._advance(now)
        agent = self._agent(agent_id)
        if reachable:
            agent.reachable = True
            self._set_state(agent, AgentInput.FOUND, now)
        elif agent.state is AgentState.RESERVED:
            self._withdraw_agent_offer(agent, OfferEndReason.AGENT_UNREACHABLE, now)
        else:
            agent.reachable = False
            self._set_state(agent, AgentInput.LOST, now)
        self._dispatch(now)

    # --- call commands --------------------------------------------------------------

    def call_arrived(
        self,
        call_id: str,
        queue: str,
        now: float,
        *,
        priority: int = 0,
        extra_skills: Mapping[str, int] | None = None,
    ) -> int:
        """Queue a caller; returns its 1-based position in the queue it ends up in,
        0 if it was sent out of the ACD at once (overflow to a SIP URI)."""
        if (heap := self._timers.heap) and heap[0][0] <= now:  # _advance(), inlined
            self._advance(now)
        if call_id in self._calls:
            raise RoutingError(DUPLICATE_CALL, f"call {call_id!r} exists")
        if queue not in self._queues:
            raise RoutingError(UNKNOWN_QUEUE, f"no queue {queue!r}")
        extra = dict(extra_skills or {})
        for skill, level in extra.items():
            if not skill or not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
                raise RoutingError(INVALID_ARGUMENT, f"skill {skill!r} level {level}")
        self._call_seq += 1
        call = Call(
            id=call_id, queue=queue, priority=priority, arrived_at=now, queued_at=now,
            seq=self._call_seq, extra_skills=extra, requirements=(), pools=(),
        )
        self._calls[call_id] = call
        self._enqueue(call, queue, now, came_from=None)
        self._dispatch(now)
        if call_id not in self._calls:
            return 0
        # Dispatch only offers calls, it never reorders a queue: the position reported
        # by the last CallQueued of this call is still its position.
        return call.position

    def offer_answered(self, call_id: str, agent_id: str, now: float) -> None:
        """The agent answered. Raises ``no_such_offer`` if the router already withdrew
        the offer (the SIP side must then hang up the agent leg)."""
        if (heap := self._timers.heap) and heap[0][0] <= now:  # _advance(), inlined
            self._advance(now)
        agent = self._agent(agent_id)
        call = self._calls.get(call_id)
        offer = call.offers.get(agent_id) if call is not None else None
        if call is None or offer is None:
            raise RoutingError(NO_SUCH_OFFER, f"no offer of {call_id!r} to {agent_id!r}")
        del call.offers[agent_id]
        ring = now - offer.offered_at
        self._out.append(
            new_offer_ended(call_id, call.queue, agent_id, OfferEndReason.ANSWERED, ring, now)
        )
        if call.offers:  # ring-all: the other agents stop ringing
            self._withdraw_all(call, OfferEndReason.ANSWERED_ELSEWHERE, now)
        self._queues[call.queue].order.remove(call.key)
        call.state = CallState.ANSWERED
        call.agent_id = agent_id
        call.answered_at = now
        call.visit_token = call.relax_token = 0
        agent.consecutive_no_answers = 0
        agent.calls_answered += 1
        agent.busy_since = now
        agent.last_queue = call.queue
        self._set_state(agent, AgentInput.ANSWER, now)
        self._out.append(
            new_call_answered(call_id, call.queue, agent_id, now - call.queued_at, ring, now)
        )
        if self._dirty_agents or self._dirty_calls:
            self._dispatch(now)

    def offer_failed(
        self, call_id: str, agent_id: str, reason: OfferFailure, now: float
    ) -> None:
        """The SIP side saw the offer fail; the call goes on to the next agent."""
        self._advance(now)
        self._agent(agent_id)
        call = self._calls.get(call_id)
        if call is None or agent_id not in call.offers:
            raise RoutingError(NO_SUCH_OFFER, f"no offer of {call_id!r} to {agent_id!r}")
        self._end_offer(call, agent_id, _FAILURE_REASON[reason], now, withdraw=False)
        self._dispatch(now)

    def call_completed(self, call_id: str, now: float) -> None:
        """The bridged call ended (either side hung up): the agent goes to wrap-up."""
        if (heap := self._timers.heap) and heap[0][0] <= now:  # _advance(), inlined
            self._advance(now)
        call = self._calls.get(call_id) or self._call(call_id)  # the latter raises
        if call.state is not CallState.ANSWERED or call.agent_id is None:
            raise RoutingError(INVALID_TRANSITION, f"call {call_id!r} is not answered")
        agent = self._agents[call.agent_id]
        talk = now - call.answered_at
        agent.talk_time += talk
        agent.last_call_end = now
        agent.call_id = None
        del self._calls[call_id]
        self._out.append(new_call_completed(call_id, call.queue, agent.id, talk, now))
        wrapup = agent.spec.wrapup_seconds
        if wrapup is None:
            wrapup = self._queues[call.queue].spec.wrapup_seconds
        if wrapup <= 0 and agent.reachable:
            self._zero_wrapup(agent, now)
        else:
            self._rest(agent, AgentInput.COMPLETE, wrapup, now)
        self._dispatch(now)

    def caller_left(self, call_id: str, now: float) -> None:
        """The caller hung up before being answered: abandoned, offers withdrawn."""
        self._advance(now)
        call = self._unanswered(call_id)
        position = self._queues[call.queue].order.rank(call.key) + 1
        self._leave_queue(call, OfferEndReason.CALLER_LEFT, now)
        del self._calls[call_id]
        self._out.append(
            CallAbandoned(
                call_id=call_id, queue=call.queue, wait_seconds=now - call.queued_at,
                position=position, at=now,
            )
        )
        self._dispatch(now)

    def call_failed(self, call_id: str, reason: str, now: float) -> None:
        """An unanswered call cannot continue (media/transport failure)."""
        self._advance(now)
        call = self._unanswered(call_id)
        self._leave_queue(call, OfferEndReason.CALL_FAILED, now)
        del self._calls[call_id]
        self._out.append(
            CallFailed(
                call_id=call_id, queue=call.queue, reason=reason,
                wait_seconds=now - call.queued_at, at=now,
            )
        )
        self._dispatch(now)
