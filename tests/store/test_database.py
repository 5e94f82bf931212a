"""Database resolution: URL from environment or configuration, else embedded pgserver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from acd.store import (
    STORE_AUTH_FAILED,
    STORE_UNAVAILABLE,
    Database,
    StoreError,
    describe_target,
    load_migrations,
    migrate,
    resolve_database_url,
)
from tests.pg import PgServer


@pytest.mark.parametrize(
    ("env", "config", "expected"),
    [
        ({"ACD_DATABASE_URL": "postgresql://e/x"}, "postgresql://c/y", "postgresql://e/x"),
        ({"ACD_DATABASE_URL": "  "}, "postgresql://c/y", "postgresql://c/y"),
        ({}, "postgresql://c/y", "postgresql://c/y"),
        ({}, "", None),
        ({}, None, None),
    ],
)
def test_resolution_order(env: dict[str, str], config: str | None, expected: str | None) -> None:
    assert resolve_database_url(config, env) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://acd:s3cret@db.example:6432/acd", "db.example:6432/acd"),
        ("postgresql://postgres:@/acd?host=/tmp/pg", "/tmp/pg/acd"),
        ("postgres://localhost", "localhost:5432/postgres"),
    ],
)
def test_targets_never_show_passwords(url: str, shown: str) -> None:
    assert describe_target(url) == shown


async def test_configured_server_pool_decodes_json(migrated_url: str) -> None:
    async with Database(migrated_url, env={}) as db:
        assert not db.embedded
        assert await db.pool.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}


async def test_unreachable_server_is_a_one_line_error() -> None:
    db = Database("postgresql://acd:pw@127.0.0.1:9/acd", env={}, connect_timeout=3)
    with pytest.raises(StoreError) as info:
        await db.start()
    assert info.value.code == STORE_UNAVAILABLE
    assert str(info.value) == (
        "store_unavailable: cannot reach PostgreSQL at 127.0.0.1:9/acd (connection refused)"
    )


async def test_unknown_role_is_auth_failed(pg_server: PgServer) -> None:
    if pg_server.embedded:
        url = pg_server.admin_url.replace("postgres:@", "nobody_here:@")
    else:
        url = pg_server.admin_url.replace("postgres@", "nobody_here@")
    with pytest.raises(StoreError) as info:
        await Database(url, env={}).start()
    assert info.value.code == STORE_AUTH_FAILED


@dataclass
class FakeSettings:  # the shape of config.sections.DatabaseSettings
    url: SecretStr | None
    data_dir: Path


async def test_embedded_server_started_and_stopped(tmp_path: Path) -> None:
    settings = FakeSettings(url=None, data_dir=tmp_path / "var" / "pg")
    db = Database.from_settings(settings, env={})
    assert db.embedded
    async with asyncio.timeout(60):
        await db.start()
        try:
            assert urlsplit(db.url).path == "/acd"
            assert await migrate(db.url) == [m.version for m in load_migrations()]
            assert await db.pool.fetchval("SELECT count(*) FROM call_records") == 0
            pid_file = settings.data_dir / "postmaster.pid"
            assert pid_file.exists()
        finally:
            await db.close()
    assert not pid_file.exists()  # stopped on shutdown


def test_settings_url_secret_is_unwrapped(tmp_path: Path) -> None:
    settings = FakeSettings(url=SecretStr("postgresql://h/acd"), data_dir=tmp_path)
    db = Database.from_settings(settings, env={})
    assert not db.embedded
