"""Record types the journal persists.

Small frozen, slotted, keyword-only dataclasses. Each carries a stable identity
(``record_id``) so that writing the same record twice -- a retry, a spool replay after a
crash in the middle of a replay -- changes nothing the second time:

* ``QueueEvent``        -> ``queue_events``, identity ``event_id`` (insert once).
* ``CallRecord``        -> ``call_records``, identity ``call_id`` (a snapshot; later
  snapshots fill in later fields, see ``as_of``).
* ``AgentStateChange``  -> ``agent_state_history``, identity ``change_id`` (the closing
  snapshot fills in ``ended_at``). ``source``/``actor`` say who opened the interval:
  unless given, the `ChangeOrigin` in effect when the record is built (`change_origin`).
* ``AuditEntry``        -> ``api_audit``, identity ``audit_id`` (insert once).
* ``RegistrationRow``   -> ``registrations``, identity ``(aor, contact)`` (newest
  ``updated_at`` wins).

Timestamps must be timezone-aware: a naive datetime is a programming error and raises
``ValueError`` at construction. ``data``/``skills_*`` must be JSON-compatible; that is
checked when the record is submitted to the journal (it is encoded once, there).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final

__all__ = [
    "KINDS",
    "AgentStateChange",
    "AuditEntry",
    "AuditResult",
    "CallOutcome",
    "CallRecord",
    "ChangeOrigin",
    "ChangeSource",
    "HangupBy",
    "QueueEvent",
    "QueueEventKind",
    "Record",
    "RegistrationRow",
    "change_origin",
    "current_origin",
    "decode_record",
    "encode_record",
]


class QueueEventKind(enum.StrEnum):
    """Journal verbs, in the spirit of Asterisk's queue_log (ENTERQUEUE, CONNECT, ...)."""

    ENTER = "enter"
    OFFER = "offer"
    NO_ANSWER = "no_answer"
    REJECT = "reject"
    UNREACHABLE = "unreachable"
    CONNECT = "connect"
    ABANDON = "abandon"
    OVERFLOW = "overflow"
    COMPLETE = "complete"
    FAIL = "fail"
    RELAX = "relax"
    TRANSFER = "transfer"
    AGENT_LOGIN = "agent_login"
    AGENT_LOGOUT = "agent_logout"
    AGENT_PAUSE = "agent_pause"
    AGENT_UNPAUSE = "agent_unpause"
    WRAPUP_START = "wrapup_start"
    WRAPUP_END = "wrapup_end"


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    FAILED = "failed"


