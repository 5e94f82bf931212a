"""Prometheus metrics of the ACD (names and labels: docs/metrics.md).

Everything lives in the ``CollectorRegistry`` you pass in (no global registry):

* ``AcdMetrics``          -- counters/histograms fed by ``observe(event, now)`` with the
  routing core's events, gauges set by ``set_gauges_from(snapshot)``; optionally feeds a
  ``KpiEngine`` through ``KpiFeed``; always feeds a ``StaffingEstimator`` and registers
  its ``StaffingCollector`` (``acd_agents_required`` and inputs).
* ``KpiCollector``        -- the exact KPI figures (rolling 24 h, calendar day), read at
  scrape time from a provider (``lambda: engine.snapshot(time.time())``).
* ``SipStatsCollector``   -- ``sip.SipStats`` counters, read at scrape time.
* ``StoreHealthCollector`` -- the journal's health (spool depth, write latency ...).
* ``StaffingCollector``   -- the live Erlang A staffing estimate and its inputs
  (``metrics.staffing``), read at scrape time.

``AcdMetrics`` lives here; the scrape-time collectors in ``metrics.custom_collectors``
(KPI, store health, staffing) and ``metrics.sip_collector`` (SIP), re-exported here.

Labels are bounded: queue names from the configuration, enum values, a fixed list of
SIP methods and status codes (anything else is ``other``). Never a call or agent id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from queueing import (
    AgentState,
    AgentStatus,
    AgentView,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOverflowed,
    CallQueued,
    Event,
    OfferEnded,
    OfferEndReason,
    Outcome,
    OverflowReason,
    QueueView,
    RequirementsRelaxed,
    is_sip_uri,
)

from .custom_collectors import (
    ALL_QUEUES,
    KPI_WINDOWS,
    KpiCollector,
    StaffingCollector,
    StoreHealthCollector,
    StoreHealthLike,
)
from .feed import KpiFeed
from .kpi import KpiEngine
from .sip_collector import (
    OTHER,
    SIP_CODES,
    SIP_METHODS,
    SIP_TIMERS,
    SipStatsCollector,
    SipStatsLike,
)
from .staffing import StaffingEstimate, StaffingEstimator

__all__ = [
    "ALL_QUEUES",
    "KPI_WINDOWS",
    "OTHER",
    "SIP_CODES",
    "SIP_METHODS",
    "SIP_TIMERS",
    "TALK_BUCKETS",
    "WAIT_BUCKETS",
    "AcdMetrics",
    "KpiCollector",
    "RouterSnapshot",
    "SipStatsCollector",
    "SipStatsLike",
    "StaffingCollector",
    "StoreHealthCollector",
    "StoreHealthLike",
    "metric_names",
]

#: Wait-time buckets (seconds); 15 is the standard's answer target and must stay.
WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0,
                600.0)
TALK_BUCKETS = (30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterSnapshot:
    """What the gauges show: ``Router.queue_views(now)``, ``Router.agent_views()`` and
    the number of agents with a live registration."""

    queues: Sequence[QueueView]
    agents: Sequence[AgentView]
    registered_agents: int


class _Children:
    """``metric.labels(*values)``, remembered: the same child every time (as
    prometheus_client returns), without its label checks and lock on every event."""

    __slots__ = ("cache", "metric")

    def __init__(self, metric: Counter | Histogram) -> None:
        self.metric = metric
        self.cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.cache.get(values)
        if child is None:
            child = self.cache[values] = self.metric.labels(*values)
        return child


_OUTCOME = {
    CallAnswered: Outcome.ANSWERED.value,
    CallAbandoned: Outcome.ABANDONED.value,
    CallOverflowed: Outcome.OVERFLOWED.value,
    CallFailed: Outcome.FAILED.value,
}


class AcdMetrics:
    """The ACD's own counters, histograms and gauges, registered in ``registry``."""

    def __init__(
        self,
        registry: CollectorRegistry,
        queues: Iterable[str] = (),
        *,
        kpi: KpiEngine | None = None,
        agent_queues: Mapping[str, Sequence[str]] | None = None,
        staffing: StaffingEstimator | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.registry = registry
        self.queues = tuple(queues)
        self.kpi = kpi
        self.feed = KpiFeed(agent_queues)
        #: Live Erlang A staffing (``metrics.staffing``), fed by ``observe``; exported at
        #: each scrape as of ``clock()`` (without a clock: as of the last event's ``now``).
        self.staffing = staffing if staffing is not None else StaffingEstimator(
            queues=self.queues)
        self.clock = clock
        self._last_now: float | None = None
        r = registry
        self.call_wait = Histogram(
            "acd_call_wait_seconds",
            "Time a call waited in a queue until the visit's outcome",
            ["queue", "outcome"], buckets=WAIT_BUCKETS, registry=r,
        )
        self.talk = Histogram(
            "acd_call_talk_seconds", "Talk time of answered calls (answer to hang-up)",
            ["queue"], buckets=TALK_BUCKETS, registry=r,
        )
        self.offered = Counter(
            "acd_calls_offered", "Calls that entered a queue (each queue visit counts)",
            ["queue"], registry=r,
        )
        self.answered = Counter(
            "acd_calls_answered", "Calls answered by an agent", ["queue"], registry=r
        )
        self.abandoned = Counter(
            "acd_calls_abandoned", "Callers who hung up while queued", ["queue"], registry=r
        )
        self.overflowed = Counter(
            "acd_calls_overflowed",
            "Calls sent on from a queue (max wait or no agents), to another queue or out",
            ["queue", "reason", "destination"], registry=r,
        )
        self.failed = Counter(
            "acd_calls_failed", "Queued calls that failed (media, transport)", ["queue"],
            registry=r,
        )
        self.completed = Counter(
            "acd_calls_completed", "Answered calls that ended", ["queue"], registry=r
        )
        self.offers = Counter(
            "acd_agent_offers", "Offers (agent rings) ended, by why they ended",
            ["queue", "result"], registry=r,
        )
        self.relaxed = Counter(
            "acd_requirements_relaxed", "Skill relaxation steps applied to waiting calls",
            ["queue"], registry=r,
        )
        self.waiting = Gauge(
            "acd_queue_calls_waiting", "Unanswered calls in the queue (waiting or ringing)",
            ["queue"], registry=r,
        )
        self.ringing = Gauge(
            "acd_queue_calls_ringing", "Queued calls with an offer ringing", ["queue"],
            registry=r,
        )
        self.longest_wait = Gauge(
            "acd_queue_longest_wait_seconds",
            "How long the longest-waiting unanswered call has waited (0 if none)",
            ["queue"], registry=r,
        )
        self.queue_agents = Gauge(
            "acd_queue_agents", "Member agents of the queue: logged in, available, idle",
            ["queue", "kind"], registry=r,
        )
        self.agents = Gauge(
            "acd_agents", "Agents by status (chosen) and state (system)",
            ["status", "state"], registry=r,
        )
        self.registered = Gauge(
            "acd_agents_registered", "Agents with a live SIP registration", registry=r
        )
        self._initialise()
        self._offered, self._answered, self._abandoned, self._failed = (
            _Children(self.offered), _Children(self.answered), _Children(self.abandoned),
            _Children(self.failed))
        self._completed, self._relaxed, self._overflowed, self._offers = (
            _Children(self.completed), _Children(self.relaxed), _Children(self.overflowed),
            _Children(self.offers))
        self._call_wait, self._talk = _Children(self.call_wait), _Children(self.talk)
        self.staffing_collector = StaffingCollector(self.staffing_estimates, self.queues)
        r.register(self.staffing_collector)

    def staffing_estimates(self) -> Mapping[str, StaffingEstimate]:
        """The staffing estimate per queue as of ``clock()`` (or the last event)."""
        now = self.clock() if self.clock is not None else self._last_now
        if now is None:
            now = self.staffing.started if self.staffing.started is not None else 0.0
        return self.staffing.estimate(now)

    def _initialise(self) -> None:
        for queue in self.queues:
            self._init_queue(queue)
        for status in AgentStatus:
            for state in AgentState:
                self.agents.labels(status.value, state.value)

    def _init_queue(self, queue: str) -> None:
        for outcome in Outcome:
            self.call_wait.labels(queue, outcome.value)
        self.talk.labels(queue)
        for counter in (self.offered, self.answered, self.abandoned, self.failed,
                        self.completed, self.relaxed):
            counter.labels(queue)
        for reason in OverflowReason:
            for destination in ("queue", "external"):
                self.overflowed.labels(queue, reason.value, destination)
        for end in OfferEndReason:
            self.offers.labels(queue, end.value)
        for gauge in (self.waiting, self.ringing, self.longest_wait):
            gauge.labels(queue)
        for kind in ("logged_in", "available", "idle"):
            self.queue_agents.labels(queue, kind)

    def observe(self, event: Event, now: float) -> None:
        """Count one routing-core event; ``now`` is wall-clock epoch seconds."""
        self._last_now = now
        self.staffing.observe(event, now)
        if isinstance(event, CallQueued):
            self._offered(event.queue).inc()
        elif isinstance(event, CallAnswered | CallAbandoned | CallOverflowed | CallFailed):
            self._call_wait(event.queue, _OUTCOME[type(event)]).observe(event.wait_seconds)
            if isinstance(event, CallAnswered):
                self._answered(event.queue).inc()
            elif isinstance(event, CallAbandoned):
                self._abandoned(event.queue).inc()
            elif isinstance(event, CallOverflowed):
                destination = "external" if is_sip_uri(event.target) else "queue"
                self._overflowed(event.queue, event.reason.value, destination).inc()
            else:
                self._failed(event.queue).inc()
        elif isinstance(event, CallCompleted):
            self._completed(event.queue).inc()
            self._talk(event.queue).observe(event.talk_seconds)
        elif isinstance(event, OfferEnded):
            self._offers(event.queue, event.reason.value).inc()
        elif isinstance(event, RequirementsRelaxed):
            self._relaxed(event.queue).inc()
        if self.kpi is not None:
            for record in self.feed.translate(event, now):
                self.kpi.feed([record])

    def observe_all(self, events: Iterable[object], now: float) -> None:
        """``observe`` each event of ``Router.drain()`` (decisions are skipped)."""
        for event in events:
            if isinstance(event, _EVENT_TYPES):
                self.observe(event, now)

    def set_gauges_from(self, snapshot: RouterSnapshot) -> None:
        """Overwrite every gauge from a snapshot (known label sets absent from it -> 0)."""
        seen = set()
        for view in snapshot.queues:
            seen.add(view.name)
            self.waiting.labels(view.name).set(view.waiting)
            self.ringing.labels(view.name).set(view.ringing)
            self.longest_wait.labels(view.name).set(view.oldest_wait or 0.0)
            self.queue_agents.labels(view.name, "logged_in").set(view.logged_in)
            self.queue_agents.labels(view.name, "available").set(view.available)
            self.queue_agents.labels(view.name, "idle").set(view.idle)
        for queue in self.queues:
            if queue not in seen:
                for gauge in (self.waiting, self.ringing, self.longest_wait):
                    gauge.labels(queue).set(0)
        counts: dict[tuple[str, str], int] = {}
        for agent in snapshot.agents:
            key = (agent.status.value, agent.state.value)
            counts[key] = counts.get(key, 0) + 1
        for status in AgentStatus:
            for state in AgentState:
                key = (status.value, state.value)
                self.agents.labels(*key).set(counts.get(key, 0))
        self.registered.set(snapshot.registered_agents)


_EVENT_TYPES = (CallQueued, CallAnswered, CallAbandoned, CallOverflowed, CallFailed,
                CallCompleted, OfferEnded, RequirementsRelaxed)


def metric_names(registry: CollectorRegistry) -> set[str]:
    """Every sample name the registry exposes now (``_bucket``, ``_total`` ... included)."""
    return {s.name for fam in registry.collect() for s in fam.samples}
