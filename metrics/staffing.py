"""Live staffing estimate per queue: arrival rate, handle time, patience -> Erlang A.

``StaffingEstimator`` is fed the routing core's events (the same ones ``AcdMetrics``
gets) with ``now`` (wall-clock epoch seconds, which places them in the window); the
durations come from the events themselves. ``estimate(now)`` returns, per queue
(definitions: docs/kpi.md, "Live staffing estimate"):

* **arrival rate** λ = n / T: n = ``CallQueued`` events of the queue (each visit, so
  calls overflowing *into* the queue count there) in the half-open window
  ``(now - W, now]`` (W = ``window_seconds``, default 1 h), counted exactly;
  T = ``now - started`` clamped to ``[min_span_seconds, W]``. Fallback while the
  estimator has watched for less than W (after a start): divide by the time watched,
  never by less than ``min_span_seconds`` (default 300 s), so a burst of two calls in
  the first seconds does not read as hundreds of calls an hour.
* **handle time** AHT = mean of talk + wrap-up of calls whose wrap-up ended in the
  window (talk from ``CallCompleted``; wrap-up from it to the agent's next state change
  out of ``WRAP_UP``). Fallback with little data: if the window holds fewer than
  ``min_samples`` (default 20) calls, the most recent ``min_samples`` are used, older
  ones included. None (exported NaN) until a first call has been handled.
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

__all__ = ["StaffingConfig", "StaffingEstimate", "StaffingEstimator"]

_T = TypeVar("_T")


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

    def __post_init__(self) -> None:
        if not 0.0 < self.target_service_level < 1.0:
            raise ValueError("target_service_level must be strictly between 0 and 1")
        if not math.isfinite(self.target_seconds) or self.target_seconds < 0:
            raise ValueError("target_seconds must be >= 0")
        if not 0.0 < self.min_span_seconds <= self.window_seconds < math.inf:
            raise ValueError("need 0 < min_span_seconds <= window_seconds")
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


@dataclass(frozen=True, slots=True)
class _Visit:
    at: float
    wait: float
    abandoned: bool


class _QueueData:
    __slots__ = ("arrivals", "handles", "visits")

    def __init__(self) -> None:
        self.arrivals: deque[float] = deque()
        self.handles: deque[tuple[float, float]] = deque()  # (now, talk + wrap-up)
        self.visits: deque[_Visit] = deque()


_VISIT_EVENTS = (CallAnswered, CallAbandoned, CallOverflowed, CallFailed)


class StaffingEstimator:
    """Per-queue λ, AHT and patience over a sliding window, and the Erlang A staffing."""

    def __init__(
        self,
        config: StaffingConfig | None = None,
        queues: Iterable[str] = (),
        *,
        started: float | None = None,
    ) -> None:
        self.config = config or StaffingConfig()
        #: Queues estimated; events of other queues are ignored (bounded labels). Empty:
        #: every queue seen.
        self.queues = tuple(queues)
        self._allowed = frozenset(self.queues)
        self.started = started
        self._data: dict[str, _QueueData] = {q: _QueueData() for q in self.queues}
        # agent_id -> (queue, talk seconds, router time of CallCompleted)
        self._wrapping: dict[str, tuple[str, float, float]] = {}
        self._cache: dict[str, tuple[tuple[float, float, float], int | None]] = {}

    # -- feeding ------------------------------------------------------------------------

    def _queue(self, name: str) -> _QueueData | None:
        data = self._data.get(name)
        if data is None and not self._allowed:
            data = self._data[name] = _QueueData()
        return data

    def observe(self, event: object, now: float) -> None:
        """Take one routing-core event (anything else is ignored) at wall-clock ``now``."""
        if self.started is None:
            self.started = now
        if isinstance(event, CallQueued):
            data = self._queue(event.queue)
            if data is not None:
                data.arrivals.append(now)
        elif isinstance(event, _VISIT_EVENTS):
            data = self._queue(event.queue)
            if data is not None:
                abandoned = isinstance(event, CallAbandoned)
                data.visits.append(_Visit(now, max(0.0, event.wait_seconds), abandoned))
        elif isinstance(event, CallCompleted):
            self._wrapping[event.agent_id] = (event.queue, max(0.0, event.talk_seconds),
                                              event.at)
        elif isinstance(event, AgentStateChanged) and event.old is AgentState.WRAP_UP:
            pending = self._wrapping.pop(event.agent_id, None)
            if pending is not None:
                queue, talk, completed_at = pending
                data = self._queue(queue)
                if data is not None:
                    data.handles.append((now, talk + max(0.0, event.at - completed_at)))
        else:
            return
        self._prune(now)

    def observe_all(self, events: Iterable[object], now: float) -> None:
        for event in events:
            self.observe(event, now)

    def _prune(self, now: float) -> None:
        edge = now - self.config.window_seconds
        keep = self.config.min_samples
        for data in self._data.values():
            while data.arrivals and data.arrivals[0] <= edge:
                data.arrivals.popleft()
            while len(data.handles) > keep and data.handles[0][0] <= edge:
                data.handles.popleft()
            while len(data.visits) > keep and data.visits[0].at <= edge:
                data.visits.popleft()

    # -- estimates ----------------------------------------------------------------------

    def estimate(self, now: float) -> dict[str, StaffingEstimate]:
        """Every queue's estimate as of ``now`` (configured queues first, then others)."""
        self._prune(now)
        return {name: self._estimate(name, data, now) for name, data in self._data.items()}

    def _estimate(self, name: str, data: _QueueData, now: float) -> StaffingEstimate:
        c = self.config
        edge = now - c.window_seconds
        n = sum(1 for t in data.arrivals if edge < t <= now)
        watched = 0.0 if self.started is None else now - self.started
        span = min(max(watched, c.min_span_seconds), c.window_seconds)
        rate = n / span

        handles = _recent([h for t, h in data.handles if t <= now],
                          [t for t, _ in data.handles if t <= now], edge, c.min_samples)
        aht = math.fsum(handles) / len(handles) if handles else None

        visits = _recent([v for v in data.visits if v.at <= now],
                         [v.at for v in data.visits if v.at <= now], edge, c.min_samples)
        abandons = sum(1 for v in visits if v.abandoned)
        exposure = math.fsum(v.wait for v in visits)
        patience = exposure / abandons if abandons else math.inf

        return StaffingEstimate(
            queue=name,
            arrivals=n,
            span_seconds=span,
            arrival_rate=rate,
            handle_samples=len(handles),
            handle_time=aht,
            visits=len(visits),
            abandons=abandons,
            queue_seconds=exposure,
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


def _recent(values: list[_T], times: list[float], edge: float, minimum: int) -> list[_T]:
    """The values timed after ``edge``, or the last ``minimum`` values if that is more."""
    inside = sum(1 for t in times if t > edge)
    keep = max(inside, min(minimum, len(values)))
    return values[len(values) - keep:]
