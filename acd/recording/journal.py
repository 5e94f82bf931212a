"""Routing-core and call-engine events -> store records (queue journal, call records,
agent state history), submitted through ``Journal.submit`` (never blocking).

`JournalRecorder` is synchronous and does no I/O itself: it is fed events with the
wall-clock ``now`` (the same ``now`` the metrics get) and hands records to ``submit``.
It keeps only what the events do not carry: each live call's summary so far (merged
into one `CallRecord` snapshot per change) and each agent's open (status, state)
interval. Memory is bounded by the calls in progress and the agents.

Contract with ``metrics.journal.kpi_records_from_journal`` (docs/kpi.md, docs/metrics.md):
one ``enter`` per queue visit at the ``CallQueued`` instant; one of ``connect``,
``abandon``, ``overflow``, ``fail`` at the outcome instant with ``data.wait_seconds`` (and
``data.target`` for ``overflow``); ``ts`` = ``now``; ``agent_state_history`` holds the
``AgentStatus``/``AgentState`` enum values (``logged-out``, ``on-call`` ...).

Call-engine facts (trunk, numbers, SIP codes, who hung up) come in through
`JournalRecorder.record_call` (a `CallFacts`) or, duck-typed, `on_call_event`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Final

from acd.store.records import (
    AgentStateChange,
    CallOutcome,
    CallRecord,
    HangupBy,
    QueueEvent,
    QueueEventKind,
    Record,
)
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
    RequirementsRelaxed,
    is_sip_uri,
)

__all__ = ["CALL_FACT_FIELDS", "CallFacts", "JournalRecorder", "utc"]

Submit = Callable[[Record], object]
Requirements = Callable[[str], Mapping[str, int] | None]

#: Offer ends worth a journal line of their own. The others are covered by another
#: line: ``connect`` (answered), the call's outcome (caller-left, overflowed,
#: call-failed, answered-elsewhere) or the agent's (logged out, paused).
_OFFER_END_KIND: Final = {
    OfferEndReason.NO_ANSWER: QueueEventKind.NO_ANSWER,
    OfferEndReason.REJECTED: QueueEventKind.REJECT,
    OfferEndReason.UNREACHABLE: QueueEventKind.UNREACHABLE,
    OfferEndReason.AGENT_UNREACHABLE: QueueEventKind.UNREACHABLE,
}


_OUTCOMES: Final = frozenset(o.value for o in CallOutcome)


def _value(value: object) -> Any:
    """An enum's value (the engine has its own enums), else the value itself."""
    return getattr(value, "value", value)


_utc_last: tuple[float, datetime] = (-1.0, datetime.fromtimestamp(0, UTC))


def utc(ts: float) -> datetime:
    """Wall-clock epoch seconds -> aware UTC datetime (rounded as PostgreSQL stores it)."""
    # One event's records all use the same ``now``: convert it once.
    global _utc_last
    last_ts, last = _utc_last
    if ts == last_ts:
        return last
    value = datetime.fromtimestamp(ts, UTC)
    _utc_last = (ts, value)
    return value


def uuid_ids() -> Callable[[], str]:
    """Unique ids in UUID form, cheaply: a random (version 4) prefix drawn once, then a
    48-bit counter (``str(uuid.uuid4())`` per id read the system's random source for
    each of the ~10 ids a call makes)."""
    prefix = str(uuid.uuid4())[:24]
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter):012x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFacts:
    """What the call-control engine knows about a call and the router does not.

    Every field but ``call_id`` is optional; ``None`` means "not known (yet)". Times
    are wall-clock epoch seconds.
    """

    call_id: str
    trunk: str | None = None
    caller_number: str | None = None
    dialled_number: str | None = None
    arrived_at: float | None = None
    ended_at: float | None = None
    hangup_by: HangupBy | str | None = None
    caller_sip_code: int | None = None
    agent_sip_code: int | None = None
    outcome: CallOutcome | str | None = None
    reason: str | None = None
    queue: str | None = None


