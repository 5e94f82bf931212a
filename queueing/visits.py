"""Router internals, part 2: queue visits -- entering a queue, relaxation, overflow.

A visit starts in ``_enqueue`` (``CallQueued``) and ends in exactly one outcome:
answered (router.py), abandoned or failed (``_leave_queue`` from router.py), or
overflowed (``_overflow``: into another queue, which starts the next visit, or out of
the ACD to a SIP URI).
"""

from __future__ import annotations

from .calls import Call
from .core import RouterCore
from .events import CallOverflowed, OverflowCall, RequirementsRelaxed, new_call_queued
from .model import CallState, OfferEndReason, OverflowReason, WhenNoAgents, is_sip_uri
from .skills import Requirements, meets, requirements_after
from .timers import TimerKind

__all__ = ["QueueVisits"]


class QueueVisits(RouterCore):
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
        if call.extra_skills:
            call.requirements, call.pools = requirements_after(spec, call.extra_skills, 0)
        else:
            call.requirements, call.pools = pool.initial
        key = call.key
        pool.order.add(key)
        call.position = pool.order.rank(key) + 1
        self._out.append(
            new_call_queued(call.id, queue, call.priority, call.position, came_from, now)
        )
        relaxation = spec.relaxation
        while call.steps_applied < len(relaxation) and (
            relaxation[call.steps_applied].after_seconds <= 0
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
        if relaxation:
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
        )  # fmt: skip
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
        )  # fmt: skip
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
