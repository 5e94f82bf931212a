"""Exact time windows for the KPI engine: integer tallies, never approximations.

Times are integer microseconds since the Unix epoch (``to_us``); PostgreSQL's
``timestamptz`` has the same resolution, so a figure rebuilt from the store equals the
one fed live. Tallies are tuples of ints, so adding and evicting are exact and the
result does not depend on the order in which entries arrived.

* ``RollingTally``   -- per-entry deque over the half-open window ``(now - W, now]``:
  an entry exactly ``W`` old is out.
* ``DailyTally``     -- per calendar day in a time zone, per scope.
* ``ActivityClock``  -- exact time spent per (scope, activity) as piecewise-linear
  cumulative functions, so any window ``[a, b]`` is ``C(b) - C(a)``.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import bisect
import operator
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "US_PER_SECOND",
    "ActivityClock",
    "DailyTally",
    "RollingTally",
    "Tally",
    "add",
    "day_start_us",
    "local_date",
    "sub",
    "to_us",
]

US_PER_SECOND = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

Tally = tuple[int, ...]


_last: tuple[float, int] = (0.0, 0)  # the last float converted and its result (one object:
# replaced whole, so a reader in another thread never pairs one call's input with another's)


def to_us(t: float | datetime) -> int:
    """Epoch seconds (float) or an aware datetime -> integer epoch microseconds.

    A float goes through ``datetime.fromtimestamp`` so it rounds exactly as it does when
    the journal stores it as a timestamptz. The last float's result is kept: the events
    of one runtime step all carry the same ``now``.
    """
    global _last
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"naive datetime {t.isoformat()}: timestamps must be aware")
        return (t - _EPOCH) // _ONE_US
    last = _last
    if t == last[0]:
        return last[1]
    us = (datetime.fromtimestamp(t, UTC) - _EPOCH) // _ONE_US
    _last = (t, us)
    return us


def seconds_to_us(seconds: float) -> int:
    return round(seconds * US_PER_SECOND)


def local_date(t_us: int, zone: ZoneInfo) -> date:
    return (_EPOCH + timedelta(microseconds=t_us)).astimezone(zone).date()


def day_start_us(day: date, zone: ZoneInfo) -> int:
    """Local midnight starting ``day`` in ``zone``, as epoch microseconds."""
    return to_us(datetime.combine(day, time(0), tzinfo=zone))


def add(a: Tally, b: Tally) -> Tally:
    if len(a) != len(b):
        raise ValueError("tallies of different widths")
    return tuple(map(operator.add, a, b))


def sub(a: Tally, b: Tally) -> Tally:
    if len(a) != len(b):
        raise ValueError("tallies of different widths")
    return tuple(map(operator.sub, a, b))


@dataclass(slots=True)
class _Entry:
    t_us: int
    contributions: tuple[tuple[str | None, Tally], ...]  # (scope, tally); None = overall


class RollingTally:
    """Sum of per-entry tallies over ``(now - window, now]``, per scope.

    Entries normally arrive in time order (appended); a late one is inserted in place.
    An entry older than the window when it arrives is ignored here.
    """

    def __init__(self, window_us: int, width: int) -> None:
        if window_us <= 0:
            raise ValueError("window must be positive")
        self.window_us = window_us
        self._zero: Tally = (0,) * width
        self._entries: deque[_Entry] = deque()
        self._sums: dict[str | None, Tally] = {}
        self.now_us: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def _cutoff(self) -> int | None:
        return None if self.now_us is None else self.now_us - self.window_us

    def add(self, t_us: int, contributions: Iterable[tuple[str | None, Tally]]) -> None:
        cutoff = self._cutoff()
        if cutoff is not None and t_us <= cutoff:
            return
        entry = _Entry(t_us, tuple(contributions))
        if not self._entries or self._entries[-1].t_us <= t_us:
            self._entries.append(entry)
        else:  # late arrival: insert after every entry at or before t_us
            keys = [e.t_us for e in self._entries]
            self._entries.insert(bisect.bisect_right(keys, t_us), entry)
        for scope, tally in entry.contributions:
            self._sums[scope] = add(self._sums.get(scope, self._zero), tally)

    def advance(self, now_us: int) -> None:
        """Move the window's end to ``now_us`` (never backwards) and evict."""
        if self.now_us is not None and now_us < self.now_us:
            return
        self.now_us = now_us
        cutoff = now_us - self.window_us
        entries = self._entries
        while entries and entries[0].t_us <= cutoff:
            for scope, tally in entries.popleft().contributions:
                self._sums[scope] = sub(self._sums[scope], tally)

    def total(self, scope: str | None) -> Tally:
        """Entries with ``now - window < t <= now`` (entries after ``now`` included)."""
        return self._sums.get(scope, self._zero)

    def scopes(self) -> Iterator[str | None]:
        return iter(self._sums)


