"""Expected wait time (EWT) for announcements.

Model: while a caller waits, every serving agent is busy (work conservation), and
agents free up at rate N / AHT, where N is the number of member agents of the call's
agent pools whose status is AVAILABLE and who are reachable, and AHT the queue's mean
handle time (answer to end of wrap-up). The caller at position k leaves the queue
after k more agents free up, so

    EWT(k) = k * AHT / N

which is exact for an M/M/N queue with FIFO service and no abandonment (the k
completions are each exponential with rate N / AHT). AHT is an exponentially weighted
moving average of handle times of calls answered from the queue
(``aht += alpha * (sample - aht)``, started at ``default_handle_time``), so it follows
the time of day without storing samples. With N = 0 the estimate is None ("unknown"):
an announcement should not promise a time nobody is staffed to keep.

Known bias: agents shared with other queues also serve those queues' callers, so the
estimate is optimistic for queues that share agents with higher-priority traffic.
"""

from __future__ import annotations

__all__ = ["HandleTimeEstimator", "expected_wait"]


class HandleTimeEstimator:
    __slots__ = ("alpha", "mean", "samples")

    def __init__(self, default_handle_time: float, alpha: float) -> None:
        self.mean = default_handle_time
        self.alpha = alpha
        self.samples = 0

    def observe(self, handle_seconds: float) -> None:
        self.mean += self.alpha * (max(0.0, handle_seconds) - self.mean)
        self.samples += 1


def expected_wait(position: int, serving_agents: int, mean_handle_time: float) -> float | None:
    if serving_agents <= 0:
        return None
    return position * mean_handle_time / serving_agents
