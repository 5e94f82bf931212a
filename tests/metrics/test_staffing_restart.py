"""The live staffing estimate survives a restart: rebuilt from the journal, its inputs
(λ, AHT, patience, the divisor T) and ``acd_agents_required`` equal what the previous
process had -- in memory (journal rows -> ``StaffingEstimator.rebuild``) and against
real PostgreSQL (``Observability.start`` on the store the first process wrote, the
way ``Application.start`` builds it). Literal times throughout.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from prometheus_client import CollectorRegistry

from acd.observability import Observability
from acd.recording import JournalRecorder, utc
from acd.routing import RoutingService
from acd.runtime import Runtime
from acd.store import (
    AgentStateChange,
    Journal,
    QueueEvent,
    Record,
    close_orphaned_calls,
    init_connection,
    migrate,
)
from config import Settings, load_settings
from metrics.journal import replay_journal
from metrics.staffing import Arrival, StaffingConfig, StaffingEstimate, StaffingEstimator
from queueing import CallQueued, Event, RelaxStep, Router
from tests import pg
from tests.queueing.helpers import agent, queue

pg_server = pg.pg_server
pg_url = pg.pg_url

T0 = 1_709_254_800.0  # 2024-03-01 09:00 Asia/Shanghai
Q = "general"
GAUGES = ("acd_agents_required", "acd_queue_arrival_rate_per_second",
          "acd_queue_handle_time_seconds", "acd_queue_patience_seconds")

Command = Callable[[Router, float], None]


def both(command: Callable[[str, float], None], a1: str, a2: str, now: float) -> None:
    command(a1, now)
    command(a2, now)


def offered(router: Router, call: str) -> str:
    return next(v.agent_id for v in router.agent_views() if v.call_id == call)


def script(a1: str, a2: str) -> list[tuple[float, Command]]:
    """Two agents, wrap-up 5 s, ring timeout 30 s. c1 answered after 10 s, handled
    120 + 5 s; c2 answered after 15.5 s, completed at a sub-microsecond instant (the
    journal stores microseconds) and its wrap-up seen ending at +206: handled 179.5 s;
    c3 abandons after 7.25 s; c4 answered after 2 s, handled 98 + 5 s."""
    return [
        (T0, lambda r, n: both(r.agent_login, a1, a2, n)),
        (T0 + 10, lambda r, n: r.call_arrived("c1", Q, n)),
        (T0 + 11, lambda r, n: r.call_arrived("c2", Q, n)),
        (T0 + 20, lambda r, n: r.offer_answered("c1", offered(r, "c1"), n)),
        (T0 + 26.5, lambda r, n: r.offer_answered("c2", offered(r, "c2"), n)),
        (T0 + 30, lambda r, n: r.call_arrived("c3", Q, n)),
        (T0 + 37.25, lambda r, n: r.caller_left("c3", n)),
        (T0 + 140, lambda r, n: r.call_completed("c1", n)),
        (T0 + 145, lambda r, n: r.handle_timer(n)),  # c1's wrap-up ends
        (T0 + 200.0000004, lambda r, n: r.call_completed("c2", n)),
        (T0 + 206, lambda r, n: r.handle_timer(n)),  # c2's wrap-up ended a bit earlier
        (T0 + 300, lambda r, n: r.call_arrived("c4", Q, n)),
        (T0 + 302, lambda r, n: r.offer_answered("c4", offered(r, "c4"), n)),
        (T0 + 400, lambda r, n: r.call_completed("c4", n)),
        (T0 + 405, lambda r, n: r.handle_timer(n)),
    ]


END = T0 + 600
LATER = (END, T0 + 3610, T0 + 3640, T0 + 86_400 + 400, T0 + 86_400 + 406)


def check_hand_computed(e: StaffingEstimate, span: float) -> None:
    """What the script above gives at END (T0 + 600), the history having begun at
    ``END - span``."""
    assert (e.arrivals, e.span_seconds, e.arrival_rate) == (4, span, 4 / span)
    assert e.handle_samples == 3
    assert e.handle_time == pytest.approx((125.0 + 179.5 + 103.0) / 3, abs=1e-6)
    assert (e.visits, e.abandons) == (4, 1)
    assert e.queue_seconds == pytest.approx(10.0 + 15.5 + 7.25 + 2.0, abs=1e-9)
    assert e.patience == pytest.approx(34.75, abs=1e-9)
    assert e.agents_required is not None and e.agents_required >= 1


# --- in memory: journal rows -> rebuild ---------------------------------------------------


@dataclass
class Store:
    """The store's merge rules for the two tables a rebuild reads."""

    records: list[Record]

    def submit(self, record: Record) -> None:
        self.records.append(record)

    def events(self) -> list[QueueEvent]:
        return [r for r in self.records if isinstance(r, QueueEvent)]

    def intervals(self) -> list[AgentStateChange]:
        rows: dict[str, AgentStateChange] = {}
        for r in self.records:
            if isinstance(r, AgentStateChange):
                old = rows.get(r.change_id)
                rows[r.change_id] = r if old is None else replace(old, ended_at=r.ended_at)
        return list(rows.values())


