"""Live staffing estimate per queue: arrival rate, handle time, patience -> Erlang A.

``StaffingEstimator`` is fed the routing core's events (the same ones ``AcdMetrics``
gets) with ``now`` (wall-clock epoch seconds, which places them in the window; times
are kept in integer microseconds like the journal's timestamps), and after a restart
``rebuild(records, now, started=...)`` replays the journal (``metrics.journal.
replay_journal``: ``Arrival``, ``QueueVisit``, ``Handled`` records) so the estimate
equals the one the previous process had. ``estimate(now)`` returns, per queue
(definitions: docs/kpi.md, "Live staffing estimate"):

* **arrival rate** λ = n / T: n = ``CallQueued`` events of the queue (each visit, so
  calls overflowing *into* the queue count there) in the half-open window
  ``(now - W, now]`` (W = ``window_seconds``, default 1 h), counted exactly;
  T = ``now - started`` clamped to ``[min_span_seconds, W]``, ``started`` = when the
  history begins: the first event observed, or on a rebuild the earliest journal row
  read. Fallback while the history is shorter than W (a fresh installation): divide by
  the time watched, never by less than ``min_span_seconds`` (default 300 s), so a burst
  of two calls in the first seconds does not read as hundreds of calls an hour.
* **handle time** AHT = mean of talk + wrap-up of calls whose wrap-up ended in the
  window (talk from ``CallCompleted``; wrap-up from its ``now`` to the ``now`` of the
  agent's next state change out of ``WRAP_UP``). Fallback with little data: if the
  window holds fewer than ``min_samples`` (default 20) calls, the most recent
  ``min_samples`` of the last ``sample_horizon_seconds`` (24 h) are used. None
  (exported NaN) until a call has been handled in that horizon.
* **patience** (exponential, the censored maximum-likelihood estimator): total time in
  queue of every visit that ended in the window (answered, abandoned, overflowed,
  failed: all were exposed to abandoning for that long) divided by the number of
  abandons; same ``min_samples`` fallback. ``math.inf`` when none abandoned (Erlang A
  is then Erlang C).
* **agents required**: ``queueing.erlang.erlang_a_agents_required(λ·AHT, AHT,
  patience, T_sl, SL)`` -- the smallest N with answered within ``target_seconds`` /
  offered >= ``target_service_level``. 0 with no arrivals; None (NaN) when AHT is
  unknown or patience is 0.

Pure: no clock, no I/O, no logging. Memory per queue is bounded by the window's
events plus ``min_samples``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from queueing import (
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOverflowed,
    CallQueued,
)
from queueing.erlang import erlang_a_agents_required

from .kpi import QueueVisit, VisitOutcome
from .windows import US_PER_SECOND, seconds_to_us, to_us

__all__ = [
    "Arrival",
    "Handled",
    "StaffingConfig",
    "StaffingEstimate",
    "StaffingEstimator",
    "StaffingRecord",
]

_T = TypeVar("_T")

Timestamp = float | datetime  # epoch seconds (UTC) or an aware datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffingConfig:
    #: Service-level threshold T (``kpi.service_level_seconds``).
    target_seconds: float = 15.0
    #: Share of offered calls to answer within T (``kpi.service_level_target``).
    target_service_level: float = 0.8
    #: W: the sliding window of every estimate.
    window_seconds: float = 3600.0
    #: Smallest divisor of the arrival count (a fresh start has watched only briefly).
    min_span_seconds: float = 300.0
    #: Handle time and patience use at least this many samples when there are as many.
    min_samples: int = 20
    #: ... but never samples older than this (the journal a rebuild reads covers it).
    sample_horizon_seconds: float = 86_400.0

    def __post_init__(self) -> None:
        if not 0.0 < self.target_service_level < 1.0:
            raise ValueError("target_service_level must be strictly between 0 and 1")
        if not math.isfinite(self.target_seconds) or self.target_seconds < 0:
            raise ValueError("target_seconds must be >= 0")
        if not 0.0 < self.min_span_seconds <= self.window_seconds < math.inf:
            raise ValueError("need 0 < min_span_seconds <= window_seconds")
        if not self.window_seconds <= self.sample_horizon_seconds < math.inf:
            raise ValueError("need window_seconds <= sample_horizon_seconds")
        if self.min_samples < 1:
            raise ValueError("min_samples must be >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffingEstimate:
    """One queue's inputs and result at one instant."""

    queue: str
    arrivals: int  # n: arrivals in the window
    span_seconds: float  # T: the divisor of n
    arrival_rate: float  # λ, calls per second
    handle_samples: int
    handle_time: float | None  # AHT seconds; None: no call handled yet
    visits: int  # queue visits whose time in queue the patience estimate uses
    abandons: int
    queue_seconds: float  # their total time in queue
    patience: float  # mean patience seconds; math.inf when none abandoned
    agents_required: int | None  # None: undefined (AHT unknown, patience 0)

    @property
    def load(self) -> float | None:
        """Offered load λ·AHT in erlangs (None while AHT is unknown)."""
        return None if self.handle_time is None else self.arrival_rate * self.handle_time


