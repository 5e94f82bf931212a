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

Labels are bounded: queue names from the configuration, enum values, a fixed list of
SIP methods and status codes (anything else is ``other``). Never a call or agent id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

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

from .feed import KpiFeed
from .kpi import OVERALL, KpiEngine, KpiFigures
from .staffing import StaffingEstimate, StaffingEstimator

__all__ = [
    "ALL_QUEUES",
    "SIP_CODES",
    "SIP_METHODS",
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
SIP_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE",
               "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH")
SIP_CODES = (100, 180, 181, 182, 183, 200, 202, 301, 302, 400, 401, 403, 404, 405, 406, 407,
             408, 410, 413, 415, 416, 420, 423, 480, 481, 482, 483, 484, 486, 487, 488, 489,
             491, 500, 501, 502, 503, 504, 505, 513, 600, 603, 604, 606)
SIP_TIMERS = ("B", "F", "H")
#: ``queue`` label value of whole-hotline KPI figures.
ALL_QUEUES = "_all"
KPI_WINDOWS = {"rolling": "rolling_24h", "calendar_day": "calendar_day"}
OTHER = "other"
_SIP_METHOD_SET = frozenset(SIP_METHODS)
_SIP_CODE_SET = frozenset(SIP_CODES)


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterSnapshot:
    """What the gauges show: ``Router.queue_views(now)``, ``Router.agent_views()`` and
    the number of agents with a live registration."""

    queues: Sequence[QueueView]
    agents: Sequence[AgentView]
    registered_agents: int


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
            self.offered.labels(event.queue).inc()
        elif isinstance(event, CallAnswered | CallAbandoned | CallOverflowed | CallFailed):
            self.call_wait.labels(event.queue, _OUTCOME[type(event)]).observe(
                event.wait_seconds
            )
            if isinstance(event, CallAnswered):
                self.answered.labels(event.queue).inc()
            elif isinstance(event, CallAbandoned):
                self.abandoned.labels(event.queue).inc()
            elif isinstance(event, CallOverflowed):
                destination = "external" if is_sip_uri(event.target) else "queue"
                self.overflowed.labels(event.queue, event.reason.value, destination).inc()
            else:
                self.failed.labels(event.queue).inc()
        elif isinstance(event, CallCompleted):
            self.completed.labels(event.queue).inc()
            self.talk.labels(event.queue).observe(event.talk_seconds)
        elif isinstance(event, OfferEnded):
            self.offers.labels(event.queue, event.reason.value).inc()
        elif isinstance(event, RequirementsRelaxed):
            self.relaxed.labels(event.queue).inc()
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


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _up(name: str, ok: bool) -> GaugeMetricFamily:
    g = GaugeMetricFamily(
        f"acd_{name}_collector_up", f"1 if the {name} collector read its source at this scrape"
    )
    g.add_metric([], 1.0 if ok else 0.0)
    return g


_KPI_RATIOS = (("sl", "service_level"), ("cr", "connection_rate"), ("ab", "abandonment_rate"),
               ("asa", "average_speed_of_answer"), ("occ", "occupancy"))