def test_rebuilt_from_the_journal_rows_equals_the_live_estimate() -> None:
    router = Router(
        [queue(Q, ring_timeout=30.0, wrapup_seconds=5.0,
               relaxation=(RelaxStep(after_seconds=100.0),))],
        [agent("a1", queues=(Q,)), agent("a2", queues=(Q,))],
    )
    live = StaffingEstimator(StaffingConfig(min_samples=2), [Q])
    store = Store([])
    ids = itertools.count(1)
    recorder = JournalRecorder(store.submit, new_id=lambda: f"id{next(ids)}")
    for now, command in script("a1", "a2"):
        command(router, now)
        for out in router.drain():
            if isinstance(out, Event):
                live.observe(out, now)
                recorder.on_event(out, now)

    replay = replay_journal(store.events(), store.intervals(), {"a1": [Q], "a2": [Q]})
    assert replay.history_start == utc(T0)
    rebuilt = StaffingEstimator(StaffingConfig(min_samples=2), [Q])
    rebuilt.rebuild(replay.staffing, END, started=replay.history_start)
    assert rebuilt.started == live.started == T0
    check_hand_computed(live.estimate(END)[Q], 600.0)  # from the log-in at T0
    for now in LATER:  # the window slides identically: arrivals leave, samples top up
        assert rebuilt.estimate(now) == live.estimate(now), now
    # a day later: handle samples and visits left the 24 h horizon, nothing is known
    late = rebuilt.estimate(LATER[-1])[Q]
    assert (late.handle_time, late.visits, late.agents_required) == (None, 0, 0)


def test_rebuild_without_a_history_start_begins_at_the_first_record_or_event() -> None:
    est = StaffingEstimator(queues=[Q])
    est.rebuild([], T0)  # an empty store: the history begins with the first event
    assert est.started is None
    est.observe(CallQueued(call_id="c1", queue=Q, priority=0, position=1,
                           overflowed_from=None, at=0.0), T0 + 5)
    assert est.started == T0 + 5
    assert est.estimate(T0 + 605)[Q].span_seconds == 600.0
    est.rebuild([Arrival(queue=Q, at=T0 + 100), Arrival(queue=Q, at=T0 + 50)], T0 + 200)
    assert est.started == T0 + 50  # no history start given: the earliest record
    assert est.estimate(T0 + 650)[Q].arrival_rate == 2 / 600


# --- against PostgreSQL: the composition root's start, twice ------------------------------


@dataclass
class Acd:
    """What ``Application.start`` builds that the estimate depends on."""

    runtime: Runtime
    routing: RoutingService
    journal: Journal
    observability: Observability
    registry: CollectorRegistry

    def figures(self) -> dict[str, float | None]:
        return {g: self.registry.get_sample_value(g, {"queue": Q}) for g in GAUGES}

    async def stop(self) -> None:
        """``Application.stop``'s order: observability, runtime, journal (drained)."""
        self.observability.close(self.runtime.now())
        self.runtime.close()
        await self.journal.close()