class HangupBy(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class ChangeSource(enum.StrEnum):
    """Who opened an agent interval (``agent_state_history.source``)."""

    #: A supervisor API action; ``actor`` is the token's name.
    API = "api"
    #: The agent's own phone (feature codes); ``actor`` is the agent id.
    PHONE = "phone"
    #: The ACD itself: routing, registrations, timers, restarts.
    SYSTEM = "system"


class AuditResult(enum.StrEnum):
    ACCEPTED = "accepted"
    #: Answered 4xx: ``code`` is the problem's code (``unknown_agent``, ``forbidden`` ...).
    REFUSED = "refused"
    #: Answered 5xx (``not_ready``, ``internal_error`` ...).
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ChangeOrigin:
    """Who is changing agents' state right now. ``agent_id``: only that agent's changes
    are theirs (an API action on agent A may offer a call to agent B in the same step:
    B's change is the system's); ``None``: every agent's."""

    source: ChangeSource
    actor: str | None = None
    agent_id: str | None = None


_SYSTEM: Final = ChangeOrigin(ChangeSource.SYSTEM)
_ORIGIN: ContextVar[ChangeOrigin] = ContextVar("acd_change_origin", default=_SYSTEM)


@contextmanager
def change_origin(
    source: ChangeSource, actor: str | None = None, agent_id: str | None = None
) -> Iterator[ChangeOrigin]:
    """Attribute the agent intervals opened inside the block (synchronously, in this
    context) to ``source``/``actor``. Wrap the whole runtime step, flush included: the
    journal builds its records when the step's events are drained."""
    origin = ChangeOrigin(ChangeSource(source), actor, agent_id)
    token = _ORIGIN.set(origin)
    try:
        yield origin
    finally:
        _ORIGIN.reset(token)


def current_origin(agent_id: str) -> ChangeOrigin:
    """The origin of a change to ``agent_id`` made now (``system`` outside any block)."""
    origin = _ORIGIN.get()
    if origin.agent_id is not None and origin.agent_id != agent_id:
        return _SYSTEM
    return origin


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEvent:
    """One line of the queue journal. ``event_id`` defaults to a fresh UUID; the
    engine may instead derive it deterministically (``f"{call_id}:{n}"``)."""

    KIND: ClassVar[str] = "queue_event"

    ts: datetime
    event: QueueEventKind
    call_id: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)
    event_id: str = field(default_factory=_new_event_id)

    def __post_init__(self) -> None:
        _aware("ts", self.ts)
        object.__setattr__(self, "event", QueueEventKind(self.event))
        if not self.event_id:
            raise ValueError("event_id must not be empty")

    @property
    def record_id(self) -> str:
        return self.event_id


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """A snapshot of one call's summary row, taken at ``as_of``.

    Fields left ``None`` do not erase what an earlier snapshot wrote. When two snapshots
    disagree on a field, the one with the later ``as_of`` wins, whatever order they
    reach the database in (so replays and retries are harmless).
    """

    KIND: ClassVar[str] = "call_record"

    call_id: str
    as_of: datetime
    trunk: str | None = None
    caller_number: str | None = None
    dialled_number: str | None = None
    queue: str | None = None
    arrived_at: datetime | None = None
    queued_at: datetime | None = None
    first_offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    agent_id: str | None = None
    outcome: CallOutcome | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    hangup_by: HangupBy | None = None
    #: Final SIP status sent to the caller (200 answered, 480/486/503 ...).
    caller_sip_code: int | None = None
    #: Final SIP status from the last agent leg offered (200, 486, 408, 480 ...).
    agent_sip_code: int | None = None
    skills_required: Any = field(default=None, hash=False)
    skills_relaxed: Any = field(default=None, hash=False)
    reason: str | None = None

    def __post_init__(self) -> None:
        if not self.call_id:
            raise ValueError("call_id must not be empty")
        for name in _CALL_TIMES:
            _aware(name, getattr(self, name))
        if self.outcome is not None:
            object.__setattr__(self, "outcome", CallOutcome(self.outcome))
        if self.hangup_by is not None:
            object.__setattr__(self, "hangup_by", HangupBy(self.hangup_by))
        for name in ("wait_seconds", "talk_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

    @property
    def record_id(self) -> str:
        return self.call_id


_CALL_TIMES: Final = (
    "as_of",
    "arrived_at",
    "queued_at",
    "first_offered_at",
    "answered_at",
    "ended_at",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChange:
    """One interval of an agent's (status, state): opened with ``ended_at=None``, closed
    by a second record with the same ``change_id`` and ``ended_at`` set."""

    KIND: ClassVar[str] = "agent_state"

    change_id: str
    agent_id: str
    #: What the agent chose (available, paused, logged_out, ...).
    status: str
    #: What the system is doing with them (idle, reserved, ringing, busy, wrapup, ...).
    state: str
    started_at: datetime
    ended_at: datetime | None = None
    reason: str | None = None
    #: Who opened the interval; ``None`` (not given): `current_origin` fills it in, so
    #: after construction it is always set. Only the opening record's is stored.
    source: ChangeSource | None = None
    #: The API token's name (source ``api``) or the agent (``phone``).
    actor: str | None = None

    def __post_init__(self) -> None:
        if not self.change_id or not self.agent_id:
            raise ValueError("change_id and agent_id must not be empty")
        _aware("started_at", self.started_at)
        _aware("ended_at", self.ended_at)
        if self.source is None:
            origin = current_origin(self.agent_id)
            object.__setattr__(self, "source", origin.source)
            if self.actor is None:
                object.__setattr__(self, "actor", origin.actor)
        else:
            object.__setattr__(self, "source", ChangeSource(self.source))

    @property
    def record_id(self) -> str:
        return self.change_id


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationRow:
    """A registrar binding (RFC 3261 section 10), enough for a standby to rebuild it.
    A binding whose ``expires_at`` is not after ``updated_at`` is a removal."""

    KIND: ClassVar[str] = "registration"

    aor: str
    contact: str
    expires_at: datetime
    updated_at: datetime
    source_transport: str | None = None
    source_host: str | None = None
    source_port: int | None = None
    user_agent: str | None = None
    call_id: str | None = None
    cseq: int | None = None
    q: float | None = None

    def __post_init__(self) -> None:
        if not self.aor or not self.contact:
            raise ValueError("aor and contact must not be empty")
        _aware("expires_at", self.expires_at)
        _aware("updated_at", self.updated_at)

    @property
    def record_id(self) -> tuple[str, str]:
        return (self.aor, self.contact)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One state-changing supervisor API request and its outcome (``api_audit``).

    ``actor`` is the token's name, never its secret (``None``: the API is open, no
    tokens configured). ``params`` must be JSON-compatible and free of NUL characters
    (PostgreSQL text cannot hold them): the API sanitises what the client sent.
    """

    KIND: ClassVar[str] = "api_audit"

    ts: datetime
    actor: str | None
    role: str | None
    action: str
    target: str | None
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    result: AuditResult
    status: int
    code: str | None = None
    detail: str | None = None
    audit_id: str = field(default_factory=_new_event_id)

    def __post_init__(self) -> None:
        _aware("ts", self.ts)
        object.__setattr__(self, "result", AuditResult(self.result))
        if not self.audit_id or not self.action:
            raise ValueError("audit_id and action must not be empty")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status, got {self.status}")
        if (self.result is AuditResult.ACCEPTED) != (self.code is None):
            raise ValueError("an accepted action has no code; a refused or failed one has")

    @property
    def record_id(self) -> str:
        return self.audit_id


Record = QueueEvent | CallRecord | AgentStateChange | RegistrationRow | AuditEntry

KINDS: Final[dict[str, type[Record]]] = {
    cls.KIND: cls
    for cls in (QueueEvent, CallRecord, AgentStateChange, RegistrationRow, AuditEntry)
}

_DATETIME_FIELDS: Final[dict[str, frozenset[str]]] = {
    QueueEvent.KIND: frozenset({"ts"}),
    CallRecord.KIND: frozenset(_CALL_TIMES),
    AgentStateChange.KIND: frozenset({"started_at", "ended_at"}),
    RegistrationRow.KIND: frozenset({"expires_at", "updated_at"}),
    AuditEntry.KIND: frozenset({"ts"}),
}


def encode_record(record: Record) -> bytes:
    """One spool line: ``{"v":1,"kind":...,"rec":{...}}`` + ``\\n`` (UTF-8).

    Raises ``TypeError``/``ValueError`` if ``data`` or skills are not JSON-compatible.
    """
    rec: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Mapping):
            value = dict(value)
        rec[f.name] = value
    line = json.dumps(
        {"v": 1, "kind": record.KIND, "rec": rec},
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return line.encode() + b"\n"


def decode_record(line: bytes | str) -> Record:
    """Inverse of ``encode_record``; raises ``ValueError`` on anything malformed."""
    try:
        obj = json.loads(line)
        kind = obj["kind"]
        cls = KINDS[kind]
        rec = dict(obj["rec"])
        if obj.get("v") != 1:
            raise ValueError(f"unknown spool line version {obj.get('v')!r}")
        for name in _DATETIME_FIELDS[kind]:
            if rec.get(name) is not None:
                rec[name] = datetime.fromisoformat(rec[name])
        return cls(**rec)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed spool line: {exc}") from exc
