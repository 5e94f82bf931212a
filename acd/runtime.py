"""The one timer of the process, and the clock every core is fed.

Cores (`sip/`, `queueing/`) never read the clock: the runtime passes ``now`` — wall-clock
seconds (``time.time()``), because bindings, nonces and call records are stored with absolute
times that a standby must understand. Every core exposes ``next_deadline()`` (or
``get_timer()``) and ``handle_timer(now)``; the runtime keeps a single ``loop.call_at`` armed
for the earliest deadline of all of them (aioquic style), and after every input and every
timer it runs the flush hooks that move the cores' outputs to sockets and the store.

Deadlines are served in `TIMER_SLOT` (10 ms) slots: the timer is armed for the end of the
earliest deadline's slot, so every deadline of a slot is handled in one wake-up, at most
10 ms late and never early (SIP's shortest timer is T1 = 500 ms). At 80 calls/s that is
~100 wake-ups a second instead of ~320 (one per transaction timer).
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Callable
from typing import Protocol

from acd.logging import get_logger

__all__ = ["GC_THRESHOLDS", "TIMER_SLOT", "Clock", "Runtime", "Timed", "settle_heap"]

Clock = Callable[[], float]
log = get_logger("acd.runtime")

#: Seconds: deadlines in the same slot are handled by one timer wake-up, at its end.
TIMER_SLOT = 0.01

#: Collector thresholds for serving (CPython's defaults are 700, 10, 10): a young collection
#: after 50,000 net new container objects, the middle generation every 20 of them. The
#: live SIP transactions (~100 objects per call, kept 32 s) make a large young working set.
#: bench_calls, 2,400 calls at 80 + 160 calls/s, collector time: defaults ~1.6 s (~950
#: young, 7 full collections of ~350k objects); frozen start-up + (10,000, 10, 10)
#: 0.45-0.65 s; frozen + these 0.3-0.5 s.
GC_THRESHOLDS = (50_000, 20, 10)


def settle_heap() -> None:
    """Call once when start-up is done: collect its garbage, then move every object alive
    (modules, configuration, the web app, pools: ~150k objects) to the permanent
    generation, which the cyclic collector never walks again, and raise the
    collector's thresholds (`GC_THRESHOLDS`). Objects frozen here are still freed by
    reference counting; only a cycle among them that later becomes garbage is kept."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Timed(Protocol):
    def next_deadline(self) -> float | None: ...

    def handle_timer(self, now: float) -> object: ...


class Runtime:
    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._loop = asyncio.get_running_loop()
        self._timed: list[Timed] = []
        self._flushers: list[Callable[[float], bool]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None
        self._in_step = False

    def now(self) -> float:
        return self.clock()

    def add_timed(self, core: Timed) -> None:
        self._timed.append(core)

    def add_flusher(self, flush: Callable[[float], bool]) -> None:
        """``flush(now)`` runs after every input and timer, in registration order, and
        returns whether it moved anything (then every flusher runs again)."""
        self._flushers.append(flush)

    def step(self, work: Callable[[float], None] | None = None) -> None:
        """Run ``work(now)`` (an input to a core), then flush every core and re-arm."""
        now = self.clock()
        outer = not self._in_step
        self._in_step = True
        try:
            if work is not None:
                work(now)
            if outer:
                self._flush(now)
        finally:
            if outer:
                self._in_step = False
                self._rearm()

    def _flush(self, now: float) -> None:
        # A flusher may feed another core (a registrar event reaching the router, the
        # router's offer becoming an INVITE); repeat until nothing moves, bounded so a bug
        # cannot spin forever.
        for _ in range(16):
            moved = False
            for flush in self._flushers:
                try:
                    moved = flush(now) or moved
                except Exception:
                    log.exception("flush_failed", flusher=getattr(flush, "__qualname__", "?"))
            if not moved:
                return
        log.error("flush_not_settling")

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = None
        self.step(self._expire)

    def _expire(self, now: float) -> None:
        for core in self._timed:
            deadline = core.next_deadline()
            if deadline is not None and deadline <= now:
                try:
                    core.handle_timer(now)
                except Exception:
                    log.exception("timer_failed", core=type(core).__name__)

    def _rearm(self) -> None:
        deadline: float | None = None
        for core in self._timed:
            d = core.next_deadline()
            if d is not None and (deadline is None or d < deadline):
                deadline = d
        if deadline is None:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = self._armed_for = None
            return
        # The end of the deadline's slot (never before the deadline, despite rounding).
        wake = max(deadline, math.ceil(deadline / TIMER_SLOT) * TIMER_SLOT)
        if self._armed_for == wake and self._handle is not None:
            return
        if self._handle is not None:
            self._handle.cancel()
        delay = max(0.0, wake - self.clock())
        self._armed_for = wake
        self._handle = self._loop.call_at(self._loop.time() + delay, self._fire)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
