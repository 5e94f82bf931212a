"""Migrations: in order, once, under an advisory lock; clear errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from acd.store import (
    MIGRATION_FAILED,
    MIGRATION_MISMATCH,
    STORE_DATABASE_MISSING,
    STORE_UNAVAILABLE,
    Migration,
    StoreError,
    load_migrations,
    migrate,
    migration_status,
)
from tests.pg import PgServer

EXPECTED_TABLES = {
    "schema_migrations",
    "call_records",
    "queue_events",
    "agent_state_history",
    "registrations",
    "api_audit",
}
#: Every shipped migration's version, in order (1, 2, ... n).
ALL = [m.version for m in load_migrations()]


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_applies_once_then_nothing(pg_url: str) -> None:
    assert await migrate(pg_url) == ALL
    assert await migrate(pg_url) == []
    assert await tables(pg_url) >= EXPECTED_TABLES
    status = await migration_status(pg_url)
    assert [(s.version, s.name) for s in status][:2] == [(1, "initial"), (2, "api_audit")]
    assert [s.version for s in status] == ALL
    assert all(s.applied_at is not None for s in status)


async def test_concurrent_migrators_apply_exactly_once(pg_url: str) -> None:
    results = await asyncio.wait_for(
        asyncio.gather(*(migrate(pg_url) for _ in range(3))), timeout=60
    )
    assert sorted(results) == [[], [], ALL]
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(ALL)
    finally:
        await conn.close()


async def test_status_before_migrating_lists_pending(pg_url: str) -> None:
    status = await migration_status(pg_url)
    assert [s.applied_at for s in status] == [None] * len(ALL)


async def test_kpi_indexes_exist(pg_url: str) -> None:
    await migrate(pg_url)
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
    finally:
        await conn.close()
    names = {r["indexname"] for r in rows}
    assert {"queue_events_ts_idx", "queue_events_queue_ts_idx"} <= names
    assert {"call_records_arrived_idx", "call_records_queue_arrived_idx"} <= names


async def test_later_migration_applies_in_order(pg_url: str) -> None:
    base = load_migrations()
    extra = Migration(version=len(base) + 1, name="extra", sql="CREATE TABLE extra (id int)")
    assert await migrate(pg_url, migrations=base) == ALL
    assert await migrate(pg_url, migrations=[*base, extra]) == [len(base) + 1]
    assert "extra" in await tables(pg_url)


async def test_failed_migration_rolls_back_everything(pg_url: str) -> None:
    broken = Migration(version=len(ALL) + 1, name="broken",
                       sql="CREATE TABLE x (id int); SELEC 1")
    with pytest.raises(StoreError) as info:
        await migrate(pg_url, migrations=[*load_migrations(), broken])
    assert info.value.code == MIGRATION_FAILED
    assert broken.filename in info.value.message
    assert await tables(pg_url) == set()


async def test_edited_applied_migration_is_refused(pg_url: str) -> None:
    await migrate(pg_url)
    first = load_migrations()[0]
    edited = Migration(version=1, name=first.name, sql=first.sql + "\n-- edited\n")
    with pytest.raises(StoreError) as info:
        await migrate(pg_url, migrations=[edited])
    assert info.value.code == MIGRATION_MISMATCH


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (["0001_a.sql", "0003_c.sql"], "without gaps"),
        (["0002_b.sql"], "without gaps"),
        (["1_a.sql"], "NNNN_name.sql"),
    ],
)
def test_misnumbered_files_are_refused(tmp_path: Path, names: list[str], fragment: str) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(StoreError) as info:
        load_migrations(tmp_path)
    assert info.value.code == MIGRATION_MISMATCH
    assert fragment in info.value.message


async def test_unreachable_server_is_one_line_store_unavailable() -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    with pytest.raises(StoreError) as info:
        await migrate("postgresql://postgres:secret@127.0.0.1:9/x", connect_timeout=3)
    assert info.value.code == STORE_UNAVAILABLE
    assert "\n" not in str(info.value)
    assert "secret" not in str(info.value)
    assert "127.0.0.1:9/x" in str(info.value)


async def test_missing_database_is_named(pg_server: PgServer) -> None:
    with pytest.raises(StoreError) as info:
        await migrate(pg_server.url("acd_no_such_database"))
    assert info.value.code == STORE_DATABASE_MISSING
