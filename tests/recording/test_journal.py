"""JournalRecorder: routing events -> queue journal, call records, agent intervals.

Literal times; the "database" is a tiny in-memory model of the store's merge rules
(queue events inserted once, call records merged by ``as_of``, agent intervals closed
once), so the tests also show that what is written is what the KPI rebuild needs.
"""

from __future__ import annotations

import enum
import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from acd.recording import CallFacts, JournalRecorder, utc
from acd.store.records import (
    AgentStateChange,
    CallOutcome,
    CallRecord,
    HangupBy,
    QueueEvent,
    Record,
)
from metrics.collectors import AcdMetrics
from metrics.journal import kpi_records_from_journal
from metrics.kpi import KpiEngine
from queueing import (
    AgentState,
    AgentStateChanged,
    AgentStatus,
    AgentStatusChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFailed,
    CallOffered,
    CallOverflowed,
    CallQueued,
    Event,
    OfferEnded,
    OfferEndReason,
    OverflowReason,
    RelaxStep,
    RequirementsRelaxed,
    Router,
)
from tests.queueing.helpers import agent, queue

T0 = 1_709_254_800.0  # 2024-03-01 09:00 Asia/Shanghai


@dataclass
class Store:
    """The store's merge rules, in memory."""

    records: list[Record]

    def __init__(self) -> None:
        self.records = []

    def submit(self, record: Record) -> int:
        self.records.append(record)
        return len(self.records)

    @property
    def events(self) -> list[QueueEvent]:
        return [r for r in self.records if isinstance(r, QueueEvent)]

    def kinds(self, call_id: str | None = None) -> list[str]:
        return [e.event.value for e in self.events if call_id is None or e.call_id == call_id]

    def calls(self) -> dict[str, CallRecord]:
        rows: dict[str, CallRecord] = {}
        for r in self.records:
            if not isinstance(r, CallRecord):
                continue
            old = rows.get(r.call_id)
            if old is None:
                rows[r.call_id] = r
                continue
            newer, older = (r, old) if r.as_of >= old.as_of else (old, r)
            merged = {
                f: getattr(newer, f) if getattr(newer, f) is not None else getattr(older, f)
                for f in (x.name for x in fields(CallRecord))
            }
            rows[r.call_id] = CallRecord(**merged)
        return rows

    def intervals(self) -> list[AgentStateChange]:
        rows: dict[str, AgentStateChange] = {}
        for r in self.records:
            if isinstance(r, AgentStateChange):
                old = rows.get(r.change_id)
                if old is None or old.ended_at is None:
                    rows[r.change_id] = r if old is None else replace(old, ended_at=r.ended_at)
        return list(rows.values())


def recorder(store: Store, **kw: Any) -> JournalRecorder:
    ids = itertools.count(1)
    return JournalRecorder(store.submit, new_id=lambda: f"id{next(ids)}", **kw)


def at(seconds: float) -> datetime:
    return utc(T0 + seconds)


def feed(rec: JournalRecorder, events: Iterable[Event]) -> None:
    for e in events:
        rec.on_event(e, e.at)


# --- one call through its life ------------------------------------------------------


