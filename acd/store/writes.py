"""Idempotent SQL for each record type, shared by the journal and direct callers.

Every statement can run any number of times with the same record and leave the same
row: ``queue_events`` inserts ``ON CONFLICT (event_id) DO NOTHING``; the other tables
upsert by their natural key and merge (see each statement). JSON parameters are passed
as ``$n::text::jsonb`` so the statements work with or without a jsonb codec.

``prepare(record)`` turns a record into its statement and parameters once (the journal
does it at ``submit``, which is also where bad JSON is refused); ``write_prepared`` groups
them into one ``executemany`` per table.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from acd.store.records import (
    AgentStateChange,
    AuditEntry,
    CallRecord,
    QueueEvent,
    Record,
    RegistrationRow,
)

__all__ = [
    "Prepared",
    "is_poison",
    "prepare",
    "submitted_json",
    "write_prepared",
    "write_records",
]


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json(value: Any) -> str | None:
    """JSON text for a ``jsonb`` parameter; ``TypeError``/``ValueError`` if it has none."""
    if value is None:
        return None
    if not isinstance(value, dict) and isinstance(value, Mapping):
        value = dict(value)  # as records.encode_record does
    return _ENCODER.encode(value)


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


_call_values: Final = operator.attrgetter("call_id", "as_of", *_CALL_COLUMNS)
# Parameter positions (0-based) of the jsonb columns and the StrEnum ones.
_CALL_JSON_AT: Final = tuple(i + 2 for i, n in enumerate(_CALL_COLUMNS) if n in _CALL_JSON)
_CALL_ENUM_AT: Final = tuple(
    i + 2 for i, n in enumerate(_CALL_COLUMNS) if n in ("outcome", "hangup_by")
)


def call_record_args(r: CallRecord) -> tuple[Any, ...]:
    out = list(_call_values(r))
    for i in _CALL_JSON_AT:
        out[i] = _json(out[i])
    for i in _CALL_ENUM_AT:
        if out[i] is not None:
            out[i] = out[i].value
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


#: One record for the database: the index of its statement in ``STATEMENTS`` and its
#: parameters (JSON already encoded).
Prepared = tuple[int, tuple[Any, ...]]

#: In the order ``write_prepared`` runs them.
STATEMENTS: Final = (
    INSERT_QUEUE_EVENT,
    UPSERT_CALL_RECORD,
    UPSERT_AGENT_STATE,
    UPSERT_REGISTRATION,
    INSERT_AUDIT,
)
_PREPARE: Final[dict[type, tuple[int, Callable[[Any], tuple[Any, ...]]]]] = {
    QueueEvent: (0, queue_event_args),
    CallRecord: (1, call_record_args),
    AgentStateChange: (2, agent_state_args),
    RegistrationRow: (3, registration_args),
    AuditEntry: (4, audit_args),
}
_SCALARS: Final = frozenset({str, int, bool, datetime, type(None)})
#: Per statement: the record's JSON fields and their parameter positions.
_JSON_AT: Final[tuple[dict[str, int], ...]] = (
    {"data": 6},
    {name: 2 + _CALL_COLUMNS.index(name) for name in sorted(_CALL_JSON)},
    {},
    {},
    {"params": 6},
)


def prepare(record: Record) -> Prepared:
    """``record``'s statement and parameters.

    Raises ``TypeError``/``ValueError`` when the record could not be written to the
    database or to the spool: JSON fields that do not encode, a parameter that is not a
    JSON scalar (str, int, finite float, bool, None) or a datetime.
    """
    try:
        index, build = _PREPARE[type(record)]
    except KeyError:
        raise TypeError(f"not a store record: {type(record).__name__}") from None
    args = build(record)
    for value in args:
        if type(value) in _SCALARS:
            continue
        if type(value) is float:
            if not math.isfinite(value):
                raise ValueError(f"{type(record).__name__}: {value} is not a finite number")
        elif not isinstance(value, str | int | datetime):  # str/int subclasses (enums)
            raise TypeError(f"{type(record).__name__}: cannot store {type(value).__name__}")
    return index, args


def submitted_json(row: Prepared) -> dict[str, Any]:
    """The JSON fields of a prepared record, decoded again: what was submitted."""
    index, args = row
    return {
        name: None if args[at] is None else json.loads(args[at])
        for name, at in _JSON_AT[index].items()
    }


async def write_prepared(conn: Any, rows: Sequence[Prepared]) -> None:
    """Write prepared records on ``conn`` (call inside a transaction for atomicity).

    One ``executemany`` per table (pipelined: one round trip each), rows in their order
    within a table: queue events keep their relative order (their ``id`` follows it) and
    snapshots of one call merge in submission order.
    """
    groups: list[list[tuple[Any, ...]]] = [[] for _ in STATEMENTS]
    for index, args in rows:
        groups[index].append(args)
    for statement, params in zip(STATEMENTS, groups, strict=True):
        if params:
            await conn.executemany(statement, params)


async def write_records(conn: Any, records: Sequence[Record]) -> None:
    """``write_prepared`` for records (call inside a transaction for atomicity)."""
    await write_prepared(conn, [prepare(r) for r in records])


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
