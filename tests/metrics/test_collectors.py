"""Collectors: samples from scripted events, snapshots and providers; promtool lint."""

from __future__ import annotations

import math
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from metrics.collectors import (
    AcdMetrics,
    KpiCollector,
    RouterSnapshot,
    SipStatsCollector,
    StoreHealthCollector,
    metric_names,
)
from metrics.kpi import KpiEngine
from queueing import (
    AgentSpec,
    AgentState,
    AgentStateChanged,
    AgentStatus,
    AgentStatusChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOverflowed,
    CallQueued,
    Event,
    OfferEnded,
    OfferEndReason,
    OverflowReason,
    QueueSpec,
    Router,
    Tier,
)
from sip.transaction_events import SipStats

from .promtool import promtool

Q = ("general", "elderly")
T0 = datetime(2024, 3, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def queued(call: str, at: float, queue: str = "general", came: str | None = None) -> CallQueued:
    return CallQueued(call_id=call, queue=queue, priority=0, position=1, overflowed_from=came,
                      at=at)


def build() -> tuple[CollectorRegistry, AcdMetrics, KpiEngine]:
    registry = CollectorRegistry()
    engine = KpiEngine()
    metrics = AcdMetrics(registry, queues=Q, kpi=engine, agent_queues={"a1": ["general"]})
    registry.register(KpiCollector(lambda: engine.snapshot(T0 + 100), Q))
    return registry, metrics, engine


def script(m: AcdMetrics) -> None:
    events: list[Event] = [
        queued("c1", 0.0),
        OfferEnded(call_id="c1", queue="general", agent_id="a1",
                   reason=OfferEndReason.NO_ANSWER, ring_seconds=10.0, at=10.0),
        CallAnswered(call_id="c1", queue="general", agent_id="a1", wait_seconds=15.0,
                     ring_seconds=3.0, at=15.0),
        queued("c2", 1.0),
        CallAbandoned(call_id="c2", queue="general", wait_seconds=15.5, position=1, at=16.5),
        queued("c3", 2.0),
        CallOverflowed(call_id="c3", queue="general", target="elderly",
                       reason=OverflowReason.MAX_WAIT, wait_seconds=30.0, at=32.0),
        queued("c3", 32.0, queue="elderly", came="general"),
        CallAnswered(call_id="c3", queue="elderly", agent_id="a2", wait_seconds=4.0,
                     ring_seconds=2.0, at=36.0),
        queued("c4", 40.0, queue="elderly"),
        CallFailed(call_id="c4", queue="elderly", reason="media", wait_seconds=1.0, at=41.0),
        CallCompleted(call_id="c1", queue="general", agent_id="a1", talk_seconds=75.0, at=90.0),
    ]
    for e in events:
        m.observe(e, T0 + e.at)


def test_known_label_sets_start_at_zero() -> None:
    registry, _, _ = build()
    get = registry.get_sample_value
    for q in Q:
        assert get("acd_calls_offered_total", {"queue": q}) == 0.0
        assert get("acd_calls_overflowed_total", {"queue": q, "reason": "no-agents",
                                                   "destination": "external"}) == 0.0
        assert get("acd_call_wait_seconds_bucket",
                   {"queue": q, "outcome": "abandoned", "le": "15.0"}) == 0.0
        assert get("acd_queue_calls_waiting", {"queue": q}) == 0.0
        assert get("acd_queue_agents", {"queue": q, "kind": "idle"}) == 0.0
    assert get("acd_agents", {"status": "paused", "state": "on-call"}) == 0.0
    assert get("acd_agents_registered") == 0.0
    assert math.isnan(get("acd_kpi_service_level_ratio",  # type: ignore[arg-type]
                          {"queue": "_all", "window": "rolling_24h"}))


def test_event_counters_and_wait_histogram() -> None:
    registry, m, _ = build()
    script(m)
    get = registry.get_sample_value
    assert get("acd_calls_offered_total", {"queue": "general"}) == 3
    assert get("acd_calls_offered_total", {"queue": "elderly"}) == 2
    assert get("acd_calls_answered_total", {"queue": "general"}) == 1
    assert get("acd_calls_abandoned_total", {"queue": "general"}) == 1
    assert get("acd_calls_overflowed_total", {"queue": "general", "reason": "max-wait",
                                               "destination": "queue"}) == 1
    assert get("acd_calls_failed_total", {"queue": "elderly"}) == 1
    assert get("acd_calls_completed_total", {"queue": "general"}) == 1
    assert get("acd_agent_offers_total", {"queue": "general", "result": "no-answer"}) == 1
    # the bucket at exactly 15 s is inclusive: 15.0 is in, 15.5 is not
    def bucket(outcome: str, le: str, q: str = "general") -> float | None:
        return get("acd_call_wait_seconds_bucket", {"queue": q, "outcome": outcome, "le": le})
    assert bucket("answered", "15.0") == 1
    assert bucket("answered", "10.0") == 0
    assert bucket("abandoned", "15.0") == 0
    assert bucket("abandoned", "20.0") == 1
    assert bucket("overflowed", "30.0") == 1
    assert get("acd_call_wait_seconds_sum", {"queue": "general", "outcome": "answered"}) == 15.0
    assert get("acd_call_talk_seconds_count", {"queue": "general"}) == 1


def test_kpi_gauges_follow_the_engine() -> None:
    registry, m, engine = build()
    script(m)
    get = registry.get_sample_value
    lv = {"queue": "general", "window": "rolling_24h"}
    assert get("acd_kpi_service_level_ratio", lv) == 1 / 2  # c1 at 15.0 in, c2 abandoned
    assert get("acd_kpi_connection_ratio", lv) == 1 / 3
    assert get("acd_kpi_abandonment_ratio", lv) == 1 / 3
    assert get("acd_kpi_average_speed_of_answer_seconds", lv) == 15.0
    assert get("acd_kpi_calls", {**lv, "outcome": "overflowed"}) == 1
    overall = {"queue": "_all", "window": "calendar_day"}
    # c3 counted once overall: answered after 34 s in the ACD
    assert get("acd_kpi_calls", {**overall, "outcome": "answered"}) == 2
    assert get("acd_kpi_connection_ratio", overall) == 2 / 4
    assert get("acd_kpi_average_speed_of_answer_seconds", overall) == (15.0 + 34.0) / 2
    assert engine.rolling("elderly").answered == 1


def test_agent_events_feed_occupancy() -> None:
    registry, m, engine = build()
    changes: list[Event] = [
        AgentStatusChanged(agent_id="a1", old=AgentStatus.LOGGED_OUT,
                           new=AgentStatus.AVAILABLE, reason=None, at=0.0),
        AgentStateChanged(agent_id="a1", old=AgentState.IDLE, new=AgentState.RESERVED,
                          call_id="c1", at=30.0),
        AgentStateChanged(agent_id="a1", old=AgentState.RESERVED, new=AgentState.ON_CALL,
                          call_id="c1", at=40.0),
        AgentStateChanged(agent_id="a1", old=AgentState.ON_CALL, new=AgentState.WRAP_UP,
                          call_id=None, at=70.0),
        AgentStatusChanged(agent_id="a1", old=AgentStatus.AVAILABLE, new=AgentStatus.PAUSED,
                           reason="lunch", at=80.0),  # wrap-up still counts while paused
        AgentStateChanged(agent_id="a1", old=AgentState.WRAP_UP, new=AgentState.IDLE,
                          call_id=None, at=90.0),  # paused and idle: not counted
    ]
    for e in changes:
        m.observe(e, T0 + e.at)
    engine.advance(T0 + 100)
    f = engine.rolling("general")
    assert (f.idle_seconds, f.talk_seconds, f.wrap_seconds) == (40.0, 30.0, 20.0)
    assert registry.get_sample_value(
        "acd_kpi_occupancy_ratio", {"queue": "general", "window": "rolling_24h"}
    ) == 50 / 90


def test_gauges_from_a_live_router_snapshot() -> None:
    registry, m, _ = build()
    router = Router(
        [QueueSpec(name=q, ring_timeout=10.0) for q in Q],
        [AgentSpec(id="a1", skills={}, tiers={"general": Tier()}),
         AgentSpec(id="a2", skills={}, tiers={"general": Tier()})],
    )
    router.agent_login("a1", 0.0)
    router.call_arrived("c1", "general", 1.0)  # offered to a1
    router.call_arrived("c2", "general", 2.0)  # waits: a2 is logged out
    m.observe_all(router.drain(), T0 + 2.0)
    m.set_gauges_from(RouterSnapshot(queues=router.queue_views(9.0), agents=router.agent_views(),
                                     registered_agents=1))
    get = registry.get_sample_value
    assert get("acd_calls_offered_total", {"queue": "general"}) == 2
    assert get("acd_queue_calls_waiting", {"queue": "general"}) == 2
    assert get("acd_queue_calls_ringing", {"queue": "general"}) == 1
    assert get("acd_queue_longest_wait_seconds", {"queue": "general"}) == 8.0
    assert get("acd_queue_longest_wait_seconds", {"queue": "elderly"}) == 0.0
    assert get("acd_queue_agents", {"queue": "general", "kind": "logged_in"}) == 1
    assert get("acd_agents", {"status": "available", "state": "reserved"}) == 1
    assert get("acd_agents", {"status": "logged-out", "state": "idle"}) == 1
    assert get("acd_agents_registered") == 1
    # gauges are overwritten, not accumulated
    m.set_gauges_from(RouterSnapshot(queues=[], agents=[], registered_agents=0))
    assert get("acd_queue_calls_waiting", {"queue": "general"}) == 0
    assert get("acd_agents", {"status": "available", "state": "reserved"}) == 0


def test_sip_stats_collector_folds_unknown_methods_and_codes() -> None:
    stats = SipStats()
    stats.requests_received.update({"INVITE": 5, "REGISTER": 7, "XFOO": 2, "BAR": 1})
    stats.requests_sent["BYE"] = 3
    stats.responses_sent.update({200: 4, 486: 1, 299: 2})
    stats.responses_received[180] = 6
    stats.retransmissions_sent = 9
    stats.retransmissions_received = 8
    stats.stray_acks, stats.stray_responses, stats.rejected = 1, 2, 3
    stats.timeouts.update({"B": 1, "H": 2, "Z": 4})
    registry = CollectorRegistry()
    registry.register(SipStatsCollector(lambda: stats, transactions_alive=lambda: 11))
    get = registry.get_sample_value
    assert get("acd_sip_requests_total", {"direction": "received", "method": "INVITE"}) == 5
    assert get("acd_sip_requests_total", {"direction": "received", "method": "other"}) == 3
    assert get("acd_sip_requests_total", {"direction": "sent", "method": "BYE"}) == 3
    assert get("acd_sip_requests_total", {"direction": "sent", "method": "INVITE"}) == 0
    assert get("acd_sip_responses_total", {"direction": "sent", "code": "200"}) == 4
    assert get("acd_sip_responses_total", {"direction": "sent", "code": "other"}) == 2
    assert get("acd_sip_responses_total", {"direction": "received", "code": "180"}) == 6
    assert get("acd_sip_retransmissions_total", {"direction": "sent"}) == 9
    assert get("acd_sip_stray_messages_total", {"kind": "response"}) == 2
    assert get("acd_sip_messages_rejected_total") == 3
    assert get("acd_sip_transaction_timeouts_total", {"timer": "other"}) == 4
    assert get("acd_sip_transactions_alive") == 11
    stats.requests_received["INVITE"] += 1  # read at scrape time
    assert get("acd_sip_requests_total", {"direction": "received", "method": "INVITE"}) == 6


@dataclass
class Health:
    queue_depth: int = 3
    spool_depth: int = 120
    last_write_latency: float | None = 0.004
    database_ok: bool = False
    spool_ok: bool = True
    submitted: int = 500
    durable: int = 497
    rejected: int = 1


def test_store_health_collector() -> None:
    registry = CollectorRegistry()
    health = Health()
    registry.register(StoreHealthCollector(lambda: health))
    get = registry.get_sample_value
    assert get("acd_store_spool_records") == 120
    assert get("acd_store_queue_records") == 3
    assert get("acd_store_write_latency_seconds") == 0.004
    assert get("acd_store_database_up") == 0
    assert get("acd_store_spool_writable") == 1
    assert get("acd_store_records_durable_total") == 497
    assert get("acd_store_records_rejected_total") == 1
    health.last_write_latency = None
    assert math.isnan(get("acd_store_write_latency_seconds"))  # type: ignore[arg-type]


def test_failing_provider_does_not_break_the_scrape() -> None:
    def boom() -> SipStats:
        raise RuntimeError("gone")

    registry = CollectorRegistry()
    registry.register(SipStatsCollector(boom))
    registry.register(StoreHealthCollector(lambda: Health()))
    generate_latest(registry)
    assert registry.get_sample_value("acd_sip_collector_up") == 0
    assert registry.get_sample_value("acd_store_collector_up") == 1


def series(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(s.name, tuple(sorted(s.labels.items())))
            for fam in registry.collect() for s in fam.samples}


def test_labels_are_bounded_and_pre_initialised() -> None:
    registry, m, _ = build()
    before = series(registry)
    script(m)
    after = series(registry)
    assert after == before  # traffic on configured queues creates no new series
    ids = {"c1", "c2", "c3", "c4", "a1", "a2"}
    assert not any(v in ids for _, labels in after for _, v in labels)
    assert not any(k in ("call_id", "agent_id") for _, labels in after for k, _ in labels)


def full_exposition() -> bytes:
    registry, m, _ = build()
    script(m)
    stats = SipStats()
    stats.requests_received.update(Counter({"INVITE": 2, "WEIRD": 1}))
    registry.register(SipStatsCollector(lambda: stats, lambda: 2))
    registry.register(StoreHealthCollector(lambda: Health()))
    return generate_latest(registry)


def test_promtool_check_metrics_reports_nothing() -> None:
    tool = promtool()
    done = subprocess.run([tool, "check", "metrics"], input=full_exposition(),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == b"" and done.stderr.strip() == b""


def test_metric_names_helper_lists_samples() -> None:
    registry, _, _ = build()
    names = metric_names(registry)
    assert {"acd_call_wait_seconds_bucket", "acd_calls_offered_total",
            "acd_kpi_service_level_ratio"} <= names


@pytest.mark.parametrize("when", [T0, T0 + timedelta(days=2).total_seconds()])
def test_kpi_collector_lists_configured_queues_without_calls(when: float) -> None:
    engine = KpiEngine()
    registry = CollectorRegistry()
    registry.register(KpiCollector(lambda: engine.snapshot(when), ["quiet"]))
    assert registry.get_sample_value(
        "acd_kpi_calls", {"queue": "quiet", "window": "calendar_day", "outcome": "answered"}
    ) == 0
