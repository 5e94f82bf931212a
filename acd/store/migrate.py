"""Versioned SQL migrations: ``migrations/NNNN_name.sql`` applied in order.

``migrate(dsn)`` opens one connection and, in ONE transaction, takes a transaction-level
advisory lock (so two ACDs starting together do not both migrate: the second waits, then
finds nothing to do), creates ``schema_migrations`` if needed, and applies every pending
file, recording version, name and SHA-256 of each. Any failure rolls everything back.
Idempotent: a second run applies nothing and returns ``[]``.

An applied file whose checksum changed is refused (``migration_mismatch``): migrations
are append-only; fix forward with a new file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Final

import asyncpg  # type: ignore[import-untyped]

from acd.store.database import connect, connect_error, is_transient
from acd.store.errors import MIGRATION_FAILED, MIGRATION_MISMATCH, StoreError

__all__ = [
    "ADVISORY_LOCK_KEY",
    "Migration",
    "MigrationStatus",
    "load_migrations",
    "migrate",
    "migration_status",
]

#: pg_advisory_xact_lock key: b"ACD_MIGR" as a signed 64-bit integer.
ADVISORY_LOCK_KEY: Final = int.from_bytes(b"ACD_MIGR", "big", signed=True)

_FILE_RE: Final = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True, slots=True, kw_only=True)
class MigrationStatus:
    version: int
    name: str
    applied_at: datetime | None


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """The migration files in version order; versions must run 1, 2, 3 ... without gaps."""
    if directory is None:
        root = resources.files("acd.store").joinpath("migrations")
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in root.iterdir()]
    else:
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in directory.iterdir()]
    found: list[Migration] = []
    for name, text in entries:
        if not name.endswith(".sql"):
            continue
        match = _FILE_RE.match(name)
        if match is None:
            raise StoreError(MIGRATION_MISMATCH, f"migration file {name} is not NNNN_name.sql")
        found.append(Migration(version=int(match[1]), name=match[2], sql=text))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StoreError(
                MIGRATION_MISMATCH,
                f"migration versions must be 1..n without gaps; {migration.filename} "
                f"found where version {expected} was expected",
            )
    return found


async def migrate(
    dsn: str,
    *,
    migrations: list[Migration] | None = None,
    lock_timeout: float = 60.0,
    connect_timeout: float = 5.0,
) -> list[int]:
    """Apply pending migrations; return the versions applied now (``[]`` if none)."""
    todo = load_migrations() if migrations is None else migrations
    conn = await connect(dsn, timeout=connect_timeout)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK_KEY)
            await conn.execute(_CREATE_TABLE)
            rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
            applied = {row["version"]: row for row in rows}
            for migration in todo:
                row = applied.get(migration.version)
                if row is not None and row["checksum"] != migration.checksum:
                    raise StoreError(
                        MIGRATION_MISMATCH,
                        f"{migration.filename} changed after it was applied "
                        "(add a new migration instead of editing an applied one)",
                    )
            done: list[int] = []
            for migration in todo:
                if migration.version in applied:
                    continue
                try:
                    await conn.execute(migration.sql)
                except asyncpg.PostgresError as exc:
                    if is_transient(exc):
                        raise
                    first = str(exc).splitlines()[0]
                    raise StoreError(MIGRATION_FAILED, f"{migration.filename}: {first}") from exc
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
                done.append(migration.version)
        return done
    except asyncpg.LockNotAvailableError as exc:
        raise StoreError(
            MIGRATION_FAILED,
            f"another process held the migration lock for more than {lock_timeout:g} s",
        ) from exc
    except StoreError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise connect_error(exc, dsn) from exc
        raise
    finally:
        await conn.close()


async def migration_status(dsn: str, *, connect_timeout: float = 5.0) -> list[MigrationStatus]:
    """Every known migration with its ``applied_at`` (``None`` = pending)."""
    conn = await connect(dsn, timeout=connect_timeout)
    try:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        rows = (
            await conn.fetch("SELECT version, applied_at FROM schema_migrations") if exists else []
        )
    finally:
        await conn.close()
    applied = {row["version"]: row["applied_at"] for row in rows}
    return [
        MigrationStatus(version=m.version, name=m.name, applied_at=applied.get(m.version))
        for m in load_migrations()
    ]
