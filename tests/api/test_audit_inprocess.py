"""The audit middleware in-process over ASGI, with a spool-only journal (no database):
the open API, no journal at all, crashes, and changes to other agents in the same step."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from acd.http import Readiness, create_app
from acd.recording import JournalRecorder
from acd.routing import RoutingService
from acd.runtime import Runtime
from acd.store import Journal
from acd.store.records import AgentStateChange, AuditEntry, Record, decode_record
from config import Settings
from queueing import AgentState

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC).timestamp()
TOKEN = "a" * 24


@dataclass
class Source:
    settings: Settings
    runtime: Runtime | None = None
    routing: RoutingService | None = None
    journal: Journal | None = None


def _settings(tokens: bool) -> Settings:
    return Settings(
        http={"listen": "127.0.0.1:0",
              "tokens": [{"token": TOKEN, "role": "admin"}] if tokens else []},
        agents=[{"id": "2001", "password": "secret-2001"},
                {"id": "2002", "password": "secret-2002"}],
        queues=[{"name": "general", "numbers": ["12345"]}],
    )


@dataclass
class Setup:
    source: Source
    app: FastAPI
    client: httpx.AsyncClient
    spool: Path

    async def records(self) -> list[Record]:
        """Everything the journal spooled (closes it)."""
        assert self.source.journal is not None
        await self.source.journal.close()
        lines = b"".join(p.read_bytes() for p in sorted(self.spool.glob("spool-*.jsonl")))
        return [decode_record(line) for line in lines.splitlines() if line]


@pytest.fixture
async def setup(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    tokens = getattr(request, "param", False)
    settings = _settings(tokens)
    runtime = Runtime(clock=lambda: NOW)
    routing = RoutingService(runtime, settings)
    journal = Journal(None, tmp_path / "spool")  # spool only: no database
    await journal.start()
    routing.observers.append(JournalRecorder(journal.submit).on_event)
    source = Source(settings, runtime, routing, journal)
    app = create_app(CollectorRegistry(), Readiness(), source)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://acd") as client:
        yield Setup(source, app, client, tmp_path / "spool")
    await journal.close()
    runtime.close()


async def test_open_api_actions_are_audited_without_an_actor(setup: Setup) -> None:
    assert (await setup.client.post("/api/v1/agents/2001/login")).status_code == 200
    records = await setup.records()
    (entry,) = [r for r in records if isinstance(r, AuditEntry)]
    assert (entry.actor, entry.role, entry.target, entry.status) == (None, "admin", "2001", 200)
    opened = [r for r in records if isinstance(r, AgentStateChange) and r.ended_at is None
              and r.status == "available"]
    assert [(r.source, r.actor) for r in opened] == [("api", None)]
    # The entry follows the state change it audits (submission order = write order).
    assert records.index(entry) > records.index(opened[0])


async def test_another_agents_change_in_the_same_step_is_the_systems(setup: Setup) -> None:
    routing, runtime = setup.source.routing, setup.source.runtime
    assert routing is not None and runtime is not None
    router = routing.router

    def ready(now: float) -> None:
        for agent in ("2001", "2002"):
            router.agent_reachable(agent, True, now)
            router.agent_login(agent, now)

    runtime.step(ready)
    runtime.step(lambda now: router.call_arrived("c1", "general", now))
    (ringing,) = [a for a in ("2001", "2002")
                  if router.agent_view(a).state is AgentState.RESERVED]
    other = "2002" if ringing == "2001" else "2001"
    assert (await setup.client.post(f"/api/v1/agents/{ringing}/logout")).status_code == 200
    assert router.agent_view(other).state is AgentState.RESERVED  # re-offered at once
    opened = [(r.agent_id, r.status, r.state, r.source.value if r.source else None)
              for r in await setup.records()
              if isinstance(r, AgentStateChange) and r.ended_at is None]
    assert (ringing, "logged-out", "idle", "api") in opened
    assert (other, "available", "reserved", "system") in opened


@pytest.mark.parametrize("setup", [True], indirect=True)
async def test_a_crash_is_audited_as_failed(setup: Setup, monkeypatch: Any) -> None:
    routing = setup.source.routing
    assert routing is not None

    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(routing.router, "agent_login", broken)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=setup.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
        response = await client.post("/api/v1/agents/2001/login", headers=headers)
    assert response.status_code == 500
    (entry,) = [r for r in await setup.records() if isinstance(r, AuditEntry)]
    # The token has no name in the configuration: the default is a fingerprint.
    fingerprint = hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
    assert (entry.actor, entry.result.value, entry.status, entry.code) == (
        f"token-{fingerprint}", "failed", 500, "internal_error")


async def test_without_a_journal_actions_are_refused(tmp_path: Path) -> None:
    settings = _settings(tokens=False)
    runtime = Runtime(clock=lambda: NOW)
    source = Source(settings, runtime, RoutingService(runtime, settings))
    app = create_app(CollectorRegistry(), Readiness(), source)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://acd") as client:
        response = await client.post("/api/v1/agents/2001/login")
        assert response.status_code == 503
        assert response.json()["code"] == "audit_unavailable"
        assert response.headers["content-type"].startswith("application/problem+json")
        agent = (await client.get("/api/v1/agents/2001")).json()
        assert agent["status"] == "logged-out"  # not done unaudited
        audit = await client.get("/api/v1/audit")
        assert audit.status_code == 503 and audit.json()["code"] == "store_unavailable"
    runtime.close()


def test_token_names_are_validated_and_never_the_secret() -> None:
    named = Settings(http={"tokens": [{"name": "supervisors", "token": TOKEN, "role": "admin"},
                                      {"token": "b" * 24}]})
    first, second = named.http.tokens
    assert first.name == "supervisors"
    assert second.name == "token-" + hashlib.sha256(b"b" * 24).hexdigest()[:8]
    assert TOKEN not in repr(named.http) and "b" * 24 not in repr(named.http)
    for tokens, message in (
        ([{"name": "x", "token": TOKEN}, {"name": "x", "token": "b" * 24}], "named 'x'"),
        ([{"name": "has space", "token": TOKEN}], "pattern"),
    ):
        with pytest.raises(ValueError, match=message):
            Settings(http={"tokens": tokens})
