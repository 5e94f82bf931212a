"""``/api/v1/agents``: status and state of every agent, and the supervisor's actions."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Path, Query

from config import Role
from queueing import AgentState, AgentStatus, Router

from ..auth import TokenAuth
from ..context import ApiContext
from ..problems import problem_responses
from ..schemas import Agent, PauseRequest, agent_out, names

__all__ = ["agents_router"]

AgentId = Path(description="the agent's SIP username", max_length=256)


def agents_router(ctx: ApiContext, auth: TokenAuth) -> APIRouter:
    read = [Depends(auth.require(Role.READ))]
    admin = [Depends(auth.require(Role.ADMIN))]
    api = APIRouter(prefix="/api/v1", tags=["agents"])
    display = names(ctx.settings.agents)

    def one(agent_id: str) -> Agent:
        return agent_out(ctx.router.agent_view(agent_id), display.get(agent_id, ""))

    @api.get(
        "/agents",
        response_model=list[Agent],
        dependencies=read,
        summary="every agent: status, state, current call, counters",
        responses=problem_responses(401, 422, 503),
    )
    async def list_agents(
        status: AgentStatus | None = Query(None, description="only this status"),  # noqa: B008
        state: AgentState | None = Query(None, description="only this state"),  # noqa: B008
        queue: str | None = Query(None, max_length=256, description="only members of"),
    ) -> list[Agent]:
        out = []
        for view in ctx.router.agent_views():
            if status is not None and view.status is not status:
                continue
            if state is not None and view.state is not state:
                continue
            if queue is not None and queue not in view.queues:
                continue
            out.append(agent_out(view, display.get(view.agent_id, "")))
        return out

    @api.get(
        "/agents/{agent_id}",
        response_model=Agent,
        dependencies=read,
        summary="one agent",
        responses=problem_responses(401, 404, 422, 503),
    )
    async def get_agent(agent_id: str = AgentId) -> Agent:
        return one(agent_id)

    def action(
        path: str, summary: str, command: Callable[[Router, str, float], None]
    ) -> None:
        async def endpoint(agent_id: str = AgentId) -> Agent:
            ctx.command(lambda router, now: command(router, agent_id, now), agent_id=agent_id)
            return one(agent_id)

        endpoint.__name__ = "agent_" + path.replace("-", "_")
        api.post(
            f"/agents/{{agent_id}}/{path}",
            response_model=Agent,
            dependencies=admin,
            summary=summary,
            responses=problem_responses(401, 403, 404, 409, 422, 503),
        )(endpoint)

    action("login", "log the agent in (status available)",
           lambda r, a, now: r.agent_login(a, now))
    action("logout", "log the agent out (a ringing offer is withdrawn; a call carries on)",
           lambda r, a, now: r.agent_logout(a, now))
    action("available", "make a paused agent available again",
           lambda r, a, now: r.agent_available(a, now))
    action("end-wrapup", "end the agent's wrap-up now",
           lambda r, a, now: r.agent_end_wrapup(a, now))

    @api.post(
        "/agents/{agent_id}/pause",
        response_model=Agent,
        dependencies=admin,
        summary="pause the agent with a reason from the configured pause_reasons",
        responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    )
    async def pause_agent(body: PauseRequest, agent_id: str = AgentId) -> Agent:
        ctx.command(lambda router, now: router.agent_pause(agent_id, body.reason, now),
                    agent_id=agent_id)
        return one(agent_id)

    @api.get(
        "/pause-reasons",
        response_model=list[str],
        dependencies=read,
        summary="the pause reasons agents may be paused with",
        responses=problem_responses(401),
    )
    async def pause_reasons() -> list[str]:
        return list(ctx.settings.pause_reasons)

    return api
