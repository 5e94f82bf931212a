"""Scrape-time Prometheus collectors of the ACD (names and labels: docs/metrics.md).

Each reads its source when Prometheus scrapes, never at registration, and exports
``acd_<name>_collector_up`` (0 when the source failed):

* ``KpiCollector``         -- the exact KPI figures (rolling 24 h, calendar day), read from a
  provider (``lambda: engine.snapshot(time.time())``).
* ``StoreHealthCollector`` -- the journal's health (spool depth, write latency ...).
* ``StaffingCollector``    -- the live Erlang A staffing estimate and its inputs
  (``metrics.staffing``).

The SIP counters' collector is in ``metrics.sip_collector``; all are re-exported by
``metrics.collectors``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from queueing import Outcome

from .kpi import OVERALL, KpiFigures
from .staffing import StaffingEstimate

__all__ = [
    "ALL_QUEUES",
    "KPI_WINDOWS",
    "KpiCollector",
    "StaffingCollector",
    "StoreHealthCollector",
    "StoreHealthLike",
]

#: ``queue`` label value of whole-hotline KPI figures.
ALL_QUEUES = "_all"
KPI_WINDOWS = {"rolling": "rolling_24h", "calendar_day": "calendar_day"}


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _up(name: str, ok: bool) -> GaugeMetricFamily:
    g = GaugeMetricFamily(
        f"acd_{name}_collector_up", f"1 if the {name} collector read its source at this scrape"
    )
    g.add_metric([], 1.0 if ok else 0.0)
    return g


_KPI_RATIOS = (("sl", "service_level"), ("cr", "connection_rate"), ("ab", "abandonment_rate"),
               ("asa", "average_speed_of_answer"), ("occ", "occupancy"))


class KpiCollector(Collector):
    """Exact KPI figures per queue (``queue="_all"``: overall) and window
    (``rolling_24h``, ``calendar_day``). Ratios are NaN while a window has no calls."""

    def __init__(
        self,
        provider: Callable[[], Mapping[tuple[str | None, str], KpiFigures]],
        queues: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.queues = tuple(queues)

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # figures are read at scrape time, never at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            figures = dict(self.provider())
        except Exception:
            yield _up("kpi", False)
            return
        labels = ["queue", "window"]
        fams = {
            "sl": GaugeMetricFamily("acd_kpi_service_level_ratio",
                                    "Calls answered within the threshold (15 s), per the "
                                    "configured variant", labels=labels),
            "cr": GaugeMetricFamily("acd_kpi_connection_ratio",
                                    "Calls answered by an agent / calls offered to agents",
                                    labels=labels),
            "ab": GaugeMetricFamily("acd_kpi_abandonment_ratio",
                                    "Calls abandoned / calls offered", labels=labels),
            "asa": GaugeMetricFamily("acd_kpi_average_speed_of_answer_seconds",
                                     "Mean wait of answered calls", labels=labels),
            "occ": GaugeMetricFamily("acd_kpi_occupancy_ratio",
                                     "(talk + wrap-up) / (talk + wrap-up + idle) time",
                                     labels=labels),
            "calls": GaugeMetricFamily("acd_kpi_calls", "Calls in the window by outcome",
                                       labels=[*labels, "outcome"]),
        }
        scopes = {OVERALL, *self.queues, *(s for s, _ in figures)}
        for scope in sorted(scopes, key=lambda s: (s is not None, s or "")):
            for key, window in KPI_WINDOWS.items():
                f = figures.get((scope, key))
                lv = [ALL_QUEUES if scope is None else scope, window]
                for fam, attr in _KPI_RATIOS:
                    fams[fam].add_metric(lv, _nan(None if f is None else getattr(f, attr)))
                for outcome in Outcome:
                    n = getattr(f, outcome.value) if f else 0
                    fams["calls"].add_metric([*lv, outcome.value], float(n))
        yield from fams.values()
        yield _up("kpi", True)


class StoreHealthLike(Protocol):
    """The fields of ``acd.store.JournalHealth`` this collector reads."""

    @property
    def queue_depth(self) -> int: ...
    @property
    def spool_depth(self) -> int: ...
    @property
    def last_write_latency(self) -> float | None: ...
    @property
    def database_ok(self) -> bool: ...
    @property
    def spool_ok(self) -> bool: ...
    @property
    def submitted(self) -> int: ...
    @property
    def durable(self) -> int: ...
    @property
    def rejected(self) -> int: ...


class StoreHealthCollector(Collector):
    """The journal's health (``Journal.health``) as ``acd_store_*`` at scrape time."""

    def __init__(self, health_provider: Callable[[], StoreHealthLike]) -> None:
        self.health_provider = health_provider

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            h = self.health_provider()
            values = (h.queue_depth, h.spool_depth, h.last_write_latency, h.database_ok,
                      h.spool_ok, h.submitted, h.durable, h.rejected)
        except Exception:
            yield _up("store", False)
            return
        queue, spool, latency, db_ok, spool_ok, submitted, durable, rejected = values
        gauges = (
            ("acd_store_queue_records", "Records in memory not yet acknowledged", queue),
            ("acd_store_spool_records", "Records in the local spool awaiting replay", spool),
            ("acd_store_write_latency_seconds",
             "Duration of the last successful database batch (NaN before the first)",
             _nan(latency)),
            ("acd_store_database_up", "1 if the last database write succeeded", float(db_ok)),
            ("acd_store_spool_writable", "1 if the last spool write succeeded", float(spool_ok)),
        )
        for name, doc, value in gauges:
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            yield g
        counters = (
            ("acd_store_records_submitted", "Records handed to the journal", submitted),
            ("acd_store_records_durable", "Records committed or fsync'd to the spool", durable),
            ("acd_store_records_rejected", "Records the database refused as invalid", rejected),
        )
        for name, doc, value in counters:
            c = CounterMetricFamily(name, doc)
            c.add_metric([], value)
            yield c
        yield _up("store", True)


