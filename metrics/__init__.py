"""Prometheus metrics, exact hotline KPIs, Prometheus rules and the Grafana dashboard.

See docs/metrics.md and docs/kpi.md.
"""

from .collectors import (
    ALL_QUEUES,
    WAIT_BUCKETS,
    AcdMetrics,
    KpiCollector,
    RouterSnapshot,
    SipStatsCollector,
    StaffingCollector,
    StoreHealthCollector,
    metric_names,
)
from .feed import KpiFeed, activity_for, activity_for_names
from .kpi import (
    OVERALL,
    Activity,
    AgentActivityChange,
    KpiConfig,
    KpiEngine,
    KpiFigures,
    QueueVisit,
    ServiceLevelVariant,
    VisitOutcome,
)
from .staffing import StaffingConfig, StaffingEstimator

__all__ = [
    "ALL_QUEUES",
    "OVERALL",
    "WAIT_BUCKETS",
    "AcdMetrics",
    "Activity",
    "AgentActivityChange",
    "KpiCollector",
    "KpiConfig",
    "KpiEngine",
    "KpiFeed",
    "KpiFigures",
    "QueueVisit",
    "RouterSnapshot",
    "ServiceLevelVariant",
    "SipStatsCollector",
    "StaffingCollector",
    "StaffingConfig",
    "StaffingEstimator",
    "StoreHealthCollector",
    "VisitOutcome",
    "activity_for",
    "activity_for_names",
    "metric_names",
]
