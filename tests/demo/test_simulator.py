"""The simulator's phones and PBX against a real ACD in this process (real UDP on
loopback, a fresh PostgreSQL database per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from acd.app import Application
from acd.calls import CallEnded
from acd.demo.driver import SimConfig, Simulator, Target
from acd.demo.run import demo_settings
from acd.demo.simulator import CallerResult, SimCall
from config import Settings, load_settings
from config.routing import Media
from queueing import AgentStatus
from queueing.traffic import CallArrival

pytestmark = pytest.mark.pg


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def arrival(*, handle: float = 0.3, patience: float | None = None,
            queue: str = "general") -> CallArrival:
    return CallArrival(call_id="t", queue=queue, at=0.0, handle_time=handle,
                       patience=patience, priority=0, extra_skills={})


@dataclass
class Rig:
    app: Application
    sim: Simulator
    settings: Settings
    ended: list[CallEnded] = field(default_factory=list)

    def status(self, agent_id: str) -> AgentStatus:
        assert self.app.routing is not None
        return self.app.routing.router.agent_view(agent_id).status

    def place(self, **kw: Any) -> SimCall:
        agent_hangs_up = kw.pop("agent_hangs_up", True)
        number = kw.pop("number", "12345")
        assert self.sim.pbx is not None
        return self.sim.pbx.place(arrival(**kw), number, agent_hangs_up=agent_hangs_up,
                                  speed=1.0)


def rig_settings(pg_url: str, agents: int, ringback: bool = False) -> Settings:
    base = load_settings(None)
    base = base.model_copy(update={
        "database": base.database.model_copy(update={"url": pg_url}),
        "sip": base.sip.model_copy(update={"qualify_interval": 0.0}),
    })
    settings = demo_settings(base, agents, environ={"ACD_DATABASE_URL": pg_url})
    if ringback:
        queues = tuple(q.model_copy(update={"media": Media.RINGBACK})
                       for q in settings.queues)
        settings = settings.model_copy(update={"queues": queues})
    return settings


@pytest.fixture
async def rig_factory(pg_url: str, tmp_path: Any) -> AsyncIterator[Any]:
    made: list[Rig] = []

    async def make(agents: int = 2, *, phones: int | None = None,
                   ringback: bool = False) -> Rig:
        settings = rig_settings(pg_url, agents, ringback)
        settings = settings.model_copy(update={"database": settings.database.model_copy(
            update={"spool_dir": tmp_path / "spool"})})
        app = Application(settings)
        await app.start()
        assert app.sip is not None and app.http_address is not None
        udp = app.sip.listeners[0]
        target = Target.from_settings(settings, sip_host=udp.host, sip_port=udp.port,
                                      api_url="http://{}:{}".format(*app.http_address),
                                      agents=phones)
        sim = Simulator(target, SimConfig(calls_per_hour=0, mean_pause_interval=0,
                                          ring_delay=(0.05, 0.1)))
        rig = Rig(app, sim, settings)
        assert app.calls is not None
        app.calls.observers.append(
            lambda e, now: rig.ended.append(e) if isinstance(e, CallEnded) else None)
        made.append(rig)
        await sim.start(register_timeout=5.0)
        return rig

    yield make
    for rig in made:
        await rig.sim.close()
        await rig.app.stop()


async def test_phones_register_with_sha256_and_md5_and_become_available(
        rig_factory: Any) -> None:
    rig = await rig_factory(agents=2)
    assert rig.sim.stats.registered == 2
    assert [p.auth_algorithm for p in rig.sim.phones] == ["SHA-256", "MD5"]
    assert rig.app.registration is not None
    for phone in rig.sim.phones:
        agent_id = phone.spec.agent_id
        assert rig.app.registration.is_reachable(agent_id)
        await until(lambda a=agent_id: rig.status(a) is AgentStatus.AVAILABLE)  # type: ignore[misc]


async def test_answered_call_agent_hangs_up(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1)
    call = rig.place(handle=0.3, agent_hangs_up=True)
    await until(lambda: bool(rig.ended) and call.ended is not None)
    assert call.result is CallerResult.COMPLETED
    assert call.connected is not None and call.wait is not None and call.wait < 5
    stats = rig.sim.stats
    assert (stats.agent_answers, stats.agent_hangups, stats.caller_hangups) == (1, 1, 0)
    (ended,) = rig.ended
    assert (ended.outcome, ended.hangup_by.value, ended.agent_id) == ("answered", "agent",
                                                                      "1001")
    assert ended.caller == call.caller
    assert rig.sim.phones[0].call is None
    assert rig.sim.pbx is not None and rig.sim.pbx.errors == []


async def test_answered_call_caller_hangs_up(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1)
    call = rig.place(handle=0.3, agent_hangs_up=False)
    await until(lambda: bool(rig.ended) and call.ended is not None)
    assert call.result is CallerResult.COMPLETED
    assert rig.sim.stats.caller_hangups == 1 and rig.sim.stats.agent_hangups == 0
    assert (rig.ended[0].outcome, rig.ended[0].hangup_by.value) == ("answered", "caller")
    await until(lambda: rig.sim.phones[0].call is None)


async def test_second_call_waits_for_the_busy_agent(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1)
    first = rig.place(handle=0.5)
    second = rig.place(handle=0.2)
    await until(lambda: len(rig.ended) == 2, timeout=30)  # wrap-up 10 s in between
    assert first.result is second.result is CallerResult.COMPLETED
    assert first.connected is not None and second.connected is not None
    assert first.ended is not None and second.connected > first.ended
    assert rig.sim.stats.agent_answers == 2


async def test_caller_gives_up_announce_mode_sends_bye(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1, phones=0)  # nobody registered: the call waits
    call = rig.place(patience=0.5)
    await until(lambda: bool(rig.ended) and call.ended is not None)
    assert call.answered_by_acd is not None  # the ACD answered (announcements) ...
    assert call.result is CallerResult.ABANDONED and call.connected is None  # ... BYE
    assert (rig.ended[0].outcome, rig.ended[0].hangup_by.value) == ("abandoned", "caller")


async def test_caller_gives_up_ringback_mode_sends_cancel(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1, phones=0, ringback=True)
    call = rig.place(patience=0.5)
    await until(lambda: bool(rig.ended) and call.ended is not None)
    assert call.answered_by_acd is None
    assert (call.result, call.status) == (CallerResult.ABANDONED, 487)
    assert rig.ended[0].outcome == "abandoned" and rig.ended[0].caller_status == 487


async def test_ringback_mode_answered_call(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1, ringback=True)
    call = rig.place(handle=0.2)
    await until(lambda: bool(rig.ended) and call.ended is not None)
    assert call.result is CallerResult.COMPLETED and call.connected is not None
    assert rig.ended[0].outcome == "answered"


@pytest.mark.parametrize("via", ["feature", "api"])
async def test_pause_and_unpause(rig_factory: Any, via: str) -> None:
    rig = await rig_factory(agents=2)
    phone = rig.sim.phones[0 if via == "feature" else 1]
    assert phone.spec.pause_via == via
    agent = phone.spec.agent_id
    await until(lambda: rig.status(agent) is AgentStatus.AVAILABLE)
    assert await rig.sim._set_status(phone, pause=True)
    await until(lambda: rig.status(agent) is AgentStatus.PAUSED)
    assert await rig.sim._set_status(phone, pause=False)
    await until(lambda: rig.status(agent) is AgentStatus.AVAILABLE)
    if via == "feature":  # the ACD hung up each confirmation call: no dialog left
        await until(lambda: len(phone.dialogs) == 0)
    assert phone.errors == []


async def test_paused_agent_gets_no_call(rig_factory: Any) -> None:
    rig = await rig_factory(agents=1)
    phone = rig.sim.phones[0]
    assert await rig.sim._set_status(phone, pause=True)
    await until(lambda: rig.status("1001") is AgentStatus.PAUSED)
    call = rig.place(patience=0.6)
    await until(lambda: call.ended is not None)
    assert call.result is CallerResult.ABANDONED and rig.sim.stats.agent_answers == 0
