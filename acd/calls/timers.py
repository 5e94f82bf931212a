"""The engine's deadlines (announcements, keepalives, feature-code hang-ups, no-response
checks) as one `Timed` object for the runtime's single timer — never ``call_later``.

Each deadline is a callback ``fn(now)`` at an absolute time; `Deadline.cancel()` disarms
it. Callbacks run in deadline order inside a runtime step; one that raises is logged and
does not stop the others.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from acd.logging import get_logger

__all__ = ["Deadline", "Deadlines"]

log = get_logger("acd.calls")

Callback = Callable[[float], None]


class Deadline:
    __slots__ = ("at", "callback", "cancelled")

    def __init__(self, at: float, callback: Callback) -> None:
        self.at = at
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Deadlines:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()

    def at(self, when: float, callback: Callback) -> Deadline:
        deadline = Deadline(when, callback)
        heapq.heappush(self._heap, (when, next(self._seq), deadline))
        return deadline

    def __len__(self) -> int:
        return sum(1 for _, _, d in self._heap if not d.cancelled)

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def handle_timer(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, deadline = heapq.heappop(heap)
            if deadline.cancelled:
                continue
            deadline.cancelled = True
            try:
                deadline.callback(now)
            except Exception:
                log.exception("call_timer_failed")
