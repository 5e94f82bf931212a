"""Helpers shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from acd.store import QueueEvent, QueueEventKind

T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """Literal test times: T0 + seconds."""
    return T0 + timedelta(seconds=seconds)


def events(first: int, last: int, call_id: str = "c1") -> list[QueueEvent]:
    """Numbered queue events ``n`` in ``first..last`` with ``event_id`` ``e<n>``."""
    return [
        QueueEvent(
            event_id=f"e{n:06d}",
            ts=at(n),
            event=QueueEventKind.OFFER,
            call_id=call_id,
            queue="q12345",
            agent_id="1001",
            data={"n": n},
        )
        for n in range(first, last + 1)
    ]


async def event_numbers(db: Any) -> list[int]:
    """``data.n`` of every stored queue event in ``id`` (insertion) order."""
    rows = await db.fetch("SELECT data FROM queue_events ORDER BY id")
    return [row["data"]["n"] for row in rows]
