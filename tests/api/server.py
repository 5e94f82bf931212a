"""The real ACD (``acd.app.Application``) in a background thread with its own event loop,
on a fresh PostgreSQL database, port 0 everywhere: tests talk to it over real HTTP with
a synchronous client (schemathesis too), and run router commands on its loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from acd.app import Application
from config import Settings
from queueing import Router

__all__ = [
    "ADMIN_NAME",
    "ADMIN_TOKEN",
    "READ_NAME",
    "READ_TOKEN",
    "RunningAcd",
    "api_settings",
    "running_acd",
]

T = TypeVar("T")

READ_TOKEN = "read-token-0123456789"
ADMIN_TOKEN = "admin-token-0123456789"
READ_NAME = "wallboard"
ADMIN_NAME = "supervisors"
START_TIMEOUT = 60.0


def api_settings(database_url: str, tmp: Path, **extra: Any) -> Settings:
    data: dict[str, Any] = {
        "sip": {"listen": ["udp:127.0.0.1:0"], "domain": "acd.test", "qualify_interval": 0},
        "http": {
            "listen": "127.0.0.1:0",
            "tokens": [
                {"name": READ_NAME, "token": READ_TOKEN, "role": "read"},
                {"name": ADMIN_NAME, "token": ADMIN_TOKEN, "role": "admin"},
            ],
        },
        "database": {"url": database_url, "spool_dir": str(tmp / "spool")},
        "logging": {"format": "json", "level": "warning"},
        "trunks": [{"name": "pbx", "sources": ["127.0.0.0/8"]}],
        "agents": [
            {"id": str(1001 + i), "name": f"Agent {1001 + i}", "password": f"pw-{1001 + i}-x",
             "skills": {"mandarin": 5}}
            for i in range(6)
        ],
        "queues": [
            {"name": "general", "numbers": ["12345"], "skills": {"mandarin": 1},
             "wrapup_seconds": 300},
            {"name": "complaints", "numbers": ["123453"], "skills": {"mandarin": 1}},
        ],
        "pause_reasons": ["break", "lunch", "training"],
    }
    data.update(extra)
    return Settings(**data)


@dataclass
class RunningAcd:
    app: Application
    loop: asyncio.AbstractEventLoop
    base_url: str

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the ACD's loop (its thread) and return its result."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def step(self, work: Callable[[Router, float], T]) -> T:
        """A router command inside one runtime step, like the API does."""
        out: list[T] = []

        def go() -> None:
            app = self.app
            assert app.runtime is not None and app.routing is not None
            router = app.routing.router
            app.runtime.step(lambda now: out.append(work(router, now)))

        self.call(go)
        return out[0]


@contextmanager
def running_acd(settings: Settings) -> Iterator[RunningAcd]:
    ready: concurrent.futures.Future[RunningAcd] = concurrent.futures.Future()
    stopped: concurrent.futures.Future[None] = concurrent.futures.Future()
    holder: dict[str, asyncio.Event] = {}

    async def main() -> None:
        app = Application(settings)
        stop = asyncio.Event()
        holder["stop"] = stop
        try:
            await app.start()
            assert app.http_address is not None
            host, port = app.http_address
            ready.set_result(RunningAcd(app, asyncio.get_running_loop(), f"http://{host}:{port}"))
            await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise
        finally:
            await app.stop()

    def thread_main() -> None:
        try:
            asyncio.run(main())
            stopped.set_result(None)
        except BaseException as exc:
            stopped.set_exception(exc)

    thread = threading.Thread(target=thread_main, name="acd-under-test", daemon=True)
    thread.start()
    acd = ready.result(timeout=START_TIMEOUT)
    try:
        yield acd
    finally:
        acd.loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=30)
        stopped.result(timeout=1)