def test_answered_call_journal_and_record() -> None:
    store = Store()
    rec = recorder(store, queue_skills={"general": {"mandarin": 3}})
    feed(rec, [
        CallQueued(call_id="c1", queue="general", priority=0, position=1, overflowed_from=None,
                   at=T0),
        CallOffered(call_id="c1", queue="general", agent_id="a1", attempt=1, at=T0 + 1),
        OfferEnded(call_id="c1", queue="general", agent_id="a1",
                   reason=OfferEndReason.NO_ANSWER, ring_seconds=10.0, at=T0 + 11),
        CallOffered(call_id="c1", queue="general", agent_id="a2", attempt=2, at=T0 + 11),
        OfferEnded(call_id="c1", queue="general", agent_id="a2",
                   reason=OfferEndReason.ANSWERED, ring_seconds=4.0, at=T0 + 15),
        CallAnswered(call_id="c1", queue="general", agent_id="a2", wait_seconds=15.0,
                     ring_seconds=4.0, at=T0 + 15),
        CallCompleted(call_id="c1", queue="general", agent_id="a2", talk_seconds=60.0,
                      at=T0 + 75),
    ])
    assert store.kinds() == ["enter", "offer", "no_answer", "offer", "connect", "complete"]
    enter, offer, no_answer, _, connect, complete = store.events
    assert (enter.ts, enter.call_id, enter.queue, enter.agent_id) == (at(0), "c1", "general",
                                                                     None)
    assert enter.data == {"priority": 0, "position": 1}
    assert (offer.agent_id, offer.data) == ("a1", {"attempt": 1})
    assert no_answer.data == {"ring_seconds": 10.0, "reason": "no-answer"}
    assert (connect.ts, connect.agent_id) == (at(15), "a2")
    assert connect.data == {"wait_seconds": 15.0, "ring_seconds": 4.0}
    assert (complete.ts, complete.data) == (at(75), {"talk_seconds": 60.0})
    assert [e.event_id for e in store.events] == [f"id{i}" for i in range(1, 7)]

    row = store.calls()["c1"]
    assert (row.queue, row.arrived_at, row.queued_at, row.first_offered_at) == (
        "general", at(0), at(0), at(1))
    assert (row.answered_at, row.ended_at, row.agent_id) == (at(15), at(75), "a2")
    assert (row.outcome, row.wait_seconds, row.talk_seconds) == (CallOutcome.ANSWERED, 15.0,
                                                                 60.0)
    assert row.skills_required == {"mandarin": 3}
    assert row.as_of == at(75)
    assert rec.calls_tracked == 0


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (OfferEndReason.NO_ANSWER, "no_answer"),
        (OfferEndReason.REJECTED, "reject"),
        (OfferEndReason.UNREACHABLE, "unreachable"),
        (OfferEndReason.AGENT_UNREACHABLE, "unreachable"),
        (OfferEndReason.ANSWERED, None),
        (OfferEndReason.CALLER_LEFT, None),
        (OfferEndReason.ANSWERED_ELSEWHERE, None),
        (OfferEndReason.AGENT_LOGGED_OUT, None),
        (OfferEndReason.AGENT_PAUSED, None),
        (OfferEndReason.OVERFLOWED, None),
        (OfferEndReason.CALL_FAILED, None),
    ],
)
def test_offer_end_kinds(reason: OfferEndReason, kind: str | None) -> None:
    store = Store()
    feed(recorder(store), [OfferEnded(call_id="c", queue="q", agent_id="a", reason=reason,
                                      ring_seconds=3.0, at=T0)])
    assert store.kinds() == ([] if kind is None else [kind])


def test_every_offer_end_reason_is_decided() -> None:
    # a new OfferEndReason must be placed in the table above, not silently dropped
    assert len(OfferEndReason) == 11


def test_abandon_failed_and_external_overflow_end_the_call() -> None:
    store = Store()
    rec = recorder(store)
    q = dict(queue="general", priority=0, position=1, overflowed_from=None)
    feed(rec, [
        CallQueued(call_id="ab", at=T0, **q),  # type: ignore[arg-type]
        CallQueued(call_id="fa", at=T0, **q),  # type: ignore[arg-type]
        CallQueued(call_id="ov", at=T0, **q),  # type: ignore[arg-type]
        CallAbandoned(call_id="ab", queue="general", wait_seconds=7.5, position=2, at=T0 + 7.5),
        CallFailed(call_id="fa", queue="general", reason="media", wait_seconds=3.0, at=T0 + 3),
        CallOverflowed(call_id="ov", queue="general", target="sip:backup@pbx.example",
                       reason=OverflowReason.MAX_WAIT, wait_seconds=90.0, at=T0 + 90),
    ])
    by_call = {e.call_id: e for e in store.events if e.event.value != "enter"}
    assert by_call["ab"].event.value == "abandon"
    assert by_call["ab"].data == {"wait_seconds": 7.5, "position": 2}
    assert by_call["fa"].event.value == "fail"
    assert by_call["fa"].data == {"wait_seconds": 3.0, "reason": "media"}
    assert by_call["ov"].event.value == "overflow"
    assert by_call["ov"].data == {"wait_seconds": 90.0, "target": "sip:backup@pbx.example",
                                  "reason": "max-wait"}
    rows = store.calls()
    assert (rows["ab"].outcome, rows["ab"].hangup_by, rows["ab"].ended_at,
            rows["ab"].wait_seconds) == (CallOutcome.ABANDONED, HangupBy.CALLER, at(7.5), 7.5)
    assert (rows["fa"].outcome, rows["fa"].reason, rows["fa"].ended_at) == (
        CallOutcome.FAILED, "media", at(3))
    assert (rows["ov"].outcome, rows["ov"].hangup_by, rows["ov"].reason) == (
        CallOutcome.OVERFLOWED, HangupBy.SYSTEM, "overflow:max-wait")
    assert rec.calls_tracked == 0


