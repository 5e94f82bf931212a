"""Read-side of the router: positions, estimated wait and snapshots (views)."""

from __future__ import annotations

from .agents import Agent
from .calls import Call
from .dispatch import Dispatcher
from .errors import INVALID_TRANSITION, UNKNOWN_AGENT, UNKNOWN_CALL, UNKNOWN_QUEUE, RoutingError
from .estimator import expected_wait
from .model import AgentStatus, CallState
from .views import AgentView, CallView, QueueView

__all__ = ["RouterQueries"]


class RouterQueries(Dispatcher):
    _numbers: dict[str, str]

    def _agent(self, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingError(UNKNOWN_AGENT, f"no agent {agent_id!r}")
        return agent

    def _call(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            raise RoutingError(UNKNOWN_CALL, f"no call {call_id!r}")
        return call

    def _unanswered(self, call_id: str) -> Call:
        call = self._call(call_id)
        if call.state is CallState.ANSWERED:
            raise RoutingError(INVALID_TRANSITION, f"call {call_id!r} is answered")
        return call

    # --- queries --------------------------------------------------------------------

    def position(self, call_id: str) -> int | None:
        """1-based place among the queue's unanswered calls; None once answered."""
        call = self._call(call_id)
        if call.state is CallState.ANSWERED:
            return None
        return self._queues[call.queue].order.rank(call.key) + 1

    def estimated_wait(self, call_id: str) -> float | None:
        """Seconds until answer, per estimator.py; None once answered or unstaffed."""
        position = self.position(call_id)
        if position is None:
            return None
        call = self._calls[call_id]
        if call.state is CallState.OFFERED:
            return 0.0
        serving = {
            agent_id
            for q in call.pools
            for agent_id in self._queues[q].logged_in
            if self._agents[agent_id].status is AgentStatus.AVAILABLE
            and self._agents[agent_id].reachable
        }
        mean = self._queues[call.queue].handle_time.mean
        return expected_wait(position, len(serving), mean)

    def agent_view(self, agent_id: str) -> AgentView:
        a = self._agent(agent_id)
        return AgentView(
            agent_id=a.id, status=a.status, pause_reason=a.pause_reason, state=a.state,
            reachable=a.reachable, call_id=a.call_id, calls_answered=a.calls_answered,
            talk_time=a.talk_time, last_call_end=a.last_call_end,
            consecutive_no_answers=a.consecutive_no_answers, queues=a.queues,
        )

    def agent_views(self) -> list[AgentView]:
        return [self.agent_view(agent_id) for agent_id in sorted(self._agents)]

    def call_view(self, call_id: str) -> CallView:
        c = self._call(call_id)
        return CallView(
            call_id=c.id, queue=c.queue, state=c.state, priority=c.priority,
            arrived_at=c.arrived_at, queued_at=c.queued_at, requirements=dict(c.requirements),
            pools=c.pools, offered_to=tuple(sorted(c.offers)), tried=tuple(sorted(c.tried)),
            attempts=c.attempts, agent_id=c.agent_id, position=self.position(call_id),
        )

    def call_views(self) -> list[CallView]:
        return [self.call_view(call_id) for call_id in sorted(self._calls)]

    def queue_view(self, name: str, now: float | None = None) -> QueueView:
        """Snapshot of a queue; ``oldest_wait`` needs ``now`` (None without it)."""
        pool = self._queues.get(name)
        if pool is None:
            raise RoutingError(UNKNOWN_QUEUE, f"no queue {name!r}")
        keys = list(pool.order)
        ringing = sum(1 for k in keys if self._calls[k[3]].state is CallState.OFFERED)
        oldest = None
        if keys and now is not None:
            oldest = now - min(self._calls[k[3]].queued_at for k in keys)
        members = [self._agents[a] for a in pool.members]
        return QueueView(
            name=name, waiting=len(keys), ringing=ringing, oldest_wait=oldest,
            logged_in=len(pool.logged_in),
            available=sum(1 for a in members if a.status is AgentStatus.AVAILABLE),
            idle=len(pool.idle_keys), mean_handle_time=pool.handle_time.mean,
        )

    def queue_views(self, now: float | None = None) -> list[QueueView]:
        return [self.queue_view(name, now) for name in sorted(self._queues)]

    def queue_for_number(self, number: str) -> str:
        """The queue a dialled number belongs to (``unknown_queue`` if none)."""
        queue = self._numbers.get(number)
        if queue is None:
            raise RoutingError(UNKNOWN_QUEUE, f"no queue for number {number!r}")
        return queue
