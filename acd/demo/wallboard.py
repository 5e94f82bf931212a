"""A live terminal wallboard of the ACD running in this process.

It reads the live state in-process: the router's queue and agent views
(`queueing.Router.queue_views` / `agent_views`) and the exact KPI engine's figures
(``Application.kpi_provider``: rolling 24 h service level within 15 s and connection
rate). On a terminal it redraws the screen about once a second with ANSI escapes (no
curses); otherwise it prints one plain line every ``plain_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from queueing import AgentState, AgentStatus
from queueing.views import AgentView, QueueView

__all__ = ["Board", "Wallboard", "agent_buckets", "render_lines", "render_plain"]

CLEAR = "\x1b[H\x1b[2J"
BOLD, DIM, RED, GREEN, YELLOW, RESET = (
    "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m")

#: Wallboard columns for agents, in order: logged-out, paused, then the routing state.
BUCKETS = ("idle", "ringing", "on-call", "wrap-up", "delayed", "paused", "unreachable",
           "logged-out")


@dataclass(frozen=True, slots=True, kw_only=True)
class Board:
    """Everything one frame shows."""

    queues: tuple[QueueView, ...]
    agents: Mapping[str, int]  # bucket -> count
    service_level: float | None  # rolling 24 h, answered within T (15 s)
    connection_rate: float | None  # rolling 24 h
    asa: float | None
    offered_24h: int
    answered_24h: int
    abandoned_24h: int
    sim_clock: str = ""
    extra: str = ""


def agent_buckets(agents: list[AgentView]) -> dict[str, int]:
    """Agents by what a supervisor wants to see: logged out, paused, else the state."""
    counts: Counter[str] = Counter()
    for view in agents:
        if view.status is AgentStatus.LOGGED_OUT:
            counts["logged-out"] += 1
        elif view.state is AgentState.UNREACHABLE:
            counts["unreachable"] += 1
        elif view.status is AgentStatus.PAUSED and view.state is AgentState.IDLE:
            counts["paused"] += 1
        elif view.state is AgentState.RESERVED:
            counts["ringing"] += 1
        else:
            counts[view.state.value] += 1
    return {b: counts.get(b, 0) for b in BUCKETS}


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{100 * value:5.1f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def render_lines(board: Board, *, color: bool = False, title: str = "12345 ACD demo"
                 ) -> list[str]:
    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    sl, cr = board.service_level, board.connection_rate
    sl_col = GREEN if sl is not None and sl >= 0.8 else RED if sl is not None else DIM
    cr_col = GREEN if cr is not None and cr >= 0.95 else RED if cr is not None else DIM
    waiting = sum(q.waiting for q in board.queues)
    lines = [
        c(BOLD, f"{title}   {board.sim_clock}   {time.strftime('%H:%M:%S')}"),
        "",
        f"  answered within 15 s (24 h) {c(sl_col, _pct(sl))}    "
        f"connection rate (24 h) {c(cr_col, _pct(cr))}    ASA {_secs(board.asa)}    "
        f"calls waiting {c(YELLOW if waiting else '', str(waiting))}",
        f"  24 h: offered {board.offered_24h}  answered {board.answered_24h}  "
        f"abandoned {board.abandoned_24h}",
        "",
        c(BOLD, f"  {'queue':<12}{'waiting':>8}{'ringing':>8}{'oldest':>9}"
                f"{'logged-in':>10}{'available':>10}{'idle':>6}"),
    ]
    for q in board.queues:
        oldest = "-" if q.oldest_wait is None else f"{q.oldest_wait:.0f}s"
        lines.append(f"  {q.name:<12}{q.waiting:>8}{q.ringing:>8}{oldest:>9}"
                     f"{q.logged_in:>10}{q.available:>10}{q.idle:>6}")
    lines += ["", c(BOLD, "  agents  " + "  ".join(f"{b:>11}" for b in BUCKETS)),
              "          " + "  ".join(f"{board.agents.get(b, 0):>11}" for b in BUCKETS)]
    if board.extra:
        lines += ["", f"  {board.extra}"]
    lines += ["", c(DIM, "  Ctrl-C: stop the traffic, let calls finish, print a summary")]
    return lines


def render_plain(board: Board) -> str:
    """One line for logs and pipes."""
    waiting = sum(q.waiting for q in board.queues)
    agents = " ".join(f"{b}={n}" for b, n in board.agents.items() if n)
    return (f"wallboard {board.sim_clock} waiting={waiting} "
            f"sl15={_pct(board.service_level).strip()} "
            f"connection={_pct(board.connection_rate).strip()} asa={_secs(board.asa)} "
            f"offered={board.offered_24h} answered={board.answered_24h} "
            f"abandoned={board.abandoned_24h} agents[{agents}]"
            + (f" {board.extra}" if board.extra else ""))


class Wallboard:
    """Redraws from ``app`` (an `acd.app.Application`) until cancelled."""

    def __init__(self, app: Any, *, stream: TextIO | None = None, tty: bool | None = None,
                 interval: float = 1.0, plain_interval: float = 5.0,
                 sim_clock: Callable[[], str] | None = None,
                 extra: Callable[[], str] | None = None) -> None:
        self.app = app
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.plain_interval = plain_interval
        self.sim_clock = sim_clock
        self.extra = extra
        self.frames = 0

    def board(self) -> Board:
        app = self.app
        now = app.runtime.now()
        router = app.routing.router
        figures: Any = None
        provider = app.kpi_provider
        if provider is not None:
            with contextlib.suppress(Exception):
                figures = provider().get((None, "rolling"))
        return Board(
            queues=tuple(router.queue_views(now)),
            agents=agent_buckets(router.agent_views()),
            service_level=getattr(figures, "service_level", None),
            connection_rate=getattr(figures, "connection_rate", None),
            asa=getattr(figures, "average_speed_of_answer", None),
            offered_24h=getattr(figures, "offered", 0),
            answered_24h=getattr(figures, "answered", 0),
            abandoned_24h=getattr(figures, "abandoned", 0),
            sim_clock=self.sim_clock() if self.sim_clock else "",
            extra=self.extra() if self.extra else "",
        )

    def draw(self) -> None:
        board = self.board()
        if self.tty:
            self.stream.write(CLEAR + "\n".join(render_lines(board, color=True)) + "\n")
        else:
            self.stream.write(render_plain(board) + "\n")
        self.stream.flush()
        self.frames += 1

    async def run(self) -> None:
        period = self.interval if self.tty else self.plain_interval
        while True:
            self.draw()
            await asyncio.sleep(period)
