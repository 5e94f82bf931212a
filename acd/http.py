"""HTTP edge: health, readiness, Prometheus metrics and the supervisor API, served by
uvicorn inside the ACD's own asyncio loop (handlers read the live router without IPC).

This is the only place that maps domain state to HTTP statuses (``acd.api.problems``).
``/healthz``, ``/readyz`` and ``/metrics`` are open; ``/api/v1/...`` needs a bearer token
from the configuration (docs/api.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from acd.api import ApiSource, install_api, install_problem_handlers

__all__ = ["HttpServer", "Readiness", "create_app"]

DESCRIPTION = """Supervisor API of the 12345 hotline ACD.

Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.
Reads need a bearer token (role `read` or `admin`); agent actions need role `admin`.
"""


@dataclass
class Readiness:
    """Named checks; ready when every check returns (True, detail)."""

    checks: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)

    def evaluate(self) -> tuple[bool, dict[str, Any]]:
        results = {}
        ok = True
        for name, check in self.checks.items():
            try:
                passed, detail = check()
            except Exception as exc:  # a broken check means "not ready", never a 500
                passed, detail = False, f"check failed: {type(exc).__name__}"
            ok = ok and passed
            results[name] = {"ok": passed, "detail": detail}
        return ok, results


class Health(BaseModel):
    status: Literal["ok"]


class CheckResult(BaseModel):
    ok: bool
    detail: str


class ReadinessReport(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, CheckResult]


def create_app(
    registry: CollectorRegistry, readiness: Readiness, api: ApiSource | None = None
) -> FastAPI:
    """The HTTP app. ``api``: what the supervisor API reads and drives (the
    ``Application``); without it only health, readiness and metrics are served."""
    app = FastAPI(title="12345 hotline ACD", version="0.1.0", description=DESCRIPTION)
    install_problem_handlers(app)

    @app.get("/healthz", summary="the process is alive", tags=["ops"], response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        summary="SIP is listening and the store is writable or spooling",
        tags=["ops"],
        response_model=ReadinessReport,
        responses={503: {"model": ReadinessReport, "description": "not ready"}},
    )
    async def readyz() -> JSONResponse:
        ok, checks = readiness.evaluate()
        report = ReadinessReport(status="ready" if ok else "not ready", checks=checks)
        return JSONResponse(report.model_dump(), status_code=200 if ok else 503)

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if api is not None:
        install_api(app, api)
    return app


class _Server(uvicorn.Server):
    """uvicorn without its signal handling: the ACD owns SIGTERM/SIGINT (acd.app.run) and
    stops the HTTP server itself, in order. (uvicorn >= 0.29 replaces the handlers with
    ``signal.signal`` for the whole of ``serve()``; older releases used
    ``install_signal_handlers``.)"""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:
        return None


class HttpServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            loop="none",
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> tuple[str, int]:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)  # uvicorn exposes no start-up event
        sock = self.server.servers[0].sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    async def close(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
