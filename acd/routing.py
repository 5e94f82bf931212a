"""The routing core inside the runtime: built from the settings, driven with ``now``.

`RoutingService` owns the pure `queueing.Router`, registers it with the runtime's single
timer, and after every step drains its outputs: decisions (offer, withdraw, overflow) go to
the call-control engine, events go to every observer (journal, metrics, log). Commands from
the SIP side (an agent registered, answered, refused) come in through `command()`, which
runs inside a runtime step so the outputs are handled in the same turn (work conservation:
an idle agent and a waiting call are matched in the step that made both true).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from acd.logging import get_logger
from acd.runtime import Runtime
from config import Settings
from queueing import (
    AgentSpec,
    AgentState,
    AgentStateChanged,
    AgentStatus,
    AgentStatusChanged,
    CallOverflowed,
    Decision,
    Event,
    QueueSpec,
    RelaxStep,
    RequirementsRelaxed,
    Router,
    RoutingError,
    Strategy,
    Tier,
    WhenNoAgents,
)

__all__ = ["RoutingService", "router_from_settings"]

log = get_logger("acd.routing")
_stdlib_log = logging.getLogger("acd.routing")

# Routing events an operator reads in the log at info level; the rest are at debug (the
# call-control engine already logs the life of each call).
_INFO_EVENTS = (AgentStatusChanged, AgentStateChanged, RequirementsRelaxed, CallOverflowed)
# An agent's state changes that the call engine logs at the same moment, with the same
# agent and call ids, are at debug: reserved (agent_ringing), reserved -> on-call
# (agent_answered, call_bridged), on-call -> wrap-up (agent_leg_ended, call_ended). The
# others (idle again, delayed, unreachable, ...) stay at info.
_CALL_DRIVEN = frozenset({
    (AgentState.IDLE, AgentState.RESERVED),
    (AgentState.RESERVED, AgentState.ON_CALL),
    (AgentState.ON_CALL, AgentState.WRAP_UP),
})
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
_NAMES: dict[type, tuple[str, tuple[str, ...]]] = {}  # event type -> log name, field names


def _loggable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _loggable(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        return [_loggable(v) for v in value]
    return value


def log_event(event: Event) -> None:
    """Log a routing-core event once (cores never log; the runtime does)."""
    info = isinstance(event, _INFO_EVENTS) and not (
        isinstance(event, AgentStateChanged) and (event.old, event.new) in _CALL_DRIVEN
    )
    if not info and not _stdlib_log.isEnabledFor(logging.DEBUG):
        return  # skip building the fields of a line the level filter would drop
    kind = type(event)
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = (
            _SNAKE.sub("_", kind.__name__).lower(),
            tuple(f.name for f in dataclasses.fields(event)),
        )
    name, field_names = names
    fields = {f: _loggable(getattr(event, f)) for f in field_names}
    if info:
        log.info(name, **fields)
    else:
        log.debug(name, **fields)


DecisionHandler = Callable[[Decision, float], None]
EventObserver = Callable[[Event, float], None]


def router_from_settings(settings: Settings, *, seed: int = 0) -> Router:
    """Map the validated configuration onto the routing core's own plain types.

    An agent without explicit ``queues`` serves every queue; the router then offers it
    only the calls whose (relaxed) skill requirements it meets.
    """
    queues = [
        QueueSpec(
            name=q.name,
            numbers=tuple(q.numbers),
            required_skills=dict(q.skills),
            strategy=Strategy(q.strategy.value),
            weight=q.weight,
            ring_timeout=q.ring_timeout,
            wrapup_seconds=q.wrapup_seconds,
            max_wait=q.max_wait,
            when_no_agents=WhenNoAgents(q.when_no_agents.value),
            overflow_target=q.overflow,
            relaxation=tuple(
                RelaxStep(
                    after_seconds=step.after,
                    set_level=dict(step.set_level),
                    drop_skills=tuple(step.drop),
                    add_queues=tuple(step.add_queues),
                )
                for step in q.relax
            ),
            no_answer_delay=q.no_answer_delay,
            reject_delay=q.no_answer_delay,
            max_no_answers=q.max_no_answers,
        )
        for q in settings.queues
    ]
    all_queues = [q.name for q in settings.queues]
    agents = [
        AgentSpec(
            id=a.id,
            name=a.name,
            skills=dict(a.skills),
            tiers=(
                {name: Tier(level=t.level, position=t.position) for name, t in a.queues.items()}
                if a.queues
                else {name: Tier() for name in all_queues}
            ),
            wrapup_seconds=a.wrapup_seconds,
        )
        for a in settings.agents
    ]
    return Router(queues, agents, settings.pause_reasons, seed=seed)


class RoutingService:
    def __init__(self, runtime: Runtime, settings: Settings, router: Router | None = None):
        self.runtime = runtime
        self.settings = settings
        self.router = router or router_from_settings(settings)
        self.decision_handler: DecisionHandler | None = None
        self.observers: list[EventObserver] = []
        self._auto_available = {a.id for a in settings.agents if a.auto_available}
        self._priority = {q.name: q.priority for q in settings.queues}
        runtime.add_timed(self.router)
        runtime.add_flusher(self.flush)

    def start(self, now: float) -> None:
        """Nobody is reachable until their phone registers (registrations restored from
        the store arrive right after)."""
        for view in self.router.agent_views():
            self.router.agent_reachable(view.agent_id, False, now)
        self.flush(now)

    def queue_priority(self, queue: str) -> int:
        return self._priority.get(queue, 0)

    # -- inputs from the SIP side ------------------------------------------------------
    def on_reachability(self, agent_id: str, reachable: bool, now: float) -> None:
        try:
            self.router.agent_reachable(agent_id, reachable, now)
            if reachable and agent_id in self._auto_available:
                view = self.router.agent_view(agent_id)
                if view.status is AgentStatus.LOGGED_OUT:
                    self.router.agent_login(agent_id, now)
        except RoutingError as exc:
            # A phone registered for an id that is not an agent (config changed): the
            # registrar already authenticated it, routing has nothing to do with it.
            log.info("reachability_ignored", agent_id=agent_id, code=exc.code)

    # -- outputs -----------------------------------------------------------------------
    def flush(self, now: float) -> bool:
        outputs = self.router.drain()
        for output in outputs:
            if isinstance(output, Decision):
                if self.decision_handler is None:
                    log.error("decision_without_handler", decision=type(output).__name__)
                    continue
                self.decision_handler(output, now)
            else:
                log_event(output)
                for observe in self.observers:
                    try:
                        observe(output, now)
                    except Exception:
                        log.exception("observer_failed", event=type(output).__name__)
        return bool(outputs)
