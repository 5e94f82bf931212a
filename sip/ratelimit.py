"""Sans-IO limiter for repeated authentication failures from one source.

A source (use the client's IP address, not IP:port, so a softphone cannot dodge it
by changing ports) is *blocked* once it has ``max_failures`` failures within the
last ``window_seconds``; it is unblocked when the oldest of those leaves the window.

Suggested registrar behaviour (the registrar decides): while blocked, answer
``403 Forbidden`` with ``Retry-After: ceil(retry_after)`` and *no* challenge, without
looking at the credentials at all.  403 makes softphones stop and show an error;
503 would make many of them fail over or retry at once, and RFC 3261 has no 429.
Because the key is the source and not the username, a block reveals nothing about
which usernames exist.

Memory is bounded: each source keeps at most ``max_failures`` timestamps, sources
whose failures all left the window are pruned, and at ``max_sources`` the source
with the oldest last failure is evicted (a flood of distinct sources can therefore
escape the limit; that case needs a network-level defence).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable

__all__ = ["FailureLimiter", "limit_keys"]


class FailureLimiter:
    """Sliding-window failure counter keyed by source."""

    def __init__(
        self, max_failures: int, window_seconds: float, *, max_sources: int = 10_000
    ) -> None:
        if max_failures <= 0 or window_seconds <= 0 or max_sources <= 0:
            raise ValueError("max_failures, window_seconds and max_sources must be positive")
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_sources = max_sources
        # source -> failure times (oldest first); ordered by last failure, oldest first.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        """Number of sources currently tracked (for metrics and tests)."""
        return len(self._failures)

    def _prune(self, now: float) -> None:
        cutoff = now - self.window_seconds
        while self._failures:
            source, times = next(iter(self._failures.items()))
            if times[-1] > cutoff:
                break
            del self._failures[source]

    def _recent(self, source: str, now: float) -> deque[float] | None:
        times = self._failures.get(source)
        if times is None:
            return None
        cutoff = now - self.window_seconds
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[source]
            return None
        return times

    def record_failure(self, source: str, now: float) -> None:
        """Count one failed authentication from *source* at *now*."""
        self._prune(now)
        times = self._recent(source, now)
        if times is None:
            if len(self._failures) >= self.max_sources:
                self._failures.popitem(last=False)
            times = deque(maxlen=self.max_failures)
            self._failures[source] = times
        times.append(now)
        self._failures.move_to_end(source)

    def record_success(self, source: str) -> None:
        """Forget *source*'s failures (a user who finally typed the right password)."""
        self._failures.pop(source, None)

    def is_blocked(self, source: str, now: float) -> bool:
        """True while *source* has ``max_failures`` failures inside the window."""
        times = self._recent(source, now)
        return times is not None and len(times) >= self.max_failures

    def retry_after(self, source: str, now: float) -> float:
        """Seconds until *source* is unblocked; 0.0 if it is not blocked."""
        times = self._recent(source, now)
        if times is None or len(times) < self.max_failures:
            return 0.0
        return times[0] + self.window_seconds - now

    # -- several keys at once: a request counts against every account it names ---------
    def blocked_for(self, keys: Iterable[str], now: float) -> float | None:
        """Seconds until all of ``keys`` are unblocked, or None when none is blocked."""
        waits = [self.retry_after(k, now) for k in keys if self.is_blocked(k, now)]
        return max(waits) if waits else None

    def record_failures(self, keys: Iterable[str], now: float) -> None:
        for key in keys:
            self.record_failure(key, now)

    def record_successes(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.record_success(key)


def limit_keys(source_host: str, *users: str | None) -> list[str]:
    """Failure-limit keys for a request from ``source_host`` naming ``users`` (the To or
    From user and the username the credentials claim): an attacker who varies one of
    them still hits the counter of the other."""
    return sorted({f"{source_host}|{user}" for user in users if user})

