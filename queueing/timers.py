"""Deadlines as data: one heap, entries validated lazily by token.

Nothing is ever cancelled in place: a state change bumps the token stored on the
record, and a popped entry whose token no longer matches is simply dropped.
"""

from __future__ import annotations

import enum
import heapq
from typing import NamedTuple

__all__ = ["Timer", "TimerKind", "Timers"]


class TimerKind(enum.IntEnum):
    RING = 0  # ring timeout of one offer: subject = call, other = agent
    REST = 1  # end of wrap-up or no-answer delay: subject = agent
    RELAX = 2  # next relaxation step: subject = call
    MAX_WAIT = 3  # max wait of the current queue visit: subject = call


class Timer(NamedTuple):
    when: float
    seq: int  # FIFO among equal deadlines: keeps runs deterministic
    kind: TimerKind
    subject: str
    other: str
    token: int


_new = tuple.__new__
_heappush = heapq.heappush


class Timers:
    __slots__ = ("_seq", "heap")

    def __init__(self) -> None:
        self.heap: list[Timer] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self.heap)

    def schedule(
        self, when: float, kind: TimerKind, subject: str, token: int, other: str = ""
    ) -> None:
        self._seq += 1
        # tuple.__new__ skips the Python-level Timer.__new__: one routed call schedules one
        _heappush(self.heap, _new(Timer, (when, self._seq, kind, subject, other, token)))

    def peek(self) -> Timer | None:
        return self.heap[0] if self.heap else None

    def pop(self) -> Timer:
        return heapq.heappop(self.heap)
