"""HTTP edge: health, readiness and Prometheus metrics, served in the ACD's own loop.

This is the only place that maps domain state to HTTP statuses. Later issues add the
supervisor API here (routers per resource), behind bearer tokens from the config.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["HttpServer", "Readiness", "create_app"]


@dataclass
class Readiness:
    """Named checks; ready when every check returns (True, detail)."""

    checks: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)

    def evaluate(self) -> tuple[bool, dict[str, Any]]:
        results = {}
        ok = True
        for name, check in self.checks.items():
            passed, detail = check()
            ok = ok and passed
            results[name] = {"ok": passed, "detail": detail}
        return ok, results


def create_app(registry: CollectorRegistry, readiness: Readiness) -> FastAPI:
    app = FastAPI(title="12345 hotline ACD", version="0.1.0")

    @app.get("/healthz", summary="the process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="SIP is listening and the store is writable or spooling")
    async def readyz(response: Response) -> dict[str, Any]:
        ok, checks = readiness.evaluate()
        if not ok:
            response.status_code = 503
        return {"status": "ready" if ok else "not ready", "checks": checks}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


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
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
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
