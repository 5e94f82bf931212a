"""Seeded discrete-event simulation that drives the pure ``Router``.

Two halves, kept apart so each can be reused on its own:

* the **traffic model** (traffic.py: ``CallStream``, ``PoissonTraffic``,
  ``CallArrival``, ``AgentBehaviour``): who calls, when, how long the talk lasts and
  how long the caller is willing to wait; re-exported here.
* the **driver** (``Simulation``): an event list (heapq) of arrivals, agent answers,
  caller hang-ups and call completions, interleaved with the router's own deadlines
  (``next_deadline()`` / ``handle_timer(now)``). It feeds the router ``now`` values,
  acts on its decisions (``OfferCall`` → the agent answers after a ring delay,
  ``WithdrawOffer`` → the pending answer is forgotten, ``OverflowCall`` → the caller
  leaves the ACD) and turns its events into per-call records.

Wrap-up, ring timeouts, relaxation and overflow are the router's business: the driver
only plays the callers and the agents' hands. Nothing here reads the clock.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .errors import NO_SUCH_OFFER, RoutingError
from .events import (
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallFailed,
    CallOverflowed,
    CallQueued,
    OfferCall,
    OfferEnded,
    Output,
    OverflowCall,
    WithdrawOffer,
)
from .model import AgentState, AgentStatus, Outcome
from .router import Router
from .traffic import (
    AgentBehaviour,
    CallArrival,
    CallStream,
    PoissonTraffic,
    TrafficModel,
    single_skill_centre,
)

__all__ = [
    "AgentBehaviour",
    "CallArrival",
    "CallRecord",
    "CallStream",
    "PoissonTraffic",
    "Simulation",
    "SimulationResult",
    "TrafficModel",
    "single_skill_centre",
]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """What happened to one caller. ``wait`` runs from arrival at the ACD to the
    answer (queue time + ring time), or to the hang-up / overflow / failure."""

    call_id: str
    queue: str  # the queue the call first entered
    arrived_at: float
    outcome: Outcome  # of the caller's last queue visit
    wait: float
    answered_at: float | None
    agent_id: str | None
    final_queue: str
    visits: int  # queue visits (> 1 after overflow into another queue)
    # Sampled right after arrival when Simulation(sample_estimated_wait=True):
    estimated_wait: float | None  # router.estimated_wait(); 0.0 if offered at once
    position: int | None  # router.position()


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    """Measured over callers arriving in [warmup_end, end)."""

    warmup_end: float
    end: float
    agents: int
    service_level_time: float
    calls: tuple[CallRecord, ...]
    offered: int
    answered: int
    abandoned: int
    overflowed: int  # left the ACD (or its last queue) by overflow
    failed: int
    answered_waits: tuple[float, ...]
    service_level: float  # answered within T / offered (strict reading)
    mean_wait: float  # ASA: mean wait of answered calls
    occupancy: float  # (on-call + wrap-up) / logged-in time, over [warmup_end, end)
    state_seconds: Mapping[AgentState, float]
    anomalies: tuple[str, ...]  # broken invariants seen in the router's output

    def service_level_within(self, seconds: float) -> float:
        if self.offered == 0:
            return 1.0
        return sum(1 for w in self.answered_waits if w <= seconds) / self.offered


# --------------------------------------------------------------------------- driver

_ARRIVAL = 0
_ANSWER = 1
_HANGUP = 2
_COMPLETE = 3


@dataclass(slots=True, eq=False)
class _Caller:
    arrival: CallArrival
    estimated_wait: float | None = None
    position: int | None = None
    outcome: Outcome | None = None
    ended_at: float | None = None
    answered_at: float | None = None
    agent_id: str | None = None
    queue: str = ""
    visits: int = 0
    in_visit: bool = False
    gone: bool = False  # no longer in the ACD (answered, abandoned, overflowed out, failed)


class Simulation:
    """Drives ``router`` with ``traffic``; agents listed in ``log_in`` (default: all
    agents the router knows) log in and become available at ``start``."""

    def __init__(
        self,
        router: Router,
        traffic: TrafficModel,
        *,
        behaviour: AgentBehaviour | None = None,
        seed: int = 0,
        log_in: Iterable[str] | None = None,
        sample_estimated_wait: bool = False,
    ) -> None:
        self.router = router
        self.traffic = traffic
        self.behaviour = behaviour or AgentBehaviour()
        self._rng = random.Random(f"agents:{seed}")
        self._log_in = None if log_in is None else tuple(log_in)
        self._sample_estimate = sample_estimated_wait
        self._heap: list[tuple[float, int, int, str, str]] = []
        self._seq = 0
        self._callers: dict[str, _Caller] = {}
        self._pending: dict[tuple[str, str], int] = {}  # (call, agent) -> answer token
        self._agent_state: dict[str, tuple[AgentState, float]] = {}
        self._state_seconds: dict[AgentState, float] = {}
        self._anomalies: list[str] = []
        self._active = 0  # callers still in the ACD
        self._window = (0.0, 0.0)
        self.now = 0.0

    # ----------------------------------------------------------------- event list

    def _push(self, at: float, kind: int, call_id: str, agent_id: str = "") -> int:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, call_id, agent_id))
        return self._seq

    def run(
        self,
        *,
        duration: float,
        warmup: float = 0.0,
        start: float = 0.0,
        service_level_time: float = 15.0,
    ) -> SimulationResult:
        """Arrivals in [start, start + warmup + duration); then the system drains."""
        if duration <= 0 or warmup < 0:
            raise ValueError("duration must be > 0 and warmup >= 0")
        end = start + warmup + duration
        self._window = (start + warmup, end)
        self.now = start
        agents = self._log_in
        if agents is None:
            agents = tuple(v.agent_id for v in self.router.agent_views())
        for agent_id in agents:
            self.router.agent_login(agent_id, start)
            if self.router.agent_view(agent_id).status is not AgentStatus.AVAILABLE:
                self.router.agent_available(agent_id, start)
            self._agent_state[agent_id] = (self.router.agent_view(agent_id).state, start)
        self._drain()

        arrivals = self.traffic.arrivals(start, end)
        nxt = next(arrivals, None)
        if nxt is not None:
            self._push(nxt.at, _ARRIVAL, nxt.call_id)
        while True:
            deadline = self.router.next_deadline()
            if self._heap and (deadline is None or self._heap[0][0] <= deadline):
                at, _, kind, call_id, agent_id = heapq.heappop(self._heap)
                self.now = max(self.now, at)
                if kind == _ARRIVAL:
                    assert nxt is not None and nxt.call_id == call_id
                    self._arrive(nxt)
                    nxt = next(arrivals, None)
                    if nxt is not None:
                        self._push(nxt.at, _ARRIVAL, nxt.call_id)
                else:
                    self._act(kind, call_id, agent_id)
            elif deadline is not None:
                if not self._heap and self._active == 0:
                    break  # only idle timers (wrap-up ends ...) remain after the last call
                self.now = max(self.now, deadline)
                self.router.handle_timer(self.now)
            else:
                break
            self._drain()
        return self._result(agents, service_level_time)

    def _arrive(self, a: CallArrival) -> None:
        caller = _Caller(arrival=a, queue=a.queue)
        self._callers[a.call_id] = caller
        self._active += 1
        self.router.call_arrived(
            a.call_id, a.queue, self.now, priority=a.priority, extra_skills=a.extra_skills
        )
        if self._sample_estimate:
            self._drain()
            if not caller.gone:
                caller.estimated_wait = self.router.estimated_wait(a.call_id)
                caller.position = self.router.position(a.call_id)
        if a.patience is not None:
            self._push(self.now + a.patience, _HANGUP, a.call_id)

    def _act(self, kind: int, call_id: str, agent_id: str) -> None:
        caller = self._callers[call_id]
        if kind == _ANSWER:
            if self._pending.get((call_id, agent_id)) is None:
                return  # withdrawn meanwhile
            del self._pending[(call_id, agent_id)]
            try:
                self.router.offer_answered(call_id, agent_id, self.now)
            except RoutingError as exc:
                if exc.code != NO_SUCH_OFFER:
                    raise
                self._anomalies.append(f"{call_id}: answer refused: {exc}")
        elif kind == _HANGUP:
            if not caller.gone:
                self.router.caller_left(call_id, self.now)
        elif kind == _COMPLETE:
            self.router.call_completed(call_id, self.now)

    def _offer(self, d: OfferCall) -> None:
        b = self.behaviour
        if b.answer_probability < 1.0 and self._rng.random() >= b.answer_probability:
            self._pending[(d.call_id, d.agent_id)] = 0  # rings until the router gives up
            return
        delay = b.ring_delay
        if b.exponential_ring_delay and delay > 0:
            delay = self._rng.expovariate(1.0 / delay)
        if delay >= d.ring_timeout:
            self._pending[(d.call_id, d.agent_id)] = 0
            return
        token = self._push(self.now + delay, _ANSWER, d.call_id, d.agent_id)
        self._pending[(d.call_id, d.agent_id)] = token

    # ----------------------------------------------------------------- router output

    def _drain(self) -> None:
        for out in self.router.drain():
            self._handle(out)

    def _handle(self, out: Output) -> None:
        now = self.now
        if isinstance(out, OfferCall):
            self._offer(out)
        elif isinstance(out, WithdrawOffer | OfferEnded):
            self._pending.pop((out.call_id, out.agent_id), None)
        elif isinstance(out, AgentStateChanged):
            self._agent_changed(out.agent_id, out.new, now)
        elif isinstance(out, CallQueued):
            c = self._callers[out.call_id]
            if c.in_visit:
                self._anomalies.append(f"{out.call_id}: queued in {out.queue} during a visit")
            c.in_visit = True
            c.visits += 1
            c.queue = out.queue
        elif isinstance(out, CallAnswered):
            c = self._close_visit(out.call_id, Outcome.ANSWERED, now)
            c.answered_at = now
            c.agent_id = out.agent_id
            self._leave(c)
            self._push(now + c.arrival.handle_time, _COMPLETE, out.call_id)
        elif isinstance(out, CallAbandoned):
            self._leave(self._close_visit(out.call_id, Outcome.ABANDONED, now))
        elif isinstance(out, CallFailed):
            self._leave(self._close_visit(out.call_id, Outcome.FAILED, now))
        elif isinstance(out, CallOverflowed):
            # Into another queue: a CallQueued follows and the caller stays.
            self._close_visit(out.call_id, Outcome.OVERFLOWED, now)
        elif isinstance(out, OverflowCall):
            self._leave(self._callers[out.call_id])

    def _leave(self, c: _Caller) -> None:
        if not c.gone:
            c.gone = True
            self._active -= 1

    def _close_visit(self, call_id: str, outcome: Outcome, now: float) -> _Caller:
        c = self._callers[call_id]
        if not c.in_visit:
            self._anomalies.append(f"{call_id}: {outcome.value} outside a queue visit")
        if c.gone:
            self._anomalies.append(f"{call_id}: {outcome.value} after the call ended")
        c.in_visit = False
        c.outcome = outcome
        c.ended_at = now
        return c

    def _agent_changed(self, agent_id: str, new: AgentState, now: float) -> None:
        old, since = self._agent_state.get(agent_id, (new, now))
        lo, hi = self._window
        overlap = min(now, hi) - max(since, lo)
        if overlap > 0:
            self._state_seconds[old] = self._state_seconds.get(old, 0.0) + overlap
        self._agent_state[agent_id] = (new, now)

    # ----------------------------------------------------------------- result

    def _result(self, agents: Sequence[str], t_sl: float) -> SimulationResult:
        lo, hi = self._window
        for agent_id, (state, _since) in list(self._agent_state.items()):
            self._agent_changed(agent_id, state, max(self.now, hi))
        records: list[CallRecord] = []
        for c in self._callers.values():
            a = c.arrival
            if not lo <= a.at < hi:
                continue
            if c.outcome is None or c.in_visit:
                self._anomalies.append(f"{a.call_id}: no outcome when the simulation ended")
                continue
            end = c.answered_at if c.answered_at is not None else c.ended_at
            assert end is not None
            records.append(
                CallRecord(
                    call_id=a.call_id,
                    queue=a.queue,
                    arrived_at=a.at,
                    outcome=c.outcome,
                    wait=end - a.at,
                    answered_at=c.answered_at,
                    agent_id=c.agent_id,
                    final_queue=c.queue,
                    visits=c.visits,
                    estimated_wait=c.estimated_wait,
                    position=c.position,
                )
            )
        counts = dict.fromkeys(Outcome, 0)
        for r in records:
            counts[r.outcome] += 1
        waits = tuple(r.wait for r in records if r.outcome is Outcome.ANSWERED)
        offered = len(records)
        busy = self._state_seconds.get(AgentState.ON_CALL, 0.0) + self._state_seconds.get(
            AgentState.WRAP_UP, 0.0
        )
        total = sum(self._state_seconds.values())
        return SimulationResult(
            warmup_end=lo,
            end=hi,
            agents=len(agents),
            service_level_time=t_sl,
            calls=tuple(records),
            offered=offered,
            answered=counts[Outcome.ANSWERED],
            abandoned=counts[Outcome.ABANDONED],
            overflowed=counts[Outcome.OVERFLOWED],
            failed=counts[Outcome.FAILED],
            answered_waits=waits,
            service_level=(sum(1 for w in waits if w <= t_sl) / offered) if offered else 1.0,
            mean_wait=sum(waits) / len(waits) if waits else 0.0,
            occupancy=busy / total if total > 0 else 0.0,
            state_seconds=MappingProxyType(dict(self._state_seconds)),
            anomalies=tuple(self._anomalies),
        )
