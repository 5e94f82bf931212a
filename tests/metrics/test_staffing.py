"""Live staffing estimate (metrics.staffing): λ, AHT and patience from routing events with
literal times, hand-computed; Erlang A staffing checked against queueing.erlang."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry

from metrics.collectors import AcdMetrics, StaffingCollector
from metrics.staffing import StaffingConfig, StaffingEstimator
from queueing import (
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOverflowed,
    CallQueued,
    OverflowReason,
)
from queueing.erlang import agents_required, erlang_a_agents_required

Q = "general"


def queued(call: str, at: float = 0.0, queue: str = Q) -> CallQueued:
    return CallQueued(call_id=call, queue=queue, priority=0, position=1, overflowed_from=None,
                      at=at)


def answered(call: str, wait: float, queue: str = Q) -> CallAnswered:
    return CallAnswered(call_id=call, queue=queue, agent_id="a1", wait_seconds=wait,
                        ring_seconds=0.5, at=0.0)


def abandoned(call: str, wait: float, queue: str = Q) -> CallAbandoned:
    return CallAbandoned(call_id=call, queue=queue, wait_seconds=wait, position=1, at=0.0)


def handled(est: StaffingEstimator, agent: str, talk: float, wrap: float, *, now: float,
            queue: str = Q) -> None:
    """A call completes at wall-clock ``now - wrap``; the agent's wrap-up ends at ``now``
    (the router's own ``at`` plays no part: the journal has only wall-clock times)."""
    done = now - wrap
    est.observe(CallCompleted(call_id=f"c-{agent}-{now}", queue=queue, agent_id=agent,
                              talk_seconds=talk, at=0.0), done)
    est.observe(AgentStateChanged(agent_id=agent, old=AgentState.ON_CALL,
                                  new=AgentState.WRAP_UP, call_id=None, at=0.0), done)
    est.observe(AgentStateChanged(agent_id=agent, old=AgentState.WRAP_UP,
                                  new=AgentState.IDLE, call_id=None, at=0.0), now)


# -- arrival rate ------------------------------------------------------------------------


def test_arrival_rate_counts_the_last_hour_exactly() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    for i, now in enumerate((100.0, 400.0, 3700.0, 3800.0, 4000.0)):
        est.observe(queued(f"c{i}"), now)
    e = est.estimate(4000.0)[Q]
    # window (400, 4000]: the arrival at exactly 400 is out; 3700, 3800, 4000 are in
    assert e.arrivals == 3
    assert e.span_seconds == 3600.0
    assert e.arrival_rate == 3 / 3600
    # an hour later everything has left the window
    assert est.estimate(7600.0)[Q].arrival_rate == 0.0


def test_arrival_rate_after_a_start_divides_by_the_time_watched_at_least_min_span() -> None:
    est = StaffingEstimator(queues=[Q], started=1000.0)
    for i, now in enumerate((1010.0, 1020.0, 1030.0)):
        est.observe(queued(f"c{i}"), now)
    early = est.estimate(1060.0)[Q]  # watched 60 s < min_span 300 s
    assert (early.arrivals, early.span_seconds, early.arrival_rate) == (3, 300.0, 0.01)
    later = est.estimate(1600.0)[Q]  # watched 600 s
    assert (later.span_seconds, later.arrival_rate) == (600.0, 0.005)


def test_started_defaults_to_the_first_event() -> None:
    est = StaffingEstimator(queues=[Q])
    est.observe(queued("c1"), 500.0)
    assert est.started == 500.0
    assert est.estimate(1100.0)[Q].arrival_rate == 1 / 600


def test_overflow_arrivals_count_in_the_receiving_queue_and_labels_stay_bounded() -> None:
    est = StaffingEstimator(queues=[Q, "backup"], started=0.0)
    est.observe(CallQueued(call_id="c1", queue="backup", priority=0, position=1,
                           overflowed_from=Q, at=0.0), 10.0)
    est.observe(queued("c2", queue="not-configured"), 10.0)
    estimates = est.estimate(300.0)
    assert list(estimates) == [Q, "backup"]
    assert estimates["backup"].arrivals == 1 and estimates[Q].arrivals == 0


# -- handle time ---------------------------------------------------------------------------


def test_handle_time_is_talk_plus_wrap_up_of_recent_calls() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    handled(est, "a1", talk=100.0, wrap=10.0, now=60.0)  # 110
    handled(est, "a2", talk=200.0, wrap=30.0, now=100.0)  # 230
    handled(est, "a3", talk=90.0, wrap=0.0, now=100.0)  # zero wrap-up: 90
    e = est.estimate(200.0)[Q]
    assert e.handle_samples == 3
    assert e.handle_time == pytest.approx((110 + 230 + 90) / 3, abs=1e-12)


def test_handle_time_waits_for_the_end_of_wrap_up() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    est.observe(CallCompleted(call_id="c1", queue=Q, agent_id="a1", talk_seconds=60.0,
                              at=10.0), 10.0)
    assert est.estimate(20.0)[Q].handle_time is None
    est.observe(AgentStateChanged(agent_id="a1", old=AgentState.WRAP_UP,
                                  new=AgentState.IDLE, call_id=None, at=25.0), 25.0)
    assert est.estimate(30.0)[Q].handle_time == 75.0


def test_handle_time_with_few_calls_in_the_window_tops_up_with_older_ones() -> None:
    est = StaffingEstimator(StaffingConfig(min_samples=2), queues=[Q], started=0.0)
    handled(est, "a1", talk=100.0, wrap=10.0, now=100.0)  # 110
    handled(est, "a2", talk=200.0, wrap=30.0, now=200.0)  # 230
    handled(est, "a3", talk=50.0, wrap=10.0, now=5000.0)  # 60
    e = est.estimate(5000.0)[Q]  # window (1400, 5000]: one sample; topped up to 2
    assert (e.handle_samples, e.handle_time) == (2, (230 + 60) / 2)
    handled(est, "a1", talk=80.0, wrap=20.0, now=5100.0)  # 100
    e = est.estimate(5100.0)[Q]  # two in the window: only those
    assert (e.handle_samples, e.handle_time) == (2, (60 + 100) / 2)


def test_top_up_never_reaches_past_the_24h_horizon() -> None:
    est = StaffingEstimator(StaffingConfig(min_samples=3), queues=[Q], started=0.0)
    handled(est, "a1", talk=100.0, wrap=10.0, now=1000.0)  # 110
    handled(est, "a1", talk=200.0, wrap=20.0, now=2000.0)  # 220
    est.observe(abandoned("c1", 30.0), 1000.0)
    est.observe(answered("c2", 10.0), 2000.0)
    e = est.estimate(87_000.0)  # horizon (600, 87000]: both samples still count
    assert (e[Q].handle_samples, e[Q].handle_time, e[Q].patience) == (2, 165.0, 40.0)
    e = est.estimate(87_400.0)  # horizon (1000, 87400]: exactly 24 h old is out
    assert (e[Q].handle_samples, e[Q].handle_time, e[Q].visits) == (1, 220.0, 1)
    assert e[Q].patience == math.inf
    e = est.estimate(90_000.0)
    assert (e[Q].handle_time, e[Q].visits) == (None, 0)
    assert len(est._data[Q].handles) == 0 and len(est._data[Q].visits) == 0


# -- patience --------------------------------------------------------------------------------


def test_patience_is_total_time_in_queue_over_abandons() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    for event in (
        answered("c1", 10.0),
        answered("c2", 20.0),
        abandoned("c3", 30.0),
        CallOverflowed(call_id="c4", queue=Q, target="sip:backup@pbx", wait_seconds=60.0,
                       reason=OverflowReason.MAX_WAIT, at=0.0),
        abandoned("c5", 40.0),
        CallFailed(call_id="c6", queue=Q, reason="media", wait_seconds=0.0, at=0.0),
    ):
        est.observe(event, 100.0)
    e = est.estimate(100.0)[Q]
    assert (e.visits, e.abandons, e.queue_seconds) == (6, 2, 160.0)
    assert e.patience == 80.0  # (10 + 20 + 30 + 60 + 40 + 0) / 2


def test_no_abandons_means_infinite_patience_and_erlang_c() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    for i in range(3):
        est.observe(queued(f"c{i}"), 100.0)
        est.observe(answered(f"c{i}", 5.0), 100.0)
    handled(est, "a1", talk=150.0, wrap=30.0, now=200.0)
    e = est.estimate(300.0)[Q]
    assert e.patience == math.inf
    assert e.arrival_rate == 3 / 300 and e.handle_time == 180.0
    load = 3 / 300 * 180.0
    assert e.agents_required == agents_required(load, 180.0, 15.0, 0.8)
    assert e.agents_required == erlang_a_agents_required(load, 180.0, None, 15.0, 0.8)


# -- agents required -------------------------------------------------------------------------


def reference_case(*, abandon: bool) -> StaffingEstimator:
    """docs/staffing.md: 100 calls in 30 min, AHT 180 s, patience 120 s, 80% in 20 s."""
    config = StaffingConfig(target_seconds=20.0, target_service_level=0.8,
                            window_seconds=1800.0, min_span_seconds=300.0)
    est = StaffingEstimator(config, queues=[Q], started=0.0)
    for i in range(100):
        est.observe(queued(f"c{i}"), 18.0 * (i + 1))  # 18 .. 1800
    handled(est, "a1", talk=170.0, wrap=10.0, now=1800.0)
    if abandon:  # 120 s in queue, one abandon
        est.observe(answered("c0", 0.0), 1800.0)
        est.observe(abandoned("c1", 120.0), 1800.0)
    else:
        est.observe(answered("c0", 7.0), 1800.0)
    return est


def test_reference_case_erlang_a_needs_12_agents_erlang_c_14() -> None:
    e = reference_case(abandon=True).estimate(1800.0)[Q]
    assert (e.arrivals, e.arrival_rate, e.handle_time, e.patience) == (100, 100 / 1800,
                                                                      180.0, 120.0)
    assert e.load == pytest.approx(10.0)
    assert e.agents_required == erlang_a_agents_required(100 / 1800 * 180.0, 180.0, 120.0,
                                                         20.0, 0.8)
    assert e.agents_required == 12
    c = reference_case(abandon=False).estimate(1800.0)[Q]
    assert c.patience == math.inf
    assert c.agents_required == agents_required(100 / 1800 * 180.0, 180.0, 20.0, 0.8) == 14


def test_default_target_is_15_seconds_80_percent() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    for i in range(36):
        est.observe(queued(f"c{i}"), 100.0 * (i + 1))  # 36 in (0, 3600]
    handled(est, "a1", talk=250.0, wrap=50.0, now=3600.0)  # 300
    est.observe(answered("c0", 30.0), 3600.0)
    est.observe(abandoned("c1", 60.0), 3600.0)  # patience (30 + 60) / 1 = 90
    e = est.estimate(3600.0)[Q]
    assert (e.arrival_rate, e.handle_time, e.patience) == (0.01, 300.0, 90.0)
    assert e.agents_required == erlang_a_agents_required(3.0, 300.0, 90.0, 15.0, 0.8)


def test_no_arrivals_needs_nobody_unknown_handle_time_is_undefined() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    assert est.estimate(10.0)[Q].agents_required == 0
    est.observe(queued("c1"), 20.0)
    e = est.estimate(30.0)[Q]
    assert e.handle_time is None and e.load is None and e.agents_required is None


def test_zero_patience_is_undefined() -> None:
    est = StaffingEstimator(queues=[Q], started=0.0)
    est.observe(queued("c1"), 20.0)
    est.observe(abandoned("c1", 0.0), 20.0)
    handled(est, "a1", talk=100.0, wrap=0.0, now=20.0)
    e = est.estimate(30.0)[Q]
    assert e.patience == 0.0 and e.agents_required is None


@pytest.mark.parametrize(
    "kwargs",
    [{"target_service_level": 1.0}, {"target_service_level": 0.0}, {"target_seconds": -1.0},
     {"min_span_seconds": 0.0}, {"min_span_seconds": 7200.0}, {"min_samples": 0},
     {"sample_horizon_seconds": 1800.0}],
)
def test_bad_config_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        StaffingConfig(**kwargs)  # type: ignore[arg-type]


def test_memory_is_bounded_by_the_window_and_min_samples() -> None:
    est = StaffingEstimator(StaffingConfig(min_samples=3), queues=[Q], started=0.0)
    for i in range(100):
        now = 100.0 * i
        est.observe(queued(f"c{i}"), now)
        est.observe(abandoned(f"c{i}", 1.0), now)
        handled(est, "a1", talk=1.0, wrap=1.0, now=now)
    data = est._data[Q]
    assert len(data.arrivals) == 36 and len(data.visits) == 36 and len(data.handles) == 36


# -- export ----------------------------------------------------------------------------------


def test_collector_exports_every_configured_queue_with_nan_and_inf_rules() -> None:
    est = StaffingEstimator(queues=[Q, "quiet"], started=0.0)
    est.observe(queued("c1"), 100.0)
    registry = CollectorRegistry()
    registry.register(StaffingCollector(lambda: est.estimate(600.0), [Q, "quiet", "gone"]))
    get = registry.get_sample_value
    assert get("acd_queue_arrival_rate_per_second", {"queue": Q}) == 1 / 600
    assert math.isnan(get("acd_queue_handle_time_seconds", {"queue": Q}) or 0.0)
    assert math.isnan(get("acd_agents_required", {"queue": Q}) or 0.0)
    assert get("acd_queue_patience_seconds", {"queue": Q}) == math.inf
    assert get("acd_agents_required", {"queue": "quiet"}) == 0
    assert math.isnan(get("acd_queue_arrival_rate_per_second", {"queue": "gone"}) or 0.0)
    assert get("acd_staffing_collector_up") == 1


def test_collector_reports_a_failing_provider() -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    registry = CollectorRegistry()
    registry.register(StaffingCollector(broken, [Q]))  # type: ignore[arg-type]
    assert registry.get_sample_value("acd_staffing_collector_up") == 0
    assert registry.get_sample_value("acd_agents_required", {"queue": Q}) is None


def test_acd_metrics_feeds_the_estimator_and_exports_at_its_clock() -> None:
    clock = [0.0]
    registry = CollectorRegistry()
    metrics = AcdMetrics(registry, [Q], staffing=StaffingEstimator(queues=[Q], started=0.0),
                         clock=lambda: clock[0])
    metrics.observe(queued("c1"), 100.0)
    metrics.observe(answered("c1", 4.0), 104.0)
    metrics.observe(CallCompleted(call_id="c1", queue=Q, agent_id="a1", talk_seconds=96.0,
                                  at=200.0), 200.0)
    metrics.observe(AgentStateChanged(agent_id="a1", old=AgentState.WRAP_UP,
                                      new=AgentState.IDLE, call_id=None, at=204.0), 204.0)
    clock[0] = 600.0
    get = registry.get_sample_value
    assert get("acd_queue_arrival_rate_per_second", {"queue": Q}) == 1 / 600
    assert get("acd_queue_handle_time_seconds", {"queue": Q}) == 100.0
    assert get("acd_agents_required", {"queue": Q}) == agents_required(
        100 / 600, 100.0, 15.0, 0.8)
    clock[0] = 4000.0  # the arrival left the window
    assert get("acd_agents_required", {"queue": Q}) == 0


def test_acd_metrics_without_a_clock_estimates_as_of_the_last_event() -> None:
    registry = CollectorRegistry()
    metrics = AcdMetrics(registry, [Q])
    assert registry.get_sample_value("acd_agents_required", {"queue": Q}) == 0
    metrics.observe(queued("c1"), 1000.0)
    assert registry.get_sample_value("acd_queue_arrival_rate_per_second",
                                     {"queue": Q}) == 1 / 300
