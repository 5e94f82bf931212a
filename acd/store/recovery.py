"""Start-up clean-up after a crash or restart.

Calls and agent intervals that were open when the previous process died can never be
closed by it. Run these AFTER ``Journal.start()`` has replayed the spool (so records
the old process acknowledged are in the database first) and BEFORE taking new calls.
Both are idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

__all__ = ["close_open_agent_states", "close_orphaned_calls"]

_CLOSE_CALLS: Final = """
UPDATE call_records
SET ended_at = $1,
    outcome = 'failed',
    reason = $2,
    hangup_by = COALESCE(hangup_by, 'system')
WHERE ended_at IS NULL
RETURNING call_id, queue, agent_id
"""

# The event id is derived from the call id, so a second run adds no second event.
_CLOSE_EVENT: Final = """
INSERT INTO queue_events (event_id, ts, call_id, queue, agent_id, event, data)
VALUES ('close:' || $3 || ':' || $2, $1, $2, $4, $5, 'fail',
        jsonb_build_object('reason', $3::text))
ON CONFLICT (event_id) DO NOTHING
"""


async def close_orphaned_calls(pool: Any, now: datetime, reason: str = "restart") -> list[str]:
    """Mark every call record without ``ended_at`` as ended at ``now``, outcome
    ``failed``, ``reason``, hangup by ``system``, and journal a ``fail`` event for each,
    in one transaction. Returns the call ids closed (sorted).

    ``as_of`` is left alone on purpose: a genuine snapshot of the call (taken before the
    crash, with a later ``as_of``) replayed afterwards still wins over this guess.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_CLOSE_CALLS, now, reason)
        if rows:
            await conn.executemany(
                _CLOSE_EVENT,
                [(now, r["call_id"], reason, r["queue"], r["agent_id"]) for r in rows],
            )
    return sorted(r["call_id"] for r in rows)


async def close_open_agent_states(pool: Any, now: datetime) -> int:
    """Close agent intervals left open (``ended_at`` NULL) at ``now``; returns how many.
    Intervals that started after ``now`` (clock skew) are closed at their start."""
    status = await pool.execute(
        """
        UPDATE agent_state_history
        SET ended_at = GREATEST(started_at, $1),
            reason = COALESCE(reason, 'restart')
        WHERE ended_at IS NULL
        """,
        now,
    )
    return int(status.split()[-1])