# -- journal records (rebuild) --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrival:
    """A call entered ``queue`` at ``at`` (``CallQueued``; journal ``enter``)."""

    queue: str
    at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class Handled:
    """A call of ``queue`` completed at ``completed_at`` after ``talk_seconds`` of talk;
    the agent's wrap-up ended at ``at`` (journal ``complete`` + ``wrapup_end``)."""

    queue: str
    at: Timestamp
    completed_at: Timestamp
    talk_seconds: float


#: What ``rebuild`` replays; visits are the KPI engine's ``QueueVisit`` records.
StaffingRecord = Arrival | QueueVisit | Handled


@dataclass(frozen=True, slots=True)
class _Visit:
    t_us: int
    wait_us: int
    abandoned: bool


class _QueueData:
    __slots__ = ("arrivals", "handles", "visits")

    def __init__(self) -> None:
        self.arrivals: deque[int] = deque()  # t_us
        self.handles: deque[tuple[int, int]] = deque()  # (t_us, talk + wrap-up us)
        self.visits: deque[_Visit] = deque()


_VISIT_EVENTS = (CallAnswered, CallAbandoned, CallOverflowed, CallFailed)


class StaffingEstimator:
    """Per-queue λ, AHT and patience over a sliding window, and the Erlang A staffing."""

    def __init__(
        self,
        config: StaffingConfig | None = None,
        queues: Iterable[str] = (),
        *,
        started: Timestamp | None = None,
    ) -> None:
        self.config = config or StaffingConfig()
        c = self.config
        self._window_us = seconds_to_us(c.window_seconds)
        self._min_span_us = seconds_to_us(c.min_span_seconds)
        self._horizon_us = seconds_to_us(c.sample_horizon_seconds)
        #: Queues estimated; events of other queues are ignored (bounded labels). Empty:
        #: every queue seen.
        self.queues = tuple(queues)
        self._allowed = frozenset(self.queues)
        self._reset(started)

    def _reset(self, started: Timestamp | None) -> None:
        self._started_us = None if started is None else to_us(started)
        self._data: dict[str, _QueueData] = {q: _QueueData() for q in self.queues}
        # agent_id -> (queue, talk us, t_us of CallCompleted)
        self._wrapping: dict[str, tuple[str, int, int]] = {}
        self._cache: dict[str, tuple[tuple[float, float, float], int | None]] = {}

    @property
    def started(self) -> float | None:
        """When the history begins (epoch seconds): the divisor of λ is time since then."""
        return None if self._started_us is None else self._started_us / US_PER_SECOND

    # -- feeding ------------------------------------------------------------------------

    def _queue(self, name: str) -> _QueueData | None:
        data = self._data.get(name)
        if data is None and not self._allowed:
            data = self._data[name] = _QueueData()
        return data

    def observe(self, event: object, now: float) -> None:
        """Take one routing-core event (anything else is ignored) at wall-clock ``now``."""
        if self._started_us is None:
            self._started_us = to_us(now)
        if isinstance(event, CallQueued):
            t_us = to_us(now)
            self._arrival(event.queue, t_us)
        elif isinstance(event, _VISIT_EVENTS):
            t_us = to_us(now)
            self._visit(event.queue, t_us, seconds_to_us(max(0.0, event.wait_seconds)),
                        isinstance(event, CallAbandoned))
        elif isinstance(event, CallCompleted):
            t_us = to_us(now)
            self._wrapping[event.agent_id] = (
                event.queue, seconds_to_us(max(0.0, event.talk_seconds)), t_us)
        elif (isinstance(event, AgentStateChanged) and event.old is AgentState.WRAP_UP
              and event.new is not AgentState.WRAP_UP):
            t_us = to_us(now)
            pending = self._wrapping.pop(event.agent_id, None)
            if pending is not None:
                queue, talk_us, completed_us = pending
                self._handle(queue, t_us, talk_us + max(0, t_us - completed_us))
        else:
            return
        self._prune(t_us)

    def observe_all(self, events: Iterable[object], now: float) -> None:
        for event in events:
            self.observe(event, now)

    def _arrival(self, queue: str, t_us: int) -> None:
        data = self._queue(queue)
        if data is not None:
            data.arrivals.append(t_us)

    def _visit(self, queue: str, t_us: int, wait_us: int, abandoned: bool) -> None:
        data = self._queue(queue)
        if data is not None:
            data.visits.append(_Visit(t_us, wait_us, abandoned))

    def _handle(self, queue: str, t_us: int, handle_us: int) -> None:
        data = self._queue(queue)
        if data is not None:
            data.handles.append((t_us, handle_us))

    def rebuild(
        self, records: Iterable[StaffingRecord], now: Timestamp, *,
        started: Timestamp | None = None,
    ) -> None:
        """Forget everything and re-apply ``records`` (the journal) in time order, as of
        ``now``. ``started``: when the journal's history begins (the earliest row read,
        ``JournalReplay.history_start``); None: the earliest record, and with no record
        the first event observed afterwards. Records of the same instant keep their order.
        """
        ordered = sorted(records, key=lambda r: to_us(r.at))
        if started is None and ordered:
            started = ordered[0].at
        self._reset(started)
        for r in ordered:
            t_us = to_us(r.at)
            if isinstance(r, Arrival):
                self._arrival(r.queue, t_us)
            elif isinstance(r, QueueVisit):
                self._visit(r.queue, t_us, seconds_to_us(r.wait_seconds),
                            r.outcome is VisitOutcome.ABANDONED)
            else:
                wrap_us = max(0, t_us - to_us(r.completed_at))
                self._handle(r.queue, t_us, seconds_to_us(max(0.0, r.talk_seconds)) + wrap_us)
            self._prune(t_us)
        self._prune(to_us(now))

    def _prune(self, now_us: int) -> None:
        edge = now_us - self._window_us
        horizon = now_us - self._horizon_us
        keep = self.config.min_samples
        for data in self._data.values():
            arrivals, handles, visits = data.arrivals, data.handles, data.visits
            while arrivals and arrivals[0] <= edge:
                arrivals.popleft()
            while handles and handles[0][0] <= edge and (
                    len(handles) > keep or handles[0][0] <= horizon):
                handles.popleft()
            while visits and visits[0].t_us <= edge and (
                    len(visits) > keep or visits[0].t_us <= horizon):
                visits.popleft()

    # -- estimates ----------------------------------------------------------------------

    def estimate(self, now: Timestamp) -> dict[str, StaffingEstimate]:
        """Every queue's estimate as of ``now`` (configured queues first, then others)."""
        now_us = to_us(now)
        self._prune(now_us)
        return {name: self._estimate(name, data, now_us) for name, data in self._data.items()}

    def _estimate(self, name: str, data: _QueueData, now_us: int) -> StaffingEstimate:
        c = self.config
        edge = now_us - self._window_us
        horizon = now_us - self._horizon_us
        n = sum(1 for t in data.arrivals if edge < t <= now_us)
        watched = 0 if self._started_us is None else now_us - self._started_us
        span = min(max(watched, self._min_span_us), self._window_us) / US_PER_SECOND
        rate = n / span

        handles = [(t, h) for t, h in data.handles if horizon < t <= now_us]
        handles = _recent(handles, [t for t, _ in handles], edge, c.min_samples)
        aht = sum(h for _, h in handles) / len(handles) / US_PER_SECOND if handles else None

        visits = [v for v in data.visits if horizon < v.t_us <= now_us]
        visits = _recent(visits, [v.t_us for v in visits], edge, c.min_samples)
        abandons = sum(1 for v in visits if v.abandoned)
        exposure_us = sum(v.wait_us for v in visits)
        patience = exposure_us / abandons / US_PER_SECOND if abandons else math.inf

        return StaffingEstimate(
            queue=name,
            arrivals=n,
            span_seconds=span,
            arrival_rate=rate,
            handle_samples=len(handles),
            handle_time=aht,
            visits=len(visits),
            abandons=abandons,
            queue_seconds=exposure_us / US_PER_SECOND,
            patience=patience,
            agents_required=self._required(name, rate, aht, patience),
        )

    def _required(
        self, name: str, rate: float, aht: float | None, patience: float
    ) -> int | None:
        if rate == 0.0:
            return 0
        if aht is None or aht <= 0.0 or patience <= 0.0:
            return None
        key = (rate, aht, patience)
        cached = self._cache.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        c = self.config
        try:
            n: int | None = erlang_a_agents_required(
                rate * aht, aht, None if math.isinf(patience) else patience,
                c.target_seconds, c.target_service_level,
            )
        except (ValueError, ArithmeticError):
            n = None
        self._cache[name] = (key, n)
        return n

    def snapshot(self, now: float) -> Mapping[str, StaffingEstimate]:
        """``estimate(now)``, for a scrape-time provider."""
        return self.estimate(now)


def _recent(values: list[_T], times: list[int], edge: int, minimum: int) -> list[_T]:
    """The values timed after ``edge``, or the last ``minimum`` values if that is more."""
    inside = sum(1 for t in times if t > edge)
    keep = max(inside, min(minimum, len(values)))
    return values[len(values) - keep:]
