"""The hotline KPIs, computed exactly (definitions: docs/kpi.md).

``KpiEngine`` is pure and synchronous: it is fed ``QueueVisit`` records (one per call
visit to a queue, when its outcome is known) and ``AgentActivityChange`` records, each
with its wall-clock time, and ``advance(now)``. It keeps an exact rolling window
(default 24 h, half-open ``(now - 24 h, now]``) and calendar-day aggregates in the
configured zone (default Asia/Shanghai), per queue and overall. ``rebuild(records, now)``
starts over from the journal, so a restart neither resets nor double-counts.

Every figure is a ratio of integer counts (waits in integer microseconds), so rebuilt
and live figures are equal, not merely close.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .windows import (
    US_PER_SECOND,
    ActivityClock,
    DailyTally,
    RollingTally,
    Tally,
    day_start_us,
    local_date,
    seconds_to_us,
    to_us,
)

__all__ = [
    "OVERALL",
    "Activity",
    "AgentActivityChange",
    "KpiConfig",
    "KpiEngine",
    "KpiFigures",
    "QueueVisit",
    "ServiceLevelVariant",
    "VisitOutcome",
]

#: Scope key of the whole-hotline figures (``queue=None`` in queries).
OVERALL = None

Timestamp = float | datetime  # epoch seconds (UTC) or an aware datetime


class VisitOutcome(enum.Enum):
    """How one call visit to a queue ended (``queueing.Outcome``; store ``CallOutcome``)."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    FAILED = "failed"  # incl. calls the ACD could not queue at all


class ServiceLevelVariant(enum.Enum):
    """Service-level formulas in use in the trade (docs/kpi.md). ``T`` = threshold."""

    #: (answered <= T + abandoned <= T) / (answered + abandoned)
    ANSWERED_OR_ABANDONED_WITHIN = "answered-or-abandoned-within"
    #: answered <= T / answered
    OF_ANSWERED = "of-answered"
    #: answered <= T / (answered + abandoned)       (default: the strict reading)
    OF_ANSWERED_AND_ABANDONED = "of-answered-and-abandoned"
    #: answered <= T / (answered + abandoned > T)
    OF_ANSWERED_AND_LATE_ABANDONED = "of-answered-and-late-abandoned"


class Activity(enum.IntEnum):
    """What a logged-in agent's time counts as for occupancy."""

    TALK = 0
    WRAP = 1
    IDLE = 2  # available for work: idle, ringing (reserved), no-answer delay


_ACTIVITIES = len(Activity)


@dataclass(frozen=True, slots=True)
class KpiConfig:
    service_level_seconds: float = 15.0
    service_level_variant: ServiceLevelVariant = ServiceLevelVariant.OF_ANSWERED_AND_ABANDONED
    #: Abandons with wait < this are left out of the service level (None: none are).
    short_abandon_seconds: float | None = None
    #: Also count overflowed and failed visits in the service-level denominator.
    service_level_counts_unanswered_exits: bool = False
    window_seconds: float = 86_400.0
    time_zone: str = "Asia/Shanghai"
    keep_days: int = 31

    def __post_init__(self) -> None:
        if self.service_level_seconds < 0:
            raise ValueError("service_level_seconds must be >= 0")
        if self.short_abandon_seconds is not None and self.short_abandon_seconds < 0:
            raise ValueError("short_abandon_seconds must be >= 0")
        if self.window_seconds <= 0 or self.keep_days < 1:
            raise ValueError("window_seconds must be > 0 and keep_days >= 1")
        ZoneInfo(self.time_zone)  # raises ZoneInfoNotFoundError on a bad name


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueVisit:
    """One call's visit to one queue, once its outcome is known.

    ``at``: when the outcome happened (answer, hang-up, overflow, failure): the instant
    the visit is counted. ``wait_seconds``: time in *this* queue. ``call_wait_seconds``:
    time since the call entered the ACD (first queue), used for the overall figures
    (default: ``wait_seconds``). ``final``: False when the visit overflowed into another
    queue of the ACD -- the call is then counted overall only by its last visit.
    """

    call_id: str
    queue: str
    outcome: VisitOutcome
    at: Timestamp
    wait_seconds: float
    call_wait_seconds: float | None = None
    final: bool = True

    def __post_init__(self) -> None:
        if self.wait_seconds < 0 or (
            self.call_wait_seconds is not None and self.call_wait_seconds < 0
        ):
            raise ValueError("wait seconds must be >= 0")
        object.__setattr__(self, "outcome", VisitOutcome(self.outcome))


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentActivityChange:
    """From ``at`` on, ``agent_id`` spends its time as ``activity`` (None: not counted
    -- logged out, paused, unreachable). ``queues``: the queues it serves then."""

    agent_id: str
    activity: Activity | None
    at: Timestamp
    queues: tuple[str, ...] = ()


