"""Domain errors of the persistence layer.

One exception class with a stable string ``code``: callers branch on the code, never on
the message. The message is one line, safe to print (no passwords), e.g. for the CLI:
``store_unavailable: cannot reach PostgreSQL at 127.0.0.1:5432 (connection refused)``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "EMBEDDED_FAILED",
    "JOURNAL_CLOSED",
    "MIGRATION_FAILED",
    "MIGRATION_MISMATCH",
    "STORE_AUTH_FAILED",
    "STORE_DATABASE_MISSING",
    "STORE_UNAVAILABLE",
    "StoreError",
]

#: The server does not answer (refused, timed out, shutting down, not accepting connections).
STORE_UNAVAILABLE: Final = "store_unavailable"
#: The server answered but refused the credentials.
STORE_AUTH_FAILED: Final = "store_auth_failed"
#: The server answered but the database named in the URL does not exist.
STORE_DATABASE_MISSING: Final = "store_database_missing"
#: The embedded pgserver could not be initialised or started.
EMBEDDED_FAILED: Final = "store_embedded_failed"
#: A migration file failed to apply (the transaction was rolled back).
MIGRATION_FAILED: Final = "migration_failed"
#: An applied migration's file changed since it was applied, or files are misnumbered.
MIGRATION_MISMATCH: Final = "migration_mismatch"
#: ``Journal.submit`` after ``close()``.
JOURNAL_CLOSED: Final = "journal_closed"


class StoreError(Exception):
    """A persistence failure. ``code`` is stable; ``message`` is one human line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
