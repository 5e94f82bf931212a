"""KPI engine: hand-computed figures for scripted sequences; rebuild == live."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from metrics.kpi import (
    Activity,
    AgentActivityChange,
    KpiConfig,
    KpiEngine,
    QueueVisit,
    ServiceLevelVariant,
    VisitOutcome,
)

SH = ZoneInfo("Asia/Shanghai")
DAY1 = datetime(2024, 3, 1, tzinfo=SH)  # local midnight = 2024-02-29 16:00 UTC
A, B = "general", "elderly"


def visit(
    call: str, outcome: VisitOutcome, wait: float, at: datetime, queue: str = A, **kw: Any
) -> QueueVisit:
    return QueueVisit(call_id=call, queue=queue, outcome=outcome, at=at, wait_seconds=wait, **kw)


def scripted() -> list[QueueVisit]:
    t = DAY1 + timedelta(hours=9)
    return [
        visit("c1", VisitOutcome.ANSWERED, 15.0, t),  # exactly T: within
        visit("c2", VisitOutcome.ANSWERED, 15.000001, t + timedelta(seconds=1)),  # 1 us late
        visit("c3", VisitOutcome.ANSWERED, 3.0, t + timedelta(seconds=2)),
        visit("c4", VisitOutcome.ABANDONED, 4.0, t + timedelta(seconds=3)),
        visit("c5", VisitOutcome.ABANDONED, 30.0, t + timedelta(seconds=4)),
        visit("c6", VisitOutcome.OVERFLOWED, 60.0, t + timedelta(seconds=5)),
        visit("c7", VisitOutcome.FAILED, 0.0, t + timedelta(seconds=6)),
    ]


def engine_with(records: list[QueueVisit], **config: object) -> KpiEngine:
    engine = KpiEngine(KpiConfig(**config))  # type: ignore[arg-type]
    engine.feed(records)
    engine.advance(DAY1 + timedelta(hours=10))
    return engine


def test_default_figures_hand_computed() -> None:
    f = engine_with(scripted()).rolling(A)
    assert (f.offered, f.answered, f.answered_within) == (7, 3, 1 + 1)
    assert (f.abandoned, f.overflowed, f.failed) == (2, 1, 1)
    # strict default: answered <= 15 s / (answered + abandoned), c1 (15.0 s) within
    assert f.service_level == 2 / 5
    assert f.connection_rate == 3 / 7
    assert f.abandonment_rate == 2 / 7
    assert f.average_speed_of_answer == pytest.approx((15.0 + 15.000001 + 3.0) / 3, abs=1e-9)
    assert f.answer_wait_seconds == 33.000001
    assert engine_with(scripted()).rolling() == f  # single queue: overall == queue


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"service_level_variant": ServiceLevelVariant.ANSWERED_OR_ABANDONED_WITHIN}, 3 / 5),
        ({"service_level_variant": ServiceLevelVariant.OF_ANSWERED}, 2 / 3),
        ({"service_level_variant": ServiceLevelVariant.OF_ANSWERED_AND_LATE_ABANDONED}, 2 / 4),
        ({"short_abandon_seconds": 5.0}, 2 / 4),  # c4 (4 s) left out
        ({"short_abandon_seconds": 4.0}, 2 / 5),  # 4.0 is not < 4.0: counted
        ({"service_level_counts_unanswered_exits": True}, 2 / 7),
        ({"service_level_seconds": 20.0}, 3 / 5),
    ],
)
def test_service_level_variants(config: dict[str, object], expected: float) -> None:
    assert engine_with(scripted(), **config).rolling(A).service_level == expected


def test_no_calls_gives_none_ratios() -> None:
    f = engine_with([]).rolling()
    assert f.offered == 0
    assert f.service_level is f.connection_rate is f.average_speed_of_answer is None


def test_overflow_between_queues_counts_the_call_once_overall() -> None:
    t = DAY1 + timedelta(hours=9)
    records = [
        visit("c8", VisitOutcome.OVERFLOWED, 20.0, t, queue=A, final=False),
        visit("c8", VisitOutcome.ANSWERED, 5.0, t + timedelta(seconds=5), queue=B,
              call_wait_seconds=25.0),
    ]
    engine = engine_with(records)
    a, b, overall = engine.rolling(A), engine.rolling(B), engine.rolling()
    assert (a.offered, a.overflowed, a.connection_rate) == (1, 1, 0.0)
    assert (b.offered, b.answered, b.service_level) == (1, 1, 1.0)
    assert (overall.offered, overall.answered, overall.connection_rate) == (1, 1, 1.0)
    assert overall.service_level == 0.0  # the caller waited 25 s in all
    assert overall.average_speed_of_answer == 25.0
    assert engine.queues() == [B, A]


def test_calendar_day_is_local_shanghai_day() -> None:
    last_us = DAY1 + timedelta(days=1) - timedelta(microseconds=1)  # 23:59:59.999999 local
    midnight = DAY1 + timedelta(days=1)
    utc_same_day = datetime(2024, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March locally
    engine = KpiEngine()
    engine.feed([
        visit("d1", VisitOutcome.ANSWERED, 1.0, last_us),
        visit("d2", VisitOutcome.ABANDONED, 1.0, midnight),
        visit("d3", VisitOutcome.ANSWERED, 1.0, utc_same_day),
    ])
    engine.advance(midnight + timedelta(hours=1))
    assert engine.today() == date(2024, 3, 2)
    day1, day2 = engine.calendar_day(date(2024, 3, 1)), engine.calendar_day()
    assert (day1.offered, day1.answered) == (1, 1)
    assert (day2.offered, day2.answered, day2.abandoned) == (2, 1, 1)
    assert engine.rolling().offered == 3


def test_calendar_day_in_another_zone() -> None:
    engine = KpiEngine(KpiConfig(time_zone="UTC"))
    engine.feed([visit("d1", VisitOutcome.ANSWERED, 1.0, datetime(2024, 3, 1, 16, 30, tzinfo=UTC))])
    engine.advance(datetime(2024, 3, 1, 17, tzinfo=UTC))
    assert engine.calendar_day(date(2024, 3, 1)).offered == 1


def test_rolling_window_evicts_at_exactly_24h() -> None:
    t0 = DAY1 + timedelta(hours=9, microseconds=123)
    engine = KpiEngine()
    engine.feed([visit("e1", VisitOutcome.ANSWERED, 2.0, t0)])
    engine.advance(t0 + timedelta(hours=24) - timedelta(microseconds=1))
    assert engine.rolling().offered == 1
    engine.advance(t0 + timedelta(hours=24))  # window is (now - 24 h, now]
    assert engine.rolling().offered == 0
    assert engine.rolling(A).answered == 0
    assert engine.calendar_day(date(2024, 3, 1)).offered == 1  # the day keeps it


def test_float_epoch_times_accepted() -> None:
    t0 = DAY1.timestamp() + 3600.25
    engine = KpiEngine()
    engine.add_visit(
        QueueVisit(call_id="f1", queue=A, outcome=VisitOutcome.ANSWERED, at=t0, wait_seconds=2)
    )
    engine.advance(t0 + 86_400.0 - 0.5)
    assert engine.rolling().offered == 1
    engine.advance(t0 + 86_400.0)
    assert engine.rolling().offered == 0
    engine.advance(t0 + 86_400.0)  # idempotent
    assert engine.now == t0 + 86_400.0


def test_occupancy_exact_including_window_edge() -> None:
    def at(minutes: float) -> datetime:
        return DAY1 + timedelta(minutes=minutes)

    changes = [  # live feeding is in time order (a late change is clamped to the last)
        AgentActivityChange(agent_id="a2", activity=Activity.IDLE, at=at(0), queues=(B,)),
        AgentActivityChange(agent_id="a1", activity=Activity.IDLE, at=at(0), queues=(A,)),
        AgentActivityChange(agent_id="a1", activity=Activity.TALK, at=at(10), queues=(A,)),
        AgentActivityChange(agent_id="a1", activity=Activity.WRAP, at=at(20), queues=(A,)),
        AgentActivityChange(agent_id="a1", activity=None, at=at(25), queues=(A,)),  # paused
    ]
    engine = KpiEngine()
    engine.feed(changes)
    engine.advance(at(60))
    a = engine.rolling(A)
    assert (a.talk_seconds, a.wrap_seconds, a.idle_seconds) == (600.0, 300.0, 600.0)
    assert a.occupancy == 900 / 1500
    overall = engine.rolling()
    assert overall.idle_seconds == 600.0 + 3600.0
    assert overall.occupancy == 900 / (1500 + 3600)
    # 24 h later plus 15 min: the window (00:15, ...] cuts the talk interval
    engine.advance(at(24 * 60 + 15))
    a = engine.rolling(A)
    assert (a.talk_seconds, a.wrap_seconds, a.idle_seconds) == (300.0, 300.0, 0.0)
    assert a.occupancy == 1.0
    assert engine.calendar_day(date(2024, 3, 1), A).talk_seconds == 600.0
    assert engine.calendar_day(None, B).idle_seconds == 15 * 60.0


def _random_journal(seed: int) -> tuple[list[QueueVisit | AgentActivityChange], datetime]:
    rng = random.Random(seed)
    records: list[QueueVisit | AgentActivityChange] = []
    t = DAY1 + timedelta(hours=20)
    for i in range(600):
        t += timedelta(seconds=rng.uniform(0, 300))
        if rng.random() < 0.3:
            records.append(AgentActivityChange(
                agent_id=f"a{rng.randrange(5)}",
                activity=rng.choice([*Activity, None]),
                at=t,
                queues=tuple(rng.sample([A, B], rng.randint(1, 2))),
            ))
        else:
            final = rng.random() < 0.9
            wait = round(rng.choice([15.0, rng.uniform(0, 40)]), 6)
            records.append(visit(
                f"c{i}", rng.choice(list(VisitOutcome)), wait, t, queue=rng.choice([A, B]),
                final=final, call_wait_seconds=wait + rng.choice([0.0, 7.5]),
            ))
    return records, t + timedelta(minutes=1)


@pytest.mark.parametrize("seed", range(5))
def test_rebuild_equals_live_feeding(seed: int) -> None:
    records, now = _random_journal(seed)
    live = KpiEngine()
    for r in records:
        live.advance(r.at)
        live.feed([r])
    live.advance(now)
    rebuilt = KpiEngine()
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)  # only visits may come out of order...
    visits = [r for r in shuffled if isinstance(r, QueueVisit)]
    changes = [r for r in records if isinstance(r, AgentActivityChange)]  # ...changes in order
    rebuilt.rebuild([*visits, *changes], now)
    assert rebuilt.today() == live.today() == date(2024, 3, 2)
    for q in (None, A, B):
        assert rebuilt.rolling(q) == live.rolling(q)
        for day in (date(2024, 3, 1), date(2024, 3, 2)):
            assert rebuilt.calendar_day(day, q) == live.calendar_day(day, q)
    assert live.rolling().offered > 0 and live.rolling().talk_seconds > 0
    # replaying the journal on top counts nothing twice
    assert not any(live.add_visit(v) for v in visits)
    assert rebuilt.snapshot(now) == live.snapshot(now)
    # and a second rebuild from the same journal gives the same figures again
    rebuilt.rebuild(records, now)
    assert rebuilt.snapshot(now) == live.snapshot(now)


def test_rebuild_window_eviction_matches_live_later() -> None:
    records, now = _random_journal(7)
    live, rebuilt = KpiEngine(), KpiEngine()
    live.feed(records)
    rebuilt.rebuild(records, now)
    later = now + timedelta(hours=20)
    live.advance(later)
    rebuilt.advance(later)
    assert live.snapshot(later) == rebuilt.snapshot(later)


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        KpiConfig(service_level_seconds=-1)
    with pytest.raises(ValueError):
        KpiConfig(window_seconds=0)
    with pytest.raises(Exception, match="No time zone"):
        KpiConfig(time_zone="Mars/Olympus")
    with pytest.raises(ValueError):
        replace(visit("x", VisitOutcome.ANSWERED, 1.0, DAY1), wait_seconds=-1.0)
    with pytest.raises(ValueError, match="naive"):
        KpiEngine().advance(datetime(2024, 3, 1))
