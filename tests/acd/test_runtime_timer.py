"""acd.runtime.Runtime's one timer: deadlines served in TIMER_SLOT slots, never early."""

from __future__ import annotations

import asyncio
import math
import time

from acd.runtime import TIMER_SLOT, Runtime


class Core:
    def __init__(self, deadlines: list[float], done: asyncio.Future[None], want: int) -> None:
        self.deadlines = sorted(deadlines)
        self.fired: list[tuple[float, list[float]]] = []  # (now, deadlines handled)
        self.done = done
        self.want = want

    def next_deadline(self) -> float | None:
        return self.deadlines[0] if self.deadlines else None

    def handle_timer(self, now: float) -> None:
        due = [d for d in self.deadlines if d <= now]
        self.deadlines = [d for d in self.deadlines if d > now]
        self.fired.append((now, due))
        if sum(len(d) for _, d in self.fired) == self.want and not self.done.done():
            self.done.set_result(None)


def _slot_start(after: float) -> float:
    return math.ceil((time.time() + after) / TIMER_SLOT) * TIMER_SLOT


def test_deadlines_of_one_slot_fire_together_and_never_early() -> None:
    async def run() -> Core:
        loop = asyncio.get_running_loop()
        runtime = Runtime()
        base = _slot_start(0.05)
        # Two deadlines inside one slot, one ten slots later.
        deadlines = [base + 0.1 * TIMER_SLOT, base + 0.9 * TIMER_SLOT, base + 10.5 * TIMER_SLOT]
        core = Core(deadlines, loop.create_future(), want=3)
        runtime.add_timed(core)
        runtime.step()  # arms the timer
        await asyncio.wait_for(core.done, 5)
        runtime.close()
        return core

    core = asyncio.run(run())
    handled = [due for _, due in core.fired if due]
    assert [len(due) for due in handled] == [2, 1]
    for now, due in core.fired:
        assert all(d <= now for d in due)  # never early