#: Attribute names `on_call_event` reads from a call-engine event.
CALL_FACT_FIELDS: Final = tuple(f.name for f in fields(CallFacts) if f.name != "call_id")


@dataclass(slots=True)
class _Call:
    """The summary of a live call so far (the fields of `CallRecord`)."""

    values: dict[str, Any] = field(default_factory=dict)
    first_queued: float | None = None  # router time of the first CallQueued
    relaxed: list[dict[str, Any]] = field(default_factory=list)
    answered_leg: bool = False  # the agent SIP code is the answered leg's


@dataclass(slots=True)
class _Interval:
    change_id: str
    status: AgentStatus
    state: AgentState
    reason: str | None
    started_at: float


class JournalRecorder:
    """Feed it every routing-core event (``on_event``) and call-engine facts.

    ``requirements(call_id)`` gives the skills a queued call requires (the router's
    ``call_view(call_id).requirements``), ``None`` when unknown; ``queue_skills`` is the
    fallback (the queue's configured skills). ``new_id`` makes event and interval ids
    (`uuid_ids` by default; tests pass a counter).
    """

    def __init__(
        self,
        submit: Submit,
        *,
        requirements: Requirements | None = None,
        queue_skills: Mapping[str, Mapping[str, int]] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.submit = submit
        self.requirements = requirements
        self.queue_skills = {q: dict(s) for q, s in (queue_skills or {}).items()}
        self.new_id = new_id or uuid_ids()
        self._calls: dict[str, _Call] = {}
        self._agents: dict[str, _Interval] = {}
        self._status: dict[str, tuple[AgentStatus, str | None]] = {}

    # -- routing-core events -------------------------------------------------------------

    def on_event(self, event: Event, now: float) -> None:
        """A `RoutingService` observer: ``now`` is wall-clock epoch seconds."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(self, event, now)

    def _journal(
        self,
        kind: QueueEventKind,
        now: float,
        *,
        call_id: str | None = None,
        queue: str | None = None,
        agent_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.submit(
            QueueEvent(
                ts=utc(now), event=kind, call_id=call_id, queue=queue, agent_id=agent_id,
                data={} if data is None else data, event_id=self.new_id(),
            )
        )

    def _queued(self, e: CallQueued, now: float) -> None:
        data: dict[str, Any] = {"priority": e.priority, "position": e.position}
        if e.overflowed_from is not None:
            data["overflowed_from"] = e.overflowed_from
        self._journal(QueueEventKind.ENTER, now, call_id=e.call_id, queue=e.queue, data=data)
        call = self._calls.setdefault(e.call_id, _Call())
        changes: dict[str, Any] = {"queue": e.queue}
        if call.first_queued is None:
            call.first_queued = e.at
            changes["queued_at"] = utc(now)
            if "arrived_at" not in call.values:
                changes["arrived_at"] = utc(now)
            skills = self.requirements(e.call_id) if self.requirements is not None else None
            if skills is None:
                skills = self.queue_skills.get(e.queue, {})
            changes["skills_required"] = dict(skills)
        self._snapshot(e.call_id, now, changes)

    def _offered(self, e: CallOffered, now: float) -> None:
        self._journal(QueueEventKind.OFFER, now, call_id=e.call_id, queue=e.queue,
                      agent_id=e.agent_id, data={"attempt": e.attempt})
        call = self._calls.get(e.call_id)
        if call is not None and "first_offered_at" not in call.values:
            self._snapshot(e.call_id, now, {"first_offered_at": utc(now)})

    def _offer_ended(self, e: OfferEnded, now: float) -> None:
        kind = _OFFER_END_KIND.get(e.reason)
        if kind is not None:
            self._journal(kind, now, call_id=e.call_id, queue=e.queue, agent_id=e.agent_id,
                          data={"ring_seconds": e.ring_seconds, "reason": e.reason.value})

    def _answered(self, e: CallAnswered, now: float) -> None:
        self._journal(QueueEventKind.CONNECT, now, call_id=e.call_id, queue=e.queue,
                      agent_id=e.agent_id,
                      data={"wait_seconds": e.wait_seconds, "ring_seconds": e.ring_seconds})
        self._snapshot(e.call_id, now, {
            "queue": e.queue, "answered_at": utc(now), "agent_id": e.agent_id,
            "outcome": CallOutcome.ANSWERED, "wait_seconds": self._call_wait(e),
        })

    def _completed(self, e: CallCompleted, now: float) -> None:
        self._journal(QueueEventKind.COMPLETE, now, call_id=e.call_id, queue=e.queue,
                      agent_id=e.agent_id, data={"talk_seconds": e.talk_seconds})
        self._end(e.call_id, now, {"ended_at": utc(now), "talk_seconds": e.talk_seconds,
                                   "outcome": CallOutcome.ANSWERED})

    def _abandoned(self, e: CallAbandoned, now: float) -> None:
        self._journal(QueueEventKind.ABANDON, now, call_id=e.call_id, queue=e.queue,
                      data={"wait_seconds": e.wait_seconds, "position": e.position})
        self._end(e.call_id, now, {
            "queue": e.queue, "ended_at": utc(now), "outcome": CallOutcome.ABANDONED,
            "wait_seconds": self._call_wait(e), "hangup_by": HangupBy.CALLER,
        })

    def _overflowed(self, e: CallOverflowed, now: float) -> None:
        self._journal(QueueEventKind.OVERFLOW, now, call_id=e.call_id, queue=e.queue,
                      data={"wait_seconds": e.wait_seconds, "target": e.target,
                            "reason": e.reason.value})
        if is_sip_uri(e.target):  # the call leaves the ACD; else a CallQueued follows
            self._end(e.call_id, now, {
                "queue": e.queue, "ended_at": utc(now), "outcome": CallOutcome.OVERFLOWED,
                "wait_seconds": self._call_wait(e), "hangup_by": HangupBy.SYSTEM,
                "reason": f"overflow:{e.reason.value}",
            })

    def _failed(self, e: CallFailed, now: float) -> None:
        self._journal(QueueEventKind.FAIL, now, call_id=e.call_id, queue=e.queue,
                      data={"wait_seconds": e.wait_seconds, "reason": e.reason})
        self._end(e.call_id, now, {
            "queue": e.queue, "ended_at": utc(now), "outcome": CallOutcome.FAILED,
            "wait_seconds": self._call_wait(e), "reason": e.reason,
        })

    def _relaxed(self, e: RequirementsRelaxed, now: float) -> None:
        step = {"step": e.step, "requirements": dict(e.requirements), "pools": list(e.pools)}
        self._journal(QueueEventKind.RELAX, now, call_id=e.call_id, queue=e.queue, data=step)
        call = self._calls.get(e.call_id)
        if call is not None:
            call.relaxed.append({**step, "queue": e.queue, "at": utc(now).isoformat()})
            self._snapshot(e.call_id, now, {"skills_relaxed": list(call.relaxed)})

    def _agent_status(self, e: AgentStatusChanged, now: float) -> None:
        old, new = e.old, e.new
        a = e.agent_id
        if old is AgentStatus.LOGGED_OUT and new is not AgentStatus.LOGGED_OUT:
            self._journal(QueueEventKind.AGENT_LOGIN, now, agent_id=a)
        if new is AgentStatus.LOGGED_OUT and old is not AgentStatus.LOGGED_OUT:
            self._journal(QueueEventKind.AGENT_LOGOUT, now, agent_id=a)
        elif new is AgentStatus.PAUSED:
            self._journal(QueueEventKind.AGENT_PAUSE, now, agent_id=a, data={"reason": e.reason})
        elif old is AgentStatus.PAUSED and new is AgentStatus.AVAILABLE:
            self._journal(QueueEventKind.AGENT_UNPAUSE, now, agent_id=a)
        self._interval(a, now, status=new, reason=e.reason)

    def _agent_state(self, e: AgentStateChanged, now: float) -> None:
        data = {"call_id": e.call_id} if e.call_id is not None else {}
        if e.new is AgentState.WRAP_UP and e.old is not AgentState.WRAP_UP:
            self._journal(QueueEventKind.WRAPUP_START, now, call_id=e.call_id,
                          agent_id=e.agent_id, data=data)
        elif e.old is AgentState.WRAP_UP and e.new is not AgentState.WRAP_UP:
            self._journal(QueueEventKind.WRAPUP_END, now, agent_id=e.agent_id)
        self._interval(e.agent_id, now, state=e.new, old_state=e.old)

    _handlers: Final[dict[type, Callable[[JournalRecorder, Any, float], None]]] = {
        CallQueued: _queued,
        CallOffered: _offered,
        OfferEnded: _offer_ended,
        CallAnswered: _answered,
        CallCompleted: _completed,
        CallAbandoned: _abandoned,
        CallOverflowed: _overflowed,
        CallFailed: _failed,
        RequirementsRelaxed: _relaxed,
        AgentStatusChanged: _agent_status,
        AgentStateChanged: _agent_state,
    }

    # -- call-engine facts ---------------------------------------------------------------

    def record_call(self, facts: CallFacts, now: float) -> None:
        """Merge what the call-control engine knows into the call's record.

        Facts about a call the router has finished with (e.g. the final SIP codes and
        ``hangup_by`` after ``CallCompleted``) still reach the database: the snapshot
        carries only those fields, and the store merges them into the row.
        """
        self._merge_facts(facts.call_id, {n: getattr(facts, n) for n in CALL_FACT_FIELDS}, now)

    def _merge_facts(self, call_id: str, facts: Mapping[str, Any], now: float) -> None:
        """`record_call` for ``facts`` (`CALL_FACT_FIELDS` names; ``None``: not known)."""
        changes: dict[str, Any] = {}
        for name, value in facts.items():
            if value is None:
                continue
            if name in ("arrived_at", "ended_at"):
                value = utc(value)
            elif name == "hangup_by":
                value = HangupBy(value)
            elif name == "outcome":
                value = CallOutcome(value)
            changes[name] = value
        if not changes:
            return
        ended = "ended_at" in changes or "outcome" in changes
        call = self._calls.get(call_id)
        if call is None and ended:  # after the router's end, or never queued
            self.submit(CallRecord(call_id=call_id, as_of=utc(now), **changes))
            return
        self._snapshot(call_id, now, changes)
        call = self._calls[call_id]
        if ended and call.first_queued is None:
            del self._calls[call_id]  # never reached the router: nothing follows

    def on_call_event(self, event: object, now: float) -> None:
        """Observer for the call-control engine (``acd.calls.CallControl.observers``).

        Read by attribute (the engine's events are not imported): ``CallStarted``
        (trunk, caller, dialled, queue, ``at`` = arrival), ``AgentLegEnded`` (the agent
        leg's final ``status``; an answered leg's code is kept over later cancelled
        ones), ``CallEnded`` (``caller_status``, ``hangup_by``, ``outcome``, ``reason``,
        ``at`` = end; outcome ``rejected`` -- refused before queueing -- is stored as
        ``failed``). Calls refused before they had an id are keyed by the SIP Call-ID.
        Any other event with a ``call_id`` and some of `CALL_FACT_FIELDS` is merged as is.
        """
        call_id = getattr(event, "call_id", None) or getattr(event, "sip_call_id", None)
        if not isinstance(call_id, str) or not call_id:
            return
        kind = type(event).__name__
        at = getattr(event, "at", None)
        if kind == "AgentLegEnded":
            self._agent_leg(call_id, getattr(event, "status", 0), getattr(event, "result", ""),
                            now)
            return
        values = {name: _value(getattr(event, name, None)) for name in CALL_FACT_FIELDS}
        values["caller_number"] = values["caller_number"] or _value(getattr(event, "caller",
                                                                             None))
        values["dialled_number"] = values["dialled_number"] or _value(
            getattr(event, "dialled", None))
        status = getattr(event, "caller_status", None)
        if isinstance(status, int) and 100 <= status <= 699:
            values["caller_sip_code"] = status
        if values["outcome"] == "rejected":
            values["outcome"] = CallOutcome.FAILED.value
        if values["outcome"] is not None and values["outcome"] not in _OUTCOMES:
            values["outcome"] = None
        if isinstance(at, int | float):
            if kind == "CallStarted":
                values["arrived_at"] = at
            elif kind == "CallEnded":
                values["ended_at"] = at
        self._merge_facts(call_id, values, now)

    def _agent_leg(self, call_id: str, status: object, result: object, now: float) -> None:
        if not isinstance(status, int) or not 100 <= status <= 699:
            return
        call = self._calls.get(call_id)
        if call is not None:
            if call.answered_leg and result != "answered":
                return  # ring-all: the legs cancelled after the answer do not count
            call.answered_leg = call.answered_leg or result == "answered"
        self._merge_facts(call_id, {"agent_sip_code": status}, now)

    # -- lifecycle -----------------------------------------------------------------------

    def close(self, now: float) -> None:
        """At a clean shutdown: close every open agent interval at ``now``. Calls still
        in progress are left open (the next start closes them: failed, restart)."""
        for agent_id in list(self._agents):
            self._close_interval(agent_id, now)

    @property
    def calls_tracked(self) -> int:
        return len(self._calls)

    # -- internals -----------------------------------------------------------------------

    def _call_wait(self, e: CallAnswered | CallAbandoned | CallOverflowed | CallFailed) -> float:
        """The caller's wait since first queued (across overflows into other queues)."""
        call = self._calls.get(e.call_id)
        first = None if call is None else call.first_queued
        return e.wait_seconds if first is None else max(e.at - first, e.wait_seconds)

    def _snapshot(self, call_id: str, now: float, changes: Mapping[str, Any]) -> None:
        call = self._calls.setdefault(call_id, _Call())
        call.values.update(changes)
        self.submit(CallRecord(call_id=call_id, as_of=utc(now), **call.values))

    def _end(self, call_id: str, now: float, changes: Mapping[str, Any]) -> None:
        self._snapshot(call_id, now, changes)
        self._calls.pop(call_id, None)

    def _interval(
        self,
        agent_id: str,
        now: float,
        *,
        status: AgentStatus | None = None,
        state: AgentState | None = None,
        old_state: AgentState | None = None,
        reason: str | None = None,
    ) -> None:
        current = self._agents.get(agent_id)
        if current is None:
            cur_status, cur_reason = self._status.get(agent_id, (AgentStatus.LOGGED_OUT, None))
            current = _Interval("", cur_status, old_state or AgentState.IDLE, cur_reason, now)
        new_status, new_state, new_reason = current.status, current.state, current.reason
        if status is not None:
            new_status = status
            new_reason = reason if status is AgentStatus.PAUSED else None
        if state is not None:
            new_state = state
        if current.change_id and (new_status, new_state, new_reason) == (
            current.status, current.state, current.reason
        ):
            return
        new = _Interval(self.new_id(), new_status, new_state, new_reason, now)
        self._close_interval(agent_id, now)
        self._agents[agent_id] = new
        self._status[agent_id] = (new.status, new.reason)
        self.submit(self._change(agent_id, new, None))

    def _close_interval(self, agent_id: str, now: float) -> None:
        current = self._agents.pop(agent_id, None)
        if current is not None:
            self.submit(self._change(agent_id, current, max(now, current.started_at)))

    @staticmethod
    def _change(agent_id: str, i: _Interval, ended: float | None) -> AgentStateChange:
        return AgentStateChange(
            change_id=i.change_id, agent_id=agent_id, status=i.status.value,
            state=i.state.value, reason=i.reason, started_at=utc(i.started_at),
            ended_at=None if ended is None else utc(ended),
        )