async def start(settings: Settings, pool: Any, clock: list[float], spool: Path) -> Acd:
    """``Application.start``'s store and routing part, on the literal ``clock``."""
    journal = Journal(pool, spool)
    await journal.start()
    runtime = Runtime(clock=lambda: clock[0])
    await close_orphaned_calls(pool, utc(runtime.now()))
    routing = RoutingService(runtime, settings)
    routing.decision_handler = lambda decision, now: None  # no SIP side here
    registry = CollectorRegistry()
    obs = await Observability.start(settings, registry, runtime, routing, journal, pool)
    runtime.step(routing.start)
    return Acd(runtime, routing, journal, obs, registry)


def step(acd: Acd, clock: list[float], now: float, command: Command) -> None:
    clock[0] = now
    acd.runtime.step(lambda n: command(acd.routing.router, n))


def acd_settings(url: str, tmp: Path) -> Settings:
    config = {
        "database": {"url": url, "spool_dir": str(tmp / "spool")},
        "agents": [{"id": a, "name": f"Agent {a}", "password": f"secret-{a}",
                    "skills": {"mandarin": 5}} for a in ("1001", "1002")],
        "queues": [{"name": Q, "numbers": ["12345"], "skills": {"mandarin": 1},
                    "wrapup_seconds": 5, "ring_timeout": 30}],
    }
    path = tmp / "acd.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return load_settings(path)


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[Any]:
    await migrate(pg_url)
    p = await asyncpg.create_pool(pg_url, min_size=1, max_size=4, init=init_connection)
    try:
        yield p
    finally:
        await p.close()


def same(a: dict[str, float | None], b: dict[str, float | None]) -> bool:
    def eq(x: float | None, y: float | None) -> bool:
        return x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y))

    return a.keys() == b.keys() and all(eq(a[k], b[k]) for k in a)


@pytest.mark.pg
async def test_restart_rebuilds_the_estimate_from_postgresql(pool: Any, tmp_path: Path) -> None:
    settings = acd_settings("postgresql://unused", tmp_path)
    clock = [T0 - 5]  # the ACD starts 5 s before the agents log in
    first = await start(settings, pool, clock, tmp_path / "spool")
    step(first, clock, T0 - 1,
         lambda r, n: both(lambda a, t: r.agent_reachable(a, True, t), "1001", "1002", n))
    for now, command in script("1001", "1002"):
        step(first, clock, now, command)
    clock[0] = END
    before = first.figures()
    estimates = first.observability.staffing.estimate(END)
    # T counts from the first event: the agents marked unreachable at the start, T0 - 5
    check_hand_computed(estimates[Q], 605.0)
    assert before["acd_agents_required"] == estimates[Q].agents_required
    kpi_before = first.observability.kpi_snapshot()
    await first.stop()

    second = await start(settings, pool, clock, tmp_path / "spool")  # the same instant
    assert second.observability.staffing.started == first.observability.staffing.started
    assert second.observability.staffing.estimate(END) == estimates
    assert same(second.figures(), before)
    assert second.observability.kpi_snapshot() == kpi_before  # from the same read
    # and both slide on identically (the first process's estimator, had it lived on)
    for now in LATER[1:]:
        clock[0] = now
        assert second.observability.staffing.estimate(now) == (
            first.observability.staffing.estimate(now)), now
    await second.stop()

    async with pool.acquire() as conn:
        kinds = await conn.fetch("SELECT event, count(*) AS n FROM queue_events"
                                 " WHERE event IN ('enter', 'complete', 'wrapup_end')"
                                 " GROUP BY event ORDER BY event")
    assert [(r["event"], r["n"]) for r in kinds] == [
        ("complete", 3), ("enter", 4), ("wrapup_end", 3)]

