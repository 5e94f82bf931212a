"""Builders shared by the routing-core tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from queueing import AgentSpec, Output, QueueSpec, Router, Tier

T = TypeVar("T")


def queue(name: str = "main", **kw: Any) -> QueueSpec:
    kw.setdefault("ring_timeout", 10.0)
    return QueueSpec(name=name, **kw)


def agent(
    agent_id: str,
    skills: Mapping[str, int] | None = None,
    queues: Iterable[str] = ("main",),
    tiers: Mapping[str, Tier] | None = None,
    **kw: Any,
) -> AgentSpec:
    return AgentSpec(
        id=agent_id,
        skills=dict(skills or {}),
        tiers=dict(tiers) if tiers is not None else {q: Tier() for q in queues},
        **kw,
    )


def router(
    queues: Iterable[QueueSpec],
    agents: Iterable[AgentSpec],
    *,
    login: bool = True,
    now: float = 0.0,
    **kw: Any,
) -> Router:
    """A router with every agent logged in at ``now`` and the outputs drained."""
    agents = list(agents)
    r = Router(list(queues), agents, **kw)
    if login:
        for a in agents:
            r.agent_login(a.id, now)
    r.drain()
    return r


def of(outputs: list[Output], cls: type[T]) -> list[T]:
    return [o for o in outputs if isinstance(o, cls)]


def offers(outputs: list[Output]) -> list[tuple[str, str]]:
    """(call_id, agent_id) of every OfferCall decision, in order."""
    from queueing import OfferCall

    return [(o.call_id, o.agent_id) for o in outputs if isinstance(o, OfferCall)]
