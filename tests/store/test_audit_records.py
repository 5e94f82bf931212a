"""Migration 0002: the API audit record and the origin of agent intervals."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from acd.store import load_migrations, migrate
from acd.store.records import (
    AgentStateChange,
    AuditEntry,
    AuditResult,
    ChangeSource,
    change_origin,
    decode_record,
    encode_record,
)
from acd.store.writes import write_records
from tests.store.util import at


def entry(**changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "audit_id": "au1", "ts": at(0), "actor": "supervisors", "role": "admin",
        "action": "POST /api/v1/agents/{agent_id}/pause", "target": "1001",
        "params": {"reason": "午饭"}, "result": AuditResult.ACCEPTED, "status": 200,
    }
    values.update(changes)
    return AuditEntry(**values)


def interval(change_id: str = "a1", agent_id: str = "1001", **changes: Any) -> AgentStateChange:
    return AgentStateChange(change_id=change_id, agent_id=agent_id, status="paused",
                            state="idle", started_at=at(0), reason="lunch", **changes)


def test_audit_entry_spool_round_trip() -> None:
    refused = entry(result="refused", status=409, code="invalid_transition", detail="no")
    assert refused.result is AuditResult.REFUSED
    for record in (entry(), refused):
        assert decode_record(encode_record(record)) == record


@pytest.mark.parametrize(
    "changes",
    [
        {"result": "maybe"},
        {"status": 42},
        {"code": "unknown_agent"},  # accepted with a code
        {"result": "refused", "status": 404},  # refused without one
        {"action": ""},
        {"ts": at(0).replace(tzinfo=None)},
    ],
)
def test_invalid_audit_entries_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        entry(**changes)


def test_interval_origin_comes_from_the_context() -> None:
    assert (interval().source, interval().actor) == (ChangeSource.SYSTEM, None)
    with change_origin(ChangeSource.API, "supervisors", agent_id="1001"):
        own, other = interval(agent_id="1001"), interval(agent_id="1002")
        explicit = interval(source="phone", actor="1001")
    assert (own.source, own.actor) == (ChangeSource.API, "supervisors")
    assert (other.source, other.actor) == (ChangeSource.SYSTEM, None)
    assert (explicit.source, explicit.actor) == (ChangeSource.PHONE, "1001")
    assert interval().source is ChangeSource.SYSTEM  # the block is over
    with change_origin(ChangeSource.API, None):  # no agent given: every agent's
        assert interval(agent_id="1002").source is ChangeSource.API
    assert decode_record(encode_record(own)) == own


async def test_audit_and_origin_are_written_once(pool: Any) -> None:
    refused = entry(audit_id="au2", result="refused", status=404, code="unknown_agent",
                    target="9999", params={})
    with change_origin(ChangeSource.API, "supervisors", agent_id="1001"):
        opened = interval()
    closed = interval(ended_at=at(60))  # built outside: system; must not overwrite
    async with pool.acquire() as conn:
        await write_records(conn, [opened, entry(), refused])
        await write_records(conn, [closed, entry(), refused])  # a replay: nothing new
    rows = await pool.fetch("SELECT * FROM api_audit ORDER BY id")
    assert [(r["audit_id"], r["result"], r["status"], r["code"]) for r in rows] == [
        ("au1", "accepted", 200, None), ("au2", "refused", 404, "unknown_agent")]
    assert rows[0]["params"] == {"reason": "午饭"}
    assert (rows[0]["actor"], rows[0]["role"], rows[0]["target"]) == (
        "supervisors", "admin", "1001")
    state = await pool.fetchrow("SELECT * FROM agent_state_history")
    assert (state["source"], state["actor"], state["ended_at"]) == ("api", "supervisors", at(60))


async def test_0002_keeps_old_intervals_unattributed(pg_url: str) -> None:
    first = load_migrations()[:1]
    assert await migrate(pg_url, migrations=first) == [1]
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(
            "INSERT INTO agent_state_history (change_id, agent_id, status, state, started_at)"
            " VALUES ('old', '1001', 'available', 'idle', $1)", at(0))
        assert 2 in await migrate(pg_url)
        old = await conn.fetchrow("SELECT source, actor FROM agent_state_history")
        assert (old["source"], old["actor"]) == (None, None)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO agent_state_history (change_id, agent_id, status, state,"
                " started_at, source) VALUES ('new', '1001', 'available', 'idle', $1, 'fax')",
                at(1))
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO api_audit (audit_id, ts, action, result, status)"
                " VALUES ('x', $1, 'POST /x', 'refused', 409)", at(0))  # refused, no code
    finally:
        await conn.close()