class StaffingCollector(Collector):
    """Per configured queue: ``acd_agents_required`` and its inputs (arrival rate,
    handle time, patience), from ``provider()`` (``StaffingEstimator.estimate(now)``).

    Every configured queue is always exported. NaN: a queue missing from the provider's
    answer, handle time before the first handled call, agents required when undefined
    (handle time unknown). Patience is ``+Inf`` while no caller abandoned (Erlang C).
    """

    def __init__(
        self,
        provider: Callable[[], Mapping[str, StaffingEstimate]],
        queues: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.queues = tuple(queues)

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            estimates = dict(self.provider())
        except Exception:
            yield _up("staffing", False)
            return
        labels = ["queue"]
        required = GaugeMetricFamily(
            "acd_agents_required",
            "Agents needed on the phones now (Erlang A on the live arrival rate, handle "
            "time and patience) to answer the target share within the threshold",
            labels=labels)
        rate = GaugeMetricFamily("acd_queue_arrival_rate_per_second",
                                 "Calls entering the queue per second (sliding window)",
                                 labels=labels)
        aht = GaugeMetricFamily("acd_queue_handle_time_seconds",
                                "Mean talk + wrap-up time of recent calls (NaN before any)",
                                labels=labels)
        patience = GaugeMetricFamily("acd_queue_patience_seconds",
                                     "Callers' mean patience, exponential estimate (+Inf "
                                     "while nobody abandoned)", labels=labels)
        names = list(self.queues) or sorted(estimates)
        for queue in names:
            e = estimates.get(queue)
            if e is None:
                values = (math.nan, math.nan, math.nan, math.nan)
            else:
                values = (_nan(None if e.agents_required is None else float(e.agents_required)),
                          e.arrival_rate, _nan(e.handle_time), e.patience)
            for fam, value in zip((required, rate, aht, patience), values, strict=True):
                fam.add_metric([queue], value)
        yield from (required, rate, aht, patience)
        yield _up("staffing", True)

