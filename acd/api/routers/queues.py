"""``/api/v1/queues``: live queues and the calls waiting in them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from config import Role

from ..auth import TokenAuth
from ..context import ApiContext
from ..problems import problem_responses
from ..schemas import Call, Queue, call_out, queue_out

__all__ = ["queues_router"]

QueueName = Path(description="queue name from the configuration", max_length=256)


def queues_router(ctx: ApiContext, auth: TokenAuth) -> APIRouter:
    read = [Depends(auth.require(Role.READ))]
    api = APIRouter(prefix="/api/v1", tags=["queues"])

    def snapshot(name: str | None) -> list[Queue]:
        router, now = ctx.router, ctx.now()
        views = [router.queue_view(name, now)] if name is not None else router.queue_views(now)
        agents = router.agent_views()
        return [queue_out(v, (a for a in agents if v.name in a.queues)) for v in views]

    @api.get(
        "/queues",
        response_model=list[Queue],
        dependencies=read,
        summary="every queue: waiting calls, longest wait, agents by state",
        responses=problem_responses(401, 503),
    )
    async def list_queues() -> list[Queue]:
        return snapshot(None)

    @api.get(
        "/queues/{queue}",
        response_model=Queue,
        dependencies=read,
        summary="one queue",
        responses=problem_responses(401, 404, 422, 503),
    )
    async def get_queue(queue: str = QueueName) -> Queue:
        return snapshot(queue)[0]

    @api.get(
        "/queues/{queue}/calls",
        response_model=list[Call],
        dependencies=read,
        summary="unanswered calls of a queue (waiting or ringing), in queue order",
        responses=problem_responses(401, 404, 422, 503),
    )
    async def queue_calls(queue: str = QueueName) -> list[Call]:
        router, now = ctx.router, ctx.now()
        router.queue_view(queue)  # unknown_queue -> 404
        calls = [
            c for c in router.call_views() if c.queue == queue and c.position is not None
        ]
        calls.sort(key=lambda c: c.position or 0)
        return [call_out(c, now) for c in calls]

    return api
