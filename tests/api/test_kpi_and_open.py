"""The KPI provider interface and a token-less (loopback) API, in-process over ASGI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from acd.http import Readiness, create_app
from acd.routing import RoutingService
from acd.runtime import Runtime
from acd.store import Journal
from config import Settings
from metrics.kpi import KpiEngine, KpiFigures, QueueVisit, VisitOutcome

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC).timestamp()


@dataclass
class Source:
    settings: Settings
    runtime: Runtime | None = None
    routing: RoutingService | None = None
    kpi_provider: object = None
    journal: Journal | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _settings(tokens: bool) -> Settings:
    return Settings(
        http={"listen": "127.0.0.1:0",
              "tokens": [{"token": "r" * 20, "role": "read"}] if tokens else []},
        agents=[{"id": "2001", "password": "secret-2001"}],
        queues=[{"name": "general", "numbers": ["12345"]}],
    )


async def _client(source: Source) -> httpx.AsyncClient:
    app = create_app(CollectorRegistry(), Readiness(), source)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://acd")


async def test_kpi_from_the_provider() -> None:
    engine = KpiEngine()
    engine.add_visit(QueueVisit(call_id="a", queue="general", outcome=VisitOutcome.ANSWERED,
                                at=NOW - 60, wait_seconds=10.0))
    engine.add_visit(QueueVisit(call_id="b", queue="general", outcome=VisitOutcome.ANSWERED,
                                at=NOW - 30, wait_seconds=20.0))
    engine.add_visit(QueueVisit(call_id="c", queue="general", outcome=VisitOutcome.ABANDONED,
                                at=NOW - 10, wait_seconds=5.0))

    def provider() -> Mapping[tuple[str | None, str], KpiFigures]:
        return engine.snapshot(NOW)

    source = Source(_settings(tokens=True), kpi_provider=provider)
    async with await _client(source) as client:
        headers = {"Authorization": "Bearer " + "r" * 20}
        body = (await client.get("/api/v1/kpi", headers=headers)).json()
        scopes = {(s["queue"], s["window"]): s for s in body["scopes"]}
        assert set(scopes) == {(None, "rolling"), (None, "calendar_day"),
                               ("general", "rolling"), ("general", "calendar_day")}
        overall = scopes[(None, "rolling")]
        assert (overall["offered"], overall["answered"], overall["abandoned"]) == (3, 2, 1)
        assert overall["answered_within"] == 1
        assert overall["service_level"] == pytest.approx(1 / 3)
        assert overall["connection_rate"] == pytest.approx(2 / 3)
        assert overall["average_speed_of_answer"] == pytest.approx(15.0)
        only = (await client.get("/api/v1/kpi", headers=headers,
                                 params={"queue": "general", "window": "rolling"})).json()
        assert [(s["queue"], s["window"]) for s in only["scopes"]] == [("general", "rolling")]
        bad = await client.get("/api/v1/kpi", headers=headers, params={"window": "weekly"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


async def test_kpi_engine_attribute_is_used_too() -> None:
    settings = _settings(tokens=False)
    runtime = Runtime(clock=lambda: NOW)
    source = Source(settings, runtime, RoutingService(runtime, settings))
    source.kpi = KpiEngine()  # type: ignore[attr-defined]
    async with await _client(source) as client:
        body = (await client.get("/api/v1/kpi")).json()
        assert {s["offered"] for s in body["scopes"]} == {0}
    runtime.close()


async def test_without_tokens_the_loopback_api_is_open(tmp_path: Path) -> None:
    settings = _settings(tokens=False)
    runtime = Runtime(clock=lambda: NOW)
    journal = Journal(None, tmp_path / "spool")  # actions need an audit trail
    await journal.start()
    source = Source(settings, runtime, RoutingService(runtime, settings), journal=journal)
    async with await _client(source) as client:
        assert (await client.post("/api/v1/agents/2001/login")).json()["status"] == "available"
        kpi = await client.get("/api/v1/kpi")
        assert kpi.status_code == 503 and kpi.json()["code"] == "kpi_unavailable"
    await journal.close()
    runtime.close()


async def test_routing_not_started_is_503_not_500() -> None:
    source = Source(_settings(tokens=False))
    async with await _client(source) as client:
        response = await client.get("/api/v1/agents")
        assert response.status_code == 503
        assert response.json()["code"] == "not_ready"
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_broken_readiness_check_is_not_ready() -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    app = create_app(CollectorRegistry(), Readiness({"store": broken}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["store"] == {"ok": False,
                                                      "detail": "check failed: RuntimeError"}
        assert (await client.get("/api/v1/agents")).status_code == 404  # no API wired
