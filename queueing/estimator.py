"""Expected wait time (EWT) for announcements.

Model: while a caller waits, every serving agent is busy (work conservation), and
agents free up at rate N / AHT, where N is the number of member agents of the call's
agent pools whose status is AVAILABLE and who are reachable, and AHT the queue's mean
handle time (answer to end of wrap-up). The caller at position k leaves the queue
after k more agents free up, so

    EWT(k) = k * AHT / N

which is exact for an M/M/N queue with FIFO service and no abandonment (the k
completions are each exponential with rate N / AHT). AHT is, by default, the plain
mean of the handle times of the queue's calls whose wrap-up ended in the last
``DEFAULT_HANDLE_TIME_WINDOW`` seconds (one hour; the newest sample always counts;
``default_handle_time`` until the first one), so it follows the time of day like the
dashboards' hourly AHT. An exponentially weighted moving average
(``aht += alpha * (sample - aht)``) is still available (``Router(handle_time_alpha=)``)
but a short memory over-estimates: the estimate is multiplied by the queue length, and
queues grow after runs of long calls, just when a short-memory AHT is high. Measured
on a seeded M/M/13 at 77 % load (tests/queueing/test_simulation.py, seeds 11-13), mean
EWT minus actual wait, relative to the mean wait: EWMA alpha 0.1 +8 to +9 %, alpha
0.01 +2.5 %, 30-minute window +3 %, one-hour window +1.6 to +1.8 % (standard error
about 1.2 %). With N = 0 the estimate is None ("unknown"): an announcement should not
promise a time nobody is staffed to keep.

Known bias: agents shared with other queues also serve those queues' callers, so the
estimate is optimistic for queues that share agents with higher-priority traffic.
"""

from __future__ import annotations

from collections import deque

__all__ = ["DEFAULT_HANDLE_TIME_WINDOW", "HandleTimeEstimator", "expected_wait"]

# Mean handle time = mean over the calls that ended in the last hour (Router default).
DEFAULT_HANDLE_TIME_WINDOW = 3600.0


class HandleTimeEstimator:
    """Mean handle time of a queue: an EWMA of the samples, or, with ``window``, the
    plain mean of the samples observed in the last ``window`` seconds."""

    __slots__ = ("_recent", "_sum", "alpha", "mean", "samples", "window")

    def __init__(
        self, default_handle_time: float, alpha: float, window: float | None = None
    ) -> None:
        self.mean = default_handle_time
        self.alpha = alpha
        self.window = window
        self.samples = 0
        self._recent: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def observe(self, handle_seconds: float, now: float = 0.0) -> None:
        sample = max(0.0, handle_seconds)
        self.samples += 1
        if self.window is None:
            self.mean += self.alpha * (sample - self.mean)
            return
        recent = self._recent
        recent.append((now, sample))
        self._sum += sample
        horizon = now - self.window
        while recent[0][0] < horizon:  # the newest sample always stays
            self._sum -= recent.popleft()[1]
        if len(recent) == 1:
            self._sum = sample  # no drift from the running sum
        self.mean = self._sum / len(recent)


def expected_wait(position: int, serving_agents: int, mean_handle_time: float) -> float | None:
    if serving_agents <= 0:
        return None
    return position * mean_handle_time / serving_agents
