"""Registrar bindings in PostgreSQL, so a restarted or standby ACD can rebuild its
location service (RFC 3261 section 10.3) without waiting for every softphone to
re-REGISTER.

The registrar core (``sip/registrar.py``) stays pure; the runtime calls these after it
accepts a REGISTER (or submits ``RegistrationRow``s through the journal, which uses the
same idempotent upsert), and ``load_bindings(pool, now)`` on start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from acd.store.records import RegistrationRow
from acd.store.writes import UPSERT_REGISTRATION, registration_args

__all__ = ["load_bindings", "purge_expired_bindings", "remove_binding", "save_binding"]


async def save_binding(db: Any, row: RegistrationRow) -> None:
    """Insert or refresh a binding; an older ``updated_at`` never overwrites a newer one.
    ``db`` is an asyncpg pool or connection."""
    await db.execute(UPSERT_REGISTRATION, *registration_args(row))


async def remove_binding(db: Any, aor: str, contact: str) -> bool:
    """Delete one binding (REGISTER with ``Expires: 0``). True if it existed."""
    status = await db.execute(
        "DELETE FROM registrations WHERE aor = $1 AND contact = $2", aor, contact
    )
    return bool(status != "DELETE 0")


async def load_bindings(db: Any, now: datetime) -> list[RegistrationRow]:
    """Every binding still valid at ``now`` (``expires_at > now``), by AOR then q desc."""
    rows = await db.fetch(
        """
        SELECT aor, contact, source_transport, source_host, source_port, user_agent,
               call_id, cseq, expires_at, q, updated_at
        FROM registrations
        WHERE expires_at > $1
        ORDER BY aor, q DESC NULLS LAST, contact
        """,
        now,
    )
    return [RegistrationRow(**dict(row)) for row in rows]


async def purge_expired_bindings(db: Any, now: datetime) -> int:
    """Delete bindings expired at ``now``; returns how many."""
    status = await db.execute("DELETE FROM registrations WHERE expires_at <= $1", now)
    return int(status.split()[-1])
