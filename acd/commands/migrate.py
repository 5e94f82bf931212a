"""``acd migrate``: apply the SQL migrations to the configured database.

The database is ``--database-url``, else ``ACD_DATABASE_URL``, else ``database.url`` from
the configuration, else the embedded server in ``database.data_dir``. ``acd serve`` also
migrates on start; this command is for deployments that migrate as a separate step
(deploy/compose.yaml) and for ``--status``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from acd.cli import EXIT_OK, CliError

from .common import EXIT_REFUSED, EXIT_UNREACHABLE, load_config, progress

__all__ = ["open_database", "register", "store_error"]

_UNREACHABLE_CODES = {"store_unavailable", "store_embedded_failed"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="apply database migrations",
        description="Apply pending SQL migrations (acd/store/migrations) to the configured "
        "PostgreSQL database, in one transaction under an advisory lock. Idempotent.",
    )
    add_database_options(parser)
    parser.add_argument("--status", action="store_true",
                        help="only list migrations and whether each is applied")
    parser.set_defaults(handler=_run)


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", metavar="PATH", help="YAML configuration file")
    parser.add_argument("--database-url", metavar="URL",
                        help="postgresql://... (default: ACD_DATABASE_URL, database.url, "
                        "or the embedded server)")


def store_error(exc: Exception) -> CliError:
    code = getattr(exc, "code", "")
    status = EXIT_UNREACHABLE if code in _UNREACHABLE_CODES else EXIT_REFUSED
    return CliError(str(exc), status)


def open_database(args: argparse.Namespace) -> Any:
    """A not-yet-started ``Database`` for the options and configuration."""
    from acd.store import Database

    settings = load_config(args.config)
    if args.database_url:
        return Database(args.database_url, data_dir=settings.database.data_dir,
                        min_size=1, max_size=2, env={})
    db = Database.from_settings(settings.database)
    return db


async def _migrate(args: argparse.Namespace) -> int:
    from acd.store import StoreError, describe_target, migrate, migration_status

    db = open_database(args)
    try:
        if db.embedded:
            progress("starting the embedded PostgreSQL ...")
        await db.start()
        target = describe_target(db.url)
        if args.status:
            for m in await migration_status(db.url):
                when = m.applied_at.isoformat() if m.applied_at else "pending"
                print(f"{m.version:04d}_{m.name}  {when}")
            return EXIT_OK
        progress(f"applying migrations to {target} ...")
        applied = await migrate(db.url)
        statuses = await migration_status(db.url)
        names = {m.version: f"{m.version:04d}_{m.name}" for m in statuses}
        for version in applied:
            print(f"applied {names.get(version, version)}")
        print(f"{target}: up to date ({len(statuses)} migration"
              f"{'' if len(statuses) == 1 else 's'}, {len(applied)} applied now)")
        return EXIT_OK
    except StoreError as exc:
        raise store_error(exc) from None
    finally:
        await db.close()


def _run(args: argparse.Namespace) -> int:
    return asyncio.run(_migrate(args))
