"""Persistence: PostgreSQL via asyncpg, with a local spool so call handling never waits
on the database. See docs/store.md.

Start-up order (the composition root / CLI)::

    db = await Database.from_settings(settings.database).start()
    await migrate(db.url)
    journal = Journal(db.pool, settings.database.spool_dir)
    await journal.start()                    # replays a leftover spool
    await close_orphaned_calls(db.pool, now)  # calls the previous process left open
    bindings = await load_bindings(db.pool, now)
    ...
    await journal.close(); await db.close()
"""

from acd.store.database import (
    DEFAULT_DATA_DIR,
    Database,
    connect,
    connect_error,
    describe_target,
    init_connection,
    is_transient,
    resolve_database_url,
)
from acd.store.errors import (
    EMBEDDED_FAILED,
    JOURNAL_CLOSED,
    MIGRATION_FAILED,
    MIGRATION_MISMATCH,
    STORE_AUTH_FAILED,
    STORE_DATABASE_MISSING,
    STORE_UNAVAILABLE,
    StoreError,
)
from acd.store.journal import Journal, JournalHealth
from acd.store.migrate import Migration, MigrationStatus, load_migrations, migrate, migration_status
from acd.store.records import (
    AgentStateChange,
    CallOutcome,
    CallRecord,
    HangupBy,
    QueueEvent,
    QueueEventKind,
    Record,
    RegistrationRow,
)
from acd.store.recovery import close_open_agent_states, close_orphaned_calls
from acd.store.registrations import (
    load_bindings,
    purge_expired_bindings,
    remove_binding,
    save_binding,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "EMBEDDED_FAILED",
    "JOURNAL_CLOSED",
    "MIGRATION_FAILED",
    "MIGRATION_MISMATCH",
    "STORE_AUTH_FAILED",
    "STORE_DATABASE_MISSING",
    "STORE_UNAVAILABLE",
    "AgentStateChange",
    "CallOutcome",
    "CallRecord",
    "Database",
    "HangupBy",
    "Journal",
    "JournalHealth",
    "Migration",
    "MigrationStatus",
    "QueueEvent",
    "QueueEventKind",
    "Record",
    "RegistrationRow",
    "StoreError",
    "close_open_agent_states",
    "close_orphaned_calls",
    "connect",
    "connect_error",
    "describe_target",
    "init_connection",
    "is_transient",
    "load_bindings",
    "load_migrations",
    "migrate",
    "migration_status",
    "purge_expired_bindings",
    "remove_binding",
    "resolve_database_url",
    "save_binding",
]
