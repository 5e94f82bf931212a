"""PostgreSQL for tests: the real server at 127.0.0.1:5432 (database ``test``, trust
auth) when it answers, else an embedded pgserver started in a temporary directory.

Each test gets its own freshly created, uniquely named database, dropped afterwards.
To use from any test package, bind the fixtures in that package's conftest::

    from tests import pg

    pg_server = pg.pg_server
    pg_url = pg.pg_url

``pg_server`` (session) is a ``PgServer``; ``pg_url`` (function) is the URL of an empty
database. ``ACD_TEST_PG_URL`` overrides the server probed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

__all__ = [
    "PgServer",
    "create_database",
    "drop_database",
    "fresh_database",
    "pg_server",
    "pg_url",
    "start_pgserver",
    "start_server",
]

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
T = TypeVar("T")


def _in_thread(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private loop in a thread: safe to call from
    synchronous fixtures whatever loop pytest-asyncio has set up."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(fn()))  # type: ignore[arg-type]
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="tests-pg")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@dataclass
class PgServer:
    """A server tests may create databases on."""

    admin_url: str
    embedded: bool
    prefix: str = field(default_factory=lambda: f"acd_t{os.getpid()}_{uuid.uuid4().hex[:6]}")
    handle: Any = None  # the pgserver handle when embedded

    def url(self, database: str) -> str:
        return with_database(self.admin_url, database)


def start_pgserver(data_dir: Path) -> Any:
    """A dedicated embedded server in ``data_dir`` (blocking, ~1 s). ``.get_uri()``,
    ``.cleanup()`` stops it; ``start_pgserver`` on the same dir starts it again."""
    from pgserver.postgres_server import get_server

    return get_server(data_dir, cleanup_mode="stop")


def start_server(tmp_root: Path | None = None) -> PgServer:
    url = os.environ.get("ACD_TEST_PG_URL", DEFAULT_URL)

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=3)
        await conn.close()

    try:
        _in_thread(probe)
        return PgServer(admin_url=url, embedded=False)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        pass
    root = Path(tempfile.mkdtemp(prefix="acd-pg-", dir=tmp_root))
    handle = start_pgserver(root / "data")
    return PgServer(admin_url=handle.get_uri(), embedded=True, handle=handle)


def stop_server(server: PgServer) -> None:
    async def drop_leftovers() -> None:
        conn = await asyncpg.connect(server.admin_url, timeout=5)
        try:
            names = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", server.prefix + "%"
            )
            for row in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        _in_thread(drop_leftovers)
    finally:
        if server.handle is not None:
            server.handle.cleanup()


async def create_database(server: PgServer) -> str:
    name = f"{server.prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server.admin_url, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.url(name)


async def drop_database(server: PgServer, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(server.admin_url, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fresh_database(server: PgServer) -> AsyncIterator[str]:
    url = await create_database(server)
    try:
        yield url
    finally:
        await drop_database(server, url)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    server = start_server(tmp_path_factory.getbasetemp())
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    async with fresh_database(pg_server) as url:
        yield url
