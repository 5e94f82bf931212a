"""Idempotent SQL for each record type, shared by the journal and direct callers.

Every statement can run any number of times with the same record and leave the same
row: ``queue_events`` inserts ``ON CONFLICT (event_id) DO NOTHING``; the other tables
upsert by their natural key and merge (see each statement). JSON parameters are passed
as ``$n::text::jsonb`` so the statements work with or without a jsonb codec.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from acd.store.records import (
    AgentStateChange,
    AuditEntry,
    CallRecord,
    QueueEvent,
    Record,
    RegistrationRow,
)

__all__ = ["is_poison", "write_records"]


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


INSERT_QUEUE_EVENT: Final = """
INSERT INTO queue_events (event_id, ts, call_id, queue, agent_id, event, data)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""

_CALL_COLUMNS: Final = (
    "trunk",
    "caller_number",
    "dialled_number",
    "queue",
    "arrived_at",
    "queued_at",
    "first_offered_at",
    "answered_at",
    "ended_at",
    "agent_id",
    "outcome",
    "wait_seconds",
    "talk_seconds",
    "hangup_by",
    "caller_sip_code",
    "agent_sip_code",
    "skills_required",
    "skills_relaxed",
    "reason",
)
_CALL_JSON: Final = frozenset({"skills_required", "skills_relaxed"})


def _call_upsert() -> str:
    columns = ("call_id", "as_of", *_CALL_COLUMNS)
    values = ", ".join(
        f"${i}::text::jsonb" if name in _CALL_JSON else f"${i}"
        for i, name in enumerate(columns, start=1)
    )
    # Merge rule: a field the newer snapshot leaves NULL keeps the stored value; where
    # both have a value, the snapshot with the later as_of wins. Commutative and
    # idempotent, so replay order and repetition do not matter.
    merges = ",\n    ".join(
        f"{name} = CASE WHEN EXCLUDED.as_of >= c.as_of"
        f" THEN COALESCE(EXCLUDED.{name}, c.{name})"
        f" ELSE COALESCE(c.{name}, EXCLUDED.{name}) END"
        for name in _CALL_COLUMNS
    )
    return (
        f"INSERT INTO call_records AS c ({', '.join(columns)})\nVALUES ({values})\n"
        f"ON CONFLICT (call_id) DO UPDATE SET\n    {merges},\n"
        "    as_of = GREATEST(c.as_of, EXCLUDED.as_of)"
    )


UPSERT_CALL_RECORD: Final = _call_upsert()

# An interval is opened once and closed once: the first ended_at written wins; source
# and actor are the opening record's (the first written).
UPSERT_AGENT_STATE: Final = """
INSERT INTO agent_state_history AS h
    (change_id, agent_id, status, state, reason, started_at, ended_at, source, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (change_id) DO UPDATE SET
    ended_at = COALESCE(h.ended_at, EXCLUDED.ended_at),
    reason = COALESCE(h.reason, EXCLUDED.reason)
"""

# The binding with the newest updated_at wins; an older replay changes nothing.
UPSERT_REGISTRATION: Final = """
INSERT INTO registrations AS r
    (aor, contact, source_transport, source_host, source_port, user_agent,
     call_id, cseq, expires_at, q, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (aor, contact) DO UPDATE SET
    source_transport = EXCLUDED.source_transport,
    source_host = EXCLUDED.source_host,
    source_port = EXCLUDED.source_port,
    user_agent = EXCLUDED.user_agent,
    call_id = EXCLUDED.call_id,
    cseq = EXCLUDED.cseq,
    expires_at = EXCLUDED.expires_at,
    q = EXCLUDED.q,
    updated_at = EXCLUDED.updated_at
WHERE r.updated_at <= EXCLUDED.updated_at
"""


# The API audit trail: append-only, one row per audit_id.
INSERT_AUDIT: Final = """
INSERT INTO api_audit
    (audit_id, ts, actor, role, action, target, params, result, status, code, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11)
ON CONFLICT (audit_id) DO NOTHING
"""


def queue_event_args(r: QueueEvent) -> tuple[Any, ...]:
    return (r.event_id, r.ts, r.call_id, r.queue, r.agent_id, r.event.value, _json(r.data))


def call_record_args(r: CallRecord) -> tuple[Any, ...]:
    out: list[Any] = [r.call_id, r.as_of]
    for name in _CALL_COLUMNS:
        value = getattr(r, name)
        if name in _CALL_JSON:
            value = _json(value)
        elif hasattr(value, "value"):  # StrEnum
            value = value.value
        out.append(value)
    return tuple(out)


def agent_state_args(r: AgentStateChange) -> tuple[Any, ...]:
    source = None if r.source is None else r.source.value
    return (r.change_id, r.agent_id, r.status, r.state, r.reason, r.started_at, r.ended_at,
            source, r.actor)


def audit_args(r: AuditEntry) -> tuple[Any, ...]:
    return (r.audit_id, r.ts, r.actor, r.role, r.action, r.target, _json(r.params),
            r.result.value, r.status, r.code, r.detail)


def registration_args(r: RegistrationRow) -> tuple[Any, ...]:
    return (
        r.aor,
        r.contact,
        r.source_transport,
        r.source_host,
        r.source_port,
        r.user_agent,
        r.call_id,
        r.cseq,
        r.expires_at,
        r.q,
        r.updated_at,
    )


async def write_records(conn: Any, records: Sequence[Record]) -> None:
    """Write ``records`` on ``conn`` (call inside a transaction for atomicity).

    Queue events keep their relative order (their ``id`` follows it); tables are written
    one after another with ``executemany`` (pipelined: one round trip per table).
    """
    events: list[tuple[Any, ...]] = []
    calls: list[tuple[Any, ...]] = []
    states: list[tuple[Any, ...]] = []
    bindings: list[tuple[Any, ...]] = []
    audits: list[tuple[Any, ...]] = []
    for r in records:
        if isinstance(r, QueueEvent):
            events.append(queue_event_args(r))
        elif isinstance(r, CallRecord):
            calls.append(call_record_args(r))
        elif isinstance(r, AgentStateChange):
            states.append(agent_state_args(r))
        elif isinstance(r, RegistrationRow):
            bindings.append(registration_args(r))
        elif isinstance(r, AuditEntry):
            audits.append(audit_args(r))
        else:  # pragma: no cover - guarded by the Record union
            raise TypeError(f"not a store record: {type(r).__name__}")
    if events:
        await conn.executemany(INSERT_QUEUE_EVENT, events)
    if calls:
        await conn.executemany(UPSERT_CALL_RECORD, calls)
    if states:
        await conn.executemany(UPSERT_AGENT_STATE, states)
    if bindings:
        await conn.executemany(UPSERT_REGISTRATION, bindings)
    if audits:
        await conn.executemany(INSERT_AUDIT, audits)


def is_poison(exc: BaseException) -> bool:
    """True when the records themselves are bad (retrying cannot help): SQLSTATE classes
    22 (data exception) and 23 (integrity, e.g. a CHECK), or a client-side encoding error.
    Anything else -- connection loss, a missing table, a timeout -- is worth retrying."""
    import asyncpg  # type: ignore[import-untyped]
    from asyncpg.exceptions import _base  # type: ignore[import-untyped]

    return isinstance(
        exc,
        asyncpg.exceptions.DataError
        | asyncpg.exceptions.IntegrityConstraintViolationError
        | _base.DataError
        | TypeError,
    )
