"""Supervisor HTTP API (FastAPI): live queues, calls, agents, agent actions, KPIs, and
the audit trail of the actions.

``install_api(app, source)`` adds the routers, bearer-token auth from
``source.settings.http.tokens`` and the audit middleware to a FastAPI app (whose RFC
9457 problem handlers ``install_problem_handlers`` adds). See docs/api.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .audit import AuditMiddleware
from .auth import Caller, TokenAuth
from .context import ApiContext, ApiSource, KpiProvider
from .problems import (
    PROBLEM_JSON,
    ROUTING_STATUS,
    Problem,
    ProblemError,
    install_problem_handlers,
    use_problem_media_type,
)
from .routers import agents_router, audit_router, kpi_router, queues_router

__all__ = [
    "PROBLEM_JSON",
    "ROUTING_STATUS",
    "ApiContext",
    "ApiSource",
    "AuditMiddleware",
    "Caller",
    "KpiProvider",
    "Problem",
    "ProblemError",
    "TokenAuth",
    "install_api",
    "install_problem_handlers",
]


def install_api(app: FastAPI, source: ApiSource) -> ApiContext:
    ctx = ApiContext(source)
    auth = TokenAuth(source.settings.http.tokens)
    for router in (queues_router, agents_router, kpi_router, audit_router):
        app.include_router(router(ctx, auth))
    app.add_middleware(AuditMiddleware, ctx=ctx, auth=auth)
    _problem_openapi(app)
    return ctx


def _problem_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = use_problem_media_type(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
