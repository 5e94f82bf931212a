"""Journal: batching, order, idempotency, overflow spill, poison records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from acd.store import (
    JOURNAL_CLOSED,
    AgentStateChange,
    CallOutcome,
    CallRecord,
    HangupBy,
    Journal,
    QueueEvent,
    QueueEventKind,
    StoreError,
)
from acd.store.writes import write_records
from tests.store.util import at, event_numbers, events

BOUND = 30  # seconds: every wait in these tests is bounded


async def test_writes_and_reads_back_in_order(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool", batch_size=7)
    await journal.start()
    seqs = [journal.submit(e) for e in events(1, 100)]
    assert seqs == list(range(1, 101))
    async with asyncio.timeout(BOUND):
        await journal.flush()
    assert await event_numbers(pool) == list(range(1, 101))
    health = journal.health()
    assert health.durable == health.submitted == 100
    assert health.spool_depth == 0 and health.queue_depth == 0
    assert health.database_ok and health.is_writable_or_spooling
    assert health.last_write_latency is not None and health.last_write_latency >= 0
    await journal.close()


async def test_submit_returns_before_anything_is_written(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool")
    await journal.start()
    seq = journal.submit(events(1, 1)[0])
    # No await since submit: the writer task cannot have run.
    assert journal.health().durable < seq
    assert await pool.fetchval("SELECT count(*) FROM queue_events") == 0
    async with asyncio.timeout(BOUND):
        await journal.wait_durable(seq)
    assert await pool.fetchval("SELECT count(*) FROM queue_events") == 1
    await journal.close()


async def test_same_records_twice_make_one_row_each(pool: Any) -> None:
    batch = [
        *events(1, 5),
        CallRecord(call_id="c1", as_of=at(0), queue="q12345", arrived_at=at(0)),
        AgentStateChange(
            change_id="a1", agent_id="1001", status="available", state="idle", started_at=at(0)
        ),
    ]
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction():
            await write_records(conn, batch)
    assert await event_numbers(pool) == [1, 2, 3, 4, 5]
    assert await pool.fetchval("SELECT count(*) FROM call_records") == 1
    assert await pool.fetchval("SELECT count(*) FROM agent_state_history") == 1


async def test_call_record_snapshots_merge_whatever_the_order(pool: Any) -> None:
    early = CallRecord(
        call_id="c9",
        as_of=at(0),
        trunk="pbx1",
        caller_number="13800000000",
        dialled_number="12345",
        queue="general",
        arrived_at=at(0),
        queued_at=at(1),
        skills_required={"mandarin": 5},
    )
    late = CallRecord(
        call_id="c9",
        as_of=at(60),
        queue="overflow",  # changed: the later snapshot must win
        answered_at=at(12),
        ended_at=at(60),
        agent_id="1001",
        outcome=CallOutcome.ANSWERED,
        wait_seconds=11.5,
        talk_seconds=48.0,
        hangup_by=HangupBy.CALLER,
        caller_sip_code=200,
        agent_sip_code=200,
        skills_relaxed={"mandarin": 3},
    )
    for order in ([early, late], [late, early], [late, early, late, early]):
        await pool.execute("DELETE FROM call_records")
        for record in order:
            async with pool.acquire() as conn:
                await write_records(conn, [record])
        row = await pool.fetchrow("SELECT * FROM call_records WHERE call_id = 'c9'")
        assert row["queue"] == "overflow"
        assert row["trunk"] == "pbx1" and row["caller_number"] == "13800000000"
        assert row["arrived_at"] == at(0) and row["ended_at"] == at(60)
        assert row["outcome"] == "answered" and row["hangup_by"] == "caller"
        assert row["wait_seconds"] == 11.5 and row["talk_seconds"] == 48.0
        assert row["skills_required"] == {"mandarin": 5}
        assert row["skills_relaxed"] == {"mandarin": 3}
        assert row["as_of"] == at(60)


async def test_agent_interval_is_closed_by_a_second_record(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool")
    await journal.start()
    opened = AgentStateChange(
        change_id="a7",
        agent_id="1001",
        status="paused",
        state="idle",
        started_at=at(0),
        reason="lunch",
    )
    journal.submit(opened)
    journal.submit(
        AgentStateChange(
            change_id="a7",
            agent_id="1001",
            status="paused",
            state="idle",
            started_at=at(0),
            ended_at=at(1800),
        )
    )
    journal.submit(opened)  # a late replay of the opening changes nothing
    async with asyncio.timeout(BOUND):
        await journal.close()
    row = await pool.fetchrow("SELECT * FROM agent_state_history")
    assert (row["reason"], row["started_at"], row["ended_at"]) == ("lunch", at(0), at(1800))


async def test_full_queue_spills_to_spool_and_keeps_order(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool", max_queue=10, batch_size=4)
    await journal.start()
    # No await between submits: the writer cannot drain, so the bound is hit.
    for e in events(1, 95):
        journal.submit(e)
    health = journal.health()
    assert health.queue_depth <= 10
    assert health.spool_depth >= 85
    async with asyncio.timeout(BOUND):
        await journal.flush()
        await journal.wait_until(lambda h: h.spool_depth == 0 and h.queue_depth == 0)
    assert await event_numbers(pool) == list(range(1, 96))
    assert list((tmp_path / "spool").glob("spool-*.jsonl")) == []
    await journal.close()


async def test_spill_while_a_batch_is_in_flight_keeps_order(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool", max_queue=5, batch_size=5)
    await journal.start()
    for e in events(1, 5):
        journal.submit(e)
    # Let the writer take the batch and start its transaction, then overflow.
    async with asyncio.timeout(BOUND):
        await journal.wait_until(lambda h: h.in_flight == 5)
    for e in events(6, 40):
        journal.submit(e)
    async with asyncio.timeout(BOUND):
        await journal.flush()
        await journal.wait_until(lambda h: h.spool_depth == 0)
    assert await event_numbers(pool) == list(range(1, 41))
    await journal.close()


async def test_bad_record_is_rejected_to_file_others_written(pool: Any, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    journal = Journal(pool, spool)
    await journal.start()
    good = events(1, 3)
    bad = CallRecord(call_id="bad", as_of=at(0), caller_sip_code=999)  # violates CHECK
    for record in (good[0], bad, good[1], good[2]):
        journal.submit(record)
    async with asyncio.timeout(BOUND):
        await journal.flush()
    assert await event_numbers(pool) == [1, 2, 3]
    assert await pool.fetchval("SELECT count(*) FROM call_records") == 0
    health = journal.health()
    assert health.rejected == 1 and health.database_ok
    (line,) = (spool / "rejected.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert "CheckViolation" in entry["error"]
    assert json.loads(entry["line"])["rec"]["call_id"] == "bad"
    await journal.close()


async def test_close_drains_and_refuses_more(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool")
    await journal.start()
    for e in events(1, 50):
        journal.submit(e)
    async with asyncio.timeout(BOUND):
        await journal.close()
    assert await event_numbers(pool) == list(range(1, 51))
    with pytest.raises(StoreError) as info:
        journal.submit(events(51, 51)[0])
    assert info.value.code == JOURNAL_CLOSED
    await journal.close()  # idempotent


def test_unencodable_data_is_refused_at_submit(tmp_path: Path) -> None:
    journal = Journal(None, tmp_path / "spool")
    with pytest.raises(TypeError):
        journal.submit(QueueEvent(ts=at(0), event=QueueEventKind.ENTER, data={"x": object()}))
    assert journal.health().submitted == 0


def test_non_finite_number_is_refused_at_submit(tmp_path: Path) -> None:
    journal = Journal(None, tmp_path / "spool")
    with pytest.raises(ValueError):
        journal.submit(CallRecord(call_id="c1", as_of=at(0), wait_seconds=float("nan")))
    with pytest.raises(TypeError):
        journal.submit(CallRecord(call_id="c1", as_of=at(0), agent_id=object()))  # type: ignore[arg-type]
    assert journal.health().submitted == 0


async def test_spool_keeps_data_as_submitted(tmp_path: Path) -> None:
    """The spool line is built only when a record goes to the spool, yet it holds the
    record as submitted, like the database would, even if the caller's dict changed."""
    spool = tmp_path / "spool"
    journal = Journal(None, spool)  # no database: everything is spooled
    await journal.start()
    changed, broken = ({"n": 1}, {"n": 2})
    journal.submit(QueueEvent(event_id="e1", ts=at(1), event=QueueEventKind.ENTER, data=changed))
    journal.submit(QueueEvent(event_id="e2", ts=at(2), event=QueueEventKind.ENTER, data=broken))
    changed["n"] = 99
    broken["x"] = object()  # would not even encode now
    async with asyncio.timeout(BOUND):
        await journal.close()
    lines = b"".join(p.read_bytes() for p in sorted(spool.glob("spool-*.jsonl")))
    datas = [json.loads(line)["rec"]["data"] for line in lines.splitlines()]
    assert datas == [{"n": 1}, {"n": 2}]


