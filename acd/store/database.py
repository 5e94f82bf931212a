"""Which PostgreSQL to use, and one asyncpg pool to it.

Resolution (first non-empty wins):

1. ``ACD_DATABASE_URL`` in the environment;
2. ``database.url`` from the configuration;
3. neither: an embedded server (pgserver) in ``database.data_dir`` (default ``./var/pg``),
   started on demand by ``Database.start()`` and stopped by ``Database.close()``.

Connection failures become one-line ``StoreError``s with stable codes
(``store_unavailable``, ``store_auth_failed``, ``store_database_missing``,
``store_invalid_url``, ``store_embedded_failed``); passwords never appear in messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from acd.store.errors import (
    EMBEDDED_FAILED,
    STORE_AUTH_FAILED,
    STORE_DATABASE_MISSING,
    STORE_UNAVAILABLE,
    StoreError,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "EMBEDDED_DATABASE",
    "STORE_INVALID_URL",
    "Database",
    "connect",
    "connect_error",
    "describe_target",
    "init_connection",
    "is_transient",
    "resolve_database_url",
    "with_database",
]

DEFAULT_DATA_DIR: Final = Path("./var/pg")
#: Database created inside the embedded server (its default ``postgres`` db stays clean).
EMBEDDED_DATABASE: Final = "acd"
STORE_INVALID_URL: Final = "store_invalid_url"
ENV_VAR: Final = "ACD_DATABASE_URL"
#: What a failed connect can raise (mapped by ``connect_error``).
_CONNECT_ERRORS: Final = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
    ValueError,
)


def resolve_database_url(
    config_url: str | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """The URL to use, or ``None`` for the embedded server."""
    env = os.environ if env is None else env
    for candidate in (env.get(ENV_VAR), config_url):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return None


def describe_target(dsn: str) -> str:
    """``host:port/db`` (or ``socket-dir/db``) for messages: never the password."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or ""
        query_host = parse_qs(parts.query).get("host", [""])[0]
        if not host:
            host = query_host or "localhost"
        port = parts.port or 5432
        db = parts.path.lstrip("/") or "postgres"
    except ValueError:
        return "<invalid url>"
    where = host if host.startswith("/") else f"{host}:{port}"
    return f"{where}/{db}"


def with_database(dsn: str, database: str) -> str:
    """``dsn`` with its database name replaced."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def is_transient(exc: BaseException) -> bool:
    """True for failures that mean "the server is not there right now"."""
    return isinstance(
        exc,
        OSError
        | TimeoutError
        | asyncpg.InterfaceError  # includes ConnectionDoesNotExistError
        | asyncpg.PostgresConnectionError  # SQLSTATE class 08
        | asyncpg.CannotConnectNowError
        | asyncpg.exceptions.OperatorInterventionError  # 57: admin shutdown, crash
        | asyncpg.exceptions.InsufficientResourcesError  # 53: too many connections, disk
        | asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # db not accepting conns
    )


def connect_error(exc: BaseException, dsn: str) -> StoreError:
    """Map a connect-time exception to a one-line ``StoreError``."""
    target = describe_target(dsn)
    if isinstance(
        exc,
        asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError,
    ):
        return StoreError(STORE_AUTH_FAILED, f"PostgreSQL at {target} refused the login: {exc}")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return StoreError(STORE_DATABASE_MISSING, f"PostgreSQL at {target}: {exc}")
    if isinstance(exc, asyncpg.ClientConfigurationError | ValueError):
        return StoreError(STORE_INVALID_URL, f"invalid database URL ({target}): {exc}")
    if isinstance(exc, TimeoutError):
        reason = "timed out"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connection refused"
    elif isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
    else:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StoreError(STORE_UNAVAILABLE, f"cannot reach PostgreSQL at {target} ({reason})")


async def init_connection(conn: Any) -> None:
    """Per-connection set-up: ``json``/``jsonb`` decode to Python objects.

    Writers in this package pass JSON as ``$n::text::jsonb`` so they work on pools with
    or without this codec.
    """
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=json.dumps, decoder=json.loads
        )


async def connect(dsn: str, *, timeout: float = 5.0) -> Any:
    """One connection, errors mapped to ``StoreError``."""
    try:
        return await asyncpg.connect(dsn, timeout=timeout)
    except Exception as exc:
        if isinstance(exc, _CONNECT_ERRORS):
            raise connect_error(exc, dsn) from exc
        raise


class Database:
    """The resolved server plus one asyncpg pool. ``async with Database(...) as db``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        data_dir: Path = DEFAULT_DATA_DIR,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._configured_url = resolve_database_url(url, env)
        self._data_dir = Path(data_dir)
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._server: Any = None
        self._pool: Any = None
        self._url: str | None = None

    @classmethod
    def from_settings(cls, settings: Any, env: Mapping[str, str] | None = None) -> Self:
        """From ``config`` ``DatabaseSettings`` (``url`` may be a pydantic SecretStr)."""
        url = settings.url
        if url is not None and hasattr(url, "get_secret_value"):
            url = url.get_secret_value()
        return cls(url, data_dir=settings.data_dir, env=env)

    @property
    def embedded(self) -> bool:
        return self._configured_url is None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("Database.start() has not been called")
        return self._url

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("Database.start() has not been called")
        return self._pool

    async def start(self) -> Self:
        """Start the embedded server if needed, then open and check the pool."""
        if self._pool is not None:
            return self
        if self._configured_url is None:
            self._url = await self._start_embedded()
        else:
            self._url = self._configured_url
        try:
            self._pool = await asyncpg.create_pool(
                self._url,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
                init=init_connection,
            )
        except Exception as exc:
            await self._stop_embedded()
            if isinstance(exc, _CONNECT_ERRORS):
                raise connect_error(exc, self._url) from exc
            raise
        return self

    async def close(self, timeout: float = 10.0) -> None:
        """Close the pool (terminate it if it will not close in time), stop embedded."""
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout)
            except (TimeoutError, OSError, asyncpg.InterfaceError):
                pool.terminate()
        await self._stop_embedded()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _start_embedded(self) -> str:
        data_dir = self._data_dir.expanduser().resolve()
        try:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            # Heavy (psutil, platformdirs): imported only when embedded is wanted.
            from pgserver.postgres_server import get_server

            self._server = await asyncio.to_thread(get_server, data_dir, cleanup_mode="stop")
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreError(
                EMBEDDED_FAILED, f"cannot start embedded PostgreSQL in {data_dir}: {first}"
            ) from exc
        admin_url = self._server.get_uri()
        conn = await connect(admin_url, timeout=self._connect_timeout)
        try:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", EMBEDDED_DATABASE
            )
            if not exists:
                # Another process on the same data_dir may win the race.
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')
        finally:
            await conn.close()
        return str(self._server.get_uri(EMBEDDED_DATABASE))

    async def _stop_embedded(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.cleanup)
