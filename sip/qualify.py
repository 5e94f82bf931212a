"""OPTIONS pinging ("qualify") of registered contacts, sans-IO.

The runtime asks `due(now)` which contacts to ping, sends an OPTIONS to each (through a
client transaction) and reports back with `result(key, ok, now)`: ``ok`` is True for *any*
response — 404, 405 or 501 still prove the softphone is alive and reachable through its
NAT binding — and False only for a transaction timeout (Timer F) or a transport error.

A contact becomes unreachable after ``max_failures`` consecutive failures (default 1: a
timeout already means the transaction layer retransmitted for 32 s) and reachable again on
the next success. If the runtime never reports (a lost task), `handle_timer` counts the
ping as failed after ``timeout`` seconds, so a contact cannot stay "in flight" forever.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

__all__ = [
    "ContactReachable",
    "ContactUnreachable",
    "Qualifier",
    "QualifyEvent",
    "Reachability",
]

K = TypeVar("K", bound=Hashable)


class Reachability(Enum):
    UNKNOWN = "unknown"
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactReachable(Generic[K]):
    contact_key: K
    rtt: float | None  # seconds from due() to the response; None if not timed


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactUnreachable(Generic[K]):
    contact_key: K
    failures: int


QualifyEvent = ContactReachable[K] | ContactUnreachable[K]


@dataclass(slots=True)
class _Entry:
    next_ping: float
    sent_at: float | None = None  # set while a ping is in flight
    failures: int = 0
    state: Reachability = Reachability.UNKNOWN


class Qualifier(Generic[K]):
    """Ping schedule and reachability of a set of contacts (keys chosen by the caller)."""

    def __init__(self, interval: float = 30.0, timeout: float = 40.0, max_failures: int = 1):
        if interval <= 0 or timeout <= 0 or max_failures <= 0:
            raise ValueError("interval, timeout and max_failures must be positive")
        self.interval = interval
        self.timeout = timeout
        self.max_failures = max_failures
        self._entries: dict[K, _Entry] = {}
        # The earliest deadline, recomputed only after a change (the runtime asks after
        # every SIP message; the schedule changes once per ping).
        self._deadline: float | None = None
        self._deadline_known = True

    def add(self, contact_key: K, now: float) -> None:
        """Start qualifying a contact; the first ping is due at once. Adding a known key
        (a refreshed registration) keeps its schedule and state."""
        if contact_key not in self._entries:
            self._entries[contact_key] = _Entry(next_ping=now)
            self._deadline_known = False

    def remove(self, contact_key: K) -> None:
        if self._entries.pop(contact_key, None) is not None:
            self._deadline_known = False

    def state(self, contact_key: K) -> Reachability | None:
        entry = self._entries.get(contact_key)
        return None if entry is None else entry.state

    def __contains__(self, contact_key: object) -> bool:
        return contact_key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def due(self, now: float) -> list[K]:
        """Contacts to ping now; each is marked in flight until `result` or timeout."""
        out: list[K] = []
        for key, entry in self._entries.items():
            if entry.sent_at is None and entry.next_ping <= now:
                entry.sent_at = now
                out.append(key)
        if out:
            self._deadline_known = False
        return out

    def result(self, contact_key: K, ok: bool, now: float) -> list[QualifyEvent[K]]:
        """Outcome of a ping: ``ok`` for any response, False for timeout/transport error."""
        entry = self._entries.get(contact_key)
        if entry is None:
            return []  # removed (unregistered) while the ping was in flight
        sent_at, entry.sent_at = entry.sent_at, None
        entry.next_ping = now + self.interval
        self._deadline_known = False
        if ok:
            entry.failures = 0
            if entry.state is Reachability.REACHABLE:
                return []
            entry.state = Reachability.REACHABLE
            rtt = None if sent_at is None else now - sent_at
            return [ContactReachable(contact_key=contact_key, rtt=rtt)]
        entry.failures += 1
        if entry.failures >= self.max_failures and entry.state is not Reachability.UNREACHABLE:
            entry.state = Reachability.UNREACHABLE
            return [ContactUnreachable(contact_key=contact_key, failures=entry.failures)]
        return []

    def handle_timer(self, now: float) -> list[QualifyEvent[K]]:
        """Count pings with no reported outcome after ``timeout`` as failures."""
        events: list[QualifyEvent[K]] = []
        for key, entry in list(self._entries.items()):
            if entry.sent_at is not None and entry.sent_at + self.timeout <= now:
                events.extend(self.result(key, False, now))
        return events

    def next_deadline(self) -> float | None:
        """The earliest of: a ping falling due, an in-flight ping timing out (O(n) after a
        change, else cached)."""
        if not self._deadline_known:
            times = [
                e.next_ping if e.sent_at is None else e.sent_at + self.timeout
                for e in self._entries.values()
            ]
            self._deadline = min(times) if times else None
            self._deadline_known = True
        return self._deadline
