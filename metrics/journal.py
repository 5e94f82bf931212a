"""Journal rows -> KPI records, for ``KpiEngine.rebuild`` after a restart.

Pure: takes rows already read from ``queue_events`` and ``agent_state_history`` (objects
with the attributes of ``acd.store.QueueEvent`` / ``AgentStateChange``), no I/O.
The rows needed: queue events with ``ts >= min(now - 24 h, local midnight) - longest
call`` and agent intervals with ``ended_at IS NULL OR ended_at > that``.

Contract with the journal writer (docs/kpi.md): one ``enter`` per queue visit at the
``CallQueued`` instant; one of ``connect``/``abandon``/``overflow``/``fail`` at the
outcome instant with ``data["wait_seconds"]`` (else derived from ``enter``) and, for
``overflow``, ``data["target"]`` (a queue name, or a SIP URI for leaving the ACD).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from .feed import activity_for_names
from .kpi import AgentActivityChange, QueueVisit, VisitOutcome

__all__ = ["kpi_records_from_journal"]

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


def kpi_records_from_journal(
    events: Iterable[QueueEventRow],
    agent_states: Iterable[AgentStateRow] = (),
    agent_queues: Mapping[str, Sequence[str]] | None = None,
) -> list[QueueVisit | AgentActivityChange]:
    queues_of = {a: tuple(qs) for a, qs in (agent_queues or {}).items()}
    out: list[QueueVisit | AgentActivityChange] = []
    entered: dict[tuple[str, str], datetime] = {}
    first_entered: dict[str, datetime] = {}
    for e in sorted(events, key=lambda e: e.ts):
        kind = str(getattr(e.event, "value", e.event))
        if e.call_id is None or e.queue is None:
            continue
        if kind == "enter":
            entered[(e.call_id, e.queue)] = e.ts
            first_entered.setdefault(e.call_id, e.ts)
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
        out.append(QueueVisit(call_id=e.call_id, queue=e.queue, outcome=outcome, at=e.ts,
                              wait_seconds=float(wait), call_wait_seconds=call_wait,
                              final=final))
    ends: list[AgentActivityChange] = []
    starts: list[AgentActivityChange] = []
    for s in agent_states:
        queues = queues_of.get(s.agent_id, ())
        starts.append(AgentActivityChange(agent_id=s.agent_id, at=s.started_at, queues=queues,
                                          activity=activity_for_names(s.status, s.state)))
        if s.ended_at is not None:
            ends.append(AgentActivityChange(agent_id=s.agent_id, activity=None, at=s.ended_at,
                                            queues=queues))
    # rebuild() sorts stably by time: at one instant an interval's end comes before the next start
    return [*out, *ends, *starts]