def test_overflow_into_another_queue_keeps_the_call_open() -> None:
    store = Store()
    rec = recorder(store)
    feed(rec, [
        CallQueued(call_id="c", queue="english", priority=0, position=1, overflowed_from=None,
                   at=T0),
        CallOverflowed(call_id="c", queue="english", target="general",
                       reason=OverflowReason.MAX_WAIT, wait_seconds=90.0, at=T0 + 90),
        CallQueued(call_id="c", queue="general", priority=0, position=3,
                   overflowed_from="english", at=T0 + 90),
        CallAnswered(call_id="c", queue="general", agent_id="a1", wait_seconds=5.0,
                     ring_seconds=2.0, at=T0 + 95),
    ])
    assert store.kinds() == ["enter", "overflow", "enter", "connect"]
    assert store.events[2].data["overflowed_from"] == "english"
    row = store.calls()["c"]
    assert row.queue == "general"
    assert row.queued_at == at(0)  # first queued, not re-queued
    assert row.ended_at is None and row.outcome is CallOutcome.ANSWERED
    assert row.wait_seconds == 95.0  # the caller's wait, across queues
    assert store.events[3].data["wait_seconds"] == 5.0  # the visit's wait
    assert rec.calls_tracked == 1


def test_relaxation_steps_accumulate_on_the_record() -> None:
    store = Store()
    rec = recorder(store, requirements=lambda call_id: {"english": 6, "legal": 4})
    feed(rec, [
        CallQueued(call_id="c", queue="q", priority=0, position=1, overflowed_from=None, at=T0),
        RequirementsRelaxed(call_id="c", queue="q", step=0, requirements={"english": 4,
                            "legal": 4}, pools=("q",), at=T0 + 30),
        RequirementsRelaxed(call_id="c", queue="q", step=1, requirements={"english": 4},
                            pools=("q", "general"), at=T0 + 60),
    ])
    assert store.kinds() == ["enter", "relax", "relax"]
    assert store.events[2].data == {"step": 1, "requirements": {"english": 4},
                                    "pools": ["q", "general"]}
    row = store.calls()["c"]
    assert row.skills_required == {"english": 6, "legal": 4}
    assert [s["step"] for s in row.skills_relaxed] == [0, 1]
    assert row.skills_relaxed[1]["at"] == at(60).isoformat()


def test_requirements_unknown_fall_back_to_the_queue_skills() -> None:
    store = Store()
    rec = recorder(store, requirements=lambda call_id: None, queue_skills={"q": {"x": 2}})
    feed(rec, [CallQueued(call_id="c", queue="q", priority=0, position=1, overflowed_from=None,
                          at=T0)])
    assert store.calls()["c"].skills_required == {"x": 2}


# --- call-engine facts --------------------------------------------------------------


def test_call_facts_merge_before_and_after_routing() -> None:
    store = Store()
    rec = recorder(store)
    rec.record_call(CallFacts(call_id="c", trunk="pbx", caller_number="13800000000",
                              dialled_number="12345", arrived_at=T0 - 0.5), T0 - 0.5)
    feed(rec, [
        CallQueued(call_id="c", queue="general", priority=0, position=1, overflowed_from=None,
                   at=T0),
        CallAnswered(call_id="c", queue="general", agent_id="a1", wait_seconds=4.0,
                     ring_seconds=2.0, at=T0 + 4),
        CallCompleted(call_id="c", queue="general", agent_id="a1", talk_seconds=30.0,
                      at=T0 + 34),
    ])

    @dataclass(frozen=True)
    class CallEnded:  # the shape the engine's event may take
        call_id: str
        hangup_by: str
        caller_sip_code: int
        agent_sip_code: int
        ended_at: float
        unrelated: str = "ignored"

    rec.on_call_event(CallEnded("c", "agent", 200, 200, T0 + 34), T0 + 34.01)
    row = store.calls()["c"]
    assert (row.trunk, row.caller_number, row.dialled_number) == ("pbx", "13800000000",
                                                                  "12345")
    assert row.arrived_at == at(-0.5)  # the engine's arrival, not the queueing instant
    assert row.queued_at == at(0)
    assert (row.hangup_by, row.caller_sip_code, row.agent_sip_code) == (HangupBy.AGENT, 200, 200)
    assert (row.outcome, row.ended_at, row.talk_seconds) == (CallOutcome.ANSWERED, at(34), 30.0)


