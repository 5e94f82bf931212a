"""``/api/v1/kpi``: the exact KPI figures (the same ones ``/metrics`` exports)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query

from config import Role

from ..auth import TokenAuth
from ..context import ApiContext
from ..problems import problem_responses
from ..schemas import KpiReport, kpi_scope

__all__ = ["kpi_router"]


def kpi_router(ctx: ApiContext, auth: TokenAuth) -> APIRouter:
    read = [Depends(auth.require(Role.READ))]
    api = APIRouter(prefix="/api/v1", tags=["kpi"])

    @api.get(
        "/kpi",
        response_model=KpiReport,
        dependencies=read,
        summary="service level, connection rate, abandonment, ASA, occupancy "
        "(rolling 24 h and calendar day; overall and per queue)",
        description="503 `kpi_unavailable` when this build has no KPI engine wired.",
        responses=problem_responses(401, 422, 503),
    )
    async def kpi(
        queue: str | None = Query(None, max_length=256, description="only this queue"),
        window: Literal["rolling", "calendar_day"] | None = Query(None),
    ) -> KpiReport:
        provider = ctx.kpi()
        figures = provider()
        scopes = [
            kpi_scope(scope, win, f)
            for (scope, win), f in sorted(
                figures.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or "", kv[0][1])
            )
            if (queue is None or scope == queue) and (window is None or win == window)
        ]
        return KpiReport(generated_at=datetime.now(UTC), scopes=scopes)

    return api
