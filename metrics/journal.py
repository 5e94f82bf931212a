"""Journal rows -> KPI and staffing records, for ``KpiEngine.rebuild`` and
``StaffingEstimator.rebuild`` after a restart, from one read of the store.

Pure: takes rows already read from ``queue_events`` and ``agent_state_history`` (objects
with the attributes of ``acd.store.QueueEvent`` / ``AgentStateChange``), no I/O.
The rows needed: queue events (verbs ``JOURNAL_EVENTS``) with ``ts >= min(now - 24 h,
local midnight) - longest call`` and agent intervals with ``ended_at IS NULL OR
ended_at > that``.

Contract with the journal writer (docs/kpi.md): one ``enter`` per queue visit at the
``CallQueued`` instant; one of ``connect``/``abandon``/``overflow``/``fail`` at the
outcome instant with ``data["wait_seconds"]`` (else derived from ``enter``) and, for
``overflow``, ``data["target"]`` (a queue name, or a SIP URI for leaving the ACD); one
``complete`` (``agent_id``, ``data["talk_seconds"]``) at the ``CallCompleted`` instant
and one ``wrapup_end`` (``agent_id``) when that agent's state leaves wrap-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .feed import activity_for_names
from .kpi import AgentActivityChange, QueueVisit, VisitOutcome
from .staffing import Arrival, Handled, StaffingRecord

__all__ = ["JOURNAL_EVENTS", "JournalReplay", "kpi_records_from_journal", "replay_journal"]

#: The queue_events verbs a rebuild reads (KPI visits; staffing also handle times).
JOURNAL_EVENTS = ("enter", "connect", "abandon", "overflow", "fail", "complete",
                  "wrapup_end")

_OUTCOMES = {
    "connect": VisitOutcome.ANSWERED,
    "abandon": VisitOutcome.ABANDONED,
    "overflow": VisitOutcome.OVERFLOWED,
    "fail": VisitOutcome.FAILED,
}


class QueueEventRow(Protocol):
    @property
    def ts(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def call_id(self) -> str | None: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


class AgentStateRow(Protocol):
    @property
    def agent_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class JournalReplay:
    """What one read of the journal rebuilds."""

    #: For ``KpiEngine.rebuild``: visits, then agent activity changes.
    kpi: list[QueueVisit | AgentActivityChange]
    #: For ``StaffingEstimator.rebuild``: arrivals, visits (the same objects) and
    #: handled calls, in journal order.
    staffing: list[StaffingRecord]
    #: The earliest instant of any row read (queue event or agent interval start): where
    #: the estimator's history begins. None: nothing was read.
    history_start: datetime | None


def kpi_records_from_journal(
    events: Iterable[QueueEventRow],
    agent_states: Iterable[AgentStateRow] = (),
    agent_queues: Mapping[str, Sequence[str]] | None = None,
) -> list[QueueVisit | AgentActivityChange]:
    return replay_journal(events, agent_states, agent_queues).kpi


def replay_journal(
    events: Iterable[QueueEventRow],
    agent_states: Iterable[AgentStateRow] = (),
    agent_queues: Mapping[str, Sequence[str]] | None = None,
) -> JournalReplay:
    queues_of = {a: tuple(qs) for a, qs in (agent_queues or {}).items()}
    out: list[QueueVisit | AgentActivityChange] = []
    staffing: list[StaffingRecord] = []
    entered: dict[tuple[str, str], datetime] = {}
    first_entered: dict[str, datetime] = {}
    completed: dict[str, tuple[str, float, datetime]] = {}  # agent -> (queue, talk, ts)
    rows = sorted(events, key=lambda e: e.ts)
    starts_at = [r.ts for r in rows[:1]]
    for e in rows:
        kind = str(getattr(e.event, "value", e.event))
        if kind == "wrapup_end":
            done = completed.pop(e.agent_id, None) if e.agent_id is not None else None
            if done is not None:
                queue, talk, at = done
                staffing.append(Handled(queue=queue, at=e.ts, completed_at=at,
                                        talk_seconds=talk))
            continue
        if e.call_id is None or e.queue is None:
            continue
        if kind == "enter":
            entered[(e.call_id, e.queue)] = e.ts
            first_entered.setdefault(e.call_id, e.ts)
            staffing.append(Arrival(queue=e.queue, at=e.ts))
            continue
        if kind == "complete":
            talk_seconds = e.data.get("talk_seconds")
            if e.agent_id is not None and talk_seconds is not None:
                completed[e.agent_id] = (e.queue, float(talk_seconds), e.ts)
            continue
        outcome = _OUTCOMES.get(kind)
        if outcome is None:
            continue
        start = entered.pop((e.call_id, e.queue), None)
        wait = e.data.get("wait_seconds")
        if wait is None:
            if start is None:
                continue  # entered before the rows read: cannot be placed exactly
            wait = (e.ts - start).total_seconds()
        target = str(e.data.get("target", ""))
        final = outcome is not VisitOutcome.OVERFLOWED or target.startswith(("sip:", "sips:"))
        first = first_entered.get(e.call_id)
        call_wait = None if first is None else max((e.ts - first).total_seconds(), float(wait))
        if final:
            first_entered.pop(e.call_id, None)
        visit = QueueVisit(call_id=e.call_id, queue=e.queue, outcome=outcome, at=e.ts,
                           wait_seconds=float(wait), call_wait_seconds=call_wait, final=final)
        out.append(visit)
        staffing.append(visit)
    ends: list[AgentActivityChange] = []
    starts: list[AgentActivityChange] = []
    for s in agent_states:
        starts_at.append(s.started_at)
        queues = queues_of.get(s.agent_id, ())
        starts.append(AgentActivityChange(agent_id=s.agent_id, at=s.started_at, queues=queues,
                                          activity=activity_for_names(s.status, s.state)))
        if s.ended_at is not None:
            ends.append(AgentActivityChange(agent_id=s.agent_id, activity=None, at=s.ended_at,
                                            queues=queues))
    # rebuild() sorts stably by time: at one instant an interval's end comes before the next start
    return JournalReplay([*out, *ends, *starts], staffing, min(starts_at, default=None))
