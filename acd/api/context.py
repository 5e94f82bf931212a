"""What the API reads and drives: the live router, the runtime step, the settings, KPIs,
the journal (audit records) and the database (audit reads).

The composition root passes the ``Application`` itself; anything with the attributes of
:class:`ApiSource` works (tests use small fakes). Attributes are read per request, so
parts that start later (or are wired in later issues) are picked up without rebuilding
the app. Optional attributes, read with ``getattr``: ``kpi_provider``/``kpi``,
``journal`` (an ``acd.store.Journal``; without one, actions are refused) and ``db``
(an ``acd.store.Database``; ``GET /audit`` reads ``db.pool``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from acd.routing import RoutingService
from acd.runtime import Runtime
from acd.store.records import ChangeSource, change_origin
from config import Settings
from metrics.kpi import KpiFigures
from queueing import Router, RoutingError

from .auth import Caller
from .problems import KPI_UNAVAILABLE, NOT_READY, STORE_UNAVAILABLE, ProblemError

__all__ = ["CALLER", "ApiContext", "ApiSource", "KpiProvider"]

#: The caller of the request being handled (set by the audit middleware).
CALLER: ContextVar[Caller | None] = ContextVar("acd_api_caller", default=None)

T = TypeVar("T")

#: The same callable ``metrics.KpiCollector`` scrapes: {(queue or None, window): figures},
#: window ``"rolling"`` or ``"calendar_day"`` (e.g. ``lambda: engine.snapshot(now())``).
KpiProvider = Callable[[], Mapping[tuple[str | None, str], KpiFigures]]


class ApiSource(Protocol):
    settings: Settings
    runtime: Runtime | None
    routing: RoutingService | None


class ApiContext:
    def __init__(self, source: ApiSource) -> None:
        self.source = source

    @property
    def settings(self) -> Settings:
        return self.source.settings

    def _parts(self) -> tuple[Runtime, RoutingService]:
        runtime, routing = self.source.runtime, self.source.routing
        if runtime is None or routing is None:
            raise ProblemError(503, NOT_READY, "the routing core is not running")
        return runtime, routing

    @property
    def router(self) -> Router:
        return self._parts()[1].router

    def now(self) -> float:
        return self._parts()[0].now()

    def clock(self) -> float:
        """Wall-clock seconds: the runtime's clock when it runs, else ``time.time()``."""
        runtime = self.source.runtime
        return runtime.now() if runtime is not None else time.time()

    @property
    def journal(self) -> Any:
        """The journal audit records go to; ``None`` when the source has none."""
        return getattr(self.source, "journal", None)

    def pool(self) -> Any:
        """The database pool for reads (``GET /audit``); 503 when there is none."""
        pool = getattr(getattr(self.source, "db", None), "pool", None)
        if pool is None:
            raise ProblemError(503, STORE_UNAVAILABLE, "the database is not available")
        return pool

    def command(self, work: Callable[[Router, float], T], *, agent_id: str | None = None) -> T:
        """Run a router command inside one runtime step, so its decisions are drained
        and acted on in the same turn. A ``RoutingError`` is caught inside the step (the
        step still flushes whatever timers fired) and re-raised here, at the edge.

        The agent intervals the step opens for ``agent_id`` (every agent's when
        ``None``) are recorded as ``source='api'``, ``actor`` = the caller's token name."""
        runtime, routing = self._parts()
        result: list[T] = []
        error: list[RoutingError] = []

        def step(now: float) -> None:
            try:
                result.append(work(routing.router, now))
            except RoutingError as exc:
                error.append(exc)

        caller = CALLER.get()
        with change_origin(ChangeSource.API, caller.name if caller else None, agent_id):
            runtime.step(step)
        if error:
            raise error[0]
        return result[0]

    def kpi(self) -> KpiProvider:
        provider: Any = getattr(self.source, "kpi_provider", None)
        if provider is None:
            engine = getattr(self.source, "kpi", None)
            if engine is not None and callable(getattr(engine, "snapshot", None)):
                return lambda: engine.snapshot(self.now())
            raise ProblemError(503, KPI_UNAVAILABLE, "KPI figures are not wired in this build")
        if not callable(provider):
            raise ProblemError(503, KPI_UNAVAILABLE, "KPI provider is not callable")
        return provider  # type: ignore[no-any-return]