def test_call_refused_before_queueing_is_recorded_from_facts_alone() -> None:
    store = Store()
    rec = recorder(store)
    rec.record_call(CallFacts(call_id="x", trunk="pbx", dialled_number="99999",
                              arrived_at=T0, ended_at=T0, outcome="failed",
                              reason="no_queue_for_number", caller_sip_code=404,
                              hangup_by="system"), T0)
    row = store.calls()["x"]
    assert (row.outcome, row.caller_sip_code, row.reason) == (CallOutcome.FAILED, 404,
                                                              "no_queue_for_number")
    assert store.events == []
    rec.on_call_event(object(), T0)  # no call_id: ignored
    rec.record_call(CallFacts(call_id="x"), T0)  # nothing known: nothing written
    assert len(store.records) == 1


# --- agents -------------------------------------------------------------------------


def test_agent_status_journal_lines() -> None:
    store = Store()
    LO, AV, PA = AgentStatus.LOGGED_OUT, AgentStatus.AVAILABLE, AgentStatus.PAUSED
    feed(recorder(store), [
        AgentStatusChanged(agent_id="a1", old=LO, new=AV, reason=None, at=T0),
        AgentStatusChanged(agent_id="a1", old=AV, new=PA, reason="lunch", at=T0 + 10),
        AgentStatusChanged(agent_id="a1", old=PA, new=PA, reason="training", at=T0 + 20),
        AgentStatusChanged(agent_id="a1", old=PA, new=AV, reason=None, at=T0 + 30),
        AgentStatusChanged(agent_id="a1", old=AV, new=LO, reason=None, at=T0 + 40),
    ])
    assert store.kinds() == ["agent_login", "agent_pause", "agent_pause", "agent_unpause",
                             "agent_logout"]
    assert [e.data.get("reason") for e in store.events] == [None, "lunch", "training", None,
                                                            None]
    assert {e.agent_id for e in store.events} == {"a1"}
    assert [(i.status, i.reason, i.started_at, i.ended_at) for i in store.intervals()] == [
        ("available", None, at(0), at(10)),
        ("paused", "lunch", at(10), at(20)),
        ("paused", "training", at(20), at(30)),
        ("available", None, at(30), at(40)),
        ("logged-out", None, at(40), None),
    ]


def test_agent_state_intervals_and_wrapup_lines() -> None:
    store = Store()
    rec = recorder(store)
    S = AgentState
    feed(rec, [
        AgentStateChanged(agent_id="a1", old=S.IDLE, new=S.UNREACHABLE, call_id=None, at=T0),
        AgentStateChanged(agent_id="a1", old=S.UNREACHABLE, new=S.IDLE, call_id=None,
                          at=T0 + 5),
        AgentStatusChanged(agent_id="a1", old=AgentStatus.LOGGED_OUT,
                           new=AgentStatus.AVAILABLE, reason=None, at=T0 + 5),
        AgentStateChanged(agent_id="a1", old=S.IDLE, new=S.RESERVED, call_id="c", at=T0 + 6),
        AgentStateChanged(agent_id="a1", old=S.RESERVED, new=S.ON_CALL, call_id="c",
                          at=T0 + 8),
        AgentStateChanged(agent_id="a1", old=S.ON_CALL, new=S.WRAP_UP, call_id="c",
                          at=T0 + 68),
        AgentStateChanged(agent_id="a1", old=S.WRAP_UP, new=S.IDLE, call_id=None, at=T0 + 78),
    ])
    assert store.kinds() == ["agent_login", "wrapup_start", "wrapup_end"]
    wrap = store.events[1]
    assert (wrap.call_id, wrap.agent_id, wrap.ts) == ("c", "a1", at(68))
    assert [(i.status, i.state, i.started_at, i.ended_at) for i in store.intervals()] == [
        ("logged-out", "unreachable", at(0), at(5)),
        ("logged-out", "idle", at(5), at(5)),
        ("available", "idle", at(5), at(6)),
        ("available", "reserved", at(6), at(8)),
        ("available", "on-call", at(8), at(68)),
        ("available", "wrap-up", at(68), at(78)),
        ("available", "idle", at(78), None),
    ]
    rec.close(T0 + 100)
    assert store.intervals()[-1].ended_at == at(100)
    assert all(i.ended_at is not None for i in store.intervals())


