"""The composition root's mapping of the configuration onto the routing core."""

from __future__ import annotations

from acd.routing import router_from_settings
from config import load_settings
from queueing import AgentStatus


def test_example_config_builds_a_router() -> None:
    settings = load_settings(None)
    router = router_from_settings(settings)
    views = {v.agent_id: v for v in router.agent_views()}
    assert set(views) == {a.id for a in settings.agents}
    assert all(v.status is AgentStatus.LOGGED_OUT for v in views.values())
    for queue in settings.queues:
        for number in queue.numbers:
            assert router.queue_for_number(number) == queue.name


def test_agent_without_explicit_queues_serves_every_queue() -> None:
    settings = load_settings(None)
    router = router_from_settings(settings)
    all_queues = {q.name for q in settings.queues}
    for agent in settings.agents:
        view = router.agent_view(agent.id)
        expected = set(agent.queues) if agent.queues else all_queues
        assert set(view.queues) == expected
