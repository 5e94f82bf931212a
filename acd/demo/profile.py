"""The hourly arrival profile of a 12345 hotline day, feeding `queueing.PoissonTraffic`.

A day is 24 weights, one per local hour, normalised to a mean of 1: ``calls_per_hour`` is
the day's average hourly volume (the day's total is 24 × it) and hour *h* gets
``calls_per_hour × weight[h]``. Within an hour, arrivals are Poisson (piecewise-constant
rate = a non-homogeneous Poisson process over the day), drawn by `PoissonTraffic` with one
seed per hour so a run is reproducible. Talk and patience times are exponential.

Simulated time is seconds since midnight of day 0 (it may run past 86 400: day 1, ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from queueing.traffic import CallArrival, CallStream, PoissonTraffic

__all__ = [
    "DEFAULT_QUEUE_MIX",
    "HOTLINE_DAY",
    "HourlyProfile",
    "queue_mix",
]

#: Relative call volume per local hour (00-23) of a city 12345 hotline: quiet night, a
#: steep rise from 08:00, the morning peak at 09-11, a lunch dip, the afternoon peak at
#: 14-16, a long evening tail.
HOTLINE_DAY: tuple[float, ...] = (
    0.25, 0.15, 0.10, 0.08, 0.08, 0.12,  # 00-05
    0.30, 0.65, 1.45, 2.05, 2.15, 1.85,  # 06-11
    1.15, 1.35, 1.90, 1.95, 1.75, 1.30,  # 12-17
    0.85, 0.75, 0.70, 0.60, 0.45, 0.35,  # 18-23
)

#: Share of calls per queue of the packaged example (12345, 12345-1, -2, -3).
DEFAULT_QUEUE_MIX: Mapping[str, float] = {
    "general": 0.78, "enterprise": 0.10, "english": 0.04, "complaints": 0.08,
}

HOUR = 3600.0


def queue_mix(queues: Sequence[str]) -> dict[str, float]:
    """Shares (summing to 1) for ``queues``: the example's mix for the names it knows;
    queues it does not know share what is left (the first queue takes the rest when all
    are unknown)."""
    if not queues:
        raise ValueError("no queues to send calls to")
    known = {q: DEFAULT_QUEUE_MIX[q] for q in queues if q in DEFAULT_QUEUE_MIX}
    unknown = [q for q in queues if q not in known]
    if not unknown:
        total = sum(known.values())
        return {q: share / total for q, share in known.items()}
    if not known:
        rest = 0.3 / len(unknown[1:]) if len(unknown) > 1 else 0.0
        shares = {q: rest for q in unknown[1:]}
        shares[unknown[0]] = 1.0 - rest * len(unknown[1:])
        return {q: shares[q] for q in queues}
    left = max(0.0, 1.0 - sum(known.values()))
    shares = dict(known) | {q: left / len(unknown) for q in unknown}
    total = sum(shares.values())
    return {q: shares[q] / total for q in queues}


@dataclass(frozen=True, slots=True, kw_only=True)
class HourlyProfile:
    """``calls_per_hour`` on average over the day, shaped by ``weights``."""

    calls_per_hour: float
    weights: tuple[float, ...] = HOTLINE_DAY
    mix: Mapping[str, float] = field(default_factory=lambda: {"general": 1.0})
    mean_handle_time: float = 240.0  # seconds of talk
    mean_patience: float | None = 90.0  # seconds a caller waits before hanging up
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.weights) != 24:
            raise ValueError(f"an hourly profile needs 24 weights, got {len(self.weights)}")
        if any(not math.isfinite(w) or w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError("profile weights must be finite, >= 0 and not all 0")
        if not math.isfinite(self.calls_per_hour) or self.calls_per_hour < 0:
            raise ValueError(f"calls_per_hour must be >= 0, got {self.calls_per_hour!r}")
        if not self.mix or any(s < 0 for s in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ValueError("the queue mix needs at least one queue with a share > 0")
        mean = sum(self.weights) / 24.0
        object.__setattr__(self, "weights", tuple(w / mean for w in self.weights))
        total = sum(self.mix.values())
        object.__setattr__(self, "mix", {q: s / total for q, s in self.mix.items()})

    def hourly_calls(self, hour: int) -> float:
        """Expected calls in local hour ``hour`` (0-23)."""
        return self.calls_per_hour * self.weights[hour % 24]

    def rate(self, t: float) -> float:
        """Arrival rate (calls per simulated second) at simulated time ``t``."""
        return self.hourly_calls(int(t // HOUR)) / HOUR

    @property
    def daily_calls(self) -> float:
        return self.calls_per_hour * 24.0

    @property
    def peak_hour(self) -> int:
        return max(range(24), key=lambda h: self.weights[h])

    def arrivals(self, start: float, end: float) -> Iterator[CallArrival]:
        """Callers arriving in simulated [start, end), in time order; ``call_id`` is
        unique over the whole day (``h<absolute hour>-c<n>``)."""
        if end <= start:
            return
        hour = int(start // HOUR)
        while hour * HOUR < end:
            lo, hi = max(start, hour * HOUR), min(end, (hour + 1) * HOUR)
            streams = [
                CallStream(
                    queue=queue,
                    arrival_rate=self.hourly_calls(hour) * share / HOUR,
                    mean_handle_time=self.mean_handle_time,
                    mean_patience=self.mean_patience,
                )
                for queue, share in self.mix.items()
                if share > 0
            ]
            # One seed per absolute hour: [start, end) cut anywhere gives the same calls
            # only per whole hour; the simulator always asks for whole runs, so fine.
            traffic = PoissonTraffic(streams, seed=self.seed * 1_000_003 + hour)
            for arrival in traffic.arrivals(lo, hi):
                yield replace(arrival, call_id=f"h{hour}-{arrival.call_id}")
            hour += 1