class DailyTally:
    """Per local calendar day, per scope; keeps the newest ``keep_days`` days."""

    def __init__(self, zone: ZoneInfo, width: int, keep_days: int = 31) -> None:
        self.zone = zone
        self.keep_days = keep_days
        self._zero: Tally = (0,) * width
        self._days: dict[date, dict[str | None, Tally]] = {}
        self._span: tuple[int, int, date] | None = None  # [start, end) us of the last day

    def _day(self, t_us: int) -> date:
        span = self._span
        if span is not None and span[0] <= t_us < span[1]:
            return span[2]
        day = local_date(t_us, self.zone)
        self._span = (day_start_us(day, self.zone),
                      day_start_us(day + timedelta(days=1), self.zone), day)
        return day

    def add(self, t_us: int, contributions: Iterable[tuple[str | None, Tally]]) -> None:
        day = self._day(t_us)
        if self._days and day < max(self._days) - timedelta(days=self.keep_days - 1):
            return
        scopes = self._days.setdefault(day, {})
        for scope, tally in contributions:
            scopes[scope] = add(scopes.get(scope, self._zero), tally)
        while len(self._days) > self.keep_days:
            del self._days[min(self._days)]

    def total(self, day: date, scope: str | None) -> Tally:
        return self._days.get(day, {}).get(scope, self._zero)

    def days(self) -> list[date]:
        return sorted(self._days)


@dataclass(slots=True)
class _Point:
    t_us: int
    cumulative: Tally  # agent-microseconds spent in each activity up to t_us
    counts: Tally  # agents in each activity from t_us on


class ActivityClock:
    """Exact time spent per activity, per scope, as cumulative piecewise-linear functions.

    ``set(agent, activity, scopes, t_us)`` moves an agent to ``activity`` (an index, or
    ``None`` for time that counts nowhere). ``spent(scope, a, b)`` is the exact
    agent-microseconds per activity in ``[a, b]``. History older than ``keep_us`` before
    the newest change is dropped (one point at or before the horizon is kept).
    """

    def __init__(self, activities: int, keep_us: int) -> None:
        self._width = activities
        self._zero: Tally = (0,) * activities
        self.keep_us = keep_us
        self._agents: dict[str, tuple[int | None, tuple[str | None, ...]]] = {}
        self._points: dict[str | None, list[_Point]] = {}
        self._first: dict[str | None, int] = {}  # index of the oldest live point
        self.last_us: int | None = None

    def set(
        self, agent_id: str, activity: int | None, scopes: Iterable[str | None], t_us: int
    ) -> None:
        if self.last_us is not None and t_us < self.last_us:
            t_us = self.last_us  # the clock never runs backwards
        self.last_us = t_us
        old_activity, old_scopes = self._agents.get(agent_id, (None, ()))
        new_scopes = tuple(scopes)
        if old_scopes == new_scopes:  # the usual case: one delta for every scope
            delta = [0] * self._width
            if old_activity is not None:
                delta[old_activity] -= 1
            if activity is not None:
                delta[activity] += 1
            if any(delta):
                change = tuple(delta)
                for scope in dict.fromkeys(new_scopes):
                    self._bump(scope, t_us, change)
        else:
            for scope in set(old_scopes) | set(new_scopes):
                delta = [0] * self._width
                if old_activity is not None and scope in old_scopes:
                    delta[old_activity] -= 1
                if activity is not None and scope in new_scopes:
                    delta[activity] += 1
                if any(delta):
                    self._bump(scope, t_us, tuple(delta))
        if activity is None:
            self._agents.pop(agent_id, None)
        else:
            self._agents[agent_id] = (activity, new_scopes)

    def _bump(self, scope: str | None, t_us: int, delta: Tally) -> None:
        points = self._points.setdefault(scope, [])
        if points:
            last = points[-1]
            counts = add(last.counts, delta)
            if last.t_us == t_us:
                points[-1] = _Point(t_us, last.cumulative, counts)
            else:
                elapsed = t_us - last.t_us
                cumulative = tuple(
                    c + n * elapsed for c, n in zip(last.cumulative, last.counts, strict=True)
                )
                points.append(_Point(t_us, cumulative, counts))
        else:
            points.append(_Point(t_us, self._zero, delta))
        self._prune(scope, t_us - self.keep_us)

    def _prune(self, scope: str | None, horizon: int) -> None:
        points = self._points[scope]
        first = self._first.get(scope, 0)
        while first + 1 < len(points) and points[first + 1].t_us <= horizon:
            first += 1
        if first > 1024 and first * 2 > len(points):
            del points[:first]
            first = 0
        self._first[scope] = first

    def cumulative(self, scope: str | None, t_us: int) -> Tally:
        """Agent-microseconds per activity from the first known change up to ``t_us``."""
        points = self._points.get(scope)
        if not points:
            return self._zero
        first = self._first.get(scope, 0)
        i = bisect.bisect_right(points, t_us, lo=first, key=lambda p: p.t_us) - 1
        if i < first:
            if first > 0:
                raise ValueError("time before the kept history")
            return self._zero
        p = points[i]
        return tuple(
            c + n * (t_us - p.t_us) for c, n in zip(p.cumulative, p.counts, strict=True)
        )

    def spent(self, scope: str | None, start_us: int, end_us: int) -> Tally:
        return sub(self.cumulative(scope, end_us), self.cumulative(scope, max(start_us, 0)))

    def scopes(self) -> Iterator[str | None]:
        return iter(self._points)
