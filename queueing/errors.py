"""Domain errors of the routing core.

One exception class with a stable string ``code``: callers branch on the code, never on
the message. Only the HTTP/SIP edges map codes to statuses (404, 409, ...).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DUPLICATE_CALL",
    "INVALID_ARGUMENT",
    "INVALID_CONFIG",
    "INVALID_TRANSITION",
    "NO_SUCH_OFFER",
    "UNKNOWN_AGENT",
    "UNKNOWN_CALL",
    "UNKNOWN_PAUSE_REASON",
    "UNKNOWN_QUEUE",
    "RoutingError",
]

UNKNOWN_QUEUE: Final = "unknown_queue"
UNKNOWN_AGENT: Final = "unknown_agent"
UNKNOWN_CALL: Final = "unknown_call"
UNKNOWN_PAUSE_REASON: Final = "unknown_pause_reason"
DUPLICATE_CALL: Final = "duplicate_call"
# The command is not legal in the current status/state (e.g. end wrap-up while idle).
INVALID_TRANSITION: Final = "invalid_transition"
# Answer/failure reported for an offer that no longer exists: the router already
# withdrew it (caller left, ring timeout, another agent answered). The caller of the
# router must hang up the agent leg; the race is expected, not a bug.
NO_SUCH_OFFER: Final = "no_such_offer"
INVALID_CONFIG: Final = "invalid_config"
# A command argument out of range (e.g. a skill level of 0 in extra_skills).
INVALID_ARGUMENT: Final = "invalid_argument"


class RoutingError(Exception):
    """A command the router refuses. ``code`` is stable; ``message`` is for humans."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
