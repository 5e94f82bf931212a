"""The simulator as a whole: agents' phones + a PBX + the traffic clock, against an ACD
reachable over SIP/UDP (in the same process for ``acd demo``, another process for
``bench/bench_load.py``).

Simulated time runs ``speed`` times faster than real time from ``start_hour``; arrivals
come from `HourlyProfile.arrivals` (Poisson following the hourly profile), talk and
patience times are divided by ``speed``. Some agents pause now and then (feature code
``*22`` or the API), and come back (``*21`` or the API) after a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from config import Settings
from queueing.traffic import CallArrival
from sip.transaction_events import Address

from .profile import HOUR, HourlyProfile, queue_mix
from .simulator import AgentPhone, Pbx, PhoneSpec, SimCall, SimStats
from .ua import RtpSink

__all__ = ["SimConfig", "Simulator", "Target", "api_post", "percentile"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The ACD under test: where its SIP and API are, its agents and queue numbers."""

    sip: Address
    domain: str
    numbers: Mapping[str, str]  # queue -> the number the PBX dials
    ringback_numbers: frozenset[str]
    agents: tuple[PhoneSpec, ...]
    api_url: str | None = None
    api_token: str | None = None
    pause_reason: str = "break"

    @classmethod
    def from_settings(cls, settings: Settings, *, sip_host: str, sip_port: int,
                      api_url: str | None = None, agents: int | None = None) -> Target:
        admin = [t for t in settings.http.tokens if t.role.value == "admin"]
        token = admin[0].token.get_secret_value() if admin else None
        specs = []
        chosen = settings.agents if agents is None else settings.agents[:agents]
        for i, agent in enumerate(chosen):
            ha1 = {"MD5": agent.ha1} if agent.ha1 else {}
            if agent.ha1_sha256:
                ha1["SHA-256"] = agent.ha1_sha256
            offered = [a for a in settings.sip.digest_algorithms if a in ha1]
            prefer = offered[i % len(offered)] if offered else "MD5"
            via = "api" if (api_url and i % 2) else "feature"
            specs.append(PhoneSpec(agent_id=agent.id, ha1=ha1, algorithm=prefer,
                                   pause_via=via))
        reasons = [r for r in settings.pause_reasons if r != "no-answer"]
        return cls(
            sip=Address("udp", sip_host, sip_port),
            domain=settings.sip.domain or sip_host,
            numbers={q.name: q.numbers[0] for q in settings.queues if q.numbers},
            ringback_numbers=frozenset(n for q in settings.queues
                                       if q.media.value == "ringback" for n in q.numbers),
            agents=tuple(specs),
            api_url=api_url,
            api_token=token,
            pause_reason=reasons[0] if reasons else "break",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    calls_per_hour: float = 300.0  # average over the day; the profile shapes each hour
    speed: float = 1.0
    start_hour: float = 9.0  # simulated local time of day at start
    mean_handle_time: float = 240.0  # simulated seconds
    mean_patience: float | None = 90.0  # simulated seconds
    agent_hangup_share: float = 0.6  # share of calls the agent ends (else the caller)
    ring_delay: tuple[float, float] = (0.3, 2.0)  # real seconds, uniform
    mean_pause_interval: float = 2 * HOUR  # simulated seconds between an agent's pauses
    mean_pause: float = 600.0  # simulated seconds
    login: bool = False  # dial *21 after registering (agents without auto_available)
    seed: int = 1
    t1: float = 0.5
    mix: Mapping[str, float] | None = None  # queue shares; default from the queue names

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ValueError(f"speed must be > 0, got {self.speed!r}")


async def api_post(url: str, path: str, body: Mapping[str, Any] | None,
                   token: str | None, timeout: float = 5.0) -> int:
    """POST JSON to the supervisor API without blocking the loop; the HTTP status."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    data = json.dumps(body or {}).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
            "Content-Type: application/json", f"Content-Length: {len(data)}",
            "Connection: close"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    fields = status_line.split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0


class Simulator:
    """Phones + PBX + traffic. ``await start()``, ``run()`` in a task, ``stop_traffic()``,
    ``await drain()``, ``await close()``."""

    def __init__(self, target: Target, config: SimConfig,
                 profile: HourlyProfile | None = None) -> None:
        self.target = target
        self.config = config
        self.profile = profile or HourlyProfile(
            calls_per_hour=config.calls_per_hour,
            mix=config.mix or queue_mix([q for q in target.numbers]),
            mean_handle_time=config.mean_handle_time,
            mean_patience=config.mean_patience,
            seed=config.seed,
        )
        unknown = [q for q in self.profile.mix if q not in target.numbers]
        if unknown:
            raise ValueError(f"the queue mix names queues without numbers: {unknown}")
        self.stats = SimStats()
        self.rng = random.Random(f"demo:{config.seed}")
        self.sink = RtpSink()
        self.phones: list[AgentPhone] = []
        self.pbx: Pbx | None = None
        self.started_at = 0.0  # loop time
        self.sim_start = config.start_hour * HOUR
        self.ended: list[SimCall] = []
        self.api_errors = 0
        self._traffic_stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- clock -----------------------------------------------------------------------------
    def sim_time(self, loop_time: float | None = None) -> float:
        now = asyncio.get_running_loop().time() if loop_time is None else loop_time
        return self.sim_start + max(0.0, now - self.started_at) * self.config.speed

    # -- start -----------------------------------------------------------------------------
    async def start(self, register_timeout: float = 15.0) -> int:
        """Start the RTP sink, the PBX and the phones; register every phone. Returns how
        many registered."""
        loop = asyncio.get_running_loop()
        rtp = await self.sink.start()
        cfg = self.config
        self.pbx = Pbx(acd=self.target.sip, acd_host=self.target.domain, rtp_port=rtp,
                       stats=self.stats, ringback_numbers=self.target.ringback_numbers,
                       t1=cfg.t1, on_end=self.ended.append)
        await self.pbx.start()
        for spec in self.target.agents:
            phone = AgentPhone(spec, acd=self.target.sip, domain=self.target.domain,
                               rtp_port=rtp, calls=self.pbx.by_caller, stats=self.stats,
                               rng=random.Random(f"{cfg.seed}:{spec.agent_id}"),
                               ring_delay=cfg.ring_delay, t1=cfg.t1)
            await phone.start()
            self.phones.append(phone)
        for i, phone in enumerate(self.phones):
            phone.register()
            if i % 20 == 19:
                await asyncio.sleep(0.01)  # do not flood the registrar in one burst
        if self.phones:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(p.registered for p in self.phones)), register_timeout)
        if cfg.login:
            await asyncio.gather(*(self._feature(p, "*21") for p in self.phones
                                   if p.registered.done() and p.registered.result()))
        self.started_at = loop.time()
        for phone in self.phones:
            self._schedule_pause(phone)
        return self.stats.registered

    # -- traffic ---------------------------------------------------------------------------
    def arrivals(self) -> Iterator[CallArrival]:
        """Every caller from now on, in order (simulated time, up to 30 days)."""
        return self.profile.arrivals(self.sim_start, self.sim_start + 30 * 24 * HOUR)

    async def run(self, duration: float | None = None) -> None:
        """Place calls following the profile until ``stop_traffic()`` or ``duration``
        real seconds."""
        assert self.pbx is not None
        loop = asyncio.get_running_loop()
        end = None if duration is None else self.started_at + duration
        speed = self.config.speed
        for arrival in self.arrivals():
            due = self.started_at + (arrival.at - self.sim_start) / speed
            if end is not None and due >= end:
                break
            delay = due - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._traffic_stop.wait(), delay)
            if self._traffic_stop.is_set():
                break
            number = self.target.numbers[arrival.queue]
            self.pbx.place(arrival, number, speed=speed,
                           agent_hangs_up=self.rng.random() < self.config.agent_hangup_share)
        self._traffic_stop.set()

    def stop_traffic(self) -> None:
        self._traffic_stop.set()

    @property
    def active_calls(self) -> int:
        return 0 if self.pbx is None else self.pbx.active

    async def drain(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the calls in progress to end by themselves."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.active_calls and loop.time() < deadline:
            await asyncio.sleep(0.1)
        return self.active_calls == 0

    async def hang_up_all(self, settle: float = 1.0) -> None:
        """The PBX hangs up every call still up; give the ACD ``settle`` s to see it."""
        if self.pbx is not None and self.pbx.active:
            self.pbx.hang_up_all()
            await asyncio.sleep(settle)

    async def close(self) -> None:
        self.stop_traffic()
        for task in list(self._tasks):
            task.cancel()
        for ua in [*self.phones, *([self.pbx] if self.pbx else [])]:
            await ua.close()
        self.sink.close()

    # -- pausing ---------------------------------------------------------------------------
    def _schedule_pause(self, phone: AgentPhone) -> None:
        cfg = self.config
        if cfg.mean_pause_interval <= 0:
            return
        delay = phone.rng.expovariate(cfg.speed / cfg.mean_pause_interval)
        phone.later(delay, lambda now: self._spawn(self._pause_cycle(phone)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pause_cycle(self, phone: AgentPhone) -> None:
        if self._traffic_stop.is_set():
            return
        if phone.call is None and await self._set_status(phone, pause=True):
            self.stats.pauses += 1
            length = phone.rng.expovariate(self.config.speed / self.config.mean_pause)
            await asyncio.sleep(length)
            # Come back even after the traffic stopped: the drain wants every agent.
            for _ in range(3):
                if await self._set_status(phone, pause=False):
                    self.stats.unpauses += 1
                    break
                await asyncio.sleep(1.0)
        elif phone.call is None:
            self.stats.pause_refused += 1
        if not self._traffic_stop.is_set():
            self._schedule_pause(phone)

    async def _set_status(self, phone: AgentPhone, *, pause: bool) -> bool:
        target = self.target
        if phone.spec.pause_via == "api" and target.api_url:
            agent = phone.spec.agent_id
            path = f"/api/v1/agents/{agent}/{'pause' if pause else 'available'}"
            try:
                status = await api_post(target.api_url, path,
                                        {"reason": target.pause_reason} if pause else None,
                                        target.api_token)
            except (OSError, TimeoutError):
                self.api_errors += 1
                return False
            ok = 200 <= status < 300
        else:
            ok = await self._feature(phone, "*22" if pause else "*21")
        phone.paused = pause if ok else phone.paused
        return ok

    async def _feature(self, phone: AgentPhone, code: str) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def done(ok: bool) -> None:
            if not future.done():
                future.set_result(ok)

        phone.feature_code(code, done)
        try:
            return await asyncio.wait_for(future, 10.0)
        except TimeoutError:
            return False


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