class KpiCollector(Collector):
    """Exact KPI figures per queue (``queue="_all"``: overall) and window
    (``rolling_24h``, ``calendar_day``). Ratios are NaN while a window has no calls."""

    def __init__(
        self,
        provider: Callable[[], Mapping[tuple[str | None, str], KpiFigures]],
        queues: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.queues = tuple(queues)

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # figures are read at scrape time, never at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            figures = dict(self.provider())
        except Exception:
            yield _up("kpi", False)
            return
        labels = ["queue", "window"]
        fams = {
            "sl": GaugeMetricFamily("acd_kpi_service_level_ratio",
                                    "Calls answered within the threshold (15 s), per the "
                                    "configured variant", labels=labels),
            "cr": GaugeMetricFamily("acd_kpi_connection_ratio",
                                    "Calls answered by an agent / calls offered to agents",
                                    labels=labels),
            "ab": GaugeMetricFamily("acd_kpi_abandonment_ratio",
                                    "Calls abandoned / calls offered", labels=labels),
            "asa": GaugeMetricFamily("acd_kpi_average_speed_of_answer_seconds",
                                     "Mean wait of answered calls", labels=labels),
            "occ": GaugeMetricFamily("acd_kpi_occupancy_ratio",
                                     "(talk + wrap-up) / (talk + wrap-up + idle) time",
                                     labels=labels),
            "calls": GaugeMetricFamily("acd_kpi_calls", "Calls in the window by outcome",
                                       labels=[*labels, "outcome"]),
        }
        scopes = {OVERALL, *self.queues, *(s for s, _ in figures)}
        for scope in sorted(scopes, key=lambda s: (s is not None, s or "")):
            for key, window in KPI_WINDOWS.items():
                f = figures.get((scope, key))
                lv = [ALL_QUEUES if scope is None else scope, window]
                for fam, attr in _KPI_RATIOS:
                    fams[fam].add_metric(lv, _nan(None if f is None else getattr(f, attr)))
                for outcome in Outcome:
                    n = getattr(f, outcome.value) if f else 0
                    fams["calls"].add_metric([*lv, outcome.value], float(n))
        yield from fams.values()
        yield _up("kpi", True)


class SipStatsLike(Protocol):
    """The fields of ``sip.SipStats`` this collector reads."""

    @property
    def requests_received(self) -> Mapping[str, int]: ...
    @property
    def responses_received(self) -> Mapping[int, int]: ...
    @property
    def requests_sent(self) -> Mapping[str, int]: ...
    @property
    def responses_sent(self) -> Mapping[int, int]: ...
    @property
    def retransmissions_sent(self) -> int: ...
    @property
    def retransmissions_received(self) -> int: ...
    @property
    def stray_acks(self) -> int: ...
    @property
    def stray_responses(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def timeouts(self) -> Mapping[str, int]: ...


def _fold(counts: Mapping[str, int] | Mapping[int, int], known: Collection[str]) -> dict[str, int]:
    out = dict.fromkeys(known, 0)
    out[OTHER] = 0
    for key, n in counts.items():
        name = str(key).upper() if isinstance(key, str) else str(key)
        out[name if name in known else OTHER] += n
    return out


class SipStatsCollector(Collector):
    """``sip.SipStats`` (monotonic counters) as ``acd_sip_*`` at scrape time."""

    def __init__(
        self,
        stats_provider: Callable[[], SipStatsLike],
        transactions_alive: Callable[[], int] | None = None,
    ) -> None:
        self.stats_provider = stats_provider
        self.transactions_alive = transactions_alive

    def describe(self) -> list[CounterMetricFamily]:
        return []

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        try:
            s = self.stats_provider()
            alive = None if self.transactions_alive is None else self.transactions_alive()
            methods_in = _fold(s.requests_received, _SIP_METHOD_SET)
            methods_out = _fold(s.requests_sent, _SIP_METHOD_SET)
            codes = [str(c) for c in SIP_CODES]
            codes_in = _fold(s.responses_received, codes)
            codes_out = _fold(s.responses_sent, codes)
            timers = _fold(s.timeouts, SIP_TIMERS)
            retrans = (s.retransmissions_received, s.retransmissions_sent)
            stray = (s.stray_acks, s.stray_responses)
            rejected = s.rejected
        except Exception:
            yield _up("sip", False)
            return
        req = CounterMetricFamily("acd_sip_requests", "SIP requests (new transactions and "
                                  "ACKs), by direction and method", labels=["direction", "method"])
        for direction, folded in (("received", methods_in), ("sent", methods_out)):
            for method in (*SIP_METHODS, OTHER):
                req.add_metric([direction, method], folded[method])
        resp = CounterMetricFamily("acd_sip_responses", "SIP responses by direction and "
                                   "status code", labels=["direction", "code"])
        for direction, folded in (("received", codes_in), ("sent", codes_out)):
            for code in (*codes, OTHER):
                resp.add_metric([direction, code], folded[code])
        rt = CounterMetricFamily("acd_sip_retransmissions", "SIP retransmissions: sent by "
                                 "our timers, received and absorbed", labels=["direction"])
        rt.add_metric(["received"], retrans[0])
        rt.add_metric(["sent"], retrans[1])
        st = CounterMetricFamily("acd_sip_stray_messages", "ACKs and responses matching no "
                                 "transaction", labels=["kind"])
        st.add_metric(["ack"], stray[0])
        st.add_metric(["response"], stray[1])
        rj = CounterMetricFamily("acd_sip_messages_rejected", "Unparseable SIP messages")
        rj.add_metric([], rejected)
        to = CounterMetricFamily("acd_sip_transaction_timeouts", "Transactions timed out, "
                                 "by RFC 3261 timer", labels=["timer"])
        for timer in (*SIP_TIMERS, OTHER):
            to.add_metric([timer], timers[timer])
        yield from (req, resp, rt, st, rj, to)
        if alive is not None:
            g = GaugeMetricFamily("acd_sip_transactions_alive", "SIP transactions in memory")
            g.add_metric([], alive)
            yield g
        yield _up("sip", True)


class StoreHealthLike(Protocol):
    """The fields of ``acd.store.JournalHealth`` this collector reads."""

    @property
    def queue_depth(self) -> int: ...
    @property
    def spool_depth(self) -> int: ...
    @property
    def last_write_latency(self) -> float | None: ...
    @property
    def database_ok(self) -> bool: ...
    @property
    def spool_ok(self) -> bool: ...
    @property
    def submitted(self) -> int: ...
    @property
    def durable(self) -> int: ...
    @property
    def rejected(self) -> int: ...


class StoreHealthCollector(Collector):
    """The journal's health (``Journal.health``) as ``acd_store_*`` at scrape time."""

    def __init__(self, health_provider: Callable[[], StoreHealthLike]) -> None:
        self.health_provider = health_provider

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            h = self.health_provider()
            values = (h.queue_depth, h.spool_depth, h.last_write_latency, h.database_ok,
                      h.spool_ok, h.submitted, h.durable, h.rejected)
        except Exception:
            yield _up("store", False)
            return
        queue, spool, latency, db_ok, spool_ok, submitted, durable, rejected = values
        gauges = (
            ("acd_store_queue_records", "Records in memory not yet acknowledged", queue),
            ("acd_store_spool_records", "Records in the local spool awaiting replay", spool),
            ("acd_store_write_latency_seconds",
             "Duration of the last successful database batch (NaN before the first)",
             _nan(latency)),
            ("acd_store_database_up", "1 if the last database write succeeded", float(db_ok)),
            ("acd_store_spool_writable", "1 if the last spool write succeeded", float(spool_ok)),
        )
        for name, doc, value in gauges:
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            yield g
        counters = (
            ("acd_store_records_submitted", "Records handed to the journal", submitted),
            ("acd_store_records_durable", "Records committed or fsync'd to the spool", durable),
            ("acd_store_records_rejected", "Records the database refused as invalid", rejected),
        )
        for name, doc, value in counters:
            c = CounterMetricFamily(name, doc)
            c.add_metric([], value)
            yield c
        yield _up("store", True)


class StaffingCollector(Collector):
    """Per configured queue: ``acd_agents_required`` and its inputs (arrival rate,
    handle time, patience), from ``provider()`` (``StaffingEstimator.estimate(now)``).

    Every configured queue is always exported. NaN: a queue missing from the provider's
    answer, handle time before the first handled call, agents required when undefined
    (handle time unknown). Patience is ``+Inf`` while no caller abandoned (Erlang C).
    """

    def __init__(
        self,
        provider: Callable[[], Mapping[str, StaffingEstimate]],
        queues: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.queues = tuple(queues)

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            estimates = dict(self.provider())
        except Exception:
            yield _up("staffing", False)
            return
        labels = ["queue"]
        required = GaugeMetricFamily(
            "acd_agents_required",
            "Agents needed on the phones now (Erlang A on the live arrival rate, handle "
            "time and patience) to answer the target share within the threshold",
            labels=labels)
        rate = GaugeMetricFamily("acd_queue_arrival_rate_per_second",
                                 "Calls entering the queue per second (sliding window)",
                                 labels=labels)
        aht = GaugeMetricFamily("acd_queue_handle_time_seconds",
                                "Mean talk + wrap-up time of recent calls (NaN before any)",
                                labels=labels)
        patience = GaugeMetricFamily("acd_queue_patience_seconds",
                                     "Callers' mean patience, exponential estimate (+Inf "
                                     "while nobody abandoned)", labels=labels)
        names = list(self.queues) or sorted(estimates)
        for queue in names:
            e = estimates.get(queue)
            if e is None:
                values = (math.nan, math.nan, math.nan, math.nan)
            else:
                values = (_nan(None if e.agents_required is None else float(e.agents_required)),
                          e.arrival_rate, _nan(e.handle_time), e.patience)
            for fam, value in zip((required, rate, aht, patience), values, strict=True):
                fam.add_metric([queue], value)
        yield from (required, rate, aht, patience)
        yield _up("staffing", True)


def metric_names(registry: CollectorRegistry) -> set[str]:
    """Every sample name the registry exposes now (``_bucket``, ``_total`` ... included)."""
    return {s.name for fam in registry.collect() for s in fam.samples}
