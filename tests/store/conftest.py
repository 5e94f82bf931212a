"""Fixtures for the store tests: a fresh migrated database per test and a pool on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from acd.store import init_connection, load_migrations, migrate
from tests import pg

# The shared PostgreSQL fixtures (see tests/pg.py).
pg_server = pg.pg_server
pg_url = pg.pg_url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.pg)


@pytest.fixture
async def migrated_url(pg_url: str) -> str:
    assert await migrate(pg_url) == [m.version for m in load_migrations()]
    return pg_url


@pytest.fixture
async def pool(migrated_url: str) -> AsyncIterator[Any]:
    p = await asyncpg.create_pool(migrated_url, min_size=1, max_size=4, init=init_connection)
    try:
        yield p
    finally:
        try:
            # A test that fails before closing its Journal leaves the writer's connection
            # checked out: don't wait for it.
            await asyncio.wait_for(p.close(), 10)
        except TimeoutError:
            p.terminate()


@pytest.fixture(autouse=True)
async def fail_on_orphaned_task_errors() -> AsyncIterator[None]:
    """An exception in a task nobody awaited fails the test instead of vanishing."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    loop.set_exception_handler(previous)
    assert not errors, f"unhandled errors in background tasks: {errors}"
