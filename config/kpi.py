"""The ``kpi`` section: how the hotline's official figures are computed (docs/kpi.md).

The calendar-day figures use the top-level ``timezone``; everything else is here.
Defaults are the strict reading of GB/T 33358-2016: 15 s, answered-within over
(answered + abandoned), no short-abandon exclusion, rolling 24 h.
"""

from __future__ import annotations

import enum

from pydantic import Field

from config.sections import Section

__all__ = ["KpiSettings", "ServiceLevelVariant"]


class ServiceLevelVariant(enum.StrEnum):
    """Service-level formulas (``metrics.kpi.ServiceLevelVariant``; T = threshold)."""

    #: answered <= T / (answered + abandoned)   (default: the strict reading)
    OF_ANSWERED_AND_ABANDONED = "of-answered-and-abandoned"
    #: (answered <= T + abandoned <= T) / (answered + abandoned)
    ANSWERED_OR_ABANDONED_WITHIN = "answered-or-abandoned-within"
    #: answered <= T / answered (Asterisk's SL)
    OF_ANSWERED = "of-answered"
    #: answered <= T / (answered + abandoned > T)
    OF_ANSWERED_AND_LATE_ABANDONED = "of-answered-and-late-abandoned"


class KpiSettings(Section):
    #: T: a call answered after waiting at most this long is "within" (<=).
    service_level_seconds: float = Field(default=15.0, ge=0, le=3600)
    #: Share of offered calls to answer within T: the target ``acd_agents_required``
    #: staffs for (Erlang A, docs/kpi.md "Live staffing estimate").
    service_level_target: float = Field(default=0.8, gt=0, lt=1)
    variant: ServiceLevelVariant = ServiceLevelVariant.OF_ANSWERED_AND_ABANDONED
    #: S: abandons with a wait below this leave the service level; null = none do.
    short_abandon_seconds: float | None = Field(default=None, ge=0, le=3600)
    #: Also count overflowed and failed visits in the service-level denominator.
    counts_unanswered_exits: bool = False
    #: The rolling window (the standard says "any 24 h").
    window_seconds: float = Field(default=86_400.0, gt=0, le=31 * 86_400)