# Tally layout (ints): counts, then microsecond sums.
(
    OFFERED,
    ANSWERED,
    ANSWERED_WITHIN,
    ABANDONED,
    ABANDONED_SHORT,
    ABANDONED_WITHIN,  # not short, wait <= T
    OVERFLOWED,
    FAILED,
    ANSWER_WAIT_US,
    _WIDTH,
) = range(10)


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiFigures:
    """Counts and ratios over one window and scope. Ratios are None with no calls."""

    offered: int
    answered: int
    answered_within: int
    abandoned: int
    abandoned_short: int
    abandoned_within: int
    overflowed: int
    failed: int
    answer_wait_seconds: float
    service_level: float | None
    connection_rate: float | None
    abandonment_rate: float | None
    average_speed_of_answer: float | None
    occupancy: float | None
    talk_seconds: float
    wrap_seconds: float
    idle_seconds: float


def _ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


class KpiEngine:
    """Exact rolling-window and calendar-day KPIs, per queue and overall."""

    def __init__(self, config: KpiConfig | None = None) -> None:
        self.config = config or KpiConfig()
        self.zone = ZoneInfo(self.config.time_zone)
        self._threshold_us = seconds_to_us(self.config.service_level_seconds)
        short = self.config.short_abandon_seconds
        self._short_us = None if short is None else seconds_to_us(short)
        self._window_us = seconds_to_us(self.config.window_seconds)
        self._reset()

    def _reset(self) -> None:
        self._rolling = RollingTally(self._window_us, _WIDTH)
        self._daily = DailyTally(self.zone, _WIDTH, self.config.keep_days)
        # occupancy history: the window plus two days for today's figure (DST-safe)
        self._clock = ActivityClock(_ACTIVITIES, self._window_us + 2 * 86_400 * US_PER_SECOND)
        self._closed_days: dict[date, dict[str | None, Tally]] = {}
        self._seen: dict[tuple[str, str, int], int] = {}  # visit identity -> t_us
        self._queues: set[str] = set()
        self._now_us: int | None = None
        self._today: date | None = None
        self._today_end_us = 0  # local midnight ending ``_today``

    # -- feeding ----------------------------------------------------------------------

    def _tally(self, outcome: VisitOutcome, wait_us: int) -> Tally:
        v = [0] * _WIDTH
        v[OFFERED] = 1
        within = wait_us <= self._threshold_us
        if outcome is VisitOutcome.ANSWERED:
            v[ANSWERED] = 1
            v[ANSWERED_WITHIN] = int(within)
            v[ANSWER_WAIT_US] = wait_us
        elif outcome is VisitOutcome.ABANDONED:
            v[ABANDONED] = 1
            if self._short_us is not None and wait_us < self._short_us:
                v[ABANDONED_SHORT] = 1
            else:
                v[ABANDONED_WITHIN] = int(within)
        elif outcome is VisitOutcome.OVERFLOWED:
            v[OVERFLOWED] = 1
        else:
            v[FAILED] = 1
        return tuple(v)

    def add_visit(self, visit: QueueVisit) -> bool:
        """Count a visit; False if this visit was already counted (a replay)."""
        t_us = to_us(visit.at)
        key = (visit.call_id, visit.queue, t_us)
        if key in self._seen:
            return False
        self._seen[key] = t_us
        self._queues.add(visit.queue)
        contributions: list[tuple[str | None, Tally]] = [
            (visit.queue, self._tally(visit.outcome, seconds_to_us(visit.wait_seconds)))
        ]
        if visit.final:
            call_wait = visit.call_wait_seconds
            if call_wait is None:
                call_wait = visit.wait_seconds
            contributions.append((OVERALL, self._tally(visit.outcome, seconds_to_us(call_wait))))
        self._rolling.add(t_us, contributions)
        self._daily.add(t_us, contributions)
        return True

    def add_activity(self, change: AgentActivityChange) -> None:
        t_us = to_us(change.at)
        self._roll_days(t_us)
        self._queues.update(change.queues)
        scopes = (OVERALL, *change.queues)
        activity = None if change.activity is None else int(change.activity)
        self._clock.set(change.agent_id, activity, scopes, t_us)

    def feed(self, records: Iterable[QueueVisit | AgentActivityChange]) -> None:
        for r in records:
            if isinstance(r, QueueVisit):
                self.add_visit(r)
            else:
                self.add_activity(r)

    def advance(self, now: Timestamp) -> None:
        """Set the window's end; evicts what is now exactly ``window`` old or older."""
        now_us = to_us(now)
        if self._now_us is not None and now_us < self._now_us:
            return
        self._roll_days(now_us)
        self._now_us = now_us
        self._rolling.advance(now_us)
        horizon = now_us - 2 * self._window_us
        if len(self._seen) > 4096:
            self._seen = {k: t for k, t in self._seen.items() if t > horizon}

    def rebuild(
        self, records: Iterable[QueueVisit | AgentActivityChange], now: Timestamp
    ) -> None:
        """Forget everything and recompute from ``records`` (the journal), as of ``now``.

        Records are applied in time order (activity changes at the same instant keep
        their given order); visits after ``now`` are counted too.
        """
        self._reset()
        indexed = sorted(enumerate(records), key=lambda ir: (to_us(ir[1].at), ir[0]))
        for _, record in indexed:
            if isinstance(record, AgentActivityChange):
                self.add_activity(record)
            else:
                self.add_visit(record)
        self.advance(now)

    def _roll_days(self, t_us: int) -> None:
        """On crossing local midnight, close the finished days' occupancy figures."""
        if self._today is not None and t_us < self._today_end_us:
            return  # still today (or earlier): nothing to close
        day = local_date(t_us, self.zone)
        if self._today is None:
            self._today = day
            self._today_end_us = day_start_us(day + timedelta(days=1), self.zone)
            return
        while self._today < day:
            start = day_start_us(self._today, self.zone)
            end = day_start_us(self._today + timedelta(days=1), self.zone)
            self._closed_days[self._today] = {
                scope: self._clock.spent(scope, start, end) for scope in self._clock.scopes()
            }
            self._today += timedelta(days=1)
        self._today_end_us = day_start_us(self._today + timedelta(days=1), self.zone)
        while len(self._closed_days) > self.config.keep_days:
            del self._closed_days[min(self._closed_days)]

    # -- queries ----------------------------------------------------------------------

    @property
    def now(self) -> float | None:
        return None if self._now_us is None else self._now_us / US_PER_SECOND

    def queues(self) -> list[str]:
        return sorted(self._queues)

    def rolling(self, queue: str | None = OVERALL) -> KpiFigures:
        """The rolling window ending at the last ``advance`` (``queue=None``: overall)."""
        if self._now_us is None:
            raise ValueError("advance(now) first")
        tally = self._rolling.total(queue)
        start = self._now_us - self._window_us
        return self._figures(tally, self._clock.spent(queue, start, self._now_us))

    def calendar_day(self, day: date | None = None, queue: str | None = OVERALL) -> KpiFigures:
        """Local calendar day ``day`` (default: today as of the last ``advance``)."""
        if self._now_us is None:
            raise ValueError("advance(now) first")
        today = local_date(self._now_us, self.zone)
        day = today if day is None else day
        if day == today:
            start = day_start_us(day, self.zone)
            spent = self._clock.spent(queue, start, self._now_us)
        else:
            spent = self._closed_days.get(day, {}).get(queue, (0,) * _ACTIVITIES)
        return self._figures(self._daily.total(day, queue), spent)

    def today(self) -> date:
        if self._now_us is None:
            raise ValueError("advance(now) first")
        return local_date(self._now_us, self.zone)

    def _figures(self, v: Tally, spent: Tally) -> KpiFigures:
        abandoned_counted = v[ABANDONED] - v[ABANDONED_SHORT]
        variant = self.config.service_level_variant
        answered, within = v[ANSWERED], v[ANSWERED_WITHIN]
        if variant is ServiceLevelVariant.ANSWERED_OR_ABANDONED_WITHIN:
            num, den = within + v[ABANDONED_WITHIN], answered + abandoned_counted
        elif variant is ServiceLevelVariant.OF_ANSWERED:
            num, den = within, answered
        elif variant is ServiceLevelVariant.OF_ANSWERED_AND_ABANDONED:
            num, den = within, answered + abandoned_counted
        else:
            num, den = within, answered + abandoned_counted - v[ABANDONED_WITHIN]
        if self.config.service_level_counts_unanswered_exits and variant is not (
            ServiceLevelVariant.OF_ANSWERED
        ):
            den += v[OVERFLOWED] + v[FAILED]
        talk, wrap, idle = spent[Activity.TALK], spent[Activity.WRAP], spent[Activity.IDLE]
        answer_wait_us = v[ANSWER_WAIT_US]
        return KpiFigures(
            offered=v[OFFERED],
            answered=answered,
            answered_within=within,
            abandoned=v[ABANDONED],
            abandoned_short=v[ABANDONED_SHORT],
            abandoned_within=v[ABANDONED_WITHIN],
            overflowed=v[OVERFLOWED],
            failed=v[FAILED],
            answer_wait_seconds=answer_wait_us / US_PER_SECOND,
            service_level=_ratio(num, den),
            connection_rate=_ratio(answered, v[OFFERED]),
            abandonment_rate=_ratio(v[ABANDONED], v[OFFERED]),
            average_speed_of_answer=(
                answer_wait_us / answered / US_PER_SECOND if answered else None
            ),
            occupancy=_ratio(talk + wrap, talk + wrap + idle),
            talk_seconds=talk / US_PER_SECOND,
            wrap_seconds=wrap / US_PER_SECOND,
            idle_seconds=idle / US_PER_SECOND,
        )

    def snapshot(self, now: Timestamp) -> Mapping[tuple[str | None, str], KpiFigures]:
        """Advance to ``now``; figures for every (scope, window) -- window is
        ``"rolling"`` or ``"calendar_day"`` -- for the exporter."""
        self.advance(now)
        out: dict[tuple[str | None, str], KpiFigures] = {}
        for scope in (OVERALL, *self.queues()):
            out[(scope, "rolling")] = self.rolling(scope)
            out[(scope, "calendar_day")] = self.calendar_day(None, scope)
        return out