async def test_writer_holds_one_connection_and_returns_it(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool", batch_interval=0)
    await journal.start()
    for first in (1, 11, 21):
        for e in events(first, first + 9):
            journal.submit(e)
        async with asyncio.timeout(BOUND):
            await journal.flush()
        # Between batches the writer keeps its connection instead of releasing it.
        assert pool.get_size() - pool.get_idle_size() == 1
    await journal.close()
    assert pool.get_idle_size() == pool.get_size()  # given back: pool.close() won't wait
    assert await event_numbers(pool) == list(range(1, 31))


async def test_writer_connection_killed_between_batches(pool: Any, tmp_path: Path) -> None:
    """The server ends the writer's session (restart, idle timeout, pg_terminate_backend):
    the writer gets a new connection; nothing lost, order kept."""
    journal = Journal(pool, tmp_path / "spool", retry_initial=0.05, retry_max=0.2)
    await journal.start()
    async with asyncio.timeout(BOUND):
        for e in events(1, 10):
            journal.submit(e)
        await journal.flush()
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert killed >= 1  # the writer's session
        for e in events(11, 30):
            journal.submit(e)
        await journal.flush()
        await journal.wait_until(
            lambda h: h.database_ok and h.spool_depth == 0 and h.queue_depth == 0
        )
    assert await event_numbers(pool) == list(range(1, 31))
    await journal.close()


async def test_under_load_batches_wait_for_the_interval(pool: Any, tmp_path: Path) -> None:
    """After a transaction, records that keep coming wait for ``batch_interval`` (one
    larger transaction instead of many); a waiter and ``close()`` do not wait for it."""
    journal = Journal(pool, tmp_path / "spool", coalesce=0, batch_interval=3600)
    try:
        await journal.start()
        first = journal.submit(events(1, 1)[0])
        async with asyncio.timeout(BOUND):
            await journal.wait_durable(first)
        for e in events(2, 5):
            last = journal.submit(e)
        for _ in range(20):  # let the writer run: it must hold the batch back
            await asyncio.sleep(0)
        assert journal.health().durable == first, journal.health()
        async with asyncio.timeout(BOUND):  # far less than the hour
            await journal.wait_durable(last)
        assert await event_numbers(pool) == [1, 2, 3, 4, 5]
        journal.submit(events(6, 6)[0])
    finally:
        async with asyncio.timeout(BOUND):
            await journal.close()
    assert await event_numbers(pool) == [1, 2, 3, 4, 5, 6]
