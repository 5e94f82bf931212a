"""Journal rows -> KPI and staffing records: the rebuilt engine equals the live-fed one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from metrics.journal import kpi_records_from_journal, replay_journal
from metrics.kpi import KpiEngine, QueueVisit, VisitOutcome
from metrics.staffing import Arrival, Handled

T = datetime(2024, 3, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Ev:
    ts: datetime
    event: str
    call_id: str | None
    queue: str | None
    data: dict[str, Any] = field(default_factory=dict)
    agent_id: str | None = None


@dataclass
class St:
    agent_id: str
    status: str
    state: str
    started_at: datetime
    ended_at: datetime | None


def s(sec: float) -> datetime:
    return T + timedelta(seconds=sec)


def test_rebuild_from_journal_rows() -> None:
    events = [
        Ev(s(0), "enter", "c1", "general"),
        Ev(s(15), "connect", "c1", "general", {"wait_seconds": 15.0}),
        Ev(s(1), "enter", "c2", "general"),
        Ev(s(31), "overflow", "c2", "general", {"wait_seconds": 30.0, "target": "elderly"}),
        Ev(s(31), "enter", "c2", "elderly"),
        Ev(s(35), "connect", "c2", "elderly"),  # no wait in data: from enter
        Ev(s(40), "enter", "c3", "general"),
        Ev(s(42), "abandon", "c3", "general", {"wait_seconds": 2.0}),
        Ev(s(50), "agent_pause", None, None),
    ]
    states = [
        St("a1", "available", "idle", s(0), s(10)),
        St("a1", "available", "busy", s(10), s(40)),
        St("a1", "available", "wrapup", s(40), s(50)),
        St("a1", "paused", "idle", s(50), None),
    ]
    engine = KpiEngine()
    engine.rebuild(kpi_records_from_journal(events, states, {"a1": ["general"]}), s(100))
    g, e, overall = engine.rolling("general"), engine.rolling("elderly"), engine.rolling()
    assert (g.offered, g.answered, g.overflowed, g.abandoned) == (3, 1, 1, 1)
    assert g.service_level == 1 / 2
    assert (e.answered, e.average_speed_of_answer) == (1, 4.0)
    assert overall.offered == 3 and overall.answered == 2  # c2 once
    assert overall.average_speed_of_answer == (15.0 + 34.0) / 2
    assert (g.idle_seconds, g.talk_seconds, g.wrap_seconds) == (10.0, 30.0, 10.0)


def test_staffing_records_from_the_same_rows() -> None:
    events = [
        Ev(s(0), "enter", "c1", "general"),
        Ev(s(15), "connect", "c1", "general", {"wait_seconds": 15.0}, "a1"),
        Ev(s(20), "enter", "c2", "general"),
        Ev(s(75), "complete", "c1", "general", {"talk_seconds": 60.0}, "a1"),
        Ev(s(75), "wrapup_start", "c1", None, {}, "a1"),
        Ev(s(80), "agent_pause", None, None, {}, "a2"),
        Ev(s(84.5), "wrapup_end", None, None, {}, "a1"),
        Ev(s(90), "fail", "c2", "general", {"reason": "restart"}),  # wait from enter
        Ev(s(95), "wrapup_end", None, None, {}, "a2"),  # no complete: nothing
    ]
    states = [St("a1", "available", "idle", s(-50), s(0))]
    replay = replay_journal(events, states, {"a1": ["general"]})
    assert replay.history_start == s(-50)  # the interval's start: the oldest row read
    visits = [r for r in replay.kpi if isinstance(r, QueueVisit)]
    assert [r for r in replay.staffing if isinstance(r, QueueVisit)] == visits
    assert [(v.outcome, v.wait_seconds) for v in visits] == [
        (VisitOutcome.ANSWERED, 15.0), (VisitOutcome.FAILED, 70.0)]
    assert [r for r in replay.staffing if not isinstance(r, QueueVisit)] == [
        Arrival(queue="general", at=s(0)),
        Arrival(queue="general", at=s(20)),
        Handled(queue="general", at=s(84.5), completed_at=s(75), talk_seconds=60.0),
    ]
    assert replay.kpi == kpi_records_from_journal(events, states, {"a1": ["general"]})
    assert replay_journal([]).history_start is None
