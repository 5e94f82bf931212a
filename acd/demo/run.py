"""``acd demo``: the ACD and the simulator in one process, a wallboard, a summary.

1. `demo_settings` adapts a configuration for the demo: SIP and HTTP on free loopback
   ports, the embedded database unless ``ACD_DATABASE_URL`` is set, the first N agents
   (cloned when more are asked for than configured) with ``auto_available``, and a trunk
   for 127.0.0.1 if none lets the simulated PBX in.
2. `run_demo` starts the `Application`, prints where ``/metrics`` and the API are,
   starts the `Simulator` (phones register, the PBX places calls), shows the `Wallboard`
   until the duration ends or SIGINT/SIGTERM, stops the traffic, lets calls finish
   (bounded; a second Ctrl-C skips that), prints the `Summary` and stops the ACD.

The summary counts come from the router's own events for this run (the KPIs on the
wallboard are the ACD's rolling 24 h, which include earlier runs on the same database).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from acd.calls import CallEnded, CallStarted
from config import Settings
from config.routing import AgentSettings
from config.sections import TrunkSettings
from config.types import HostPort, ListenAddress
from queueing import CallAnswered
from sip.digest import ha1 as compute_ha1

from .driver import SimConfig, Simulator, Target
from .profile import HOUR
from .wallboard import Wallboard

__all__ = ["DemoOptions", "Summary", "Tally", "demo_settings", "run_demo"]

_OUTCOMES = ("answered", "abandoned", "overflowed", "failed")


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    agents: int = 60
    calls_per_hour: float = 300.0
    speed: float = 1.0
    duration: float = 0.0  # real seconds; 0 = until Ctrl-C
    start_hour: float = 9.0
    drain: float = 30.0  # real seconds the calls in progress get to finish
    seed: int = 1
    tty: bool | None = None  # None: stdout.isatty()
    plain_interval: float = 5.0
    log_file: Path | None = None


# -- settings -------------------------------------------------------------------------------
def _clone(agent: AgentSettings, new_id: str, realm: str) -> AgentSettings:
    secret = f"demo-{new_id}"
    return agent.model_copy(update={
        "id": new_id, "name": f"模拟坐席 {new_id}", "password": None,
        "ha1": compute_ha1(new_id, realm, secret, "MD5"),
        "ha1_sha256": compute_ha1(new_id, realm, secret, "SHA-256"),
        "auto_available": True,
    })


def demo_settings(base: Settings, agents: int,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """``base`` adapted for the demo (see the module docstring)."""
    env = os.environ if environ is None else environ
    if agents < 1:
        raise ValueError("--agents must be at least 1")
    if not base.agents:
        raise ValueError("the configuration has no agents to simulate")
    if not any(q.numbers for q in base.queues):
        raise ValueError("the configuration has no queue with a number to call")
    realm = base.sip.realm or base.sip.domain or "127.0.0.1"
    chosen = [a.model_copy(update={"auto_available": True}) for a in base.agents[:agents]]
    taken = {a.id for a in base.agents}
    numeric = [int(a.id) for a in base.agents if a.id.isdigit()]
    next_id = max(numeric, default=1000) + 1
    while len(chosen) < agents:
        while str(next_id) in taken:
            next_id += 1
        template = base.agents[len(chosen) % len(base.agents)]
        chosen.append(_clone(template, str(next_id), realm))
        taken.add(str(next_id))
    loopback = ipaddress.ip_address("127.0.0.1")
    trunks = base.trunks
    if not any(loopback in net for t in trunks for net in t.sources):
        demo_trunk = TrunkSettings(name="demo-pbx", sources=("127.0.0.1/32",))  # type: ignore[arg-type]
        trunks = (*trunks, demo_trunk)
    sip = base.sip.model_copy(update={
        "listen": (ListenAddress.parse("udp:127.0.0.1:0"),),
        "advertised_address": HostPort("127.0.0.1", None),
        "domain": base.sip.domain if base.sip.domain else "127.0.0.1",
    })
    database = base.database
    if not env.get("ACD_DATABASE_URL"):
        database = database.model_copy(update={"url": None})
    return base.model_copy(update={
        "sip": sip,
        "agents": tuple(chosen),
        "trunks": trunks,
        "http": base.http.model_copy(update={"listen": HostPort("127.0.0.1", 0)}),
        "media": base.media.model_copy(update={"bind_host": "127.0.0.1",
                                               "advertised_host": "127.0.0.1"}),
        "database": database,
    })


# -- the run's own counts ----------------------------------------------------------------
@dataclass
class Tally:
    """Per-call outcome of this run: every call the call-control engine started
    (``CallStarted`` … ``CallEnded``), answered as soon as the router says so
    (``CallAnswered``, which also gives the wait)."""

    queues: frozenset[str]
    service_seconds: float = 15.0
    first_queued: dict[str, float] = field(default_factory=dict)  # call -> arrival
    outcome: dict[str, str] = field(default_factory=dict)
    waits: dict[str, float] = field(default_factory=dict)  # answered: since arrival
    max_wait: float = 0.0
    rejected: int = 0  # refused before a call id was given (404/488): counted failed

    def on_call_event(self, event: Any, now: float) -> None:
        """Observer of the call-control engine (``CallControl.observers``)."""
        if isinstance(event, CallStarted):
            self.first_queued.setdefault(event.call_id, now)
        elif isinstance(event, CallEnded):
            if not event.call_id:
                self.rejected += 1
                return
            start = self.first_queued.setdefault(event.call_id, now)
            previous = self.outcome.get(event.call_id)
            outcome = event.outcome if event.outcome in _OUTCOMES else "failed"
            self.outcome[event.call_id] = outcome  # the journal's outcome is final
            if previous is None:
                self.max_wait = max(self.max_wait, now - start)

    def on_event(self, event: Any, now: float) -> None:
        """Observer of the router (``RoutingService.observers``)."""
        if isinstance(event, CallAnswered):
            start = self.first_queued.get(event.call_id)
            if start is None or event.call_id in self.outcome:
                return
            wait = max(0.0, event.at - start)
            self.outcome[event.call_id] = "answered"
            self.waits[event.call_id] = wait
            self.max_wait = max(self.max_wait, wait)

    def summary(self, now: float) -> Summary:
        counts = {k: 0 for k in _OUTCOMES}
        for outcome in self.outcome.values():
            counts[outcome] += 1
        counts["failed"] += self.rejected
        waiting = [t for c, t in self.first_queued.items() if c not in self.outcome]
        max_wait = max([self.max_wait, *(now - t for t in waiting)])
        waits = [w for c, w in self.waits.items() if self.outcome.get(c) == "answered"]
        within = sum(1 for w in waits if w <= self.service_seconds)
        return Summary(offered=len(self.first_queued) + self.rejected, in_queue=len(waiting),
                       answered_within=within, max_wait=max_wait,
                       asa=sum(waits) / len(waits) if waits else None,
                       **counts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    failed: int
    in_queue: int  # started, no outcome yet when counted (waiting or ringing)
    answered_within: int
    asa: float | None
    max_wait: float

    @property
    def consistent(self) -> bool:
        return self.offered == (self.answered + self.abandoned + self.overflowed
                                + self.failed + self.in_queue)

    @property
    def service_level(self) -> float | None:
        """Answered within 15 s over answered + abandoned (the KPI's default variant)."""
        den = self.answered + self.abandoned
        return self.answered_within / den if den else None

    @property
    def connection_rate(self) -> float | None:
        den = self.offered - self.in_queue
        return self.answered / den if den else None

    def lines(self) -> list[str]:
        def pct(v: float | None) -> str:
            return "-" if v is None else f"{100 * v:.1f}%"

        return [
            "summary",
            f"  calls offered      {self.offered}",
            f"  answered           {self.answered}",
            f"  abandoned          {self.abandoned}",
            f"  overflowed         {self.overflowed}",
            f"  failed             {self.failed}",
            f"  still in queue     {self.in_queue}",
            f"  answered within 15 s  {pct(self.service_level)}"
            f"  ({self.answered_within} of answered + abandoned)",
            f"  connection rate    {pct(self.connection_rate)}",
            f"  ASA                {'-' if self.asa is None else f'{self.asa:.1f} s'}",
            f"  max wait           {self.max_wait:.1f} s",
        ]


# -- the run ----------------------------------------------------------------------------
def _sim_clock(sim: Simulator, speed: float) -> str:
    t = sim.sim_time()
    day, rest = divmod(t, 24 * HOUR)
    hh, mm = int(rest // HOUR), int(rest % HOUR // 60)
    return f"sim day {int(day) + 1} {hh:02d}:{mm:02d} (x{speed:g})"


async def run_demo(settings: Settings, options: DemoOptions, out: TextIO | None = None,
                   err: TextIO | None = None) -> Summary:
    """Run the demo; returns the summary (already printed)."""
    from acd.app import Application

    out = out or sys.stdout
    err = err or sys.stderr

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    loop = asyncio.get_running_loop()
    stop, force = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        (force if stop.is_set() else stop).set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)

    if settings.database.url is None:
        print(f"acd: starting the embedded PostgreSQL in {settings.database.data_dir} "
              "(the first start initialises it) ...", file=err, flush=True)
    app = Application(settings)
    sim: Simulator | None = None
    try:
        await app.start()
        assert app.sip is not None and app.http_address is not None
        udp = next(lst for lst in app.sip.listeners if lst.transport == "udp")
        host, port = app.http_address
        http = f"http://{host}:{port}"
        say(f"ACD SIP      udp:{udp.host}:{udp.port}  (domain {settings.sip.domain})")
        say(f"metrics      {http}/metrics")
        say(f"API          {http}/api/v1/queues  {http}/api/v1/agents  {http}/api/v1/kpi")
        say(f"database     {'embedded' if app.db and app.db.embedded else 'ACD_DATABASE_URL'}")
        if options.log_file is not None:
            say(f"ACD log      {options.log_file}")
        tally = Tally(frozenset(q.name for q in settings.queues),
                      service_seconds=settings.kpi.service_level_seconds)
        assert app.routing is not None and app.calls is not None
        app.routing.observers.append(tally.on_event)
        app.calls.observers.append(tally.on_call_event)
        target = Target.from_settings(settings, sip_host=udp.host, sip_port=udp.port,
                                      api_url=http)
        sim = Simulator(target, SimConfig(
            calls_per_hour=options.calls_per_hour, speed=options.speed,
            start_hour=options.start_hour, seed=options.seed, t1=settings.sip.t1))
        registered = await sim.start()
        profile = sim.profile
        say(f"simulator    {registered}/{len(target.agents)} agents registered; "
            f"{options.calls_per_hour:g} calls/h on average ({profile.daily_calls:.0f}/day, "
            f"peak {profile.hourly_calls(profile.peak_hour):.0f}/h at "
            f"{profile.peak_hour:02d}:00), speed x{options.speed:g}, "
            f"{'until Ctrl-C' if options.duration <= 0 else f'{options.duration:g} s'}")
        stats = sim.stats
        running_sim = sim
        board = Wallboard(
            app, stream=out, tty=options.tty, plain_interval=options.plain_interval,
            sim_clock=lambda: _sim_clock(running_sim, options.speed),
            extra=lambda: (f"simulator: placed {stats.placed}, connected {stats.connected}, "
                           f"in progress {running_sim.active_calls}, pauses {stats.pauses}"))
        board_task = loop.create_task(board.run())
        traffic = loop.create_task(sim.run(options.duration if options.duration > 0
                                           else None))
        stopper = loop.create_task(stop.wait())
        await asyncio.wait({traffic, stopper}, return_when=asyncio.FIRST_COMPLETED)
        sim.stop_traffic()
        await asyncio.gather(traffic, return_exceptions=True)
        stopper.cancel()
        if sim.active_calls and not force.is_set():
            say(f"stopping: traffic stopped, letting {sim.active_calls} calls finish "
                f"(at most {options.drain:g} s; Ctrl-C again to skip)")
            drainer = loop.create_task(sim.drain(options.drain))
            forcer = loop.create_task(force.wait())
            await asyncio.wait({drainer, forcer}, return_when=asyncio.FIRST_COMPLETED)
            forcer.cancel()
            drainer.cancel()
        await sim.hang_up_all()
        board_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await board_task
        if not board.tty:
            board.draw()  # the last state, also for logs
        summary = tally.summary(app.runtime.now() if app.runtime else 0.0)
        for line in summary.lines():
            say(line)
        placed_results = ", ".join(f"{k} {v}" for k, v in sorted(stats.results.items()))
        say(f"  simulator: placed {stats.placed}, connected {stats.connected} ({placed_results})"
            f"; agent hang-ups {stats.agent_hangups}, caller hang-ups {stats.caller_hangups}"
            f"; pauses {stats.pauses}")
        return summary
    finally:
        if sim is not None:
            await sim.close()
        await app.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