# --- against the real routing core and the KPI engine ---------------------------------


def _router() -> Router:
    return Router(
        [queue("general", ring_timeout=30.0, wrapup_seconds=5.0,
               relaxation=(RelaxStep(after_seconds=100.0),))],
        [agent("a1", queues=("general",)), agent("a2", queues=("general",))],
    )


def test_scripted_run_rebuilds_to_the_live_and_hand_computed_kpis() -> None:
    """Calls through the real router; the journal rebuilds exactly the live KPIs, and
    both equal the hand-computed figures (including the 15.0 s boundary)."""
    registry = CollectorRegistry()
    live = KpiEngine()
    metrics = AcdMetrics(registry, ["general"], kpi=live,
                         agent_queues={"a1": ("general",), "a2": ("general",)})
    store = Store()
    r = _router()
    rec = recorder(store, requirements=lambda c: dict(r.call_view(c).requirements))

    def step(now: float, command: Any = None) -> None:
        if command is not None:
            command(now)
        for out in r.drain():
            if isinstance(out, Event):
                metrics.observe(out, now)
                rec.on_event(out, now)

    def offered(call: str) -> str:
        return next(v.agent_id for v in r.agent_views() if v.call_id == call)

    step(T0, lambda n: (r.agent_login("a1", n), r.agent_login("a2", n)))
    step(T0, lambda n: r.call_arrived("c1", "general", n))        # rings a1 or a2
    first = offered("c1")
    step(T0 + 1, lambda n: r.call_arrived("c2", "general", n))    # rings the other one
    second = offered("c2")
    step(T0 + 15, lambda n: r.offer_answered("c1", first, n))     # wait 15.0: within
    step(T0 + 16.5, lambda n: r.offer_answered("c2", second, n))  # wait 15.5: late
    step(T0 + 20, lambda n: r.call_arrived("c3", "general", n))   # nobody idle
    step(T0 + 25, lambda n: r.caller_left("c3", n))               # abandoned after 5 s
    step(T0 + 75, lambda n: r.call_completed("c1", n))
    step(T0 + 80, lambda n: r.handle_timer(n))                    # wrap-up ends
    step(T0 + 100, lambda n: r.call_completed("c2", n))

    now = T0 + 200
    live_fig = live.snapshot(now)
    rows = store.intervals()
    rebuilt = KpiEngine()
    rebuilt.rebuild(kpi_records_from_journal(store.events, rows,
                                             {"a1": ["general"], "a2": ["general"]}), now)
    assert rebuilt.snapshot(now) == live_fig

    g = live.rolling("general")
    assert (g.offered, g.answered, g.abandoned, g.answered_within) == (3, 2, 1, 1)
    assert g.service_level == pytest.approx(1 / 3)         # 1 within / (2 answered + 1)
    assert g.connection_rate == pytest.approx(2 / 3)
    assert g.average_speed_of_answer == pytest.approx((15.0 + 15.5) / 2)
    calls = store.calls()
    assert {c: calls[c].outcome for c in calls} == {
        "c1": CallOutcome.ANSWERED, "c2": CallOutcome.ANSWERED, "c3": CallOutcome.ABANDONED}
    assert calls["c2"].wait_seconds == pytest.approx(15.5)
    assert calls["c1"].skills_required == {}
    assert store.kinds("c2") == ["enter", "offer", "connect", "complete"]
    assert store.kinds("c3") == ["enter", "abandon"]


