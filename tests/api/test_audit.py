"""The audit trail over HTTP against the running ACD (real app, real PostgreSQL): who did
what to whom, accepted or refused, and which agent intervals it opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests import pg
from tests.api.server import ADMIN_NAME, ADMIN_TOKEN, READ_NAME, READ_TOKEN, RunningAcd
from tests.api.test_api import assert_problem

pytestmark = pytest.mark.pg

LOGIN = "POST /api/v1/agents/{agent_id}/login"
PAUSE = "POST /api/v1/agents/{agent_id}/pause"


def rows(acd: RunningAcd, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Query the ACD's database directly (from a private loop in a thread)."""
    assert acd.app.db is not None
    url = acd.app.db.url

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return pg._in_thread(fetch)


def history(acd: RunningAcd, agent_id: str) -> list[dict[str, Any]]:
    return rows(acd, "SELECT status, state, reason, source, actor FROM agent_state_history"
                     " WHERE agent_id = $1 ORDER BY started_at, recorded_at", agent_id)


def audit(admin: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def last_id(admin: httpx.Client) -> int:
    entries = audit(admin, limit=1000)
    return entries[-1]["id"] if entries else 0


def test_admin_action_is_audited_and_attributed(acd: RunningAcd, admin: httpx.Client) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert admin.post("/api/v1/agents/1001/login").status_code == 200
    assert admin.post("/api/v1/agents/1001/pause", json={"reason": "lunch"}).status_code == 200
    # The response waited for the entry: it is in the database now, no polling.
    login, pause = audit(admin, target="1001")
    assert login["actor"] == pause["actor"] == ADMIN_NAME
    assert login["role"] == "admin"
    assert (login["action"], login["params"], login["result"], login["status"],
            login["code"]) == (LOGIN, {}, "accepted", 200, None)
    assert (pause["action"], pause["params"], pause["result"]) == (
        PAUSE, {"reason": "lunch"}, "accepted")
    assert before <= datetime.fromisoformat(login["ts"]) <= datetime.now(UTC)
    assert login["id"] < pause["id"]

    intervals = history(acd, "1001")
    by_api = [(i["status"], i["reason"]) for i in intervals if i["source"] == "api"]
    assert by_api == [("available", None), ("paused", "lunch")]
    assert {i["actor"] for i in intervals if i["source"] == "api"} == {ADMIN_NAME}
    # Before the login (start-up: no phone registered) it was the system's doing.
    first = intervals[0]
    assert (first["status"], first["source"], first["actor"]) == ("logged-out", "system", None)


def test_refused_actions_are_audited_with_their_code(
    acd: RunningAcd, admin: httpx.Client
) -> None:
    cursor = last_id(admin)
    admin.post("/api/v1/agents/1002/login")
    assert_problem(admin.post("/api/v1/agents/1002/login"), 409, "invalid_transition")
    assert_problem(admin.post("/api/v1/agents/9999/login"), 404, "unknown_agent")
    assert_problem(admin.post("/api/v1/agents/1002/pause", json={"reason": "nap"}), 422,
                   "unknown_pause_reason")
    assert_problem(admin.post("/api/v1/agents/1002/pause", json={}), 422, "invalid_request")
    assert_problem(admin.post("/api/v1/agents/1002/pause", content=b"{not json\x00",
                              headers={"content-type": "application/json"}),
                   422, "invalid_request")
    entries = audit(admin, after=cursor)
    assert [(e["target"], e["result"], e["status"], e["code"]) for e in entries] == [
        ("1002", "accepted", 200, None),
        ("1002", "refused", 409, "invalid_transition"),
        ("9999", "refused", 404, "unknown_agent"),
        ("1002", "refused", 422, "unknown_pause_reason"),
        ("1002", "refused", 422, "invalid_request"),
        ("1002", "refused", 422, "invalid_request"),
    ]
    assert {e["actor"] for e in entries} == {ADMIN_NAME}
    assert entries[1]["detail"] and "1002" in entries[1]["detail"]
    assert entries[3]["params"] == {"reason": "nap"}
    assert entries[4]["params"] == {}
    assert entries[5]["params"] == {"body": "{not json\ufffd"}  # NUL is not storable
    # Only the accepted login opened an interval attributed to the API.
    assert [i["status"] for i in history(acd, "1002") if i["source"] == "api"] == ["available"]


def test_read_token_cannot_act_and_the_attempt_is_audited(
    acd: RunningAcd, admin: httpx.Client, reader: httpx.Client, anonymous: httpx.Client
) -> None:
    cursor = last_id(admin)
    assert_problem(reader.post("/api/v1/agents/1003/login"), 403, "forbidden")
    assert reader.get("/api/v1/agents/1003").json()["status"] == "logged-out"
    assert_problem(reader.get("/api/v1/audit"), 403, "forbidden")  # admin only; a read
    # No or an unknown token: 401, nobody to attribute it to, nothing recorded.
    assert_problem(anonymous.post("/api/v1/agents/1003/login"), 401, "unauthorized")
    assert_problem(anonymous.post("/api/v1/agents/1003/login",
                                  headers={"Authorization": "Bearer not-a-known-token!"}),
                   401, "unauthorized")
    (entry,) = audit(admin, after=cursor)
    assert (entry["actor"], entry["role"], entry["action"], entry["target"]) == (
        READ_NAME, "read", LOGIN, "1003")
    assert (entry["result"], entry["status"], entry["code"]) == ("refused", 403, "forbidden")
    assert not [i for i in history(acd, "1003") if i["source"] == "api"]


def test_audit_paging_and_filters(admin: httpx.Client) -> None:
    admin.post("/api/v1/agents/1004/login")
    admin.post("/api/v1/agents/1004/logout")
    everything = audit(admin, limit=1000)
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids) and len(ids) >= 2
    first, second = audit(admin, limit=2)
    assert audit(admin, after=first["id"], limit=1) == [second]
    mine = audit(admin, target="1004")
    assert [e["action"] for e in mine] == [LOGIN, "POST /api/v1/agents/{agent_id}/logout"]
    assert all(e["actor"] == ADMIN_NAME for e in audit(admin, actor=ADMIN_NAME, limit=1000))
    assert audit(admin, actor="nobody") == []
    since = mine[-1]["ts"]
    assert mine[-1] in audit(admin, since=since)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert audit(admin, since=future) == []
    assert audit(admin, since="2026-01-01T00:00:00") is not None  # naive: UTC
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"since": "yesterday"},
                {"since": "0001-01-01T00:00:00+01:00"}):
        assert_problem(admin.get("/api/v1/audit", params=bad), 422, "invalid_request")


def test_secrets_never_recorded(acd: RunningAcd, admin: httpx.Client,
                                reader: httpx.Client) -> None:
    admin.post("/api/v1/agents/1005/login")
    reader.post("/api/v1/agents/1005/logout")
    stored = "\n".join(
        [str(r) for r in rows(acd, "SELECT row_to_json(a)::text FROM api_audit a")]
        + [str(r) for r in rows(acd, "SELECT row_to_json(h)::text FROM agent_state_history h")]
        + [admin.get("/api/v1/audit", params={"limit": 1000}).text]
    )
    spool = Path(acd.app.settings.database.spool_dir)
    stored += "".join(p.read_text(errors="replace") for p in spool.rglob("*") if p.is_file())
    assert ADMIN_NAME in stored and READ_NAME in stored
    assert ADMIN_TOKEN not in stored and READ_TOKEN not in stored
