"""Start-up clean-up of calls and agent intervals left open by a dead process."""

from __future__ import annotations

from typing import Any

from acd.store import (
    AgentStateChange,
    CallOutcome,
    CallRecord,
    HangupBy,
    close_open_agent_states,
    close_orphaned_calls,
)
from acd.store.writes import write_records
from tests.store.util import at


async def test_orphaned_calls_are_closed_once_with_an_event(pool: Any) -> None:
    async with pool.acquire() as conn:
        await write_records(
            conn,
            [
                CallRecord(call_id="open-1", as_of=at(0), queue="general", arrived_at=at(0)),
                CallRecord(
                    call_id="open-2",
                    as_of=at(5),
                    queue="elderly",
                    agent_id="1001",
                    arrived_at=at(1),
                    answered_at=at(5),
                ),
                CallRecord(
                    call_id="done",
                    as_of=at(9),
                    arrived_at=at(2),
                    ended_at=at(9),
                    outcome=CallOutcome.ABANDONED,
                    hangup_by=HangupBy.CALLER,
                ),
            ],
        )
    assert await close_orphaned_calls(pool, at(100)) == ["open-1", "open-2"]
    assert await close_orphaned_calls(pool, at(200)) == []

    rows = {r["call_id"]: r for r in await pool.fetch("SELECT * FROM call_records")}
    for call_id in ("open-1", "open-2"):
        row = rows[call_id]
        assert (row["outcome"], row["reason"], row["hangup_by"]) == ("failed", "restart", "system")
        assert row["ended_at"] == at(100)
    assert rows["done"]["outcome"] == "abandoned" and rows["done"]["ended_at"] == at(9)

    events = await pool.fetch("SELECT * FROM queue_events ORDER BY call_id")
    assert [(e["call_id"], e["event"], e["data"]) for e in events] == [
        ("open-1", "fail", {"reason": "restart"}),
        ("open-2", "fail", {"reason": "restart"}),
    ]
    assert events[1]["queue"] == "elderly" and events[1]["agent_id"] == "1001"


async def test_a_genuine_snapshot_replayed_later_still_wins(pool: Any) -> None:
    async with pool.acquire() as conn:
        await write_records(conn, [CallRecord(call_id="c1", as_of=at(0), arrived_at=at(0))])
    await close_orphaned_calls(pool, at(100))
    truth = CallRecord(
        call_id="c1",
        as_of=at(40),
        ended_at=at(40),
        outcome=CallOutcome.ANSWERED,
        hangup_by=HangupBy.AGENT,
    )
    async with pool.acquire() as conn:
        await write_records(conn, [truth])
    row = await pool.fetchrow("SELECT * FROM call_records")
    assert (row["outcome"], row["ended_at"], row["hangup_by"]) == ("answered", at(40), "agent")


async def test_open_agent_intervals_are_closed(pool: Any) -> None:
    async with pool.acquire() as conn:
        await write_records(
            conn,
            [
                AgentStateChange(
                    change_id="s1",
                    agent_id="1001",
                    status="available",
                    state="busy",
                    started_at=at(0),
                ),
                AgentStateChange(
                    change_id="s2",
                    agent_id="1002",
                    status="paused",
                    state="idle",
                    started_at=at(0),
                    ended_at=at(10),
                    reason="lunch",
                ),
            ],
        )
    assert await close_open_agent_states(pool, at(50)) == 1
    assert await close_open_agent_states(pool, at(60)) == 0
    rows = {r["change_id"]: r for r in await pool.fetch("SELECT * FROM agent_state_history")}
    assert (rows["s1"]["ended_at"], rows["s1"]["reason"]) == (at(50), "restart")
    assert (rows["s2"]["ended_at"], rows["s2"]["reason"]) == (at(10), "lunch")
