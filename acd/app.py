"""Composition root: build every part of the ACD from the settings, run, shut down cleanly.

Start-up order: store (embedded PostgreSQL unless ``database.url`` is set; migrations; journal
replaying any spool left by a crash) → runtime (the one timer) → SIP (sockets, endpoint,
registrar restored from the store, OPTIONS) → HTTP (health, readiness, metrics) → the ready
file. SIGTERM/SIGINT stop it in reverse order, draining the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from acd.calls import CallControl, PlayerMedia
from acd.http import HttpServer, Readiness, create_app
from acd.logging import get_logger
from acd.media import MediaPlayer, PortRange, PromptLibrary
from acd.observability import Observability
from acd.registration import RegistrationService
from acd.routing import RoutingService
from acd.runtime import Runtime, settle_heap
from acd.sipservice import SipService
from acd.store import (
    Database,
    Journal,
    RegistrationRow,
    close_orphaned_calls,
    load_bindings,
    migrate,
)
from config import Settings
from sip.registrar import Address as BindingAddress
from sip.registrar import Binding
from sip.requests import answer_options
from sip.transaction_events import RequestReceived

__all__ = ["Application", "serve"]

log = get_logger("acd.app")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class JournalBindingStore:
    """Registrar bindings written through the journal (never blocking the SIP path)."""

    def __init__(self, journal: Journal, clock: Any) -> None:
        self.journal = journal
        self.clock = clock

    def save_binding(self, binding: Binding) -> None:
        self.journal.submit(_row(binding, self.clock(), binding.expires_at))

    def remove_binding(self, binding: Binding) -> None:
        now = self.clock()
        self.journal.submit(_row(binding, now, now))  # expires_at <= updated_at: a removal


def _row(binding: Binding, updated: float, expires: float) -> RegistrationRow:
    return RegistrationRow(
        aor=binding.aor,
        contact=binding.contact,
        expires_at=_utc(expires),
        updated_at=_utc(updated),
        source_transport=binding.source.transport.lower(),
        source_host=binding.source.host,
        source_port=binding.source.port,
        user_agent=binding.user_agent,
        call_id=binding.call_id,
        cseq=binding.cseq,
        q=binding.q,
    )


def _binding(row: RegistrationRow) -> Binding:
    return Binding(
        aor=row.aor,
        contact=row.contact,
        source=BindingAddress(
            transport=row.source_transport or "udp",
            host=row.source_host or "",
            port=row.source_port or 5060,
        ),
        user_agent=row.user_agent or "",
        call_id=row.call_id or "",
        cseq=row.cseq or 0,
        expires_at=row.expires_at.timestamp(),
        q=row.q if row.q is not None else 1.0,
        registered_at=row.updated_at.timestamp(),
    )


@dataclass
class Application:
    settings: Settings
    ready_file: Path | None = None
    # `acd serve`: freeze the start-up heap before ready (acd.runtime.settle_heap); off
    # for an Application inside another process (tests, the demo).
    freeze_heap: bool = False
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    db: Database | None = None
    journal: Journal | None = None
    runtime: Runtime | None = None
    sip: SipService | None = None
    registration: RegistrationService | None = None
    routing: RoutingService | None = None
    observability: Observability | None = None
    http: HttpServer | None = None
    http_address: tuple[str, int] | None = None
    player: MediaPlayer | None = None
    calls: CallControl | None = None

    async def start(self) -> None:
        settings = self.settings
        self.db = await Database.from_settings(settings.database).start()
        log.info("store_connected", embedded=self.db.embedded)
        applied = await migrate(self.db.url)
        if applied:
            log.info("store_migrated", versions=list(applied))
        self.journal = Journal(self.db.pool, Path(settings.database.spool_dir))
        await self.journal.start()

        self.runtime = runtime = Runtime()
        now = runtime.now()
        closed = await close_orphaned_calls(self.db.pool, _utc(now))
        if closed:
            log.warning("orphaned_calls_closed", calls=closed, reason="restart")

        sipcfg = settings.sip
        self.sip = SipService(runtime, t1=sipcfg.t1, t2=sipcfg.t2, t4=sipcfg.t4)
        advertised = sipcfg.advertised_address
        assert advertised is not None  # derived by config
        listen = [(a.transport.value, a.host, a.port) for a in sipcfg.listen]
        listeners = await self.sip.start(listen, advertised.host, advertised.port or None)
        aliases = {advertised.host, *(lst.host for lst in listeners)}
        self.registration = RegistrationService(
            self.sip, settings, JournalBindingStore(self.journal, runtime.now), aliases=aliases
        )
        self.routing = routing = RoutingService(runtime, settings)
        # Metrics, exact KPIs (rebuilt from the journal) and the journal itself observe
        # every routing event from the very first one (docs/metrics.md).
        self.observability = await Observability.start(
            settings, self.registry, runtime, routing, self.journal, self.db.pool,
            sip_stats=self._sip_stats, transactions_alive=self._transactions_alive,
            registered=self.registration.is_reachable,
        )
        runtime.step(routing.start)
        self.registration.listeners.append(routing.on_reachability)
        rows = await load_bindings(self.db.pool, _utc(now))
        runtime.step(
            lambda n: (
                self.registration.restore([_binding(r) for r in rows], n)
                if self.registration
                else None
            )
        )
        self.sip.handlers["OPTIONS"] = self._on_options
        # Call control (docs/calls.md): inbound INVITEs, agent legs, feature codes.
        mcfg = settings.media
        self.player = MediaPlayer(PortRange(mcfg.port_min, mcfg.port_max, mcfg.bind_host))
        media = PlayerMedia(
            self.player, PromptLibrary(), runtime, settings, mcfg.advertised_host or advertised.host
        )
        self.calls = CallControl(self.sip, routing, self.registration, settings, media, runtime)
        self.calls.install()
        self.calls.observers.append(self.observability.on_call_event)  # call records

        readiness = Readiness(
            {
                "sip": lambda: (bool(listeners), f"{len(listeners)} listeners"),
                "store": self._store_ready,
            }
        )
        http = settings.http.listen
        self.http = HttpServer(
            create_app(self.registry, readiness, self), http.host.strip("[]"), http.port or 0
        )
        self.http_address = await self.http.start()
        log.info("http_listening", host=self.http_address[0], port=self.http_address[1])
        if self.freeze_heap:
            settle_heap()
        self._write_ready()
        log.info("acd_ready", agents=len(settings.agents), queues=len(settings.queues))

    @property
    def kpi_provider(self) -> Any:
        """The exact KPI figures now (``Observability.kpi_snapshot``) for the API."""
        return None if self.observability is None else self.observability.kpi_snapshot

    def _sip_stats(self) -> Any:
        assert self.sip is not None and self.sip.endpoint is not None
        return self.sip.endpoint.stats

    def _transactions_alive(self) -> int:
        assert self.sip is not None and self.sip.endpoint is not None
        return int(self.sip.endpoint.live_transactions)

    def _store_ready(self) -> tuple[bool, str]:
        if self.journal is None:
            return False, "not started"
        health = self.journal.health()
        return health.is_writable_or_spooling, f"spool={health.spool_depth}"

    def _on_options(self, event: RequestReceived, now: float) -> None:
        assert self.sip is not None
        self.sip.respond(event.key, answer_options(event.request), now)

    def _write_ready(self) -> None:
        if self.ready_file is None or self.sip is None or self.http_address is None:
            return
        info = {
            "sip": [
                {"transport": lst.transport, "host": lst.host, "port": lst.port}
                for lst in self.sip.listeners
            ],
            "http": f"http://{self.http_address[0]}:{self.http_address[1]}",
            "pid": os.getpid(),
        }
        tmp = self.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(self.ready_file)  # atomic: readers never see half a file

    async def stop(self) -> None:
        log.info("acd_stopping")
        if self.http is not None:
            with contextlib.suppress(Exception):
                await self.http.close()
        if self.player is not None:
            await self.player.close()
        if self.sip is not None:
            await self.sip.close()
        if self.observability is not None and self.runtime is not None:
            self.observability.close(self.runtime.now())
        if self.runtime is not None:
            self.runtime.close()
        if self.journal is not None:
            await self.journal.close()
        if self.db is not None:
            await self.db.close()
        log.info("acd_stopped")


async def run(settings: Settings, ready_file: str | None = None) -> int:
    app = Application(settings, Path(ready_file) if ready_file else None, freeze_heap=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        await stop.wait()
    finally:
        await app.stop()
    return 0


def serve(settings: Settings, ready_file: str | None = None) -> int:
    """Run until SIGTERM/SIGINT, on uvloop where it installs."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(settings, ready_file))
    return uvloop.run(run(settings, ready_file))