def test_utc_rounds_like_the_database() -> None:
    assert utc(T0 + 0.0000005) == datetime.fromtimestamp(T0 + 0.0000005, UTC)


# --- the call-control engine's events (acd.calls.events), read by attribute -----------


@dataclass(frozen=True)
class CallStarted:
    call_id: str
    sip_call_id: str
    trunk: str
    queue: str
    caller: str
    dialled: str
    mode: str
    at: float


@dataclass(frozen=True)
class AgentLegEnded:
    call_id: str
    agent_id: str
    status: int
    result: str
    at: float


class Hangup(enum.Enum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    sip_call_id: str
    trunk: str
    queue: str | None
    caller: str
    dialled: str
    outcome: str
    hangup_by: Hangup
    caller_status: int
    agent_id: str | None
    reason: str
    at: float


def test_engine_events_fill_the_sip_side_of_the_record() -> None:
    store = Store()
    rec = recorder(store)
    rec.on_call_event(CallStarted("c", "sip-1@pbx", "pbx", "general", "13800000000", "12345",
                                  "announce", T0 - 1), T0 - 1)
    feed(rec, [CallQueued(call_id="c", queue="general", priority=0, position=1,
                          overflowed_from=None, at=T0)])
    rec.on_call_event(AgentLegEnded("c", "a1", 486, "rejected", T0 + 3), T0 + 3)
    rec.on_call_event(AgentLegEnded("c", "a2", 200, "answered", T0 + 8), T0 + 8)
    feed(rec, [CallAnswered(call_id="c", queue="general", agent_id="a2", wait_seconds=8.0,
                            ring_seconds=2.0, at=T0 + 8)])
    rec.on_call_event(AgentLegEnded("c", "a3", 487, "cancelled", T0 + 8), T0 + 8)  # ring-all
    rec.on_call_event(CallEnded("c", "sip-1@pbx", "pbx", "general", "13800000000", "12345",
                                "answered", Hangup.CALLER, 200, "a2", "bye", T0 + 60), T0 + 60)
    feed(rec, [CallCompleted(call_id="c", queue="general", agent_id="a2", talk_seconds=52.0,
                             at=T0 + 60)])
    row = store.calls()["c"]
    assert (row.trunk, row.caller_number, row.dialled_number) == ("pbx", "13800000000",
                                                                  "12345")
    assert (row.arrived_at, row.queued_at, row.answered_at, row.ended_at) == (
        at(-1), at(0), at(8), at(60))
    assert (row.caller_sip_code, row.agent_sip_code, row.hangup_by) == (200, 200,
                                                                        HangupBy.CALLER)
    assert (row.outcome, row.talk_seconds, row.reason) == (CallOutcome.ANSWERED, 52.0, "bye")
    assert rec.calls_tracked == 0


def test_engine_rejected_call_is_a_failed_record_keyed_by_sip_call_id() -> None:
    store = Store()
    rec = recorder(store)
    rec.on_call_event(CallEnded("", "sip-9@pbx", "pbx", None, "13800000000", "99999",
                                "rejected", Hangup.SYSTEM, 404, None, "no_queue_for_number",
                                T0), T0)
    row = store.calls()["sip-9@pbx"]
    assert (row.outcome, row.caller_sip_code, row.hangup_by, row.ended_at) == (
        CallOutcome.FAILED, 404, HangupBy.SYSTEM, at(0))
    assert row.reason == "no_queue_for_number" and row.queue is None
    assert rec.calls_tracked == 0


def test_default_ids_are_unique_uuids_per_recorder() -> None:
    store = Store()
    first, second = JournalRecorder(store.submit), JournalRecorder(store.submit)
    ids = [first.new_id() for _ in range(1000)] + [second.new_id() for _ in range(1000)]
    assert len(set(ids)) == 2000
    assert all(str(uuid.UUID(i)) == i for i in ids)
    assert ids[0][:24] != ids[1000][:24]  # a random prefix per recorder (and per process)


def test_utc_of_alternating_instants() -> None:
    for ts in (T0, T0 + 1.5, T0, T0, T0 + 1.5):  # one conversion is remembered
        assert utc(ts) == datetime.fromtimestamp(ts, UTC)
