"""Registrar bindings: save, refresh, load non-expired, remove, purge."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from acd.store import (
    Journal,
    RegistrationRow,
    load_bindings,
    purge_expired_bindings,
    remove_binding,
    save_binding,
)
from tests.store.util import at


def binding(aor: str, contact: str, expires: float, updated: float, **kw: Any) -> RegistrationRow:
    return RegistrationRow(
        aor=aor,
        contact=contact,
        expires_at=at(expires),
        updated_at=at(updated),
        source_transport="udp",
        source_host="127.0.0.1",
        source_port=5062,
        user_agent="Linphone/5.2",
        call_id="reg-1",
        cseq=kw.pop("cseq", 1),
        q=kw.pop("q", None),
        **kw,
    )


async def test_save_and_load_only_unexpired(pool: Any) -> None:
    a = binding("sip:1001@acd", "sip:1001@127.0.0.1:5062", expires=3600, updated=0)
    b = binding("sip:1002@acd", "sip:1002@127.0.0.1:5064", expires=60, updated=0)
    for row in (a, b):
        await save_binding(pool, row)
    assert await load_bindings(pool, at(30)) == [a, b]
    assert await load_bindings(pool, at(60)) == [a]  # expires_at == now: gone
    assert await load_bindings(pool, at(3600)) == []


async def test_refresh_replaces_and_stale_write_is_ignored(pool: Any) -> None:
    first = binding("sip:1001@acd", "sip:1001@h", expires=3600, updated=0, cseq=1)
    refresh = binding("sip:1001@acd", "sip:1001@h", expires=7200, updated=100, cseq=2)
    await save_binding(pool, first)
    await save_binding(pool, refresh)
    await save_binding(pool, first)  # a late replay of the older REGISTER
    assert await load_bindings(pool, at(200)) == [refresh]


async def test_several_contacts_per_aor_ordered_by_q(pool: Any) -> None:
    low = binding("sip:1001@acd", "sip:1001@desk", expires=600, updated=0, q=0.5)
    high = binding("sip:1001@acd", "sip:1001@mobile", expires=600, updated=0, q=1.0)
    await save_binding(pool, low)
    await save_binding(pool, high)
    assert await load_bindings(pool, at(1)) == [high, low]


async def test_remove_and_purge(pool: Any) -> None:
    a = binding("sip:1001@acd", "sip:1001@h", expires=60, updated=0)
    b = binding("sip:1002@acd", "sip:1002@h", expires=30, updated=0)
    await save_binding(pool, a)
    await save_binding(pool, b)
    assert await remove_binding(pool, "sip:1001@acd", "sip:1001@h") is True
    assert await remove_binding(pool, "sip:1001@acd", "sip:1001@h") is False
    assert await purge_expired_bindings(pool, at(29)) == 0
    assert await purge_expired_bindings(pool, at(30)) == 1
    assert await pool.fetchval("SELECT count(*) FROM registrations") == 0


async def test_bindings_through_the_journal(pool: Any, tmp_path: Path) -> None:
    journal = Journal(pool, tmp_path / "spool")
    await journal.start()
    row = binding("sip:1001@acd", "sip:1001@h", expires=600, updated=0)
    journal.submit(row)
    # A removal is a binding that expires when it is written (Expires: 0).
    removal = binding("sip:1001@acd", "sip:1001@h", expires=10, updated=10)
    journal.submit(removal)
    async with asyncio.timeout(30):
        await journal.close()
    assert await load_bindings(pool, at(9)) == [removal]
    assert await load_bindings(pool, at(10)) == []
