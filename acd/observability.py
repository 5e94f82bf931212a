"""Metrics, KPIs and the journal, wired to the routing core (issue 5).

`Observability.start` (called by the composition root right after the routing service
is built, before it starts) does, in order:

1. closes agent intervals a crashed process left open (``close_open_agent_states``);
   calls it left open were already closed (failed, restart) by ``close_orphaned_calls``;
2. rebuilds the exact KPI windows and the live staffing estimate from one read of the
   journal (``load_journal``), so a restart neither resets nor double-counts them (the
   ``fail`` rows written for the closed calls count as failed visits);
3. registers the Prometheus collectors in the application's registry: `AcdMetrics`
   (event counters; its snapshot gauges are refreshed from the router at each scrape by
   `RouterGauges`; its `StaffingCollector` estimates ``acd_agents_required`` as of the
   scrape), `KpiCollector`, `SipStatsCollector`, `StoreHealthCollector`;
4. adds the metrics and the `JournalRecorder` to the routing service's observers.

No edit of the HTTP edge is needed: ``/metrics`` renders the registry and every
scrape-time figure is read by a collector.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from acd.logging import get_logger
from acd.recording import JournalRecorder, utc
from acd.routing import RoutingService
from acd.runtime import Runtime
from acd.store import Journal, close_open_agent_states
from config import Settings
from metrics.collectors import (
    AcdMetrics,
    KpiCollector,
    RouterSnapshot,
    SipStatsCollector,
    SipStatsLike,
    StoreHealthCollector,
)
from metrics.journal import JOURNAL_EVENTS, JournalReplay, replay_journal
from metrics.kpi import KpiConfig, KpiEngine, KpiFigures
from metrics.kpi import ServiceLevelVariant as EngineVariant
from metrics.staffing import StaffingConfig, StaffingEstimator
from queueing import RoutingError

__all__ = [
    "KPI_EVENTS",
    "Observability",
    "RouterGauges",
    "kpi_config",
    "kpi_since",
    "load_journal",
]

log = get_logger("acd.observability")

#: Journal verbs the KPI rebuild reads (visits: entry and outcome).
KPI_EVENTS = ("enter", "connect", "abandon", "overflow", "fail")
#: Read ``enter`` rows this much before the window, so a visit that ends inside the
#: window finds its start (for the caller's total wait across overflows).
REBUILD_MARGIN = timedelta(hours=2)

KpiSnapshot = Mapping[tuple[str | None, str], KpiFigures]


def kpi_config(settings: Settings) -> KpiConfig:
    k = settings.kpi
    return KpiConfig(
        service_level_seconds=k.service_level_seconds,
        service_level_variant=EngineVariant(k.variant.value),
        short_abandon_seconds=k.short_abandon_seconds,
        service_level_counts_unanswered_exits=k.counts_unanswered_exits,
        window_seconds=k.window_seconds,
        time_zone=settings.timezone,
    )


def kpi_since(now: float, config: KpiConfig) -> datetime:
    """Oldest instant the rebuild needs: min(now - window, local midnight) - margin."""
    at = datetime.fromtimestamp(now, UTC)
    local = at.astimezone(ZoneInfo(config.time_zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(at - timedelta(seconds=config.window_seconds), midnight) - REBUILD_MARGIN


@dataclass(frozen=True, slots=True)
class _EventRow:
    ts: datetime
    event: str
    call_id: str | None
    queue: str | None
    agent_id: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _StateRow:
    agent_id: str
    status: str
    state: str
    started_at: datetime
    ended_at: datetime | None


async def load_journal(
    pool: Any,
    since: datetime,
    agent_queues: Mapping[str, Sequence[str]],
) -> JournalReplay:
    """The journal rows a rebuild needs (queue events from ``since``, agent intervals
    overlapping it), as KPI engine and staffing estimator records."""
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT ts, event, call_id, queue, agent_id, data::text AS data FROM queue_events"
            " WHERE ts >= $1 AND event = ANY($2::text[]) ORDER BY ts, id",
            since, list(JOURNAL_EVENTS),
        )
        states = await conn.fetch(
            "SELECT agent_id, status, state, started_at, ended_at FROM agent_state_history"
            " WHERE ended_at IS NULL OR ended_at > $1 ORDER BY started_at",
            since,
        )
    event_rows = [
        _EventRow(r["ts"], r["event"], r["call_id"], r["queue"], r["agent_id"],
                  json.loads(r["data"] or "{}"))
        for r in events
    ]
    state_rows = [
        _StateRow(r["agent_id"], r["status"], r["state"], r["started_at"], r["ended_at"])
        for r in states
    ]
    return replay_journal(event_rows, state_rows, agent_queues)


class RouterGauges(Collector):
    """Owns `AcdMetrics`' snapshot gauges: at each scrape, refreshes them from the router
    (``set_gauges_from``) and yields them, so ``/metrics`` never shows a stale queue."""

    def __init__(self, metrics: AcdMetrics, snapshot: Callable[[], RouterSnapshot]) -> None:
        self.metrics = metrics
        self.snapshot = snapshot
        m = metrics
        self.gauges = (m.waiting, m.ringing, m.longest_wait, m.queue_agents, m.agents,
                       m.registered)
        for gauge in self.gauges:  # collected through this collector from now on
            metrics.registry.unregister(gauge)

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            self.metrics.set_gauges_from(self.snapshot())
        except Exception:  # the figures of the previous scrape are shown
            log.exception("router_gauges_failed")
        for gauge in self.gauges:
            yield from gauge.collect()


class Observability:
    """What `start` built; `close` at shutdown (before the journal drains)."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        runtime: Runtime,
        routing: RoutingService,
        journal: Journal,
        *,
        sip_stats: Callable[[], SipStatsLike] | None = None,
        transactions_alive: Callable[[], int] | None = None,
        registered: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.routing = routing
        self.registered = registered
        queues = [q.name for q in settings.queues]
        router = routing.router
        self.agent_queues = {v.agent_id: tuple(v.queues) for v in router.agent_views()}
        self.kpi = KpiEngine(kpi_config(settings))
        # acd_agents_required{queue} and its inputs (docs/kpi.md, live staffing estimate):
        # fed by metrics.observe with the routing events, estimated at each scrape.
        self.staffing = StaffingEstimator(
            StaffingConfig(target_seconds=settings.kpi.service_level_seconds,
                           target_service_level=settings.kpi.service_level_target),
            queues,
        )
        self.metrics = AcdMetrics(registry, queues, kpi=self.kpi, agent_queues=self.agent_queues,
                                  staffing=self.staffing, clock=runtime.now)
        self.gauges = RouterGauges(self.metrics, self.router_snapshot)
        registry.register(self.gauges)
        registry.register(KpiCollector(self.kpi_snapshot, queues))
        if sip_stats is not None:
            registry.register(SipStatsCollector(sip_stats, transactions_alive))
        registry.register(StoreHealthCollector(journal.health))
        self.recorder = JournalRecorder(
            journal.submit,
            requirements=self._requirements,
            queue_skills={q.name: dict(q.skills) for q in settings.queues},
        )

    @classmethod
    async def start(
        cls,
        settings: Settings,
        registry: CollectorRegistry,
        runtime: Runtime,
        routing: RoutingService,
        journal: Journal,
        pool: Any,
        **kw: Any,
    ) -> Observability:
        self = cls(settings, registry, runtime, routing, journal, **kw)
        now = runtime.now()
        closed = await close_open_agent_states(pool, utc(now))
        if closed:
            log.warning("agent_states_closed", intervals=closed, reason="restart")
        await self.rebuild(pool, now)
        # Observers last: the rebuild above must not race live events.
        routing.observers.append(self.metrics.observe)
        routing.observers.append(self.recorder.on_event)
        return self

    async def rebuild(self, pool: Any, now: float) -> None:
        horizon = utc(now - self.staffing.config.sample_horizon_seconds) - REBUILD_MARGIN
        since = min(kpi_since(now, self.kpi.config), horizon)
        replay = await load_journal(pool, since, self.agent_queues)
        self.kpi.rebuild(replay.kpi, now)
        self.staffing.rebuild(replay.staffing, now, started=replay.history_start)
        overall = self.kpi.rolling()
        log.info("kpi_rebuilt", records=len(replay.kpi), calls_24h=overall.offered,
                 answered_24h=overall.answered, staffing_records=len(replay.staffing))

    # -- scrape-time providers -----------------------------------------------------------

    def kpi_snapshot(self) -> KpiSnapshot:
        """``{(queue or None, "rolling" | "calendar_day"): KpiFigures}`` as of now (the
        supervisor API's ``kpi_provider`` too)."""
        return self.kpi.snapshot(self.runtime.now())

    def router_snapshot(self) -> RouterSnapshot:
        router = self.routing.router
        agents = router.agent_views()
        is_registered = self.registered or (lambda agent_id: False)
        return RouterSnapshot(
            queues=router.queue_views(self.runtime.now()),
            agents=agents,
            registered_agents=sum(1 for a in agents if is_registered(a.agent_id)),
        )

    def _requirements(self, call_id: str) -> Mapping[str, int] | None:
        try:
            return dict(self.routing.router.call_view(call_id).requirements)
        except RoutingError:
            return None  # already gone (answered and completed in the same step)

    def on_call_event(self, event: object, now: float) -> None:
        """Observer for the call-control engine's events (``CallControl.observers``)."""
        self.recorder.on_call_event(event, now)

    def close(self, now: float) -> None:
        """Clean shutdown: close the agents' open intervals (submitted to the journal)."""
        self.recorder.close(now)

